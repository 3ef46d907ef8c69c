// bench/storm/protocol.h: the contract between the storm harness and one
// instance process (a built-in client, storm_instance, or any --client-cmd).
//
// Environment (set by the harness for every instance):
//   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE   where to connect (TCP loopback)
//   AEQUOR_COORDINATION_SECRET AEQUOR_SERVICE    lease settings
//   AEQUOR_LEASE_TTL_MS AEQUOR_MIN_IDLE_S
//   AEQUOR_REAPER_SCHEDULER                      plugin spec text (only when set)
//   AEQUOR_STORM_INVOCATION                      1-based number of this instance
//   AEQUOR_STORM_SEED                            per-instance seed (run seed + number)
//
// Standard output, one line per message:
//   ok                         the invocation succeeded
//   fail <SQLSTATE> <text>     it failed and the SQLSTATE is known (e.g. 53300)
//   fail <text>                it failed, no SQLSTATE (the text is the key)
//   # pid <backend_pid>        optional, before the answer: the backend serving it
//   # <anything>               optional comment, shown nowhere, ignored
// Every other line is ignored. The first `ok`/`fail` line ends the invocation;
// the harness then freezes the process group with SIGSTOP (after
// --freeze-delay-ms). Standard error is passed through to the harness's.
//
// Standard input, commands for instances that are resumed (after SIGCONT) for
// a warm invocation. The built-in clients implement them today; the harness
// does not send them yet (issue #4: --thaw-after-ms, --invocations-per-instance):
//   invoke     run one more invocation on the same process, answer as above
//   exit       close the connection and exit 0 (end of file does the same)
//
// Thread-safety: pure functions.
#ifndef AEQUOR_BENCH_STORM_PROTOCOL_H_
#define AEQUOR_BENCH_STORM_PROTOCOL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

inline constexpr char kEnvSecret[] = "AEQUOR_COORDINATION_SECRET";
inline constexpr char kEnvService[] = "AEQUOR_SERVICE";
inline constexpr char kEnvLeaseTtlMs[] = "AEQUOR_LEASE_TTL_MS";
inline constexpr char kEnvMinIdleS[] = "AEQUOR_MIN_IDLE_S";
inline constexpr char kEnvReaperScheduler[] = "AEQUOR_REAPER_SCHEDULER";
inline constexpr char kEnvInvocation[] = "AEQUOR_STORM_INVOCATION";
inline constexpr char kEnvSeed[] = "AEQUOR_STORM_SEED";

inline constexpr char kCommandInvoke[] = "invoke";
inline constexpr char kCommandExit[] = "exit";

// One line an instance printed.
struct InstanceLine {
  enum class Kind {
    kOther,       // not part of the protocol: ignored
    kComment,     // "# ..." (backend_pid set for "# pid N")
    kOk,          // "ok"
    kFail,        // "fail ..."
  };
  Kind kind = Kind::kOther;
  // kFail: the SQLSTATE when the text starts with one, else the text itself
  // (first 80 bytes, trimmed). "fail" alone gives "unspecified".
  std::string failure_key;
  // kFail: the rest of the text after the SQLSTATE ("" when none).
  std::string detail;
  // kComment "# pid N": N.
  std::optional<int> backend_pid;
};

// Parses one line (without its newline; a trailing '\r' is ignored).
InstanceLine ParseInstanceLine(absl::string_view line);

// True for five characters of [0-9A-Z], the shape of a SQLSTATE.
bool LooksLikeSqlState(absl::string_view token);

// The line a client prints for a failure: "fail <sqlstate> <message>" or
// "fail <message>" when `sqlstate` is empty. The message is reduced to one
// line (libpq's "FATAL:  " prefix and newlines removed).
std::string FailLine(absl::string_view sqlstate, absl::string_view message);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_PROTOCOL_H_
