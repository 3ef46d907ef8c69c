// strategies/retry/decorrelated_jitter.h: "aequor.retry.decorrelated_jitter",
// the default retry policy.
//
// sleep(1) = uniform(base, 3 * base) capped at cap, then
// sleep(n) = min(cap, uniform(base, 3 * sleep(n-1))): spreads a fleet's
// retries out (AWS Architecture Blog, "Exponential Backoff And Jitter").
//
// Options: retries, base_ms, cap_ms (strategies/retry/backoff_config.h).
//
//   builder.UseRetryPolicy({"aequor.retry.decorrelated_jitter", {{"retries", "5"}}});
//
// Thread-safety: the policy is immutable and thread-safe.
#ifndef AEQUOR_STRATEGIES_RETRY_DECORRELATED_JITTER_H_
#define AEQUOR_STRATEGIES_RETRY_DECORRELATED_JITTER_H_

#include <memory>

#include "absl/time/time.h"
#include "api/retry_policy.h"
#include "strategies/retry/backoff_config.h"

namespace aequor {

class DecorrelatedJitterPolicy final : public RetryPolicy {
 public:
  explicit DecorrelatedJitterPolicy(const BackoffConfig& config) : config_(config) {}
  std::optional<absl::Duration> NextDelay(const RetryState& state, Random& random) const override;

 private:
  BackoffConfig config_;
};

inline constexpr absl::string_view kDecorrelatedJitterName = "aequor.retry.decorrelated_jitter";
std::unique_ptr<RetryPolicyFactory> NewDecorrelatedJitterFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_RETRY_DECORRELATED_JITTER_H_
