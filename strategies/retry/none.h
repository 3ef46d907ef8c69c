// strategies/retry/none.h: "aequor.retry.none", never retry.
//
// Every failure is returned to the caller at once. Thaw detection still
// reconnects a connection found dead before sending (nothing was sent, so
// that is not a retry). No options.
//
// Thread-safety: immutable and thread-safe.
#ifndef AEQUOR_STRATEGIES_RETRY_NONE_H_
#define AEQUOR_STRATEGIES_RETRY_NONE_H_

#include <memory>

#include "api/retry_policy.h"

namespace aequor {

class NoRetryPolicy final : public RetryPolicy {
 public:
  std::optional<absl::Duration> NextDelay(const RetryState&, Random&) const override {
    return std::nullopt;
  }
};

inline constexpr absl::string_view kNoRetryName = "aequor.retry.none";
std::unique_ptr<RetryPolicyFactory> NewNoRetryFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_RETRY_NONE_H_
