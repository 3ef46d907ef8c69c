// bench/storm/service_run.h (internal to //bench/storm:run): the storm's
// service mode (--client=aequor-pool): long-running services on pools under
// live traffic, some frozen for good and some for less than their leases
// last.
//
//   StormOptions o;
//   o.client = ClientKind::kAequorPool;
//   o.duration_s = 60;
//   absl::StatusOr<StormSummary> s = RunServiceStorm(o, &std::cout);
//   // s->false_kills == 0, s->zombies_left == 0, s->service->requests_failed == 0
//
// service_instances instances (storm_instance --client=aequor-pool) start
// together, each opening a pool of pool_size connections (min_size =
// max_size) with `workers` threads sending one statement every
// request_interval_ms; once every pool is open the run lasts duration_s. A
// quarter in, the last freeze_for_good instances are frozen (SIGSTOP) for
// good: their leases run out and the others' reaper passes must free every
// one of their connections. Every short_freeze_every_ms one of the others,
// in turn, is frozen for short_freeze_ms and resumed: shorter than its idle
// leases have left, so none of its connections may be killed.
//
// The monitor polls pg_stat_activity every poll_ms; each backend is
// attributed to its instance by its client port (bench/storm/backends.h);
// one that disappears is judged by the server log: terminated while its
// instance was frozen for good, a reaped zombie; terminated while its
// instance was running or only briefly frozen, a false kill; not
// terminated, closed by its pool. At the end every living instance is told
// "exit" (its pool closes and it reports once more), then every instance is
// killed and the server stopped.
//
// Thread-safety: as RunStorm (bench/storm/run.h).
#ifndef AEQUOR_BENCH_STORM_SERVICE_RUN_H_
#define AEQUOR_BENCH_STORM_SERVICE_RUN_H_

#include <ostream>

#include "absl/status/statusor.h"
#include "bench/storm/options.h"
#include "bench/storm/summary.h"

namespace aequor {
namespace storm {

// REQUIRES: options.client == ClientKind::kAequorPool.
absl::StatusOr<StormSummary> RunServiceStorm(const StormOptions& options, std::ostream* progress);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_SERVICE_RUN_H_
