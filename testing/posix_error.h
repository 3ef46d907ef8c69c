// testing/posix_error.h: an errno as text and as an absl::Status, for the
// system-call wrappers in testing/.
//
//   if (mkdir(path, 0700) != 0) return ErrnoStatus(absl::StrCat("mkdir ", path), errno);
//   // Internal: "mkdir /tmp/x: File exists (errno 17)"
//
// Thread-safety: thread-safe (strerror_r).
#ifndef AEQUOR_TESTING_POSIX_ERROR_H_
#define AEQUOR_TESTING_POSIX_ERROR_H_

#include <string.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace testing {

// "No such file or directory (errno 2)".
inline std::string ErrnoText(int err) {
  char buffer[256];
  // The GNU strerror_r returns the text (maybe not in buffer).
  const char* text = strerror_r(err, buffer, sizeof(buffer));
  return absl::StrCat(text, " (errno ", err, ")");
}

// Internal: "<what>: <ErrnoText(err)>".
inline absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", ErrnoText(err)));
}

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_POSIX_ERROR_H_
