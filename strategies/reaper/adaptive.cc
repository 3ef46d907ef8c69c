#include "strategies/reaper/adaptive.h"

#include "api/random.h"

namespace aequor {
namespace {

ProbabilityConfig RareProbability(const AdaptiveConfig& config) {
  ProbabilityConfig p;
  p.p = config.p;
  p.warm_p = 0.0;  // with room, warm invocations leave the reaping to connects
  return p;
}

}  // namespace

AdaptiveScheduler::AdaptiveScheduler(const AdaptiveConfig& config, Random* random)
    : probability_(RareProbability(config), random), cooldown_(config.cooldown, random) {}

bool AdaptiveScheduler::ShouldRun(const ScheduleInput& input) {
  if (input.database_full) return true;
  if (input.reapable.has_value() && *input.reapable <= 0) return false;
  // The lock is busy and something is reapable: possibly a frozen leader,
  // which only a pass can free (a live leader costs this pass one "busy").
  if (input.reaper_lock_busy) return true;
  if (input.under_pressure) return true;
  // With room: the coin first, so that the cooldown is armed only on a yes.
  return probability_.ShouldRun(input) && cooldown_.ShouldRun(input);
}

void AdaptiveScheduler::OnPassFinished(ReapOutcome outcome, absl::Time now) {
  cooldown_.OnPassFinished(outcome, now);
}

namespace {

class Factory final : public TypedPluginFactory<ReaperScheduler, SchedulerContext, AdaptiveConfig> {
 public:
  absl::string_view name() const override { return kAdaptiveSchedulerName; }
  absl::string_view description() const override {
    return "the default: rare passes (probability p, then a cooldown) while the database has "
           "room; a pass at every trigger that may find a zombie under pressure";
  }

 protected:
  absl::StatusOr<AdaptiveConfig> ParseTyped(const PluginSpec& spec,
                                            const Registry&) const override {
    AdaptiveConfig config;
    ParamReader r(spec);
    config.p = r.Double("p", config.p, 0.0, 1.0);
    ReadCooldownParams(r, config.cooldown);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<ReaperScheduler>> CreateTyped(
      const AdaptiveConfig& config, const SchedulerContext& context) const override {
    if (context.random == nullptr) {
      return absl::InvalidArgumentError("aequor.reaper.adaptive needs a Random");
    }
    return std::make_unique<AdaptiveScheduler>(config, context.random);
  }
};

}  // namespace

std::unique_ptr<ReaperSchedulerFactory> NewAdaptiveSchedulerFactory() {
  return std::make_unique<Factory>();
}

}  // namespace aequor
