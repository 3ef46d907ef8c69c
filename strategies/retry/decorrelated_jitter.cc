#include "strategies/retry/decorrelated_jitter.h"

#include <algorithm>

#include "api/random.h"

namespace aequor {

std::optional<absl::Duration> DecorrelatedJitterPolicy::NextDelay(const RetryState& state,
                                                                  Random& random) const {
  if (state.retry < 1 || state.retry > config_.retries) return std::nullopt;
  absl::Duration previous =
      state.previous_delay > absl::ZeroDuration() ? state.previous_delay : config_.base;
  double lo = absl::ToDoubleMilliseconds(config_.base);
  double hi = 3.0 * absl::ToDoubleMilliseconds(previous);
  absl::Duration sleep = absl::Milliseconds(random.UniformReal(lo, hi));
  return std::min(config_.cap, sleep);
}

namespace {

class Factory final : public TypedPluginFactory<RetryPolicy, RetryContext, BackoffConfig> {
 public:
  absl::string_view name() const override { return kDecorrelatedJitterName; }
  absl::string_view description() const override {
    return "sleep = min(cap, uniform(base, 3 * previous sleep)); the default";
  }

 protected:
  absl::StatusOr<BackoffConfig> ParseTyped(const PluginSpec& spec, const Registry&) const override {
    return ParseBackoffConfig(spec);
  }
  absl::StatusOr<std::unique_ptr<RetryPolicy>> CreateTyped(const BackoffConfig& config,
                                                           const RetryContext&) const override {
    return std::make_unique<DecorrelatedJitterPolicy>(config);
  }
};

}  // namespace

std::unique_ptr<RetryPolicyFactory> NewDecorrelatedJitterFactory() {
  return std::make_unique<Factory>();
}

}  // namespace aequor
