// The registry: lookup by name, user factories, errors that list known names.
#include "api/registry.h"

#include "absl/strings/match.h"
#include "api/random.h"
#include "gtest/gtest.h"
#include "strategies/retry/builtin.h"
#include "strategies/retry/none.h"

namespace aequor {
namespace {

class FixedRetry final : public RetryPolicy {
 public:
  std::optional<absl::Duration> NextDelay(const RetryState&, Random&) const override {
    return absl::Milliseconds(7);
  }
};

class FixedRetryFactory final : public RetryPolicyFactory {
 public:
  explicit FixedRetryFactory(std::string name = "acme.retry.fixed") : name_(std::move(name)) {}
  absl::string_view name() const override { return name_; }
  absl::string_view description() const override { return "always 7 ms"; }
  absl::StatusOr<std::unique_ptr<ParsedConfig>> ParseConfig(const PluginSpec&,
                                                            const Registry&) const override {
    return std::make_unique<ParsedConfig>();
  }
  absl::StatusOr<std::unique_ptr<RetryPolicy>> Create(const ParsedConfig&,
                                                      const RetryContext&) const override {
    return std::make_unique<FixedRetry>();
  }

 private:
  std::string name_;
};

TEST(Registry, UnknownNameIsNotFoundListingKnownNames) {
  RegistryBuilder b;
  ASSERT_TRUE(RegisterBuiltinRetryPolicies(b).ok());
  std::shared_ptr<const Registry> registry = std::move(b).Build();
  absl::StatusOr<const RetryPolicyFactory*> f = registry->FindRetryPolicy("aequor.retry.jitter");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      absl::StrContains(f.status().message(), "unknown retry policy 'aequor.retry.jitter'"));
  EXPECT_TRUE(absl::StrContains(f.status().message(), "aequor.retry.decorrelated_jitter"));
  EXPECT_TRUE(absl::StrContains(f.status().message(), "aequor.retry.exponential"));
  EXPECT_TRUE(absl::StrContains(f.status().message(), "aequor.retry.none"));
}

TEST(Registry, EmptyKindSaysNone) {
  std::shared_ptr<const Registry> registry = RegistryBuilder().Build();
  absl::StatusOr<const LeaseSignerFactory*> f = registry->FindSigner("x");
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(absl::StrContains(f.status().message(), "known: none"));
}

TEST(Registry, UserFactoryIsFoundAndCreates) {
  RegistryBuilder b;
  ASSERT_TRUE(b.Register(std::make_unique<FixedRetryFactory>()).ok());
  std::shared_ptr<const Registry> registry = std::move(b).Build();
  absl::StatusOr<const RetryPolicyFactory*> f = registry->FindRetryPolicy("acme.retry.fixed");
  ASSERT_TRUE(f.ok());
  auto config = (*f)->ParseConfig(PluginSpec("acme.retry.fixed"), *registry);
  ASSERT_TRUE(config.ok());
  auto policy = (*f)->Create(**config, RetryContext{registry.get()});
  ASSERT_TRUE(policy.ok());
  SeededRandom rng(1);
  EXPECT_EQ((*policy)->NextDelay(RetryState{}, rng), absl::Milliseconds(7));
  EXPECT_EQ(registry->RetryPolicyNames(), std::vector<std::string>{"acme.retry.fixed"});
}

TEST(Registry, DuplicateNameIsAlreadyExists) {
  RegistryBuilder b;
  ASSERT_TRUE(b.Register(std::make_unique<FixedRetryFactory>()).ok());
  absl::Status s = b.Register(std::make_unique<FixedRetryFactory>());
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StrContains(s.message(), "acme.retry.fixed"));
}

TEST(Registry, BadNamesAreRejected) {
  for (const char* bad :
       {"", "Acme.Retry", "acme..retry", ".acme", "acme.", "acme retry", "acme-retry"}) {
    RegistryBuilder b;
    absl::Status s = b.Register(std::make_unique<FixedRetryFactory>(bad));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
  RegistryBuilder b;
  EXPECT_TRUE(b.Register(std::make_unique<FixedRetryFactory>("acme.retry_v2.fixed_3")).ok());
}

TEST(Registry, ReplaceSwapsOneFactoryForATestScope) {
  RegistryBuilder base_builder;
  ASSERT_TRUE(RegisterBuiltinRetryPolicies(base_builder).ok());
  std::shared_ptr<const Registry> base = std::move(base_builder).Build();

  RegistryBuilder b(*base);
  b.Replace(std::make_unique<FixedRetryFactory>("aequor.retry.none"));
  std::shared_ptr<const Registry> swapped = std::move(b).Build();

  SeededRandom rng(1);
  RetryContext context{swapped.get()};
  auto f = swapped->FindRetryPolicy("aequor.retry.none");
  ASSERT_TRUE(f.ok());
  auto policy =
      (*f)->Create(**(*f)->ParseConfig(PluginSpec("aequor.retry.none"), *swapped), context);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ((*policy)->NextDelay(RetryState{}, rng), absl::Milliseconds(7));

  // The base registry is unchanged: immutable once built.
  auto original = base->FindRetryPolicy("aequor.retry.none");
  ASSERT_TRUE(original.ok());
  EXPECT_EQ((*original)->description(), "never retry");
  EXPECT_EQ(swapped->RetryPolicyNames().size(), base->RetryPolicyNames().size());
}

}  // namespace
}  // namespace aequor
