// strategies/reaper/periodic.h: "aequor.reaper.periodic", for long-running
// services: run a reaper pass when at least one (jittered) interval has passed
// since the last pass started.
//
// Options (PluginSpec params):
//   interval_ms  the nominal interval between pass starts,     default 60000
//                1000..86400000
//   jitter       each interval is interval_ms times              default 0.1
//                uniform(1 - jitter, 1 + jitter), 0..1
//
//   builder.UseReaperScheduler({"aequor.reaper.periodic", {{"interval_ms", "120000"}}});
//
// Behaviour:
//   - The first trigger runs (a fresh instance is when a pass helps most).
//   - ShouldRun() is true when the monotonic time `now` has reached the last
//     pass's start plus its jittered interval. A yes arms the scheduler at
//     once with a new jittered interval (one random draw per interval): later
//     calls say no until it has passed, whatever the pass's outcome.
//   - Both triggers, kConnect and kInvocation, can start a pass: a
//     long-running service reconnects rarely, so the warm trigger is the one
//     that keeps the schedule. The manager only asks at triggers; there is no
//     timer thread, so an idle service runs no pass until its next call.
//   - Outcomes do not change the interval (pair it with aequor.reaper.cooldown
//     in aequor.reaper.all_of for a backoff while the lock is busy). An outcome
//     for a pass this scheduler did not allow (a sibling in aequor.reaper.any_of
//     allowed it) counts as a pass: the interval restarts from its end.
//
// Time comes only from the `now` the manager passes (its injected Clock's
// monotonic time), randomness only from SchedulerContext::random.
//
// Thread-safety: not thread-safe (the manager calls it under its lock).
#ifndef AEQUOR_STRATEGIES_REAPER_PERIODIC_H_
#define AEQUOR_STRATEGIES_REAPER_PERIODIC_H_

#include <memory>
#include <optional>

#include "absl/time/time.h"
#include "api/reaper_scheduler.h"

namespace aequor {

struct PeriodicConfig {
  absl::Duration interval = absl::Milliseconds(60000);  // REQUIRES: 1 s..24 h
  double jitter = 0.1;                                  // REQUIRES: 0..1
};

class PeriodicScheduler final : public ReaperScheduler {
 public:
  PeriodicScheduler(const PeriodicConfig& config, Random* random)
      : config_(config), random_(random) {}

  bool ShouldRun(const ScheduleInput& input) override;
  void OnPassFinished(ReapOutcome outcome, absl::Time now) override;

  // The earliest time ShouldRun() says yes again; nullopt before any pass.
  std::optional<absl::Time> next_due() const { return next_due_; }

 private:
  absl::Duration JitteredInterval();

  PeriodicConfig config_;
  Random* random_;
  std::optional<absl::Time> next_due_;
  bool in_flight_ = false;  // ShouldRun() said yes and no outcome came yet
};

inline constexpr absl::string_view kPeriodicSchedulerName = "aequor.reaper.periodic";
std::unique_ptr<ReaperSchedulerFactory> NewPeriodicSchedulerFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_REAPER_PERIODIC_H_
