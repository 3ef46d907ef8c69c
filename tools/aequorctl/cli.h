// tools/aequorctl/cli.h: the plumbing shared by aequorctl's commands: what a
// command runs with (streams, clock, randomness), its exit codes, and a small
// hand-written flag parser (`--flag value`, `--flag=value`, `--help`).
//
//   aequor::cli::FlagSpec spec = {{"service", true}, {"instance", true}};
//   absl::StatusOr<aequor::cli::Flags> flags = aequor::cli::ParseFlags(args, spec);
//   if (flags.ok() && flags->help) { ...print usage... }
//
// Secrets never come from the command line: ParseFlags rejects `--secret`
// (any spelling with a value) and no error message ever repeats a flag's
// value or a positional argument, in case someone pasted a secret there.
//
// Thread-safety: plain values and free functions; a CliEnv is used by one
// command at a time.
#ifndef AEQUOR_TOOLS_AEQUORCTL_CLI_H_
#define AEQUOR_TOOLS_AEQUORCTL_CLI_H_

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/json_text.h"
#include "api/clock.h"
#include "api/random.h"

namespace aequor {
namespace cli {

// Exit codes of every aequorctl command.
inline constexpr int kExitOk = 0;       // success (for verify: the lease is valid)
inline constexpr int kExitInvalid = 1;  // the input was checked and found invalid
inline constexpr int kExitUsage = 2;    // bad flags, missing or unusable secret, ...

// What a command runs with; main() passes std::cout, std::cerr, the real clock
// and an entropy-seeded Random. Tests may pass their own.
struct CliEnv {
  std::ostream* out;
  std::ostream* err;
  Clock* clock;
  Random* random;
};

// A command or subcommand: `run` gets the arguments after its own name.
struct Command {
  absl::string_view name;
  absl::string_view summary;
  int (*run)(const std::vector<std::string>& args, CliEnv& env);
};

// Looks `args[0]` up in `commands` and runs it with the rest of `args`.
// Prints `usage` plus the command list for --help/-h/help (exit 0) or when no
// command is given (exit 2); an unknown command is exit 2.
int Dispatch(absl::string_view program, absl::string_view usage,
             const std::vector<Command>& commands, const std::vector<std::string>& args,
             CliEnv& env);

// Flag name (without "--") -> whether it takes a value. Flags without a value
// are booleans.
using FlagSpec = std::map<std::string, bool, std::less<>>;

struct Flags {
  bool help = false;                                       // --help or -h was given
  std::map<std::string, std::string, std::less<>> values;  // flags given, by name

  bool Has(absl::string_view name) const { return values.count(name) > 0; }
  std::optional<std::string> Get(absl::string_view name) const;
};

// Parses `args` against `spec`. InvalidArgument for: an unknown flag (named,
// its value never shown), a flag given twice, a missing value, a value given
// to a boolean flag, a positional argument (counted, never shown), and
// `--secret` (with an explanation of where the secret comes from instead).
absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args, const FlagSpec& spec);


}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_CLI_H_
