// Reading the coordination secret from the environment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

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
    return absl::InvalidArgumentError(
        absl::StrCat("both ", kSecretEnvVar, " and ", kSecretFileEnvVar, " are set; set only one"));
  }
  if (direct != nullptr) return Secret(direct);
  if (path == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no coordination secret: set ", kSecretEnvVar, " or ", kSecretFileEnvVar));
  }
  // A regular file of at most kMaxSecretFileBytes: /dev/zero would grow the
  // process without bound, a FIFO would block (hence O_NONBLOCK for open),
  // a directory is not a secret.
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(kSecretFileEnvVar, ": cannot read '", path, "': ", std::strerror(errno)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool dir = S_ISDIR(st.st_mode);
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        kSecretFileEnvVar, ": '", path, "' is ", dir ? "a directory" : "not a regular file",
        "; it must name a regular file holding the secret"));
  }
  std::string bytes(kMaxSecretFileBytes + 1, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat(kSecretFileEnvVar, ": cannot read '", path, "': ", std::strerror(error)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (got > kMaxSecretFileBytes) {
    return absl::FailedPreconditionError(absl::StrCat(kSecretFileEnvVar, ": '", path,
                                                      "' is larger than ", kMaxSecretFileBytes,
                                                      " bytes; it must hold only the secret"));
  }
  bytes.resize(got);
  if (!bytes.empty() && bytes.back() == '\n') bytes.pop_back();
  if (!bytes.empty() && bytes.back() == '\r') bytes.pop_back();
  if (bytes.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kSecretFileEnvVar, ": the file '", path, "' is empty"));
  }
  return Secret(std::move(bytes));
}

}  // namespace aequor
