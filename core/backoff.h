// core/backoff.h (internal): the waits between the attempts of one call,
// chosen by the retry policy and cut by the call's deadline.
//
//   Backoff backoff(*policy, random, clock, events, deadline);
//   for (int attempt = 1;; ++attempt) {
//     ...
//     if (!backoff.Wait(attempt, status.message(), SqlState(status))) return status;
//   }
//
// Events: kRetry before each wait.
//
// Thread-safety: one call's; not shared.
#ifndef AEQUOR_CORE_BACKOFF_H_
#define AEQUOR_CORE_BACKOFF_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/clock.h"
#include "api/random.h"
#include "api/retry_policy.h"
#include "core/event_emitter.h"

namespace aequor {

class Backoff {
 public:
  // How many attempts the policy's retries allow.
  enum class Limit {
    // Statements: at most the policy's retries, within the deadline.
    kPolicy,
    // Connects: until the deadline. Once the policy's retries are used up,
    // its last delay is repeated; a policy that allows no retry at all
    // (aequor.retry.none) still means none.
    kDeadline,
  };

  // `deadline` is monotonic.
  Backoff(const RetryPolicy& policy, Random& random, Clock& clock, EventEmitter& events,
          absl::Time deadline, Limit limit = Limit::kPolicy)
      : policy_(policy),
        random_(random),
        clock_(clock),
        events_(events),
        deadline_(deadline),
        limit_(limit) {}

  // Sleeps before retry number `retry` (1 for the first) if the policy (see
  // Limit) allows it and the next attempt can start before the deadline,
  // reporting kRetry with `reason` and `sqlstate`. False: give up now (the
  // caller returns its error), without waiting for the deadline.
  bool Wait(int retry, absl::string_view reason, absl::string_view sqlstate);

  absl::Time deadline() const { return deadline_; }

 private:
  const RetryPolicy& policy_;
  Random& random_;
  Clock& clock_;
  EventEmitter& events_;
  const absl::Time deadline_;
  const Limit limit_;
  absl::Duration previous_;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_BACKOFF_H_
