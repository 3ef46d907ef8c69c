// tests/strategies/reaper/reaper_test_support.h: what the reaper scheduler
// tests share: a Harness that parses and creates a scheduler from the built-in
// registry with a seeded generator and a FakeClock, a recording scheduler
// ("test.reaper.record") for the composites' tests, and ScheduleInput makers.
// The schedulers read time only from the `now` they are given; the clock is
// there because SchedulerContext::clock is never null.
//
//   Harness h;
//   auto s = h.Make("aequor.reaper.cooldown(jitter=0)");
//   EXPECT_TRUE((*s)->ShouldRun(At(h.t0())));
//
// Thread-safety: none; a Harness and its schedulers belong to one test.
#ifndef AEQUOR_TESTS_STRATEGIES_REAPER_REAPER_TEST_SUPPORT_H_
#define AEQUOR_TESTS_STRATEGIES_REAPER_REAPER_TEST_SUPPORT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/plugin.h"
#include "api/random.h"
#include "api/reaper_scheduler.h"
#include "api/registry.h"
#include "gtest/gtest.h"
#include "strategies/reaper/builtin.h"
#include "testing/fake_clock.h"

namespace aequor {
namespace reaper_test {

// Records every call it receives into a log shared by the test, and answers
// ShouldRun() with its `answer` option. Registered as "test.reaper.record".
class RecordingScheduler final : public ReaperScheduler {
 public:
  RecordingScheduler(std::string id, bool answer, bool wants_usage, std::vector<std::string>* log)
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
inline std::shared_ptr<const Registry> TestRegistry(std::vector<std::string>* log = nullptr) {
  RegistryBuilder b;
  absl::Status s = RegisterBuiltinReaperSchedulers(b);
  EXPECT_TRUE(s.ok()) << s;
  if (log != nullptr) {
    s = b.Register(std::make_unique<RecordingFactory>(log));
    EXPECT_TRUE(s.ok()) << s;
  }
  return std::move(b).Build();
}

inline ScheduleInput Input(ReapTrigger trigger, absl::Time now, std::optional<double> usage) {
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

  // Parses and creates `spec` the way ConnectionManagerBuilder does.
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

inline ScheduleInput At(absl::Time now, ReapTrigger trigger = ReapTrigger::kConnect,
                        std::optional<double> usage = std::nullopt) {
  return Input(trigger, now, usage);
}

inline ScheduleInput Usage(absl::Time now, std::optional<double> usage) {
  return Input(ReapTrigger::kConnect, now, usage);
}

inline absl::Duration Ms(int64_t ms) { return absl::Milliseconds(ms); }

}  // namespace reaper_test
}  // namespace aequor

#endif  // AEQUOR_TESTS_STRATEGIES_REAPER_REAPER_TEST_SUPPORT_H_
