// strategies/reaper/pressure.h: "aequor.reaper.pressure", run a reaper pass
// only when the database is filling up: when the fraction of connection slots
// in use has reached a threshold.
//
// The manager computes ScheduleInput::connection_usage = client backends in
// pg_stat_activity / max_connections. It learns it cheaply: because this
// scheduler's WantsConnectionUsage() is true (and so is that of any all_of or
// any_of containing it), the manager measures it with one small query on the
// connection it already holds, at most every 5 s, reusing the last value in
// between; schedulers that do not want it cost no query. The value may thus
// be a few seconds stale, and the manager passes nullopt when it does not know
// it (the query failed, or no measurement yet): `when_unknown` decides then.
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

struct PressureConfig : ParsedConfig {
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
