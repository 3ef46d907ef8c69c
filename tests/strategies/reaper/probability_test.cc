// aequor.reaper.probability (strategies/reaper/probability.h): decisions from a
// seeded generator, no clock, no sleep.
#include "absl/strings/match.h"
#include "api/random.h"
#include "api/registry.h"
#include "gtest/gtest.h"
#include "strategies/reaper/builtin.h"
#include "testing/fake_clock.h"

namespace aequor {
namespace {

absl::StatusOr<std::unique_ptr<ReaperScheduler>> Make(const PluginSpec& spec, Random* random,
                                                      Clock* clock) {
  RegistryBuilder b;
  EXPECT_TRUE(RegisterBuiltinReaperSchedulers(b).ok());
  std::shared_ptr<const Registry> registry = std::move(b).Build();
  auto factory = registry->FindReaperScheduler(spec.name);
  if (!factory.ok()) return factory.status();
  auto config = (*factory)->ParseConfig(spec, *registry);
  if (!config.ok()) return config.status();
  return (*factory)->Create(**config, SchedulerContext{clock, random, registry.get()});
}

int CountRuns(ReaperScheduler& s, ReapTrigger trigger, int n) {
  int runs = 0;
  ScheduleInput input;
  input.trigger = trigger;
  input.now = absl::UnixEpoch() + absl::Hours(1);
  for (int i = 0; i < n; ++i) runs += s.ShouldRun(input);
  return runs;
}

TEST(ProbabilityScheduler, DefaultRunsOnAboutTenPercentOfConnects) {
  SeededRandom rng(17);
  testing::FakeClock clock;
  auto s = Make(PluginSpec("aequor.reaper.probability"), &rng, &clock);
  ASSERT_TRUE(s.ok()) << s.status();
  int runs = CountRuns(**s, ReapTrigger::kConnect, 20000);
  // Binomial(20000, 0.1): sd ~42.
  EXPECT_NEAR(runs, 2000, 200);
  EXPECT_EQ(CountRuns(**s, ReapTrigger::kInvocation, 1000), 0) << "warm_p defaults to 0";
}

TEST(ProbabilityScheduler, ZeroAndOneAreNeverAndAlways) {
  SeededRandom rng(1);
  testing::FakeClock clock;
  auto never = Make(PluginSpec("aequor.reaper.probability", {{"p", "0"}}), &rng, &clock);
  auto always =
      Make(PluginSpec("aequor.reaper.probability", {{"p", "1"}, {"warm_p", "1"}}), &rng, &clock);
  ASSERT_TRUE(never.ok());
  ASSERT_TRUE(always.ok());
  EXPECT_EQ(CountRuns(**never, ReapTrigger::kConnect, 1000), 0);
  EXPECT_EQ(CountRuns(**always, ReapTrigger::kConnect, 1000), 1000);
  EXPECT_EQ(CountRuns(**always, ReapTrigger::kInvocation, 1000), 1000);
}

TEST(ProbabilityScheduler, OutOfRangeProbabilityIsRejected) {
  SeededRandom rng(1);
  testing::FakeClock clock;
  auto s = Make(PluginSpec("aequor.reaper.probability", {{"p", "-0.1"}}), &rng, &clock);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "option 'p'")) << s.status();
}

}  // namespace
}  // namespace aequor
