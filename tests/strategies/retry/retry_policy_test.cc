// Retry policies, tested statistically with a seeded generator: no sleeping.
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/match.h"
#include "api/random.h"
#include "api/registry.h"
#include "gtest/gtest.h"
#include "strategies/retry/builtin.h"

namespace aequor {
namespace {

std::shared_ptr<const Registry> Retries() {
  RegistryBuilder b;
  EXPECT_TRUE(RegisterBuiltinRetryPolicies(b).ok());
  return std::move(b).Build();
}

absl::StatusOr<std::unique_ptr<RetryPolicy>> Make(const PluginSpec& spec) {
  std::shared_ptr<const Registry> registry = Retries();
  auto factory = registry->FindRetryPolicy(spec.name);
  if (!factory.ok()) return factory.status();
  auto config = (*factory)->ParseConfig(spec, *registry);
  if (!config.ok()) return config.status();
  return (*factory)->Create(**config, RetryContext{registry.get()});
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

TEST(DecorrelatedJitter, DefaultsAreThreeRetriesBetween100And2000Ms) {
  auto policy = Make(PluginSpec("aequor.retry.decorrelated_jitter"));
  ASSERT_TRUE(policy.ok()) << policy.status();
  SeededRandom rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    RetryState state;
    for (state.retry = 1; state.retry <= 3; ++state.retry) {
      std::optional<absl::Duration> d = (*policy)->NextDelay(state, rng);
      ASSERT_TRUE(d.has_value());
      EXPECT_GE(Ms(*d), 100.0);
      EXPECT_LE(Ms(*d), 2000.0);
      // Decorrelated: never more than three times the previous sleep.
      if (state.previous_delay > absl::ZeroDuration()) {
        EXPECT_LE(Ms(*d), 3.0 * Ms(state.previous_delay) + 1e-6);
      }
      state.previous_delay = *d;
    }
    EXPECT_FALSE((*policy)->NextDelay(state, rng).has_value()) << "a 4th retry was allowed";
  }
}

TEST(DecorrelatedJitter, FirstSleepIsUniformBetweenBaseAndThreeBase) {
  auto policy = Make(
      PluginSpec("aequor.retry.decorrelated_jitter", {{"base_ms", "100"}, {"cap_ms", "10000"}}));
  ASSERT_TRUE(policy.ok());
  SeededRandom rng(11);
  constexpr int kN = 20000;
  double sum = 0;
  int below_200 = 0;
  for (int i = 0; i < kN; ++i) {
    double ms = Ms(*(*policy)->NextDelay(RetryState{1, absl::ZeroDuration()}, rng));
    ASSERT_GE(ms, 100.0);
    ASSERT_LE(ms, 300.0);
    sum += ms;
    if (ms < 200.0) ++below_200;
  }
  // Uniform(100, 300): mean 200, half below 200. 20k samples: sd of the mean ~0.4 ms.
  EXPECT_NEAR(sum / kN, 200.0, 3.0);
  EXPECT_NEAR(static_cast<double>(below_200) / kN, 0.5, 0.02);
}

TEST(DecorrelatedJitter, GrowsFromPreviousSleepAndIsCapped) {
  auto policy = Make(PluginSpec("aequor.retry.decorrelated_jitter",
                                {{"retries", "50"}, {"base_ms", "100"}, {"cap_ms", "2000"}}));
  ASSERT_TRUE(policy.ok());
  SeededRandom rng(3);
  int at_cap = 0;
  for (int i = 0; i < 5000; ++i) {
    double ms = Ms(*(*policy)->NextDelay(RetryState{5, absl::Milliseconds(1500)}, rng));
    ASSERT_GE(ms, 100.0);
    ASSERT_LE(ms, 2000.0);
    if (ms == 2000.0) ++at_cap;
  }
  // uniform(100, 4500) exceeds 2000 with probability 2500/4400 ~ 0.57.
  EXPECT_NEAR(at_cap / 5000.0, 2500.0 / 4400.0, 0.03);
}

TEST(DecorrelatedJitter, ZeroRetriesNeverRetries) {
  auto policy = Make(PluginSpec("aequor.retry.decorrelated_jitter", {{"retries", "0"}}));
  ASSERT_TRUE(policy.ok());
  SeededRandom rng(1);
  EXPECT_FALSE((*policy)->NextDelay(RetryState{1, absl::ZeroDuration()}, rng).has_value());
}

TEST(DecorrelatedJitter, BaseAboveCapIsRejectedNamingBothOptions) {
  auto policy = Make(
      PluginSpec("aequor.retry.decorrelated_jitter", {{"base_ms", "3000"}, {"cap_ms", "2000"}}));
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(policy.status().message(), "'base_ms' (3000)"));
  EXPECT_TRUE(absl::StrContains(policy.status().message(), "'cap_ms' (2000)"));
}

TEST(Exponential, FullJitterWithinDoublingCeilings) {
  auto policy = Make(PluginSpec("aequor.retry.exponential",
                                {{"retries", "6"}, {"base_ms", "100"}, {"cap_ms", "1000"}}));
  ASSERT_TRUE(policy.ok()) << policy.status();
  SeededRandom rng(5);
  const double ceilings[] = {100, 200, 400, 800, 1000, 1000};
  for (int retry = 1; retry <= 6; ++retry) {
    double sum = 0;
    double max_seen = 0;
    constexpr int kN = 10000;
    for (int i = 0; i < kN; ++i) {
      double ms = Ms(*(*policy)->NextDelay(RetryState{retry, absl::ZeroDuration()}, rng));
      ASSERT_GE(ms, 0.0);
      ASSERT_LE(ms, ceilings[retry - 1]);
      sum += ms;
      max_seen = std::max(max_seen, ms);
    }
    EXPECT_NEAR(sum / kN, ceilings[retry - 1] / 2, ceilings[retry - 1] * 0.03) << retry;
    EXPECT_GT(max_seen, ceilings[retry - 1] * 0.95) << retry;
  }
  EXPECT_FALSE((*policy)->NextDelay(RetryState{7, absl::ZeroDuration()}, rng).has_value());
}

TEST(NoRetry, NeverRetriesAndTakesNoOptions) {
  auto policy = Make(PluginSpec("aequor.retry.none"));
  ASSERT_TRUE(policy.ok());
  SeededRandom rng(1);
  EXPECT_FALSE((*policy)->NextDelay(RetryState{1, absl::ZeroDuration()}, rng).has_value());
  auto with_option = Make(PluginSpec("aequor.retry.none", {{"retries", "3"}}));
  EXPECT_EQ(with_option.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SeededRandom, SameSeedSameSequenceAndUniform01InRange) {
  SeededRandom a(99), b(99), c(100);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    uint64_t x = a.Next64();
    EXPECT_EQ(x, b.Next64());
    differs |= x != c.Next64();
    double u = a.Uniform01();
    b.Uniform01();
    c.Uniform01();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace aequor
