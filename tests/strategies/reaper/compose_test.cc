// aequor.reaper.all_of and aequor.reaper.any_of (strategies/reaper/compose.h):
// the order children are asked in, outcomes forwarded to every child, nesting,
// and errors prefixed with the child's position.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/plugin.h"
#include "api/reaper_scheduler.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "tests/strategies/reaper/reaper_test_support.h"

namespace aequor {
namespace reaper_test {
namespace {

// ---------------------------------------------------------------- all_of / any_of

TEST(AllOfScheduler, AsksChildrenInOrderAndStopsAtTheFirstNo) {
  std::vector<std::string> log;
  Harness h(1, &log);
  auto s = h.Make(
      "aequor.reaper.all_of(test.reaper.record(id=a), test.reaper.record(id=b, answer=false), "
      "test.reaper.record(id=c))");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE((*s)->ShouldRun(At(h.t0())));
  EXPECT_EQ(log, (std::vector<std::string>{"a.ShouldRun", "b.ShouldRun"}));
}

TEST(AllOfScheduler, SaysYesWhenEveryChildDoesAndForwardsTheOutcomeToAll) {
  std::vector<std::string> log;
  Harness h(1, &log);
  auto s = h.Make(
      "aequor.reaper.all_of(test.reaper.record(id=a), test.reaper.record(id=b), "
      "test.reaper.record(id=c))");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->ShouldRun(At(h.t0())));
  (*s)->OnPassFinished(ReapOutcome::kBusy, h.t0());
  EXPECT_EQ(log, (std::vector<std::string>{"a.ShouldRun", "b.ShouldRun", "c.ShouldRun",
                                           "a.OnPassFinished(busy)", "b.OnPassFinished(busy)",
                                           "c.OnPassFinished(busy)"}));
}

TEST(AnyOfScheduler, AsksChildrenInOrderAndStopsAtTheFirstYes) {
  std::vector<std::string> log;
  Harness h(1, &log);
  auto s = h.Make(
      "aequor.reaper.any_of(test.reaper.record(id=a, answer=false), test.reaper.record(id=b), "
      "test.reaper.record(id=c))");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->ShouldRun(At(h.t0())));
  EXPECT_EQ(log, (std::vector<std::string>{"a.ShouldRun", "b.ShouldRun"}));
  log.clear();
  (*s)->OnPassFinished(ReapOutcome::kCompleted, h.t0());
  EXPECT_EQ(log,
            (std::vector<std::string>{"a.OnPassFinished(completed)", "b.OnPassFinished(completed)",
                                      "c.OnPassFinished(completed)"}))
      << "children that said no or were not asked hear the outcome too";
}

TEST(AnyOfScheduler, SaysNoOnlyWhenEveryChildSaysNo) {
  std::vector<std::string> log;
  Harness h(1, &log);
  auto s = h.Make(
      "aequor.reaper.any_of(test.reaper.record(id=a, answer=false), "
      "test.reaper.record(id=b, answer=false))");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE((*s)->ShouldRun(At(h.t0())));
  EXPECT_EQ(log, (std::vector<std::string>{"a.ShouldRun", "b.ShouldRun"}));
}

// Counts passes over `seconds` of triggers every 100 ms, each pass completing
// at once.
int CountPasses(ReaperScheduler& s, absl::Time t0, int seconds) {
  int passes = 0;
  for (int64_t i = 0; i < seconds * 10; ++i) {
    absl::Time now = t0 + Ms(100 * i);
    if (s.ShouldRun(At(now))) {
      ++passes;
      s.OnPassFinished(ReapOutcome::kCompleted, now);
    }
  }
  return passes;
}

TEST(AllOfScheduler, OrderMattersBecauseACooldownAskedFirstArmsEvenWhenTheCoinSaysNo) {
  Harness h(5);
  auto coin_first = h.Make(
      "aequor.reaper.all_of(aequor.reaper.probability(p=0.5), "
      "aequor.reaper.cooldown(base_ms=1000, jitter=0))");
  auto cooldown_first = h.Make(
      "aequor.reaper.all_of(aequor.reaper.cooldown(base_ms=1000, jitter=0), "
      "aequor.reaper.probability(p=0.5))");
  ASSERT_TRUE(coin_first.ok()) << coin_first.status();
  ASSERT_TRUE(cooldown_first.ok()) << cooldown_first.status();
  // Coin first: after each 1 s cooldown, the first trigger whose coin says
  // yes runs (mean wait 2 triggers): one pass per ~1.1 s, ~9090 in 10 000 s.
  int a = CountPasses(**coin_first, h.t0(), 10000);
  // Cooldown first: one coin per cooldown; a "no" re-arms it for another 1 s:
  // one pass per ~2 s, ~5000 in 10 000 s.
  int b = CountPasses(**cooldown_first, h.t0(), 10000);
  EXPECT_NEAR(a, 9090, 150);
  EXPECT_NEAR(b, 5000, 200);
}

TEST(ComposedScheduler, WantsConnectionUsageWhenAnyChildDoesAtAnyDepth) {
  std::vector<std::string> log;
  Harness h(1, &log);
  struct Case {
    const char* spec;
    bool wants;
  };
  for (const Case& c : {
           Case{"aequor.reaper.all_of(aequor.reaper.probability, aequor.reaper.cooldown)", false},
           Case{"aequor.reaper.any_of(aequor.reaper.periodic, aequor.reaper.probability)", false},
           Case{"aequor.reaper.all_of(aequor.reaper.probability, aequor.reaper.pressure)", true},
           Case{"aequor.reaper.any_of(aequor.reaper.cooldown, aequor.reaper.all_of("
                "aequor.reaper.probability, aequor.reaper.any_of(aequor.reaper.pressure)))",
                true},
           Case{"aequor.reaper.any_of(test.reaper.record(wants_usage=true))", true},
           Case{"aequor.reaper.all_of(test.reaper.record, test.reaper.record)", false},
       }) {
    auto s = h.Make(c.spec);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ((*s)->WantsConnectionUsage(), c.wants) << c.spec;
  }
  EXPECT_TRUE(log.empty()) << "asking WantsConnectionUsage() asks no child ShouldRun()";
}

TEST(ComposedScheduler, UnknownChildIsNotFoundNamingItsPositionAndTheKnownNames) {
  Harness h;
  auto s = h.Make("aequor.reaper.all_of(aequor.reaper.probability, aequor.reaper.nope)");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(
      s.status().message(),
      "aequor.reaper.all_of: child 2: unknown reaper scheduler 'aequor.reaper.nope'; known: "))
      << s.status();
  for (const char* known :
       {"aequor.reaper.all_of", "aequor.reaper.any_of", "aequor.reaper.cooldown",
        "aequor.reaper.periodic", "aequor.reaper.pressure", "aequor.reaper.probability"}) {
    EXPECT_TRUE(absl::StrContains(s.status().message(), known)) << known << ": " << s.status();
  }
}

TEST(ComposedScheduler, ChildConfigErrorKeepsItsCodeAndGetsThePathPrefix) {
  Harness h;
  auto s = h.Make(
      "aequor.reaper.any_of(aequor.reaper.pressure, "
      "aequor.reaper.all_of(aequor.reaper.probability(p=0.1), aequor.reaper.cooldown(jitter=2)))");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "aequor.reaper.any_of: child 2: aequor.reaper.all_of: child 2: "
            "aequor.reaper.cooldown: option 'jitter' must be a number in [0, 1], got '2'");
}

TEST(ComposedScheduler, ZeroChildrenIsInvalidArgument) {
  Harness h;
  for (const char* text : {"aequor.reaper.all_of", "aequor.reaper.any_of()"}) {
    auto s = h.Make(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_TRUE(absl::StrContains(s.status().message(), "needs at least 1 nested")) << s.status();
  }
}

TEST(ComposedScheduler, EightChildrenAreAcceptedAndNineRejected) {
  Harness h;
  PluginSpec eight("aequor.reaper.any_of");
  for (int i = 0; i < 8; ++i) eight.children.push_back(PluginSpec("aequor.reaper.pressure"));
  PluginSpec nine = eight;
  nine.children.push_back(PluginSpec("aequor.reaper.pressure"));
  auto ok = h.Make(eight);
  EXPECT_TRUE(ok.ok()) << ok.status();
  auto s = h.Make(nine);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "aequor.reaper.any_of: takes at most 8 nested plugin specs, got 9");
}

TEST(ComposedScheduler, OptionsOnACompositeAreUnknown) {
  Harness h;
  auto s = h.Make("aequor.reaper.all_of(p=0.1, aequor.reaper.cooldown)");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "unknown option 'p'")) << s.status();
}

TEST(ComposedScheduler, ThreeLevelsParseFromTextAndForwardOutcomesAllTheWayDown) {
  constexpr absl::string_view kText =
      "aequor.reaper.any_of("
      "  aequor.reaper.pressure(threshold=0.9),"
      "  aequor.reaper.all_of("
      "    aequor.reaper.probability(p=1),"
      "    aequor.reaper.any_of(aequor.reaper.cooldown(base_ms=1000, jitter=0))))";
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(kText);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->children.size(), 2u);
  ASSERT_EQ(spec->children[1].children.size(), 2u);
  ASSERT_EQ(spec->children[1].children[1].children.size(), 1u);
  EXPECT_EQ(spec->children[1].children[1].children[0].params.at("base_ms"), "1000");
  EXPECT_EQ(ParsePluginSpec(FormatPluginSpec(*spec)).value(), *spec);

  Harness h;
  auto s = h.Make(*spec);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::Time t0 = h.t0();
  // Usage unknown: pressure skips; coin (p=1) and the fresh cooldown say yes.
  EXPECT_TRUE((*s)->ShouldRun(Usage(t0, std::nullopt)));
  (*s)->OnPassFinished(ReapOutcome::kCompleted, t0);
  EXPECT_FALSE((*s)->ShouldRun(Usage(t0 + Ms(500), 0.5))) << "cooldown armed";
  EXPECT_TRUE((*s)->ShouldRun(Usage(t0 + Ms(500), 0.95))) << "pressure overrides";
  // The pressure pass's outcome reaches the cooldown three levels down and
  // restarts it from t0 + 500 ms.
  (*s)->OnPassFinished(ReapOutcome::kCompleted, t0 + Ms(500));
  EXPECT_FALSE((*s)->ShouldRun(Usage(t0 + Ms(1499), 0.1)));
  EXPECT_TRUE((*s)->ShouldRun(Usage(t0 + Ms(1500), 0.1)));
}

TEST(ComposedScheduler, ChildCreateErrorIsPrefixedWithItsPosition) {
  Harness h;
  auto factory = h.registry().FindReaperScheduler("aequor.reaper.all_of");
  ASSERT_TRUE(factory.ok());
  auto spec =
      ParsePluginSpec("aequor.reaper.all_of(aequor.reaper.pressure, aequor.reaper.cooldown)");
  ASSERT_TRUE(spec.ok());
  auto config = (*factory)->ParseConfig(*spec, h.registry());
  ASSERT_TRUE(config.ok()) << config.status();
  testing::FakeClock clock;
  auto s = (*factory)->Create(**config, SchedulerContext{&clock, nullptr, &h.registry()});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "aequor.reaper.all_of: child 2: aequor.reaper.cooldown needs a Random");
}

}  // namespace
}  // namespace reaper_test
}  // namespace aequor
