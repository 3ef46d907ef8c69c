#include "tools/aequorctl/cli.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/secret.h"

namespace aequor {
namespace cli {

std::optional<std::string> Flags::Get(absl::string_view name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

int Dispatch(absl::string_view program, absl::string_view usage,
             const std::vector<Command>& commands, const std::vector<std::string>& args,
             CliEnv& env) {
  auto print_usage = [&](std::ostream& os) {
    os << usage << "\n\nCommands:\n";
    for (const Command& c : commands) {
      os << absl::StrFormat("  %-10s %s\n", c.name, c.summary);
    }
    os << "\nRun '" << program << " <command> --help' for a command's flags.\n";
  };
  if (args.empty()) {
    print_usage(*env.err);
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(*env.out);
    return kExitOk;
  }
  for (const Command& c : commands) {
    if (c.name == name) {
      return c.run(std::vector<std::string>(args.begin() + 1, args.end()), env);
    }
  }
  // The unknown word is not echoed: it could be a secret typed in the wrong place.
  *env.err << program << ": unknown command (run '" << program << " --help' for the list)\n";
  return kExitUsage;
}

absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args, const FlagSpec& spec) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      flags.help = true;
      continue;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      if (!arg.empty() && arg[0] == '-') {
        return absl::InvalidArgumentError(
            absl::StrCat("argument #", i + 1, " is not a flag of the form --name"));
      }
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument #", i + 1, " (this command takes flags only)"));
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (name == "secret" || name.rfind("secret-", 0) == 0 || name == "coordination-secret") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name,
          " is not accepted: a secret on the command line is visible to other users (ps, "
          "/proc) and kept in shell history; set ",
          kSecretEnvVar, " or ", kSecretFileEnvVar, " (a file holding the secret) instead"));
    }
    auto known = spec.find(name);
    if (known == spec.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (flags.values.count(name) > 0) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
    }
    const bool takes_value = known->second;
    std::string value;
    if (eq != std::string::npos) {
      if (!takes_value) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
      value = arg.substr(eq + 1);
    } else if (takes_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    } else {
      value = "true";
    }
    flags.values.emplace(name, std::move(value));
  }
  return flags;
}


}  // namespace cli
}  // namespace aequor
