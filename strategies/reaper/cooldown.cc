#include "strategies/reaper/cooldown.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "api/random.h"

namespace aequor {

bool CooldownScheduler::ShouldRun(const ScheduleInput& input) {
  if (next_allowed_.has_value() && input.now < *next_allowed_) return false;
  // Arm now: until the pass reports, the cooldown counts from its start.
  double factor = random_->UniformReal(1.0 - config_.jitter, 1.0 + config_.jitter);
  armed_factor_ = factor;
  next_allowed_ = input.now + nominal_ * factor;
  return true;
}

void CooldownScheduler::OnPassFinished(ReapOutcome outcome, absl::Time now) {
  switch (outcome) {
    case ReapOutcome::kCompleted: nominal_ = config_.base; break;
    case ReapOutcome::kBusy:
      nominal_ = std::min(nominal_ * config_.busy_factor, config_.max);
      break;
    case ReapOutcome::kError:
      // Not contention: keep the current cooldown (see the header).
      break;
  }
  double factor = armed_factor_.has_value()
                      ? *armed_factor_
                      : random_->UniformReal(1.0 - config_.jitter, 1.0 + config_.jitter);
  armed_factor_.reset();
  // The cooldown now counts from the pass's end, replacing what ShouldRun()
  // armed (which used the nominal cooldown from before this outcome).
  next_allowed_ = now + nominal_ * factor;
}

namespace {

constexpr absl::Duration kMinMillis = absl::Milliseconds(1);
constexpr absl::Duration kMaxMillis = absl::Milliseconds(86400000);
constexpr absl::Duration kDefaultMax = absl::Milliseconds(600000);

}  // namespace

void ReadCooldownParams(ParamReader& r, CooldownConfig& config) {
  config.base = r.Millis("base_ms", config.base, kMinMillis, kMaxMillis);
  config.jitter = r.Double("jitter", config.jitter, 0.0, 1.0);
  config.busy_factor = r.Double("busy_factor", config.busy_factor, 1.0, 10.0);
  bool max_given = r.Has("max_ms");
  config.max = r.Millis("max_ms", std::max(kDefaultMax, config.base), kMinMillis, kMaxMillis);
  if (max_given && config.max < config.base) {
    r.Fail(absl::StrCat("option 'max_ms' must be >= base_ms (",
                        absl::ToInt64Milliseconds(config.base), "), got '",
                        absl::ToInt64Milliseconds(config.max), "'"));
  }
}

namespace {

class Factory final : public TypedPluginFactory<ReaperScheduler, SchedulerContext, CooldownConfig> {
 public:
  absl::string_view name() const override { return kCooldownSchedulerName; }
  absl::string_view description() const override {
    return "at most one pass per jittered cooldown (base_ms), backing off by busy_factor "
           "up to max_ms while another instance holds the reaper lock";
  }

 protected:
  absl::StatusOr<CooldownConfig> ParseTyped(const PluginSpec& spec,
                                            const Registry&) const override {
    CooldownConfig config;
    ParamReader r(spec);
    ReadCooldownParams(r, config);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<ReaperScheduler>> CreateTyped(
      const CooldownConfig& config, const SchedulerContext& context) const override {
    if (context.random == nullptr) {
      return absl::InvalidArgumentError("aequor.reaper.cooldown needs a Random");
    }
    return std::make_unique<CooldownScheduler>(config, context.random);
  }
};

}  // namespace

std::unique_ptr<ReaperSchedulerFactory> NewCooldownSchedulerFactory() {
  return std::make_unique<Factory>();
}

}  // namespace aequor
