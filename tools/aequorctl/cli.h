// tools/aequorctl/cli.h: what every aequorctl command runs with and how it
// ends: its streams, clock and randomness, the exit codes, the one usage-error
// printer, and the one way JSON is written.
//
//   int RunSomething(const std::vector<std::string>& args, CliEnv& env) {
//     if (bad) return Fail(env, "aequorctl reap", "--max-kills must be ...", /*hint=*/true);
//     WriteJson(*env.out, nlohmann::ordered_json{{"outcome", "completed"}});
//     return kExitOk;
//   }
//
// Thread-safety: plain values and free functions; a CliEnv is used by one
// command at a time.
#ifndef AEQUOR_TOOLS_AEQUORCTL_CLI_H_
#define AEQUOR_TOOLS_AEQUORCTL_CLI_H_

#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "api/clock.h"
#include "api/random.h"
#include "api/registry.h"
#include "nlohmann/json.hpp"

namespace aequor {
namespace cli {

// Exit codes of every aequorctl command.
inline constexpr int kExitOk = 0;       // success (for verify: the lease is valid)
inline constexpr int kExitInvalid = 1;  // the input was checked and found invalid
inline constexpr int kExitUsage = 2;    // bad flags, missing or unusable secret, ...

// What a command runs with; main() passes std::cout, std::cerr, the real clock
// and an entropy-seeded Random. Tests may pass their own.
struct CliEnv {
  std::ostream* out;
  std::ostream* err;
  Clock* clock;
  Random* random;
  // The plugins aequorctl knows (the signer of AEQUOR_SIGNER is made by it).
  // Null: Registry::Default().
  const Registry* registry = nullptr;
};

// env.registry, or Registry::Default().
const Registry& RegistryOf(const CliEnv& env);

// Prints "<command>: <message>" on stderr, with "Run '<command> --help' for
// usage." after it when `hint`, and returns kExitUsage. `command` is the
// command's full name ("aequorctl lease sign"). `message` must never hold a
// secret, a password or a value given on the command line.
int Fail(CliEnv& env, absl::string_view command, absl::string_view message, bool hint = false);

// `doc` as one line of compact JSON (no newline), members in insertion order.
// Bytes that are not UTF-8 become U+FFFD: text from the server or the command
// line is not guaranteed to be UTF-8.
std::string JsonText(const nlohmann::ordered_json& doc);

// `doc` as one line of compact JSON and a newline.
void WriteJson(std::ostream& out, const nlohmann::ordered_json& doc);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_CLI_H_
