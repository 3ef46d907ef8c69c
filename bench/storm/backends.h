// bench/storm/backends.h: the client backends the monitor's polls see, kept
// from poll to poll (keyed by pid and backend_start, so that a reused pid is
// a new backend), and attributed to the instance that opened each.
//
//   BackendTable table;
//   BackendTable::Merged m = table.Merge(*monitor.Poll(), now);
//   AttributeBackends(reported_pids, live_groups, server_port, &table.all());
//   for (const Backend& gone : table.TakeGone()) { /* judge it */ }
//
// Attribution: a backend whose pid an instance reported ("# pid N") is that
// instance's; any other is matched by its client TCP port: the local port of
// a socket in /proc/net/tcp{,6} whose inode is an open fd of a process in
// the instance's process group (bench/storm/procfs.h).
//
// Thread-safety: not thread-safe (the harness's loop is single-threaded).
#ifndef AEQUOR_BENCH_STORM_BACKENDS_H_
#define AEQUOR_BENCH_STORM_BACKENDS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace aequor {
namespace storm {

// One client backend as the polls see it.
struct Backend {
  int pid = 0;
  int64_t start_ms = 0;  // backend_start, epoch ms
  int client_port = -1;
  std::string application_name;
  std::string state;    // pg_stat_activity.state at the last poll
  std::string query;    // its first 200 characters
  std::string user;     // pg_stat_activity.usename
  int instance = 0;     // 0: not attributed (yet)
  bool leader = false;  // --frozen-leader's session: never attributed or counted
  double first_seen_ms = 0;
  double last_seen_ms = 0;
};

using BackendKey = std::pair<int, int64_t>;  // pid, backend_start

inline BackendKey KeyOf(const Backend& b) { return BackendKey{b.pid, b.start_ms}; }

class BackendTable {
 public:
  // What one poll changed.
  struct Merged {
    int present = 0;                // client backends the poll saw
    std::vector<BackendKey> added;  // seen for the first time
  };

  // The frozen leader's backend (marked `leader` when a poll first sees it).
  void set_leader(BackendKey key) { leader_ = key; }

  // Merges one successful poll (every client backend there is now) at run
  // time `now`. Backends the poll did not see stay until TakeGone().
  Merged Merge(const std::vector<Backend>& polled, double now);

  // The backends the last Merge() did not see, removed, in key order.
  std::vector<Backend> TakeGone();

  std::map<BackendKey, Backend>& all() { return backends_; }
  const std::map<BackendKey, Backend>& all() const { return backends_; }

 private:
  std::map<BackendKey, Backend> backends_;
  std::set<BackendKey> present_;
  std::optional<BackendKey> leader_;
};

// Sets `instance` on every backend of `backends` not attributed yet (and not
// the leader): from `reported_pids` (backend pid -> instance number), else by
// client port through /proc, among the process groups of `live_groups`
// (process group id -> instance number) connected to `server_port`.
void AttributeBackends(const std::map<int, int>& reported_pids,
                       const std::map<pid_t, int>& live_groups, int server_port,
                       std::map<BackendKey, Backend>* backends);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_BACKENDS_H_
