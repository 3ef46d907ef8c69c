// strategies/reaper/probability.h: "aequor.reaper.probability", run a reaper
// pass with a fixed probability at each trigger (pg-aequor's
// reaperRunProbability, which pg-aequor itself never reads).
//
// Options (PluginSpec params):
//   p       probability on connect, 0..1                         default 0.1
//   warm_p  probability before a warm invocation's first query    default 0
//
//   builder.UseReaperScheduler({"aequor.reaper.probability", {{"p", "0.25"}}});
//
// p=1 runs a pass at every connect (tests, tools); p=0 never does.
//
// Thread-safety: not thread-safe (the manager calls it under its lock).
#ifndef AEQUOR_STRATEGIES_REAPER_PROBABILITY_H_
#define AEQUOR_STRATEGIES_REAPER_PROBABILITY_H_

#include <memory>

#include "api/reaper_scheduler.h"

namespace aequor {

struct ProbabilityConfig {
  double p = 0.1;
  double warm_p = 0.0;
};

class ProbabilityScheduler final : public ReaperScheduler {
 public:
  ProbabilityScheduler(const ProbabilityConfig& config, Random* random)
      : config_(config), random_(random) {}
  bool ShouldRun(const ScheduleInput& input) override;

 private:
  ProbabilityConfig config_;
  Random* random_;
};

inline constexpr absl::string_view kProbabilitySchedulerName = "aequor.reaper.probability";
std::unique_ptr<ReaperSchedulerFactory> NewProbabilitySchedulerFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_REAPER_PROBABILITY_H_
