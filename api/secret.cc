// Reading the coordination secret from the environment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lease.h"
#include "api/secret.h"

namespace aequor {
namespace {

const char* Env(absl::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

// The bytes of the regular file `path` named by `variable`, at most
// `max_bytes`: /dev/zero would grow the process without bound, a FIFO would
// block (hence O_NONBLOCK for open), a directory is not a secret.
absl::StatusOr<std::string> ReadSecretFile(absl::string_view variable, const char* path,
                                           size_t max_bytes) {
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(variable, ": cannot read '", path, "': ", std::strerror(errno)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool dir = S_ISDIR(st.st_mode);
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        variable, ": '", path, "' is ", dir ? "a directory" : "not a regular file",
        "; it must name a regular file holding the secret"));
  }
  std::string bytes(max_bytes + 1, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat(variable, ": cannot read '", path, "': ", std::strerror(error)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (got > max_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(variable, ": '", path,
                                                      "' is larger than ", max_bytes,
                                                      " bytes; it must hold only the secret"));
  }
  bytes.resize(got);
  return bytes;
}

}  // namespace

absl::StatusOr<Secret> ReadSecretFromEnvironment() {
  const char* direct = Env(kSecretEnvVar);
  const char* path = Env(kSecretFileEnvVar);
  if (direct != nullptr && path != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("both ", kSecretEnvVar, " and ", kSecretFileEnvVar, " are set; set only one"));
  }
  if (direct != nullptr) return Secret(direct);
  if (path == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no coordination secret: set ", kSecretEnvVar, " or ", kSecretFileEnvVar));
  }
  absl::StatusOr<std::string> read = ReadSecretFile(kSecretFileEnvVar, path, kMaxSecretFileBytes);
  if (!read.ok()) return read.status();
  std::string bytes = *std::move(read);
  if (!bytes.empty() && bytes.back() == '\n') bytes.pop_back();
  if (!bytes.empty() && bytes.back() == '\r') bytes.pop_back();
  if (bytes.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kSecretFileEnvVar, ": the file '", path, "' is empty"));
  }
  return Secret(std::move(bytes));
}

absl::StatusOr<std::vector<Secret>> ReadPreviousSecretsFromEnvironment() {
  std::vector<Secret> secrets;
  const char* path = Env(kPreviousSecretsFileEnvVar);
  if (path == nullptr) return secrets;
  absl::StatusOr<std::string> read =
      ReadSecretFile(kPreviousSecretsFileEnvVar, path, kMaxPreviousSecretsFileBytes);
  if (!read.ok()) return read.status();
  int line = 0;
  for (absl::string_view text : absl::StrSplit(*read, '\n')) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.empty()) continue;
    if (text.size() < kMinSecretBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          kPreviousSecretsFileEnvVar, ": line ", line, " of '", path, "' is shorter than ",
          kMinSecretBytes, " bytes; each line is one previous secret"));
    }
    secrets.emplace_back(std::string(text));
  }
  return secrets;
}

}  // namespace aequor
