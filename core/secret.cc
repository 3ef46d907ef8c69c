// Reading the coordination secret from the environment.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "api/secret.h"

namespace aequor {
namespace {

const char* Env(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

}  // namespace

absl::StatusOr<Secret> ReadSecretFromEnvironment() {
  const char* direct = Env(kSecretEnvVar);
  const char* path = Env(kSecretFileEnvVar);
  if (direct != nullptr && path != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "both ", kSecretEnvVar, " and ", kSecretFileEnvVar, " are set; set only one"));
  }
  if (direct != nullptr) return Secret(direct);
  if (path == nullptr) {
    return absl::NotFoundError(absl::StrCat("no coordination secret: set ", kSecretEnvVar,
                                            " or ", kSecretFileEnvVar));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::FailedPreconditionError(absl::StrCat(kSecretFileEnvVar, ": cannot read '",
                                                      path, "': ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  std::string bytes = contents.str();
  if (!bytes.empty() && bytes.back() == '\n') bytes.pop_back();
  if (!bytes.empty() && bytes.back() == '\r') bytes.pop_back();
  if (bytes.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kSecretFileEnvVar, ": the file '", path, "' is empty"));
  }
  return Secret(std::move(bytes));
}

}  // namespace aequor
