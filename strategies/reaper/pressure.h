// strategies/reaper/pressure.h: "aequor.reaper.pressure", run a reaper pass
// only when the database is filling up: when the fraction of connection slots
// in use has reached a threshold.
//
// ScheduleInput::connection_usage is the role's connection usage: slots in
// use / slots it may use (the larger of the database's, less the superuser
// reserve, and the role's own CONNECTION LIMIT; core/server_probe.h). Because
// this scheduler's WantsConnectionUsage() is true (and so is that of any
// all_of or any_of containing it), a new connection runs one small probe
// statement before the scheduler is asked; warm invocations never probe and
// get the value that statements sent anyway (a pass, a lease renewal)
// brought back, if at most 5 s old. The manager passes nullopt when it does
// not know it that recently: `when_unknown` decides then.
//
// Options (PluginSpec params):
//   threshold     run when usage >= threshold, 0..1                 default 0.8
//   when_unknown  what to do when usage is unknown: run | skip       default skip
//
//   builder.UseReaperScheduler(
//       {"aequor.reaper.pressure", {{"threshold", "0.7"}, {"when_unknown", "run"}}});
//
// Alone it reaps only under pressure; to also reap now and then, combine it:
//   aequor.reaper.any_of(aequor.reaper.pressure(threshold=0.8),
//                        aequor.reaper.all_of(aequor.reaper.probability(p=0.05),
//                                             aequor.reaper.cooldown()))
// threshold=0 runs at every trigger whose usage is known. Both triggers
// (connect, warm invocation) are treated alike. Stateless: no clock, no
// randomness.
//
// Thread-safety: not thread-safe (the manager calls it under its lock); in
// practice it has no mutable state.
#ifndef AEQUOR_STRATEGIES_REAPER_PRESSURE_H_
#define AEQUOR_STRATEGIES_REAPER_PRESSURE_H_

#include <memory>

#include "api/reaper_scheduler.h"

namespace aequor {

struct PressureConfig {
  double threshold = 0.8;         // REQUIRES: 0..1
  bool run_when_unknown = false;  // when_unknown: "run" (true) or "skip" (false)
};

class PressureScheduler final : public ReaperScheduler {
 public:
  explicit PressureScheduler(const PressureConfig& config) : config_(config) {}
  bool ShouldRun(const ScheduleInput& input) override;
  bool WantsConnectionUsage() const override { return true; }

 private:
  PressureConfig config_;
};

inline constexpr absl::string_view kPressureSchedulerName = "aequor.reaper.pressure";
std::unique_ptr<ReaperSchedulerFactory> NewPressureSchedulerFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_REAPER_PRESSURE_H_
