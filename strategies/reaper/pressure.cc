#include "strategies/reaper/pressure.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace aequor {

bool PressureScheduler::ShouldRun(const ScheduleInput& input) {
  if (!input.connection_usage.has_value()) return config_.run_when_unknown;
  // A NaN usage compares false: treated as "not under pressure".
  return *input.connection_usage >= config_.threshold;
}

namespace {

class Factory final : public TypedPluginFactory<ReaperScheduler, SchedulerContext, PressureConfig> {
 public:
  absl::string_view name() const override { return kPressureSchedulerName; }
  absl::string_view description() const override {
    return "run a pass only when the role's connection usage (slots in use / slots it may "
           "use) >= threshold";
  }

 protected:
  absl::StatusOr<PressureConfig> ParseTyped(const PluginSpec& spec,
                                            const Registry&) const override {
    PressureConfig config;
    ParamReader r(spec);
    config.threshold = r.Double("threshold", config.threshold, 0.0, 1.0);
    std::string when_unknown = r.String("when_unknown", "skip");
    if (when_unknown == "run") {
      config.run_when_unknown = true;
    } else if (when_unknown == "skip") {
      config.run_when_unknown = false;
    } else {
      r.Fail(
          absl::StrCat("option 'when_unknown' must be 'run' or 'skip', got '", when_unknown, "'"));
    }
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<ReaperScheduler>> CreateTyped(
      const PressureConfig& config, const SchedulerContext&) const override {
    return std::make_unique<PressureScheduler>(config);
  }
};

}  // namespace

std::unique_ptr<ReaperSchedulerFactory> NewPressureSchedulerFactory() {
  return std::make_unique<Factory>();
}

}  // namespace aequor
