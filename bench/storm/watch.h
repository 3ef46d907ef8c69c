// bench/storm/watch.h: the run's view of the server through the monitor:
// every poll merges the client backends it sees (bench/storm/backends.h),
// attributes them to instances, and judges each one that disappeared
// (bench/storm/verdict.h): a reaped zombie, a false kill, a fault's kill,
// an unattributed backend, or the frozen leader gone. It keeps the counts
// in the run's StormSummary and the connections series.
//
//   Watch watch(setup.monitor, setup.log.get(), clock, fleet, say, &summary,
//               setup.server.fleet_role, setup.server.port);
//   if (watch.Poll(clock.Now())) { ... watch.backends() ... }
//   watch.Terminate(backend, kFaultTerminateIdle);   // counted in fault_kills once gone
//
// Thread-safety: not thread-safe (the harness's loop is single-threaded).
#ifndef AEQUOR_BENCH_STORM_WATCH_H_
#define AEQUOR_BENCH_STORM_WATCH_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bench/storm/backends.h"
#include "bench/storm/fleet.h"
#include "bench/storm/monitor.h"
#include "bench/storm/progress.h"
#include "bench/storm/run_clock.h"
#include "bench/storm/server_log.h"
#include "bench/storm/summary.h"

namespace aequor {
namespace storm {

class Watch {
 public:
  // Every argument must outlive the Watch. `log`: the throwaway server's
  // log (the kill evidence), null with --dsn. `fleet_role`: the fleet's
  // user, whose backend starts tell when the fleet got in again after the
  // database was full.
  Watch(Monitor& monitor, ServerLogReader* log, const RunClock& clock, const Fleet& fleet,
        const Progress& say, StormSummary* summary, std::string fleet_role, int server_port);

  // --frozen-leader: its backend and its lease's expiry (epoch ms).
  void SetLeader(BackendKey key, int64_t expires_epoch_ms);

  // An instance named its backend ("# pid N").
  void Reported(int backend_pid, int instance) { reported_pids_[backend_pid] = instance; }

  // Polls at run time `now` (reconnecting a lost monitor first). False when
  // the poll failed: nothing is inferred from it.
  bool Poll(double now);

  // pg_terminate_backend(b) for `fault`; once gone, `b` counts in
  // fault_kills_by[fault]. False when it could not be sent.
  bool Terminate(const Backend& b, const char* fault);

  // Every backend known now goes down to `fault` (a server restart).
  void BlameAllOn(const char* fault);

  // The backends of the last poll, and how many.
  const std::map<BackendKey, Backend>& backends() const { return backends_.all(); }
  int connections() const { return connections_; }
  // Distinct client backends seen so far, the leader's excluded.
  int backends_seen() const { return backends_seen_; }
  // Poll run time -> connections, for --series-out.
  const std::vector<std::pair<double, int>>& series() const { return series_; }
  // backend_start (epoch ms) of every fleet backend seen.
  const std::set<int64_t>& fleet_backend_starts() const { return fleet_backend_starts_; }
  // Run time of every zombie reaped.
  const std::vector<double>& zombie_reaped_ms() const { return zombie_reaped_ms_; }

 private:
  std::optional<Termination> LoggedTermination(const Backend& b);
  void Disappeared(const Backend& b, double now);
  void LeaderGone(const Backend& b, double now);

  Monitor& monitor_;
  ServerLogReader* const log_;
  const RunClock& clock_;
  const Fleet& fleet_;
  const Progress& say_;
  StormSummary* const summary_;
  const std::string fleet_role_;
  const int server_port_;
  bool monitor_ok_ = true;  // the last poll worked (connected just before the run)
  BackendTable backends_;
  std::map<int, int> reported_pids_;  // backend pid -> instance number
  // Backends the faults terminated (or are terminating): key -> fault name.
  std::map<BackendKey, std::string> fault_targets_;
  int connections_ = 0;  // at the last good poll
  int backends_seen_ = 0;
  std::vector<std::pair<double, int>> series_;
  std::set<int64_t> fleet_backend_starts_;
  std::vector<double> zombie_reaped_ms_;
  int64_t leader_expires_epoch_ms_ = 0;
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_WATCH_H_
