// Backoff: the waits between attempts, cut by the deadline, with events.
#include "core/backoff.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "tests/core/event_capture.h"

namespace aequor {
namespace {

using ::aequor::testing::EventCapture;
using ::aequor::testing::FakeClock;

// 100 ms, 200 ms, 300 ms, ... then gives up after `max` retries; records
// the previous delay it was told.
class LinearPolicy final : public RetryPolicy {
 public:
  explicit LinearPolicy(int max) : max_(max) {}
  std::optional<absl::Duration> NextDelay(const RetryState& state, Random&) const override {
    previous_.push_back(state.previous_delay);
    if (state.retry > max_) return std::nullopt;
    return absl::Milliseconds(100) * state.retry;
  }
  mutable std::vector<absl::Duration> previous_;

 private:
  int max_;
};

class CountingRandom final : public Random {
 public:
  uint64_t Next64() override { return ++n_; }

 private:
  uint64_t n_ = 0;
};

TEST(Backoff, SleepsThePolicysDelaysAndReportsEachRetry) {
  FakeClock clock;
  EventCapture capture(clock);
  LinearPolicy policy(2);
  CountingRandom random;
  Backoff backoff(policy, random, clock, capture.emitter(),
                  clock.MonotonicNow() + absl::Seconds(10));
  EXPECT_TRUE(backoff.Wait(1, "server starting", "57P03"));
  EXPECT_TRUE(backoff.Wait(2, "server starting", "57P03"));
  EXPECT_FALSE(backoff.Wait(3, "server starting", "57P03"));  // the policy gives up
  EXPECT_EQ(clock.sleeps(),
            (std::vector<absl::Duration>{absl::Milliseconds(100), absl::Milliseconds(200)}));
  EXPECT_EQ(policy.previous_,
            (std::vector<absl::Duration>{absl::ZeroDuration(), absl::Milliseconds(100),
                                         absl::Milliseconds(200)}));
  std::vector<Event> events = capture.Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, EventKind::kRetry);
  EXPECT_EQ(events[0].attempt, 2);
  EXPECT_EQ(events[0].delay, absl::Milliseconds(100));
  EXPECT_EQ(events[0].sqlstate, "57P03");
  EXPECT_EQ(events[1].attempt, 3);
}

TEST(Backoff, ItGivesUpAtOnceWhenTheNextAttemptCouldNotStartBeforeTheDeadline) {
  FakeClock clock;
  EventCapture capture(clock);
  LinearPolicy policy(10);
  CountingRandom random;
  Backoff backoff(policy, random, clock, capture.emitter(),
                  clock.MonotonicNow() + absl::Milliseconds(250));
  EXPECT_TRUE(backoff.Wait(1, "x", ""));   // 100 ms, 150 ms left
  EXPECT_FALSE(backoff.Wait(2, "x", ""));  // 200 ms would pass the deadline: no sleep
  EXPECT_EQ(clock.sleeps(), (std::vector<absl::Duration>{absl::Milliseconds(100)}));
  EXPECT_EQ(capture.Take().size(), 1u) << "no retry event for a retry that will not happen";
}

TEST(Backoff, UntilTheDeadlineItRepeatsThePolicysLastDelayOnceItsRetriesAreUsedUp) {
  FakeClock clock;
  EventCapture capture(clock);
  LinearPolicy policy(2);  // 100 ms, 200 ms, then no more
  CountingRandom random;
  Backoff backoff(policy, random, clock, capture.emitter(), clock.MonotonicNow() + absl::Seconds(1),
                  Backoff::Limit::kDeadline);
  int retry = 1;
  while (backoff.Wait(retry, "refused", "")) ++retry;
  // 100 + 200 + 200 + 200 = 700 ms; one more 200 ms would reach 900 ms < 1 s,
  // and the one after that would pass the deadline.
  EXPECT_EQ(clock.sleeps(),
            (std::vector<absl::Duration>{absl::Milliseconds(100), absl::Milliseconds(200),
                                         absl::Milliseconds(200), absl::Milliseconds(200),
                                         absl::Milliseconds(200)}));
  EXPECT_EQ(retry, 6);
}

TEST(Backoff, UntilTheDeadlineAPolicyThatAllowsNoRetryStillMeansNone) {
  FakeClock clock;
  EventCapture capture(clock);
  LinearPolicy policy(0);
  CountingRandom random;
  Backoff backoff(policy, random, clock, capture.emitter(), clock.MonotonicNow() + absl::Seconds(10),
                  Backoff::Limit::kDeadline);
  EXPECT_FALSE(backoff.Wait(1, "refused", ""));
  EXPECT_TRUE(clock.sleeps().empty());
}

}  // namespace
}  // namespace aequor
