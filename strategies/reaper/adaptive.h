// strategies/reaper/adaptive.h: "aequor.reaper.adaptive", the default reaper
// scheduler: passes are rare while the database has room, and run at every
// trigger that may find a zombie once it is under pressure.
//
// It decides from what the manager already knows (api/reaper_scheduler.h,
// ScheduleInput), in this order:
//   1. The connect was refused because the database was full: run.
//   2. A probe at most 5 s old counted no reapable session: do not run
//      (nothing to kill; this spares a pass on most connects of a healthy
//      fleet, and every pass while a full database holds only the living).
//   3. That probe found pg-aequor's reaper lock held by another session:
//      run, whatever the usage. It may be a frozen pg-aequor leader, which
//      stops every pg-aequor instance of a mixed fleet from reaping, and a
//      pass frees it (if it is a live pass instead, this one reports busy).
//   4. Under pressure (usage >= ManagerOptions::reap_pressure_threshold):
//      run. The pass then kills every eligible zombie.
//   5. Otherwise (room, or nothing known, as on most warm invocations):
//      pg-aequor's documented default, a pass with probability p, at most
//      one per jittered cooldown (aequor.reaper.cooldown, backing off while
//      another instance holds the lock).
//
// Options (PluginSpec params):
//   p            probability of a pass per trigger with room, 0..1   default 0.1
//   base_ms, jitter, busy_factor, max_ms: the cooldown with room, as in
//                aequor.reaper.cooldown (30000, 0.2, 1.5, 600000)
//
//   builder.UseReaperScheduler("aequor.reaper.adaptive");               // the default
//   builder.UseReaperScheduler({"aequor.reaper.adaptive", {{"p", "0.05"}}});
//
// pg-aequor's default, whatever the database's state, is the named spec
// kPgAequorReaperScheduler (api/reaper_scheduler.h).
//
// Time comes only from the `now` the manager passes, randomness only from
// SchedulerContext::random.
//
// Thread-safety: not thread-safe (the manager calls it under its lock).
#ifndef AEQUOR_STRATEGIES_REAPER_ADAPTIVE_H_
#define AEQUOR_STRATEGIES_REAPER_ADAPTIVE_H_

#include <memory>

#include "api/reaper_scheduler.h"
#include "strategies/reaper/cooldown.h"
#include "strategies/reaper/probability.h"

namespace aequor {

struct AdaptiveConfig {
  double p = 0.1;  // REQUIRES: 0..1
  CooldownConfig cooldown;
};

class AdaptiveScheduler final : public ReaperScheduler {
 public:
  AdaptiveScheduler(const AdaptiveConfig& config, Random* random);

  bool ShouldRun(const ScheduleInput& input) override;
  bool WantsConnectionUsage() const override { return true; }
  void OnPassFinished(ReapOutcome outcome, absl::Time now) override;

 private:
  ProbabilityScheduler probability_;
  CooldownScheduler cooldown_;
};

inline constexpr absl::string_view kAdaptiveSchedulerName = "aequor.reaper.adaptive";
std::unique_ptr<ReaperSchedulerFactory> NewAdaptiveSchedulerFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_REAPER_ADAPTIVE_H_
