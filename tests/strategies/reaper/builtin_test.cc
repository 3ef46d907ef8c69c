// What every built-in reaper scheduler shares (strategies/reaper/builtin.h):
// registration, the typed factory refusing another factory's config, and
// out-of-range options rejected with a message naming the option.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "api/plugin.h"
#include "api/random.h"
#include "api/reaper_scheduler.h"
#include "api/registry.h"
#include "gtest/gtest.h"
#include "strategies/reaper/builtin.h"
#include "testing/fake_clock.h"
#include "tests/strategies/reaper/reaper_test_support.h"

namespace aequor {
namespace reaper_test {
namespace {

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

TEST(RegisterBuiltinReaperSchedulers, RegistersEveryScheduler) {
  Harness h;
  EXPECT_EQ(h.registry().ReaperSchedulerNames(),
            (std::vector<std::string>{"aequor.reaper.adaptive", "aequor.reaper.all_of",
                                      "aequor.reaper.any_of", "aequor.reaper.cooldown",
                                      "aequor.reaper.periodic", "aequor.reaper.pressure",
                                      "aequor.reaper.probability"}));
  RegistryBuilder twice;
  ASSERT_TRUE(RegisterBuiltinReaperSchedulers(twice).ok());
  EXPECT_EQ(RegisterBuiltinReaperSchedulers(twice).code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace reaper_test
}  // namespace aequor
