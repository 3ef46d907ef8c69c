// testing/file_util.cc: see file_util.h.
#include "testing/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "testing/posix_error.h"

namespace aequor {
namespace testing {

absl::Status ChownTo(const std::string& path, const RunAs& run_as) {
  if (!run_as.switch_user) return absl::OkStatus();
  if (chown(path.c_str(), run_as.uid, run_as.gid) != 0) {
    return ErrnoStatus(absl::StrCat("chown ", path, " to ", run_as.name), errno);
  }
  return absl::OkStatus();
}

absl::Status MakeDir(const std::string& path, const RunAs& run_as) {
  if (mkdir(path.c_str(), 0700) != 0) return ErrnoStatus(absl::StrCat("mkdir ", path), errno);
  return ChownTo(path, run_as);
}

absl::StatusOr<std::string> MakeTempDir(absl::string_view parent, absl::string_view prefix,
                                        const RunAs& run_as) {
  std::string path = absl::StrCat(parent, "/", prefix, "XXXXXX");
  if (mkdtemp(path.data()) == nullptr) return ErrnoStatus(absl::StrCat("mkdtemp ", path), errno);
  absl::Status chowned = ChownTo(path, run_as);
  if (!chowned.ok()) {
    rmdir(path.c_str());
    return chowned;
  }
  return path;
}

void RemoveTree(const std::string& path) {
  if (path.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

absl::Status WriteFile(const std::string& path, absl::string_view content, WriteMode mode,
                       const RunAs& run_as) {
  const int flags =
      O_WRONLY | O_CREAT | O_CLOEXEC | (mode == WriteMode::kAppend ? O_APPEND : O_TRUNC);
  int fd = open(path.c_str(), flags, 0600);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
  absl::Status status;
  while (!content.empty()) {
    ssize_t n = write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = ErrnoStatus(absl::StrCat("write ", path), n < 0 ? errno : EIO);
      break;
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (status.ok() && run_as.switch_user && fchown(fd, run_as.uid, run_as.gid) != 0) {
    status = ErrnoStatus(absl::StrCat("chown ", path), errno);
  }
  if (close(fd) != 0 && status.ok()) status = ErrnoStatus(absl::StrCat("close ", path), errno);
  return status;
}

off_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

std::string ReadFileTail(const std::string& path, size_t max_bytes, off_t offset) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st;
  std::string out;
  if (fstat(fd, &st) == 0) {
    off_t start = st.st_size > static_cast<off_t>(max_bytes) ? st.st_size - max_bytes : 0;
    if (offset >= 0) start = std::max(start, offset);
    if (start < st.st_size) {
      out.resize(static_cast<size_t>(st.st_size - start));
      ssize_t n = pread(fd, out.data(), out.size(), start);
      out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
  }
  close(fd);
  return out;
}

std::string TailSuffix(absl::string_view tail, absl::string_view path) {
  absl::string_view trimmed = absl::StripTrailingAsciiWhitespace(tail);
  if (trimmed.empty()) return absl::StrCat(" (", path, " is empty)");
  return absl::StrCat("; tail of ", path, ":\n", trimmed);
}

}  // namespace testing
}  // namespace aequor
