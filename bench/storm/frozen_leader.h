// bench/storm/frozen_leader.h: --frozen-leader, a pg-aequor leader frozen
// while it holds its session lock, as the server sees it: a session of the
// fleet's role whose application_name is a lease of the service, signed with
// the coordination secret and expiring lease_ttl_ms later, holding
// pg_advisory_lock(kReaperLockNamespace, hashtext(<service>)) and never used
// again. Then, from what the storm saw, what became of it.
//
//   absl::StatusOr<FrozenLeader> leader = StartFrozenLeader(spec, monitor, say);
//   ...
//   SummarizeFrozenLeader(clock.FromEpochMs(leader->expires_epoch_ms), reap_lines,
//                         zombie_reaped_ms, &*summary.frozen_leader);
//   say(FrozenLeaderLine(*summary.frozen_leader));
//
// Thread-safety: StartFrozenLeader is not thread-safe with `monitor`; the
// rest are pure functions.
#ifndef AEQUOR_BENCH_STORM_FROZEN_LEADER_H_
#define AEQUOR_BENCH_STORM_FROZEN_LEADER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/storm/backends.h"
#include "bench/storm/monitor.h"
#include "bench/storm/progress.h"
#include "bench/storm/protocol.h"
#include "bench/storm/summary.h"
#include "util/pg.h"

namespace aequor {
namespace storm {

// Who the leader is and where it connects.
struct FrozenLeaderSpec {
  std::string secret;   // the coordination secret (never printed)
  std::string service;  // --service, normalised here as the manager does
  uint64_t seed = 0;    // its instance id derives from it
  int lease_ttl_ms = 0;
  // The instances' connection settings (PG* variables).
  std::map<std::string, std::string> fleet_env;
  std::string fleet_role;  // for the progress line; "" if unknown
};

// The leader's session: keep `conn` open for the whole run.
struct FrozenLeader {
  pg::Conn conn;
  BackendKey key;  // pid and backend_start as the polls see them
  int64_t expires_epoch_ms = 0;
};

// Connects as the leader (a startup lock_timeout of 5 s bounds the wait for
// a lock a live fleet holds), takes the lock and reads its backend_start
// through `monitor`. Errors name --frozen-leader and the step.
absl::StatusOr<FrozenLeader> StartFrozenLeader(const FrozenLeaderSpec& spec, Monitor& monitor,
                                               const Progress& say);

// A reaper pass an instance reported, and when its line was read.
struct ReapLine {
  double read_ms = 0;
  int instance = 0;
  ReapComment reap;
};

// Fills the report's lease_expires_ms, freed_by_instance, the passes while
// the lease was valid, reaping_resumed_ms (from the expiry to the first kill
// at or after it: the leader's own, f->killed_ms, or a zombie's),
// first_zombie_reaped_ms and within_ttl_plus_1s. Run times in ms.
void SummarizeFrozenLeader(double lease_expires_ms, const std::vector<ReapLine>& reap_lines,
                           const std::vector<double>& zombie_reaped_ms, FrozenLeaderReport* f);

// The progress line that says all that ("frozen leader: lease expired at ...").
std::string FrozenLeaderLine(const FrozenLeaderReport& f);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_FROZEN_LEADER_H_
