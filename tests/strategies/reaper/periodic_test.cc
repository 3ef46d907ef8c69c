// aequor.reaper.periodic (strategies/reaper/periodic.h): one pass per jittered
// interval counted from the pass start. As everywhere here,
// every decision is driven by monotonic times read from a FakeClock and a
// seeded generator; no test sleeps or reads the real clock.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/reaper_scheduler.h"
#include "gtest/gtest.h"
#include "tests/strategies/reaper/reaper_test_support.h"

namespace aequor {
namespace reaper_test {
namespace {

// ---------------------------------------------------------------- periodic

TEST(PeriodicScheduler, FirstTriggerRunsThenOncePerIntervalFromThePassStart) {
  Harness h;
  auto s = h.Make("aequor.reaper.periodic(interval_ms=1000, jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time t0 = h.t0();
  EXPECT_TRUE((*s)->ShouldRun(At(t0)));
  EXPECT_FALSE((*s)->ShouldRun(At(t0))) << "armed at once";
  (*s)->OnPassFinished(ReapOutcome::kCompleted, t0 + Ms(400));  // a 400 ms pass
  EXPECT_FALSE((*s)->ShouldRun(At(t0 + Ms(999))));
  EXPECT_TRUE((*s)->ShouldRun(At(t0 + Ms(1000)))) << "counted from the start, not the end";
  EXPECT_FALSE((*s)->ShouldRun(At(t0 + Ms(1999))));
  EXPECT_TRUE((*s)->ShouldRun(At(t0 + Ms(2500))));
  EXPECT_FALSE((*s)->ShouldRun(At(t0 + Ms(3499)))) << "a late trigger restarts the interval";
  EXPECT_TRUE((*s)->ShouldRun(At(t0 + Ms(3500))));
}

TEST(PeriodicScheduler, BothTriggersRunAndOutcomesDoNotChangeTheInterval) {
  Harness h;
  auto s = h.Make("aequor.reaper.periodic(interval_ms=1000, jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time t = h.t0();
  for (ReapOutcome outcome :
       {ReapOutcome::kBusy, ReapOutcome::kError, ReapOutcome::kCompleted, ReapOutcome::kBusy}) {
    EXPECT_TRUE((*s)->ShouldRun(At(t, ReapTrigger::kInvocation)));
    (*s)->OnPassFinished(outcome, t + Ms(10));
    EXPECT_FALSE((*s)->ShouldRun(At(t + Ms(999), ReapTrigger::kConnect)));
    EXPECT_TRUE((*s)->ShouldRun(At(t + Ms(1000), ReapTrigger::kConnect)));
    (*s)->OnPassFinished(outcome, t + Ms(1000));
    t += Ms(2000);
  }
}

TEST(PeriodicScheduler, ALongRunningServiceGetsOnePassPerIntervalWithJitter) {
  Harness h(31337);
  auto s = h.Make("aequor.reaper.periodic");  // 60 s, jitter 0.1
  ASSERT_TRUE(s.ok()) << s.status();
  // A busy service: a warm invocation every 100 ms for 100 000 s.
  absl::Time t0 = h.t0();
  std::vector<absl::Time> starts;
  for (int64_t i = 0; i <= 1000000; ++i) {
    absl::Time now = t0 + Ms(100 * i);
    if ((*s)->ShouldRun(At(now, ReapTrigger::kInvocation))) {
      starts.push_back(now);
      (*s)->OnPassFinished(ReapOutcome::kCompleted, now + Ms(20));
    }
  }
  ASSERT_GT(starts.size(), 2u);
  EXPECT_EQ(starts.front(), t0);
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (size_t i = 1; i < starts.size(); ++i) {
    absl::Duration gap = starts[i] - starts[i - 1];
    lo = std::min(lo, gap);
    hi = std::max(hi, gap);
  }
  // Each gap: the jittered interval in [54 s, 66 s], rounded up to the next
  // 100 ms trigger.
  EXPECT_GE(lo, Ms(54000));
  EXPECT_LE(hi, Ms(66100));
  EXPECT_LT(lo, Ms(54500)) << "jitter spreads the gaps over the whole range";
  EXPECT_GT(hi, Ms(65500));
  // 100 000 s / ~60.05 s.
  EXPECT_NEAR(static_cast<double>(starts.size()), 1665, 15);
}

TEST(PeriodicScheduler, APassASiblingAllowedRestartsTheInterval) {
  Harness h;
  auto s = h.Make("aequor.reaper.periodic(interval_ms=1000, jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time t0 = h.t0();
  ASSERT_TRUE((*s)->ShouldRun(At(t0)));
  (*s)->OnPassFinished(ReapOutcome::kCompleted, t0);
  // Another scheduler in an any_of allowed a pass that ended at t0 + 600 ms.
  (*s)->OnPassFinished(ReapOutcome::kCompleted, t0 + Ms(600));
  EXPECT_FALSE((*s)->ShouldRun(At(t0 + Ms(1599))));
  EXPECT_TRUE((*s)->ShouldRun(At(t0 + Ms(1600))));
}

}  // namespace
}  // namespace reaper_test
}  // namespace aequor
