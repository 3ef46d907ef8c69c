#include "strategies/reaper/probability.h"

#include "api/random.h"

namespace aequor {

bool ProbabilityScheduler::ShouldRun(const ScheduleInput& input) {
  double p = input.trigger == ReapTrigger::kConnect ? config_.p : config_.warm_p;
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  return random_->Uniform01() < p;
}

namespace {

class Factory final
    : public TypedPluginFactory<ReaperScheduler, SchedulerContext, ProbabilityConfig> {
 public:
  absl::string_view name() const override { return kProbabilitySchedulerName; }
  absl::string_view description() const override {
    return "run a pass with probability p on connect (warm_p before warm invocations)";
  }

 protected:
  absl::StatusOr<ProbabilityConfig> ParseTyped(const PluginSpec& spec,
                                               const Registry&) const override {
    ProbabilityConfig config;
    ParamReader r(spec);
    config.p = r.Double("p", config.p, 0.0, 1.0);
    config.warm_p = r.Double("warm_p", config.warm_p, 0.0, 1.0);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<ReaperScheduler>> CreateTyped(
      const ProbabilityConfig& config, const SchedulerContext& context) const override {
    if (context.random == nullptr) {
      return absl::InvalidArgumentError("aequor.reaper.probability needs a Random");
    }
    return std::make_unique<ProbabilityScheduler>(config, context.random);
  }
};

}  // namespace

std::unique_ptr<ReaperSchedulerFactory> NewProbabilitySchedulerFactory() {
  return std::make_unique<Factory>();
}

}  // namespace aequor
