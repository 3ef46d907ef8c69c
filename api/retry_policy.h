// api/retry_policy.h: the retry policy plugin kind, deciding whether and how
// long to wait before trying a retryable operation again.
//
// The policy only chooses delays. What may be retried at all (never an
// authentication failure, never a write that may have run) is decided by the
// manager's classifier, and every delay is further capped by the time left in
// the operation's budget, which is a deadline.
//
// Built-ins (strategies/retry/):
//   aequor.retry.decorrelated_jitter  sleep = min(cap, uniform(base, 3 * prev)) (default)
//   aequor.retry.exponential          full jitter: uniform(0, min(cap, base * 2^n))
//   aequor.retry.none                 never retry
//
// Thread-safety: NextDelay() is const and must be safe to call concurrently;
// all per-operation state is in RetryState.
#ifndef AEQUOR_API_RETRY_POLICY_H_
#define AEQUOR_API_RETRY_POLICY_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <optional>

#include "absl/time/time.h"
#include "api/plugin.h"

namespace aequor {

class Random;

// Where one operation is in its retries.
struct RetryState {
  int retry = 1;                  // 1 for the first retry (the second attempt)
  absl::Duration previous_delay;  // zero before the first retry
};

class RetryPolicy {
 public:
  virtual ~RetryPolicy() = default;

  // The delay before retry number `state.retry`, or nullopt to give up.
  virtual std::optional<absl::Duration> NextDelay(const RetryState& state,
                                                  Random& random) const = 0;
};

struct RetryContext {
  const Registry* registry = nullptr;
};

using RetryPolicyFactory = PluginFactory<RetryPolicy, RetryContext>;

inline constexpr absl::string_view kDefaultRetryPolicy = "aequor.retry.decorrelated_jitter";

}  // namespace aequor

#endif  // AEQUOR_API_RETRY_POLICY_H_
