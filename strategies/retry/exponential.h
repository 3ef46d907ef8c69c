// strategies/retry/exponential.h: "aequor.retry.exponential", exponential
// backoff with full jitter: sleep(n) = uniform(0, min(cap, base * 2^(n-1))).
//
// Options: retries, base_ms, cap_ms (strategies/retry/backoff_config.h).
//
// Thread-safety: the policy is immutable and thread-safe.
#ifndef AEQUOR_STRATEGIES_RETRY_EXPONENTIAL_H_
#define AEQUOR_STRATEGIES_RETRY_EXPONENTIAL_H_

#include <memory>

#include "absl/time/time.h"
#include "api/retry_policy.h"
#include "strategies/retry/backoff_config.h"

namespace aequor {

class ExponentialPolicy final : public RetryPolicy {
 public:
  explicit ExponentialPolicy(const BackoffConfig& config) : config_(config) {}
  std::optional<absl::Duration> NextDelay(const RetryState& state, Random& random) const override;

 private:
  BackoffConfig config_;
};

inline constexpr absl::string_view kExponentialName = "aequor.retry.exponential";
std::unique_ptr<RetryPolicyFactory> NewExponentialFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_RETRY_EXPONENTIAL_H_
