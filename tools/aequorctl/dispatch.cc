#include "tools/aequorctl/dispatch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/aequorctl/help.h"

namespace aequor {
namespace cli {

int Dispatch(const CommandGroup& group, const std::vector<Command>& commands,
             const std::vector<std::string>& args, CliEnv& env) {
  auto help = [&] {
    std::vector<std::pair<std::string, std::string>> list;
    for (const Command& c : commands) list.emplace_back(c.name, c.summary);
    return CommandListText(
        group.usage, group.description, list,
        absl::StrCat("Run '", group.name, " <command> --help' for a command's flags."));
  };
  if (args.empty()) {
    *env.err << help();
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    *env.out << help();
    return kExitOk;
  }
  for (const Command& c : commands) {
    if (c.name == name) return c.run(std::vector<std::string>(args.begin() + 1, args.end()), env);
  }
  *env.err << group.name << ": unknown command (run '" << group.name << " --help' for the list)\n";
  return kExitUsage;
}

}  // namespace cli
}  // namespace aequor
