// bench/storm/monitor.h: the harness's own session on the server (a
// superuser on the throwaway server, --monitor-dsn or --dsn otherwise):
// reading the server's settings, polling pg_stat_activity, terminating
// backends for the faults, and the statements that set a storm up
// (--reaper-role's roles, --workload=write's table) and count its writes.
// Its session is excluded from every poll; its notices are dropped.
//
//   Monitor monitor;
//   absl::StatusOr<ServerSettings> settings = monitor.Connect(conninfo);
//   absl::StatusOr<std::vector<Backend>> backends = monitor.Poll();
//
// Thread-safety: not thread-safe (one libpq connection).
#ifndef AEQUOR_BENCH_STORM_MONITOR_H_
#define AEQUOR_BENCH_STORM_MONITOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/storm/backends.h"
#include "util/pg.h"

namespace aequor {
namespace storm {

// What the monitor reads from the server once connected.
struct ServerSettings {
  int max_connections = 0;
  int superuser_reserved_connections = 0;
  std::string version;           // server_version
  bool superuser = false;        // the monitor's role
  bool reads_all_stats = false;  // member of pg_read_all_stats
};

class Monitor {
 public:
  // Connects and reads the settings. Unavailable "monitor connection failed:
  // ..." or "monitor: reading the server settings failed: ...".
  absl::StatusOr<ServerSettings> Connect(const std::string& conninfo);

  // True when connected; a lost connection is re-established (PQreset)
  // first. False also before Connect().
  bool EnsureConnected();

  // Connected now (nothing is tried).
  bool connected() const;

  // Re-establishes the connection (after a server restart).
  void Reset();

  // Every client backend but the monitor's own. An error when the poll
  // failed (nothing can be inferred from it).
  absl::StatusOr<std::vector<Backend>> Poll();

  // pg_terminate_backend(pid), without waiting for the backend to exit.
  // FailedPrecondition when not connected; Unavailable when it failed.
  absl::Status Terminate(int pid);

  // The backend_start (epoch ms) of backend `pid`; NotFound if it has none.
  absl::StatusOr<int64_t> BackendStartMs(int pid);

  // (Re)creates the write workload's table, granted to `role` ("": nobody).
  absl::Status CreateWritesTable(const std::string& role);

  // The rows of the write workload's table per invocation id.
  absl::StatusOr<std::map<int, int>> CountWrites();

  // Runs `sql` (no parameters; several statements allowed).
  absl::Status Exec(const std::string& sql);

 private:
  pg::Conn conn_;
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_MONITOR_H_
