// aequor.reaper.pressure (strategies/reaper/pressure.h): a pass only at or
// above a connection-usage threshold, and only it asks the manager for usage.
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/reaper_scheduler.h"
#include "gtest/gtest.h"
#include "tests/strategies/reaper/reaper_test_support.h"

namespace aequor {
namespace reaper_test {
namespace {

// ---------------------------------------------------------------- pressure

TEST(PressureScheduler, RunsOnlyAtOrAboveTheThreshold) {
  Harness h;
  auto s = h.Make("aequor.reaper.pressure");  // threshold 0.8
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time t = h.t0();
  EXPECT_FALSE((*s)->ShouldRun(Usage(t, 0.0)));
  EXPECT_FALSE((*s)->ShouldRun(Usage(t, 0.79)));
  EXPECT_TRUE((*s)->ShouldRun(Usage(t, 0.8)));
  EXPECT_TRUE((*s)->ShouldRun(Usage(t, 0.95)));
  EXPECT_TRUE((*s)->ShouldRun(Usage(t, 1.0)));
  EXPECT_TRUE((*s)->ShouldRun(Input(ReapTrigger::kInvocation, t, 0.9)));
  EXPECT_TRUE((*s)->ShouldRun(Usage(t, 0.9))) << "stateless: no cooldown of its own";
}

TEST(PressureScheduler, CustomThresholdsAtTheEdgesOfTheRange) {
  Harness h;
  auto zero = h.Make("aequor.reaper.pressure(threshold=0)");
  auto one = h.Make("aequor.reaper.pressure(threshold=1)");
  auto half = h.Make("aequor.reaper.pressure(threshold=0.5)");
  ASSERT_TRUE(zero.ok()) << zero.status();
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(half.ok()) << half.status();
  absl::Time t = h.t0();
  EXPECT_TRUE((*zero)->ShouldRun(Usage(t, 0.0)));
  EXPECT_FALSE((*one)->ShouldRun(Usage(t, 0.999)));
  EXPECT_TRUE((*one)->ShouldRun(Usage(t, 1.0)));
  EXPECT_FALSE((*half)->ShouldRun(Usage(t, 0.49)));
  EXPECT_TRUE((*half)->ShouldRun(Usage(t, 0.5)));
}

TEST(PressureScheduler, UnknownUsageIsSkippedByDefault) {
  Harness h;
  auto s = h.Make("aequor.reaper.pressure(threshold=0)");
  auto skip = h.Make("aequor.reaper.pressure(when_unknown=skip)");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(skip.ok()) << skip.status();
  EXPECT_FALSE((*s)->ShouldRun(Usage(h.t0(), std::nullopt)));
  EXPECT_FALSE((*skip)->ShouldRun(Usage(h.t0(), std::nullopt)));
}

TEST(PressureScheduler, UnknownUsageRunsWithWhenUnknownRun) {
  Harness h;
  auto s = h.Make("aequor.reaper.pressure(when_unknown=run)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->ShouldRun(Usage(h.t0(), std::nullopt)));
  EXPECT_FALSE((*s)->ShouldRun(Usage(h.t0(), 0.1))) << "a known usage still decides";
}

TEST(PressureScheduler, AsksTheManagerToMeasureUsageAndOnlyItDoes) {
  Harness h;
  for (const char* text : {"aequor.reaper.pressure", "aequor.reaper.pressure(when_unknown=run)"}) {
    auto s = h.Make(text);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE((*s)->WantsConnectionUsage()) << text;
  }
  for (const char* text :
       {"aequor.reaper.probability", "aequor.reaper.cooldown", "aequor.reaper.periodic"}) {
    auto s = h.Make(text);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_FALSE((*s)->WantsConnectionUsage()) << text << " costs no usage query";
  }
}

}  // namespace
}  // namespace reaper_test
}  // namespace aequor
