// tools/aequorctl/help.h: the --help text of aequorctl's commands, laid out
// by CLI11 from the same flag definitions that ParseFlags() reads, so that
// the help cannot list a flag the command does not take or miss one it does.
//
//   const CommandHelp help = {"Usage: aequorctl reap [--dry-run] ...",
//                             "Runs one reaper pass for the service now ...",
//                             ReapFlags(), "Exit status: 0 the pass completed ..."};
//   *env.out << HelpText(help);
//
// Layout: the usage lines, the description, "Options:" (-h,--help first, then
// each flag with its value name and help, aligned), the footer.
//
// Thread-safety: pure functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_HELP_H_
#define AEQUOR_TOOLS_AEQUORCTL_HELP_H_

#include <string>
#include <utility>
#include <vector>

#include "tools/aequorctl/flags.h"

namespace aequor {
namespace cli {

struct CommandHelp {
  std::string usage;        // "Usage: aequorctl reap [--dry-run] ...", may hold several lines
  std::string description;  // what the command does (paragraphs)
  std::vector<FlagDef> flags;
  std::string footer;  // after the flags: the output's shape, the exit status
};

// The help of one command, ending in a newline.
std::string HelpText(const CommandHelp& help);

// The help of a command group (aequorctl, aequorctl lease): the usage, the
// description, "Commands:" with each (name, summary), the footer.
std::string CommandListText(const std::string& usage, const std::string& description,
                            const std::vector<std::pair<std::string, std::string>>& commands,
                            const std::string& footer);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_HELP_H_
