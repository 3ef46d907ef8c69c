// tests/fuzz/password_leak.h: does a message carry a piece of a password?
//
// The conninfo fuzz target builds a conninfo around a password of its own
// (the text the user meant as the password, whatever libpq makes of it) and
// runs it twice: once as is, once with the password "rotated" (each letter
// and digit replaced by the next of its class, punctuation kept, so libpq
// sees the same shape). A message carries a piece of the password when
//   - a run of letters and digits of the password that mixes both and is at
//     least 5 long (nothing in libpq's or our texts looks like that) appears
//     in it, or
//   - the rotated run's message is the same message but for letters and
//     digits (the same shape), and in it a run of at least 2 letters or
//     digits of the password appears more often than in the rotated run's
//     message, while the rotated run appears more often there: the text
//     moved with the password. (Two messages of different kinds share
//     English words by chance: 'cc' of "accepting", 'dd' of "forbidden".)
// Runs that also occur elsewhere in the conninfo (the text around the
// password, plainly or percent-decoded) are not counted: a message may quote
// those.
//
//   PasswordProbe probe(password, {before, after});
//   std::string rotated = RotatePassword(password);  // run again with this
//   if (probe.Mentions(message)) {
//     std::string leak = probe.Leak(message, message_with_rotated_password);
//     FUZZ_CHECK(leak.empty(), leak);
//   }
//
// Thread-safety: plain values.
#ifndef AEQUOR_TESTS_FUZZ_PASSWORD_LEAK_H_
#define AEQUOR_TESTS_FUZZ_PASSWORD_LEAK_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aequor {
namespace fuzz {

// `text` with every [0-9], [a-f], [g-z], [A-F], [G-Z] character replaced by
// the next one of the same class (wrapping), everything else kept.
std::string RotatePassword(absl::string_view text);

class PasswordProbe {
 public:
  // `elsewhere`: the rest of the conninfo, whose text a message may quote.
  PasswordProbe(absl::string_view password, const std::vector<absl::string_view>& elsewhere);

  // Whether `message` holds any run of the password at all: when it does
  // not, it cannot leak, and the rotated run is not needed.
  bool Mentions(absl::string_view message) const;

  // "" if `message` (made with the password) carries none of it, given
  // `rotated_message` (the same step, made with RotatePassword(password));
  // otherwise what leaked.
  std::string Leak(absl::string_view message, absl::string_view rotated_message) const;

 private:
  std::vector<std::string> runs_;  // the password's runs not found elsewhere
};

}  // namespace fuzz
}  // namespace aequor

#endif  // AEQUOR_TESTS_FUZZ_PASSWORD_LEAK_H_
