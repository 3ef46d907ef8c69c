#include "strategies/retry/exponential.h"

#include <algorithm>
#include <cmath>

#include "api/random.h"

namespace aequor {

std::optional<absl::Duration> ExponentialPolicy::NextDelay(const RetryState& state,
                                                           Random& random) const {
  if (state.retry < 1 || state.retry > config_.retries) return std::nullopt;
  // 2^(n-1) overflows nothing as a double; the cap bounds the result.
  double ceiling = std::min(
      absl::ToDoubleMilliseconds(config_.cap),
      absl::ToDoubleMilliseconds(config_.base) * std::ldexp(1.0, std::min(state.retry - 1, 62)));
  return absl::Milliseconds(random.UniformReal(0.0, ceiling));
}

namespace {

class Factory final : public TypedPluginFactory<RetryPolicy, RetryContext, BackoffConfig> {
 public:
  absl::string_view name() const override { return kExponentialName; }
  absl::string_view description() const override {
    return "full jitter: sleep = uniform(0, min(cap, base * 2^(n-1)))";
  }

 protected:
  absl::StatusOr<BackoffConfig> ParseTyped(const PluginSpec& spec, const Registry&) const override {
    return ParseBackoffConfig(spec);
  }
  absl::StatusOr<std::unique_ptr<RetryPolicy>> CreateTyped(const BackoffConfig& config,
                                                           const RetryContext&) const override {
    return std::make_unique<ExponentialPolicy>(config);
  }
};

}  // namespace

std::unique_ptr<RetryPolicyFactory> NewExponentialFactory() { return std::make_unique<Factory>(); }

}  // namespace aequor
