// api/secret.h: a byte string that must never be printed.
//
// The coordination secret keys every lease's HMAC. It is held in a Secret so
// that no log line, status message, event or debug print can show it: Secret
// has no accessor that returns text meant for display, its AbslStringify and
// operator<< print "<redacted>", and its memory is wiped on destruction.
//
//   aequor::Secret s("coord-secret-0123456789");
//   absl::StrCat("secret=", s);  // "secret=<redacted>"
//
// Thread-safety: immutable after construction; safe to share for reading.
#ifndef AEQUOR_API_SECRET_H_
#define AEQUOR_API_SECRET_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string bytes) : bytes_(std::move(bytes)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  Secret(Secret&&) = default;
  Secret& operator=(Secret&&) = default;
  ~Secret() { Wipe(); }

  bool empty() const { return bytes_.empty(); }
  size_t size() const { return bytes_.size(); }

  // The raw bytes, for keying a MAC. Never log or format them.
  absl::string_view UnsafeBytes() const { return bytes_; }

  template <typename Sink>
  friend void AbslStringify(Sink& sink, const Secret&) {
    sink.Append("<redacted>");
  }
  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "<redacted>"; }

 private:
  void Wipe() {
    volatile char* p = bytes_.empty() ? nullptr : &bytes_[0];
    for (size_t i = 0; i < bytes_.size(); ++i) p[i] = 0;
  }
  std::string bytes_;
};

// The environment variables the coordination secret is read from.
inline constexpr absl::string_view kSecretEnvVar = "AEQUOR_COORDINATION_SECRET";
inline constexpr absl::string_view kSecretFileEnvVar = "AEQUOR_COORDINATION_SECRET_FILE";

// The largest secret file read (a secret is 16 bytes or more; HMAC keys
// longer than 64 bytes are hashed anyway).
inline constexpr size_t kMaxSecretFileBytes = 4096;

// Reads the secret from $AEQUOR_COORDINATION_SECRET, or else from the file
// named by $AEQUOR_COORDINATION_SECRET_FILE (one trailing "\n" or "\r\n"
// removed). NotFound when neither variable is set (or both are empty);
// FailedPrecondition naming the variable and path when the file cannot be
// read, is not a regular file (a directory, a FIFO, a device), is larger
// than kMaxSecretFileBytes, or is empty; InvalidArgument when both
// variables are set.
absl::StatusOr<Secret> ReadSecretFromEnvironment();

// Older secrets still accepted when verifying (a key ring's rotation), one
// per line of the file named by $AEQUOR_COORDINATION_PREVIOUS_SECRETS_FILE
// (blank lines skipped, a trailing "\r" removed); none when it is unset.
// The file's rules are the secret file's, at most
// kMaxPreviousSecretsFileBytes; a line shorter than kMinSecretBytes is
// InvalidArgument naming its number, never its bytes.
inline constexpr absl::string_view kPreviousSecretsFileEnvVar =
    "AEQUOR_COORDINATION_PREVIOUS_SECRETS_FILE";
inline constexpr size_t kMaxPreviousSecretsFileBytes = 65536;
absl::StatusOr<std::vector<Secret>> ReadPreviousSecretsFromEnvironment();

}  // namespace aequor

#endif  // AEQUOR_API_SECRET_H_
