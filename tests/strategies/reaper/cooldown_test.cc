// aequor.reaper.cooldown (strategies/reaper/cooldown.h): at most one pass per
// jittered cooldown, backing off while the reaper lock is busy. As everywhere here,
// every decision is driven by monotonic times read from a FakeClock and a
// seeded generator; no test sleeps or reads the real clock.
#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/reaper_scheduler.h"
#include "gtest/gtest.h"
#include "strategies/reaper/cooldown.h"
#include "testing/fake_clock.h"
#include "tests/strategies/reaper/reaper_test_support.h"

namespace aequor {
namespace reaper_test {
namespace {

// ---------------------------------------------------------------- cooldown

TEST(CooldownScheduler, FirstTriggerRunsAndArmsBeforeTheOutcomeArrives) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time t0 = h.t0();
  EXPECT_TRUE((*s)->ShouldRun(At(t0))) << "no pass has run yet: the first trigger runs";
  EXPECT_FALSE((*s)->ShouldRun(At(t0))) << "a yes arms the cooldown at once";
  EXPECT_FALSE((*s)->ShouldRun(At(t0 + Ms(1), ReapTrigger::kInvocation)));
}

TEST(CooldownScheduler, AllowsAtMostOnePassPerCooldownCountedFromThePassEnd) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(jitter=0)");  // base_ms 30000
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE((*s)->ShouldRun(h.Now()));
  h.clock().Advance(Ms(5000));  // a 5 s pass
  (*s)->OnPassFinished(ReapOutcome::kCompleted, h.clock().MonotonicNow());
  h.clock().Advance(Ms(30000) - absl::Nanoseconds(1));
  EXPECT_FALSE((*s)->ShouldRun(h.Now()));
  h.clock().Advance(absl::Nanoseconds(1));
  EXPECT_TRUE((*s)->ShouldRun(h.Now())) << "35 s after the start, 30 s after the end";
  EXPECT_FALSE((*s)->ShouldRun(h.Now()));
  h.clock().Advance(Ms(29999));
  EXPECT_FALSE((*s)->ShouldRun(h.Now(ReapTrigger::kInvocation)));
  h.clock().Advance(Ms(1));
  EXPECT_TRUE((*s)->ShouldRun(h.Now(ReapTrigger::kInvocation))) << "outcome lost: armed 30 s";
  EXPECT_TRUE(h.clock().sleeps().empty()) << "nothing sleeps";
}

TEST(CooldownScheduler, ALostOutcomeDoesNotStopReaping) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(base_ms=1000, jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time t0 = h.t0();
  ASSERT_TRUE((*s)->ShouldRun(At(t0)));
  // No OnPassFinished: the arm expires after one cooldown from the start.
  EXPECT_FALSE((*s)->ShouldRun(At(t0 + Ms(999))));
  EXPECT_TRUE((*s)->ShouldRun(At(t0 + Ms(1000))));
}

TEST(CooldownScheduler, TreatsConnectAndWarmTriggersAlike) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(base_ms=1000, jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time t0 = h.t0();
  EXPECT_TRUE((*s)->ShouldRun(At(t0, ReapTrigger::kInvocation)));
  (*s)->OnPassFinished(ReapOutcome::kCompleted, t0);
  EXPECT_FALSE((*s)->ShouldRun(At(t0 + Ms(500), ReapTrigger::kConnect)));
  EXPECT_TRUE((*s)->ShouldRun(At(t0 + Ms(1000), ReapTrigger::kConnect)));
}

// Runs `n` back-to-back zero-length passes ending with `outcome` and returns
// each wait, checking that the scheduler says no 1 ns before it ends.
std::vector<absl::Duration> Waits(ReaperScheduler& s, absl::Time start, int n,
                                  ReapOutcome outcome = ReapOutcome::kCompleted) {
  auto& cooldown = dynamic_cast<CooldownScheduler&>(s);
  std::vector<absl::Duration> waits;
  absl::Time now = start;
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(s.ShouldRun(At(now))) << "pass " << i;
    s.OnPassFinished(outcome, now);
    absl::Time next = *cooldown.next_allowed();
    EXPECT_FALSE(s.ShouldRun(At(next - absl::Nanoseconds(1)))) << "pass " << i;
    waits.push_back(next - now);
    now = next;
  }
  return waits;
}

TEST(CooldownScheduler, JitterKeepsEachCooldownWithinBaseTimesOnePlusMinusJitter) {
  Harness h(2024);
  auto s = h.Make("aequor.reaper.cooldown");  // base 30 s, jitter 0.2
  ASSERT_TRUE(s.ok()) << s.status();
  constexpr int kN = 5000;
  std::vector<absl::Duration> waits = Waits(**s, h.t0(), kN);
  absl::Duration sum;
  int below_base = 0;
  for (absl::Duration w : waits) {
    ASSERT_GE(w, Ms(24000));
    ASSERT_LE(w, Ms(36000));
    sum += w;
    below_base += w < Ms(30000);
  }
  auto [lo, hi] = std::minmax_element(waits.begin(), waits.end());
  // Uniform(24 s, 36 s): mean 30 s, sd of the mean ~49 ms; the extremes of
  // 5000 draws land within ~10 ms of the bounds.
  EXPECT_NEAR(absl::ToDoubleMilliseconds(sum / kN), 30000, 250);
  EXPECT_LT(*lo, Ms(24200));
  EXPECT_GT(*hi, Ms(35800));
  EXPECT_NEAR(below_base, kN / 2, 200);  // binomial sd ~35
}

TEST(CooldownScheduler, ZeroJitterGivesExactlyTheBase) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(base_ms=1234, jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  for (absl::Duration w : Waits(**s, h.t0(), 50)) EXPECT_EQ(w, Ms(1234));
}

TEST(CooldownScheduler, BusyCompoundsByBusyFactorUpToMaxAndCompletedResetsToBase) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(base_ms=1000, jitter=0, busy_factor=2, max_ms=5000)");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time now = h.t0();
  auto pass = [&](ReapOutcome outcome) {
    std::vector<absl::Duration> w = Waits(**s, now, 1, outcome);
    now += w[0];
    return w[0];
  };
  EXPECT_EQ(pass(ReapOutcome::kBusy), Ms(2000));
  EXPECT_EQ(pass(ReapOutcome::kBusy), Ms(4000));
  EXPECT_EQ(pass(ReapOutcome::kBusy), Ms(5000)) << "8000 capped at max_ms";
  EXPECT_EQ(pass(ReapOutcome::kBusy), Ms(5000));
  EXPECT_EQ(pass(ReapOutcome::kCompleted), Ms(1000)) << "a completed pass resets to base";
  EXPECT_EQ(pass(ReapOutcome::kBusy), Ms(2000)) << "and the backoff starts over";
}

TEST(CooldownScheduler, DefaultsBackOffByOneAndAHalfUpToTenMinutes) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<absl::Duration> waits = Waits(**s, h.t0(), 10, ReapOutcome::kBusy);
  const std::vector<absl::Duration> expected = {Ms(45000),
                                                absl::Microseconds(67500000),
                                                absl::Microseconds(101250000),
                                                absl::Microseconds(151875000),
                                                absl::Microseconds(227812500),
                                                absl::Microseconds(341718750),
                                                absl::Microseconds(512578125),
                                                Ms(600000),
                                                Ms(600000),
                                                Ms(600000)};
  ASSERT_EQ(waits.size(), expected.size());
  for (size_t i = 0; i < waits.size(); ++i) {
    EXPECT_NEAR(absl::ToDoubleMilliseconds(waits[i]), absl::ToDoubleMilliseconds(expected[i]),
                0.001)
        << "busy pass " << i;
  }
}

TEST(CooldownScheduler, BusyBackoffKeepsTheJitterBounds) {
  Harness h(99);
  auto s = h.Make("aequor.reaper.cooldown(base_ms=1000, busy_factor=2, max_ms=4000)");
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<absl::Duration> waits = Waits(**s, h.t0(), 200, ReapOutcome::kBusy);
  EXPECT_GE(waits[0], Ms(1600));
  EXPECT_LE(waits[0], Ms(2400));
  for (size_t i = 2; i < waits.size(); ++i) {  // at the cap from the third on
    EXPECT_GE(waits[i], Ms(3200)) << i;
    EXPECT_LE(waits[i], Ms(4800)) << i;
  }
}

TEST(CooldownScheduler, ErrorIsNotContentionAndKeepsTheCurrentCooldown) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(base_ms=1000, jitter=0, busy_factor=2, max_ms=10000)");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time now = h.t0();
  auto pass = [&](ReapOutcome outcome) {
    std::vector<absl::Duration> w = Waits(**s, now, 1, outcome);
    now += w[0];
    return w[0];
  };
  EXPECT_EQ(pass(ReapOutcome::kError), Ms(1000)) << "an error at base stays at base";
  EXPECT_EQ(pass(ReapOutcome::kError), Ms(1000));
  EXPECT_EQ(pass(ReapOutcome::kBusy), Ms(2000));
  EXPECT_EQ(pass(ReapOutcome::kError), Ms(2000)) << "neither backed off nor reset";
  EXPECT_EQ(pass(ReapOutcome::kError), Ms(2000));
  EXPECT_EQ(pass(ReapOutcome::kBusy), Ms(4000));
  EXPECT_EQ(pass(ReapOutcome::kCompleted), Ms(1000));
}

TEST(CooldownScheduler, MaxDefaultsToBaseWhenBaseExceedsTenMinutes) {
  Harness h;
  auto s = h.Make("aequor.reaper.cooldown(base_ms=900000, jitter=0)");
  ASSERT_TRUE(s.ok()) << s.status();
  for (absl::Duration w : Waits(**s, h.t0(), 3, ReapOutcome::kBusy)) EXPECT_EQ(w, Ms(900000));
}

TEST(CooldownScheduler, CreateWithoutRandomIsInvalidArgument) {
  Harness h;
  auto factory = h.registry().FindReaperScheduler("aequor.reaper.cooldown");
  ASSERT_TRUE(factory.ok());
  auto config = (*factory)->ParseConfig(PluginSpec("aequor.reaper.cooldown"), h.registry());
  ASSERT_TRUE(config.ok());
  testing::FakeClock clock;
  auto s = (*factory)->Create(**config, SchedulerContext{&clock, nullptr, &h.registry()});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace reaper_test
}  // namespace aequor
