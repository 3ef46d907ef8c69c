// tools/aequorctl/dispatch.h: a command group (aequorctl itself, `aequorctl
// lease`): runs the command its first argument names.
//
//   const std::vector<Command> commands = {LeaseCommand(), LeasesCommand()};
//   return Dispatch({"aequorctl", "Usage: aequorctl <command> [flags]", "Operator tool ..."},
//                   commands, args, env);
//
// The first argument must be a command's exact name; the rest goes to the
// command. `--help`, `-h` or `help` prints the group's help on stdout (exit
// 0); no argument prints it on stderr (exit 2); an unknown command is exit 2,
// and the word is not echoed: it could be a secret typed in the wrong place.
//
// Thread-safety: each call uses only its arguments and `env`.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DISPATCH_H_
#define AEQUOR_TOOLS_AEQUORCTL_DISPATCH_H_

#include <string>
#include <vector>

#include "tools/aequorctl/cli.h"

namespace aequor {
namespace cli {

// A command or subcommand: `run` gets the arguments after its own name.
struct Command {
  std::string name;
  std::string summary;
  int (*run)(const std::vector<std::string>& args, CliEnv& env);
};

struct CommandGroup {
  std::string name;         // "aequorctl lease": in messages and the help's footer
  std::string usage;        // "Usage: aequorctl lease <sign|verify> [flags]"
  std::string description;  // what the group is for, exit statuses
};

int Dispatch(const CommandGroup& group, const std::vector<Command>& commands,
             const std::vector<std::string>& args, CliEnv& env);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DISPATCH_H_
