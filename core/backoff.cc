#include "core/backoff.h"

#include <algorithm>
#include <optional>

namespace aequor {

bool Backoff::Wait(int retry, absl::string_view reason, absl::string_view sqlstate) {
  const std::optional<absl::Duration> delay =
      policy_.NextDelay(RetryState{retry, previous_}, random_);
  if (!delay.has_value()) return false;
  const absl::Duration left = deadline_ - clock_.MonotonicNow();
  if (left <= absl::ZeroDuration()) return false;
  const absl::Duration sleep = std::min(*delay, left);
  previous_ = *delay;
  events_.Retry(retry + 1, sleep, reason, sqlstate);
  clock_.SleepFor(sleep);
  return clock_.MonotonicNow() < deadline_;
}

}  // namespace aequor
