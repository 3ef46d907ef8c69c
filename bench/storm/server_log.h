// bench/storm/server_log.h (internal): reads, from a PostgreSQL server log,
// which backend was terminated when and why, so the storm harness can tell a
// kill (by pg_terminate_backend or a server timeout) from a client closing its
// own connection.
//
// The server must log with log_line_prefix starting "%n [%p] " (epoch seconds
// with milliseconds, then the backend pid); the harness sets it on the server
// it starts. Lines it looks for (PostgreSQL 15):
//   1700000000.123 [4242] ... FATAL:  terminating connection due to administrator command
//   1700000000.123 [4242] ... FATAL:  terminating connection due to idle-session timeout
// and the connections the server refused for lack of slots (SQLSTATE 53300):
//   1700000000.123 [4243] aequor_app@aequor app=... FATAL:  too many connections for role
//   "aequor_app" 1700000000.123 [4244] ... FATAL:  remaining connection slots are reserved for ...
//   1700000000.123 [4245] ... FATAL:  sorry, too many clients already
//
// Thread-safety: ServerLogReader is not thread-safe; the function is pure.
#ifndef AEQUOR_BENCH_STORM_SERVER_LOG_H_
#define AEQUOR_BENCH_STORM_SERVER_LOG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

inline constexpr char kStormLogLinePrefix[] = "%n [%p] %q%u@%d app=%a ";

struct Termination {
  int pid = 0;
  int64_t epoch_ms = 0;
  std::string reason;  // e.g. "administrator command", "idle-session timeout"
};

// The termination a log line reports, if it reports one.
std::optional<Termination> ParseTerminationLine(absl::string_view line);

// A connection the server refused because the database, the server or the
// role was full (53300).
struct Refusal {
  int pid = 0;
  int64_t epoch_ms = 0;
  std::string user;     // from the prefix's "%u@%d" ("" when not logged)
  std::string message;  // e.g. "too many connections for role \"aequor_app\""
};

// The refusal a log line reports, if it reports one.
std::optional<Refusal> ParseRefusalLine(absl::string_view line);

// Follows a growing log file.
class ServerLogReader {
 public:
  explicit ServerLogReader(std::string path) : path_(std::move(path)) {}

  // Reads what was appended since the last call (at most 16 MiB per call).
  void Poll();

  // The termination of `pid` logged at or after `not_before_ms`, if any.
  std::optional<Termination> Find(int pid, int64_t not_before_ms) const;

  // Every refusal read so far, in log order.
  const std::vector<Refusal>& refusals() const { return refusals_; }

 private:
  std::string path_;
  uint64_t offset_ = 0;
  std::string partial_;
  std::map<int, std::vector<Termination>> by_pid_;
  std::vector<Refusal> refusals_;
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_SERVER_LOG_H_
