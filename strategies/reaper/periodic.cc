#include "strategies/reaper/periodic.h"

#include "api/random.h"

namespace aequor {

absl::Duration PeriodicScheduler::JitteredInterval() {
  return config_.interval * random_->UniformReal(1.0 - config_.jitter, 1.0 + config_.jitter);
}

bool PeriodicScheduler::ShouldRun(const ScheduleInput& input) {
  if (next_due_.has_value() && input.now < *next_due_) return false;
  next_due_ = input.now + JitteredInterval();
  in_flight_ = true;
  return true;
}

void PeriodicScheduler::OnPassFinished(ReapOutcome, absl::Time now) {
  if (in_flight_) {
    // Our own pass: the interval already counts from its start.
    in_flight_ = false;
    return;
  }
  // A pass a sibling allowed: count it as the last pass.
  next_due_ = now + JitteredInterval();
}

namespace {

class Factory final : public TypedPluginFactory<ReaperScheduler, SchedulerContext, PeriodicConfig> {
 public:
  absl::string_view name() const override { return kPeriodicSchedulerName; }
  absl::string_view description() const override {
    return "run a pass when interval_ms (jittered) has passed since the last one started; "
           "for long-running services";
  }

 protected:
  absl::StatusOr<PeriodicConfig> ParseTyped(const PluginSpec& spec,
                                            const Registry&) const override {
    PeriodicConfig config;
    ParamReader r(spec);
    config.interval = r.Millis("interval_ms", config.interval, absl::Milliseconds(1000),
                               absl::Milliseconds(86400000));
    config.jitter = r.Double("jitter", config.jitter, 0.0, 1.0);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<ReaperScheduler>> CreateTyped(
      const PeriodicConfig& config, const SchedulerContext& context) const override {
    if (context.random == nullptr) {
      return absl::InvalidArgumentError("aequor.reaper.periodic needs a Random");
    }
    return std::make_unique<PeriodicScheduler>(config, context.random);
  }
};

}  // namespace

std::unique_ptr<ReaperSchedulerFactory> NewPeriodicSchedulerFactory() {
  return std::make_unique<Factory>();
}

}  // namespace aequor
