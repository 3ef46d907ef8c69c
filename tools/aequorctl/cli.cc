#include "tools/aequorctl/cli.h"

namespace aequor {
namespace cli {

const Registry& RegistryOf(const CliEnv& env) {
  return env.registry != nullptr ? *env.registry : *Registry::Default();
}

int Fail(CliEnv& env, absl::string_view command, absl::string_view message, bool hint) {
  *env.err << command << ": " << message << "\n";
  if (hint) *env.err << "Run '" << command << " --help' for usage.\n";
  return kExitUsage;
}

std::string JsonText(const nlohmann::ordered_json& doc) {
  return doc.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                  nlohmann::ordered_json::error_handler_t::replace);
}

void WriteJson(std::ostream& out, const nlohmann::ordered_json& doc) {
  out << JsonText(doc) << "\n";
}

}  // namespace cli
}  // namespace aequor
