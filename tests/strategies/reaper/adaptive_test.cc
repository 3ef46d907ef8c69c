// aequor.reaper.adaptive (strategies/reaper/adaptive.h), the default: always
// under pressure or when the database was full, otherwise a coin and a cooldown
// on connect only; never a pass when nothing is reapable.
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/reaper_scheduler.h"
#include "gtest/gtest.h"
#include "tests/strategies/reaper/reaper_test_support.h"

namespace aequor {
namespace reaper_test {
namespace {

// ---------------------------------------------------------------- adaptive

ScheduleInput Knowing(absl::Time now, ReapTrigger trigger, std::optional<double> usage,
                      std::optional<int> reapable, bool under_pressure,
                      bool database_full = false) {
  ScheduleInput input = Input(trigger, now, usage);
  input.reapable = reapable;
  input.under_pressure = under_pressure;
  input.database_full = database_full;
  return input;
}

TEST(AdaptiveScheduler, UnderPressureEveryTriggerThatMayFindAZombieRuns) {
  Harness h;
  auto s = h.Make("aequor.reaper.adaptive");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->WantsConnectionUsage());
  for (int i = 0; i < 50; ++i) {
    const ReapTrigger trigger = i % 2 ? ReapTrigger::kConnect : ReapTrigger::kInvocation;
    // No cooldown, no coin: 50 triggers in the same instant all run.
    EXPECT_TRUE((*s)->ShouldRun(Knowing(h.t0(), trigger, 0.6, 3, true))) << i;
    (*s)->OnPassFinished(ReapOutcome::kCompleted, h.t0());
    EXPECT_TRUE((*s)->ShouldRun(Knowing(h.t0(), trigger, 0.6, std::nullopt, true))) << i;
  }
}

TEST(AdaptiveScheduler, NothingReapableMeansNoPassEvenUnderPressure) {
  Harness h;
  auto s = h.Make("aequor.reaper.adaptive(p=1)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE((*s)->ShouldRun(Knowing(h.t0(), ReapTrigger::kConnect, 0.9, 0, true)));
  EXPECT_FALSE((*s)->ShouldRun(Knowing(h.t0(), ReapTrigger::kConnect, 0.1, 0, false)));
}

TEST(AdaptiveScheduler, AConnectRefusedBecauseTheDatabaseWasFullAlwaysRuns) {
  Harness h;
  auto s = h.Make("aequor.reaper.adaptive(p=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  // Even when an earlier probe said nothing was reapable: the database was
  // full a moment ago, which outranks a stale count.
  EXPECT_TRUE((*s)->ShouldRun(
      Knowing(h.t0(), ReapTrigger::kConnect, std::nullopt, 0, true, /*database_full=*/true)));
}

TEST(AdaptiveScheduler, ABusyLockWithSomethingReapableRunsWhateverTheUsage) {
  Harness h;
  auto s = h.Make("aequor.reaper.adaptive(p=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  ScheduleInput input = Knowing(h.t0(), ReapTrigger::kInvocation, 0.05, 1, false);
  EXPECT_FALSE((*s)->ShouldRun(input));
  input.reaper_lock_busy = true;  // held, and something is reapable
  EXPECT_TRUE((*s)->ShouldRun(input));
  input.reapable = 0;  // held by a live leader: nothing to free
  EXPECT_FALSE((*s)->ShouldRun(input));
}

TEST(AdaptiveScheduler, WithRoomItIsPgAequorsDefaultOnConnectAndNeverOnWarmInvocations) {
  Harness h(/*seed=*/11);
  auto s = h.Make("aequor.reaper.adaptive(p=0.5, base_ms=1000, jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  int ran = 0;
  absl::Time t = h.t0();
  for (int i = 0; i < 400; ++i) {
    t += Ms(2000);  // past every cooldown: only the coin decides
    if ((*s)->ShouldRun(Knowing(t, ReapTrigger::kConnect, 0.1, 2, false))) {
      ++ran;
      (*s)->OnPassFinished(ReapOutcome::kCompleted, t);
    }
    EXPECT_FALSE((*s)->ShouldRun(Knowing(t, ReapTrigger::kInvocation, 0.1, 2, false)));
  }
  EXPECT_GT(ran, 150);
  EXPECT_LT(ran, 250);
  // And the cooldown: a yes arms it, so the next connect within 1 s is a no.
  auto always = h.Make("aequor.reaper.adaptive(p=1, base_ms=1000, jitter=0)");
  ASSERT_TRUE(always.ok());
  EXPECT_TRUE((*always)->ShouldRun(Knowing(t, ReapTrigger::kConnect, std::nullopt, {}, false)));
  EXPECT_FALSE(
      (*always)->ShouldRun(Knowing(t + Ms(999), ReapTrigger::kConnect, std::nullopt, {}, false)));
  EXPECT_TRUE(
      (*always)->ShouldRun(Knowing(t + Ms(1000), ReapTrigger::kConnect, std::nullopt, {}, false)));
}

TEST(AdaptiveScheduler, BadOptionsAreRefusedByName) {
  Harness h;
  auto bad_p = h.Make("aequor.reaper.adaptive(p=2)");
  ASSERT_FALSE(bad_p.ok());
  EXPECT_EQ(bad_p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_p.status().message().find("'p'"), absl::string_view::npos) << bad_p.status();
  auto unknown = h.Make("aequor.reaper.adaptive(threshold=0.5)");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("threshold"), absl::string_view::npos)
      << unknown.status();
  auto max = h.Make("aequor.reaper.adaptive(base_ms=5000, max_ms=1000)");
  ASSERT_FALSE(max.ok());
  EXPECT_NE(max.status().message().find("max_ms"), absl::string_view::npos) << max.status();
}

}  // namespace
}  // namespace reaper_test
}  // namespace aequor
