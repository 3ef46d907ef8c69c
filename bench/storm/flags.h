// bench/storm/flags.h: the storm's command line: its flags into StormOptions
// (parsed with CLI11), the environment variables it reads, and --help.
//
//   absl::StatusOr<StormArgs> args = ParseStormArgs({"--client=libpq", "--invocations", "12"});
//   if (!args.ok()) { /* "--invocations: must be an integer in [1, 10000], got '0'" */ }
//   absl::Status env = ApplyStormEnvironment(std::getenv, &args->options);
//
// Every flag takes --name=value or --name value (a value may not start with
// "--"; --name= gives the empty value); --json-only, --reaper-role and
// --frozen-leader take no value or =true/=false/=1/=0; --fault may be given
// more than once, every other flag once. Every problem is InvalidArgument
// naming the flag ("--NAME: problem"), "unknown option --NAME (see --help)"
// or "unexpected argument 'ARG' (options look like --name=value; see --help)";
// the storm exits 2 on them. The flags, their defaults and their ranges are
// the ones of StormOptions (bench/storm/options.h) and of StormHelpText().
//
// Thread-safety: pure functions (ApplyStormEnvironment calls `getenv`).
#ifndef AEQUOR_BENCH_STORM_FLAGS_H_
#define AEQUOR_BENCH_STORM_FLAGS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/storm/options.h"

namespace aequor {
namespace storm {

// The parsed command line: options, or a request for --help.
struct StormArgs {
  StormOptions options;
  bool help = false;
};

// Parses `args` (without the program name). With --help (-h, -help) the
// checks between flags are skipped, not those of each flag's value.
absl::StatusOr<StormArgs> ParseStormArgs(const std::vector<std::string>& args);

// What the storm takes from its environment: AEQUOR_COORDINATION_SECRET
// (at least 16 bytes) and AEQUOR_REAPER_SCHEDULER (when --reaper-scheduler
// is not given and the client has a reaper; validated like the flag: built
// through the library's registry, bench/storm/plugin_specs.h).
// InvalidArgument "AEQUOR_COORDINATION_SECRET: must be at least 16 bytes" or
// "AEQUOR_REAPER_SCHEDULER: --reaper-scheduler: ...".
absl::Status ApplyStormEnvironment(const std::function<const char*(const char*)>& getenv,
                                   StormOptions* options);

// The --help text.
std::string StormHelpText();

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_FLAGS_H_
