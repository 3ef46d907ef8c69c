// tools/aequorctl/redactor.h: blanks secrets in text meant for the terminal.
//
//   Redactor redactor;
//   redactor.AddSensitive(dsn);
//   *env.err << redactor.Apply(libpq_message);  // "... password=<redacted> ..."
//
// Every message that comes from libpq or the server goes through a Redactor
// before aequorctl prints it: the DSN, any password (from the DSN or
// PGPASSWORD) and the coordination secret are never printed.
//
// Thread-safety: const methods may be called concurrently; AddSensitive()
// needs exclusive access.
#ifndef AEQUOR_TOOLS_AEQUORCTL_REDACTOR_H_
#define AEQUOR_TOOLS_AEQUORCTL_REDACTOR_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aequor {
namespace cli {

class Redactor {
 public:
  // Values to blank wherever they appear (ignored when shorter than 3 bytes,
  // which would mangle every message; such a password is still never printed
  // by aequorctl itself).
  void AddSensitive(absl::string_view value);
  // `text` with every sensitive value, every `password=...` value and the
  // password of any URI user info replaced by "<redacted>".
  std::string Apply(absl::string_view text) const;

 private:
  std::vector<std::string> sensitive_;
};

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_REDACTOR_H_
