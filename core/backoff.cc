#include "core/backoff.h"

#include <optional>

namespace aequor {

bool Backoff::Wait(int retry, absl::string_view reason, absl::string_view sqlstate) {
  std::optional<absl::Duration> delay = policy_.NextDelay(RetryState{retry, previous_}, random_);
  if (!delay.has_value()) {
    if (limit_ != Limit::kDeadline || previous_ <= absl::ZeroDuration()) return false;
    delay = previous_;  // the policy's retries are used up: its last delay again
  }
  // A wait that reaches the deadline would only delay the error: the next
  // attempt could not start in time.
  const absl::Duration left = deadline_ - clock_.MonotonicNow();
  if (*delay >= left) return false;
  previous_ = *delay;
  events_.Retry(retry + 1, *delay, reason, sqlstate);
  clock_.SleepFor(*delay);
  return true;
}

}  // namespace aequor
