// bench/storm/summary.h: what a storm run found (StormSummary) and the one
// line of JSON the storm prints last, the contract that scripts
// (tools/storm_matrix/run, tools/demo_report) and tests read.
//
//   StormSummary s;
//   s.client = "libpq";
//   std::cout << StormSummaryToJson(s) << "\n";  // {"client":"libpq","invocations":0,...}
//
// Field order is part of the contract: client, invocations, ok, failed,
// failures, peak_connections, zombies_reaped, false_kills, p50_ms, p99_ms,
// rows, duplicated_invocations, ok_without_row, unknown_outcome, fault_kills
// first; then the others (bench/storm/README.md lists them). Times in ms are
// written with one decimal (null when not measured).
//
// Thread-safety: plain structs and pure functions.
#ifndef AEQUOR_BENCH_STORM_SUMMARY_H_
#define AEQUOR_BENCH_STORM_SUMMARY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aequor {
namespace storm {

// --frozen-leader: what became of the leader (run times are ms after t = 0,
// when the first instance started).
struct FrozenLeaderReport {
  int backend_pid = 0;
  int lease_ttl_ms = 0;         // its lease's TTL: --lease-ttl-ms
  double lease_expires_ms = 0;  // negative if it expired before t = 0 (never)
  // When it was terminated: the server log's time (throwaway server), or the
  // poll that saw it gone (--dsn). nullopt: it was alive at the end, or it
  // went without a logged termination.
  std::optional<double> killed_ms;
  std::string killed_by;  // the server log's reason ("administrator command"), "" if none
  // The instance whose reaper pass reported freeing it ("# reap ...
  // frozen_leader_killed=1"); nullopt if none did.
  std::optional<int> freed_by_instance;
  // From lease_expires_ms to the first kill at or after it, the leader's own
  // (a pass frees it first) or any zombie's: when reaping resumed (nothing,
  // the leader included, can be reaped while the lock is held and its lease
  // valid). nullopt if nothing was killed after the expiry.
  std::optional<double> reaping_resumed_ms;
  // The first zombie of the fleet's instances reaped after the leader's
  // kill (run time); nullopt if none.
  std::optional<double> first_zombie_reaped_ms;
  // Reaping resumed no later than lease_ttl_ms + 1000 after the lease was
  // signed, i.e. reaping_resumed_ms <= 1000 (false when it never resumed).
  bool within_ttl_plus_1s = false;
  // Reaper passes reported ("# reap ...") before lease_expires_ms, so that
  // they ran entirely while the leader's lease was valid; of them, those
  // with outcome=busy; and the sessions they terminated (must be 0).
  int passes_while_valid = 0;
  int busy_while_valid = 0;
  int kills_while_valid = 0;
};

// The service mode (--client=aequor-pool; bench/storm/service_run.h). The
// run's invocations, ok and failed count requests there.
struct ServiceReport {
  int instances = 0;
  int pool_size = 0;
  int workers = 0;
  int duration_s = 0;
  int frozen_for_good = 0;    // instances frozen for good
  int short_freezes = 0;      // brief freezes done
  int64_t requests = 0;       // statements the instances sent
  int64_t requests_failed = 0;
  int64_t acquire_timeouts = 0;
  int64_t idle_renewals = 0;  // leases of idle connections renewed by the pools
  // Backends of the instances frozen for good, and of them those reaped.
  int frozen_backends = 0;
  int frozen_backends_reaped = 0;
  // From the freeze to the last of them reaped (ms; null if none was).
  std::optional<double> frozen_reaped_within_ms;
  // Backends of living instances that their pools closed (recycling, a
  // dead connection dropped): not kills.
  int closed_by_pools = 0;
  // Failed requests by key (SQLSTATE or text), from the instances' first
  // reports of each (counts are requests_failed's).
  std::map<std::string, int> error_samples;
};

struct StormSummary {
  std::string client;      // "aequor", "libpq" or "cmd"
  std::string client_cmd;  // kCommand only
  int invocations = 0;     // invocations started (cold and warm)
  int ok = 0;
  int failed = 0;                       // ok + failed == invocations
  std::map<std::string, int> failures;  // SQLSTATE or text -> count
  int peak_connections = 0;             // client backends, the monitor excluded
  int zombies_reaped = 0;               // not counting fault_kills
  int false_kills = 0;                  // not counting fault_kills
  // False kills by the instance's phase at the logged kill time:
  // "in_flight" (invocation running) or "answered_not_frozen".
  std::map<std::string, int> false_kills_by;
  std::optional<double> p50_ms;  // over answered and timed-out invocations
  std::optional<double> p99_ms;

  // The write workload (all 0 with kRead).
  int rows = 0;                    // rows in storm_writes at the end
  int duplicated_invocations = 0;  // invocation ids with more than one row
  int ok_without_row = 0;          // answered ok, no row
  int unknown_outcome = 0;         // answered "fail unknown_outcome ..."
  int failed_with_row = 0;         // answered another failure, yet a row exists
  int unknown_with_row = 0;        // outcome unknown, and the row exists

  // Backends terminated by the harness's own faults, and by which.
  int fault_kills = 0;
  // "terminate-idle", "terminate-active", "restart-at", "restart-after-backends"
  std::map<std::string, int> fault_kills_by;
  int restarts = 0;                  // server restarts done (restart-*)
  std::optional<double> restart_ms;  // how long the restart took

  std::string workload = "read";
  std::string faults;        // StormFaults::ToString()
  int instances = 0;         // instance processes started
  int warm_invocations = 0;  // invocations run on a resumed instance
  int invocations_per_instance = 1;
  int thaw_after_ms = 0;

  // --reaper-role (see StormOptions::reaper_role).
  bool reaper_role = false;
  int reaper_slots = 0;                     // 0 without reaper_role
  std::optional<int> app_connection_limit;  // the fleet role's CONNECTION LIMIT
  // Reaper passes the instances reported ("# reap source=S ... killed=N"):
  // passes and sessions terminated, by source ("connect", "invocation",
  // "emergency", ...).
  std::map<std::string, int> reaper_passes;
  std::map<std::string, int> reaper_kills;
  // The database full: connections refused for lack of slots (53300, from the
  // server log; 0 with --dsn), the run time of the first one (with --dsn: of
  // the first answer "fail 53300"), and the time from then to the start of
  // the next fleet backend the server accepted (backend_start of the
  // fleet's role, seen by a poll): how long the fleet was locked out. Both
  // null when the database never filled; full_recovery_ms null when no fleet
  // connection got in after it.
  int refused_connections = 0;
  std::optional<double> full_at_ms;
  std::optional<double> full_recovery_ms;

  // --frozen-leader; nullopt without it.
  std::optional<FrozenLeaderReport> frozen_leader;

  // The service mode; nullopt in the serverless storm.
  std::optional<ServiceReport> service;

  // Beyond the contract.
  std::map<std::string, int> reaped_by;  // reason from the server log -> count
  int zombies_left = 0;                  // frozen instances' backends alive at the end
  int unattributed_backends = 0;
  int final_connections = 0;
  // --max-connections (throwaway server) or the server's max_connections (--dsn).
  int max_connections = 0;
  // Slots the fleet can use: server_max_connections - superuser_reserved_connections
  // - 1 for the monitor's session (a superuser session takes an ordinary slot).
  int fleet_slots = 0;
  // The server's setting: --max-connections + 1 on the throwaway server.
  int server_max_connections = 0;
  int superuser_reserved_connections = 0;
  std::string server;         // "throwaway" or "dsn"
  std::string kill_evidence;  // "server_log" or "poll"
  uint64_t seed = 0;
  int64_t duration_ms = 0;
  std::string series_out;
  bool interrupted = false;
  int interrupted_signal = 0;  // the signal that cut the run short
};

// One line of JSON, no newline, in the order above. Never throws: text that
// is not valid UTF-8 (a server's message) has its bad bytes replaced by U+FFFD.
std::string StormSummaryToJson(const StormSummary& summary);

// Nearest-rank percentile (p in (0, 100]) of `samples`; nullopt when empty.
std::optional<double> Percentile(std::vector<double> samples, double p);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_SUMMARY_H_
