// Reaper schedulers (cooldown, pressure, periodic, all_of, any_of): every
// decision is driven by monotonic times read from a FakeClock and a seeded
// generator; no test sleeps or reads the real clock. (The schedulers read time
// only from the `now` they are given; the clock is there because
// SchedulerContext::clock is never null.)
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/clock.h"
#include "api/plugin.h"
#include "api/random.h"
#include "api/reaper_scheduler.h"
#include "api/registry.h"
#include "gtest/gtest.h"
#include "strategies/reaper/builtin.h"
#include "strategies/reaper/compose.h"
#include "strategies/reaper/cooldown.h"
#include "strategies/reaper/periodic.h"
#include "strategies/reaper/pressure.h"
#include "testing/fake_clock.h"

namespace aequor {
namespace {

// Records every call it receives into a log shared by the test, and answers
// ShouldRun() with its `answer` option. Registered as "test.reaper.record".
class RecordingScheduler final : public ReaperScheduler {
 public:
  RecordingScheduler(std::string id, bool answer, bool wants_usage,
                     std::vector<std::string>* log)
      : id_(std::move(id)), answer_(answer), wants_usage_(wants_usage), log_(log) {}
  bool WantsConnectionUsage() const override { return wants_usage_; }
  bool ShouldRun(const ScheduleInput&) override {
    log_->push_back(absl::StrCat(id_, ".ShouldRun"));
    return answer_;
  }
  void OnPassFinished(ReapOutcome outcome, absl::Time) override {
    log_->push_back(absl::StrCat(id_, ".OnPassFinished(", ReapOutcomeName(outcome), ")"));
  }

 private:
  std::string id_;
  bool answer_;
  bool wants_usage_;
  std::vector<std::string>* log_;
};

struct RecordingConfig {
  std::string id;
  bool answer = true;
  bool wants_usage = false;
};

class RecordingFactory final
    : public TypedPluginFactory<ReaperScheduler, SchedulerContext, RecordingConfig> {
 public:
  explicit RecordingFactory(std::vector<std::string>* log) : log_(log) {}
  absl::string_view name() const override { return "test.reaper.record"; }
  absl::string_view description() const override { return "records calls (tests)"; }

 protected:
  absl::StatusOr<RecordingConfig> ParseTyped(const PluginSpec& spec,
                                             const Registry&) const override {
    RecordingConfig config;
    ParamReader r(spec);
    config.id = r.String("id", "?");
    config.answer = r.Bool("answer", true);
    config.wants_usage = r.Bool("wants_usage", false);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<ReaperScheduler>> CreateTyped(
      const RecordingConfig& c, const SchedulerContext&) const override {
    return std::make_unique<RecordingScheduler>(c.id, c.answer, c.wants_usage, log_);
  }

 private:
  std::vector<std::string>* log_;
};

// The built-ins, plus "test.reaper.record" writing to `log` when given.
std::shared_ptr<const Registry> TestRegistry(std::vector<std::string>* log = nullptr) {
  RegistryBuilder b;
  absl::Status s = RegisterBuiltinReaperSchedulers(b);
  EXPECT_TRUE(s.ok()) << s;
  if (log != nullptr) {
    s = b.Register(std::make_unique<RecordingFactory>(log));
    EXPECT_TRUE(s.ok()) << s;
  }
  return std::move(b).Build();
}

// Parses and creates `spec` the way ConnectionManagerBuilder does.
ScheduleInput Input(ReapTrigger trigger, absl::Time now, std::optional<double> usage) {
  ScheduleInput input;
  input.trigger = trigger;
  input.now = now;
  input.connection_usage = usage;
  return input;
}

class Harness {
 public:
  explicit Harness(uint64_t seed = 7, std::vector<std::string>* log = nullptr)
      : registry_(TestRegistry(log)), rng_(seed) {}

  absl::StatusOr<std::unique_ptr<ReaperScheduler>> Make(const PluginSpec& spec) {
    auto factory = registry_->FindReaperScheduler(spec.name);
    if (!factory.ok()) return factory.status();
    auto config = (*factory)->ParseConfig(spec, *registry_);
    if (!config.ok()) return config.status();
    return (*factory)->Create(**config, SchedulerContext{&clock_, &rng_, registry_.get()});
  }
  // From the text form (ParsePluginSpec).
  absl::StatusOr<std::unique_ptr<ReaperScheduler>> Make(const char* text) {
    absl::StatusOr<PluginSpec> spec = ParsePluginSpec(text);
    if (!spec.ok()) return spec.status();
    return Make(*spec);
  }

  // The monotonic time at which a test's schedule starts.
  absl::Time t0() { return clock_.MonotonicNow(); }
  testing::FakeClock& clock() { return clock_; }
  // A trigger at the clock's current monotonic time, as the manager asks.
  ScheduleInput Now(ReapTrigger trigger = ReapTrigger::kConnect) {
    return Input(trigger, clock_.MonotonicNow(), std::nullopt);
  }
  const Registry& registry() const { return *registry_; }

 private:
  std::shared_ptr<const Registry> registry_;
  SeededRandom rng_;
  testing::FakeClock clock_;
};

ScheduleInput At(absl::Time now, ReapTrigger trigger = ReapTrigger::kConnect,
                 std::optional<double> usage = std::nullopt) {
  return Input(trigger, now, usage);
}

ScheduleInput Usage(absl::Time now, std::optional<double> usage) {
  return Input(ReapTrigger::kConnect, now, usage);
}

absl::Duration Ms(int64_t ms) { return absl::Milliseconds(ms); }

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
  const std::vector<absl::Duration> expected = {
      Ms(45000),  absl::Microseconds(67500000), absl::Microseconds(101250000),
      absl::Microseconds(151875000), absl::Microseconds(227812500),
      absl::Microseconds(341718750), absl::Microseconds(512578125), Ms(600000), Ms(600000),
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

TEST(TypedPluginFactory, CreateGivenAnotherFactorysConfigIsInvalidArgumentNotAMisreading) {
  Harness h;
  auto cooldown = h.registry().FindReaperScheduler("aequor.reaper.cooldown");
  auto pressure = h.registry().FindReaperScheduler("aequor.reaper.pressure");
  ASSERT_TRUE(cooldown.ok() && pressure.ok());
  auto config = (*pressure)->ParseConfig(PluginSpec("aequor.reaper.pressure"), h.registry());
  ASSERT_TRUE(config.ok()) << config.status();
  testing::FakeClock clock;
  SeededRandom random(7);
  auto s = (*cooldown)->Create(**config, SchedulerContext{&clock, &random, &h.registry()});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "not made by this factory")) << s.status();
}

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
  for (const char* text : {"aequor.reaper.probability", "aequor.reaper.cooldown",
                           "aequor.reaper.periodic"}) {
    auto s = h.Make(text);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_FALSE((*s)->WantsConnectionUsage()) << text << " costs no usage query";
  }
}

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
  for (ReapOutcome outcome : {ReapOutcome::kBusy, ReapOutcome::kError, ReapOutcome::kCompleted,
                              ReapOutcome::kBusy}) {
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
  EXPECT_EQ(log, (std::vector<std::string>{
                     "a.ShouldRun", "b.ShouldRun", "c.ShouldRun", "a.OnPassFinished(busy)",
                     "b.OnPassFinished(busy)", "c.OnPassFinished(busy)"}));
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
  EXPECT_EQ(log, (std::vector<std::string>{"a.OnPassFinished(completed)",
                                           "b.OnPassFinished(completed)",
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
  for (const char* known : {"aequor.reaper.all_of", "aequor.reaper.any_of",
                            "aequor.reaper.cooldown", "aequor.reaper.periodic",
                            "aequor.reaper.pressure", "aequor.reaper.probability"}) {
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
  auto spec = ParsePluginSpec("aequor.reaper.all_of(aequor.reaper.pressure, aequor.reaper.cooldown)");
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

// ---------------------------------------------------------------- option validation

struct BadOption {
  const char* spec;
  const char* message;  // the whole status message
};

class RejectsOutOfRangeOption : public ::testing::TestWithParam<BadOption> {};

TEST_P(RejectsOutOfRangeOption, WithInvalidArgumentNamingTheOption) {
  Harness h;
  auto s = h.Make(GetParam().spec);
  ASSERT_FALSE(s.ok()) << GetParam().spec;
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    AllFactories, RejectsOutOfRangeOption,
    ::testing::Values(
        BadOption{"aequor.reaper.cooldown(base_ms=0)",
                  "aequor.reaper.cooldown: option 'base_ms' must be a whole number of "
                  "milliseconds in [1, 86400000], got '0'"},
        BadOption{"aequor.reaper.cooldown(base_ms=86400001)",
                  "aequor.reaper.cooldown: option 'base_ms' must be a whole number of "
                  "milliseconds in [1, 86400000], got '86400001'"},
        BadOption{"aequor.reaper.cooldown(jitter=-0.1)",
                  "aequor.reaper.cooldown: option 'jitter' must be a number in [0, 1], got "
                  "'-0.1'"},
        BadOption{"aequor.reaper.cooldown(jitter=1.01)",
                  "aequor.reaper.cooldown: option 'jitter' must be a number in [0, 1], got "
                  "'1.01'"},
        BadOption{"aequor.reaper.cooldown(busy_factor=0.9)",
                  "aequor.reaper.cooldown: option 'busy_factor' must be a number in [1, 10], "
                  "got '0.9'"},
        BadOption{"aequor.reaper.cooldown(busy_factor=11)",
                  "aequor.reaper.cooldown: option 'busy_factor' must be a number in [1, 10], "
                  "got '11'"},
        BadOption{"aequor.reaper.cooldown(max_ms=29999)",
                  "aequor.reaper.cooldown: option 'max_ms' must be >= base_ms (30000), got "
                  "'29999'"},
        BadOption{"aequor.reaper.cooldown(base_ms=5000, max_ms=4000)",
                  "aequor.reaper.cooldown: option 'max_ms' must be >= base_ms (5000), got "
                  "'4000'"},
        BadOption{"aequor.reaper.cooldown(max_ms=86400001)",
                  "aequor.reaper.cooldown: option 'max_ms' must be a whole number of "
                  "milliseconds in [1, 86400000], got '86400001'"},
        BadOption{"aequor.reaper.cooldown(bas_ms=1000)",
                  "aequor.reaper.cooldown: unknown option 'bas_ms'; known: 'base_ms', "
                  "'busy_factor', 'jitter', 'max_ms'"},
        BadOption{"aequor.reaper.pressure(threshold=1.5)",
                  "aequor.reaper.pressure: option 'threshold' must be a number in [0, 1], got "
                  "'1.5'"},
        BadOption{"aequor.reaper.pressure(threshold=-0.01)",
                  "aequor.reaper.pressure: option 'threshold' must be a number in [0, 1], got "
                  "'-0.01'"},
        BadOption{"aequor.reaper.pressure(when_unknown=maybe)",
                  "aequor.reaper.pressure: option 'when_unknown' must be 'run' or 'skip', got "
                  "'maybe'"},
        BadOption{"aequor.reaper.periodic(interval_ms=999)",
                  "aequor.reaper.periodic: option 'interval_ms' must be a whole number of "
                  "milliseconds in [1000, 86400000], got '999'"},
        BadOption{"aequor.reaper.periodic(interval_ms=86400001)",
                  "aequor.reaper.periodic: option 'interval_ms' must be a whole number of "
                  "milliseconds in [1000, 86400000], got '86400001'"},
        BadOption{"aequor.reaper.periodic(jitter=2)",
                  "aequor.reaper.periodic: option 'jitter' must be a number in [0, 1], got '2'"},
        BadOption{"aequor.reaper.periodic(aequor.reaper.pressure)",
                  "aequor.reaper.periodic: takes at most 0 nested plugin specs, got 1"},
        BadOption{"aequor.reaper.all_of(aequor.reaper.periodic(interval_ms=0))",
                  "aequor.reaper.all_of: child 1: aequor.reaper.periodic: option "
                  "'interval_ms' must be a whole number of milliseconds in [1000, 86400000], "
                  "got '0'"},
        BadOption{"aequor.reaper.any_of(aequor.reaper.pressure(threshold=x))",
                  "aequor.reaper.any_of: child 1: aequor.reaper.pressure: option 'threshold' "
                  "must be a number in [0, 1], got 'x'"}));

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
  EXPECT_FALSE((*always)->ShouldRun(
      Knowing(t + Ms(999), ReapTrigger::kConnect, std::nullopt, {}, false)));
  EXPECT_TRUE((*always)->ShouldRun(
      Knowing(t + Ms(1000), ReapTrigger::kConnect, std::nullopt, {}, false)));
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

TEST(RegisterBuiltinReaperSchedulers, RegistersEveryScheduler) {
  Harness h;
  EXPECT_EQ(h.registry().ReaperSchedulerNames(),
            (std::vector<std::string>{"aequor.reaper.adaptive", "aequor.reaper.all_of",
                                      "aequor.reaper.any_of",
                                      "aequor.reaper.cooldown", "aequor.reaper.periodic",
                                      "aequor.reaper.pressure", "aequor.reaper.probability"}));
  RegistryBuilder twice;
  ASSERT_TRUE(RegisterBuiltinReaperSchedulers(twice).ok());
  EXPECT_EQ(RegisterBuiltinReaperSchedulers(twice).code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace aequor
