// tools/aequorctl/flags.h: the flags of one aequorctl command, declared once
// (for reading them and for the help) and read with CLI11.
//
//   const std::vector<FlagDef> kFlags = {
//       {"service", "S", "service name"},
//       {"dry-run", "", "kill nothing"},  // no value name: a boolean flag
//   };
//   absl::StatusOr<Flags> flags = ParseFlags(args, kFlags);
//   if (!flags.ok()) return Fail(env, "aequorctl reap", flags.status().message(), true);
//   if (flags->help) ...print the help...
//   std::optional<std::string> service = flags->Get("service");
//
// The grammar, the same as aequorctl's before CLI11 (tests hold it):
//   --name value and --name=value; the value is taken as it is, also when it
//   is empty (`--service=`) or starts with '-' (`--instance -Ab3`);
//   a boolean flag takes no value (`--json=true` is refused);
//   -h and --help ask for the help, wherever a flag may stand;
//   nothing else: no positional arguments, no short flags, no "--".
// An argument `--name=` (empty value) or `--flag=...` naming a flag of the
// command is always read as that flag, even right after a flag that takes a
// value (no value of aequorctl's flags starts with "--").
//
// Errors (InvalidArgument, for the first argument that is wrong): "unknown
// flag --x", "--x given twice", "--x needs a value", "--x takes no value",
// "unexpected argument #N (this command takes flags only)", "argument #N is
// not a flag of the form --name", and for --secret (any spelling with a
// value) an explanation of where the secret comes from instead. No message
// ever repeats a value or a positional argument, in case someone pasted a
// secret there.
//
// Thread-safety: plain values and pure functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_FLAGS_H_
#define AEQUOR_TOOLS_AEQUORCTL_FLAGS_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace cli {

// One flag of a command.
struct FlagDef {
  std::string name;        // without the leading "--"
  std::string value_name;  // as the help shows it ("DSN", "N"); empty: a boolean flag
  std::string help;        // may hold several lines, without indentation

  bool takes_value() const { return !value_name.empty(); }
};

// What ParseFlags() found.
struct Flags {
  bool help = false;  // -h or --help was given
  std::map<std::string, std::string, std::less<>>
      values;  // flags given, by name ("true" for booleans)

  bool Has(absl::string_view name) const { return values.count(name) > 0; }
  std::optional<std::string> Get(absl::string_view name) const;
};

// Reads `args` (the arguments after the command's name) against `defs`; see
// the file comment for the grammar and the errors.
// The value of environment variable `name`, or nullptr when it is unset or
// empty (an empty PG* variable means "not set" to libpq too).
const char* NonEmptyEnv(const char* name);

absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args,
                                 const std::vector<FlagDef>& defs);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_FLAGS_H_
