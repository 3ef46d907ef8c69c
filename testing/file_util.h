// testing/file_util.h: the file-system steps of the test servers: private
// temporary directories, files owned by the user a child runs as, the tail
// of a log, removing a tree.
//
//   absl::StatusOr<std::string> dir = MakeTempDir("/tmp", "aequor-pg-", who);
//   absl::Status s = WriteFile(*dir + "/x.conf", "a = 1\n", WriteMode::kAppend, who);
//   std::string tail = ReadFileTail(*dir + "/server.log", 4096);
//
// Every function takes the RunAs the files are for: when it switches user,
// what is made is chown'ed to that user, so a server dropped to `postgres`
// can use it.
//
// Thread-safety: thread-safe (plain system calls on the given paths).
#ifndef AEQUOR_TESTING_FILE_UTIL_H_
#define AEQUOR_TESTING_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "testing/run_as.h"

namespace aequor {
namespace testing {

// chown(path) to run_as's user and group; nothing when it does not switch user.
absl::Status ChownTo(const std::string& path, const RunAs& run_as);

// mkdir(path, 0700), then ChownTo().
absl::Status MakeDir(const std::string& path, const RunAs& run_as);

// mkdtemp("<parent>/<prefix>XXXXXX") (mode 0700), then ChownTo(). Returns the path.
absl::StatusOr<std::string> MakeTempDir(absl::string_view parent, absl::string_view prefix,
                                        const RunAs& run_as);

// Removes `path` and everything below it; ignores errors. "" is a no-op.
void RemoveTree(const std::string& path);

enum class WriteMode {
  kTruncate,  // Replace the file's content.
  kAppend,    // Add to its end.
};

// Writes `content` to `path` (created with mode 0600), owned by run_as's user.
absl::Status WriteFile(const std::string& path, absl::string_view content, WriteMode mode,
                       const RunAs& run_as);

// The size of `path`, 0 when it cannot be stat'ed.
off_t FileSize(const std::string& path);

// The last `max_bytes` of `path`, and only what lies at or after `offset`
// when offset >= 0; "" if it cannot be read.
std::string ReadFileTail(const std::string& path, size_t max_bytes, off_t offset = -1);

// What an error message ends with to show a log: "; tail of <path>:\n<tail>",
// or " (<path> is empty)" when the tail is only white space.
std::string TailSuffix(absl::string_view tail, absl::string_view path);

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_FILE_UTIL_H_
