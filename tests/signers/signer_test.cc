// The built-in lease signers (signers/): registration, key validation (never
// echoing a secret), the key ring's rotation semantics, agreement of the Botan
// and OpenSSL implementations, constant-time verification of wrong lengths,
// and concurrent use.
#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/plugin.h"
#include "api/registry.h"
#include "api/secret.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signers/builtin.h"
#include "signers/hmac_sha256_botan.h"
#include "signers/hmac_sha256_openssl.h"
#include "signers/key_ring.h"

namespace aequor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kNewKey[] = "new-coordination-secret-2025";
constexpr char kOldKey[] = "old-coordination-secret-2024";
constexpr char kStrangerKey[] = "someone-elses-coordination-secret";
constexpr char kPayload[] = "s=orders;i=AbCdEfGh;e=1767225600000";

const std::vector<std::string>& AllNames() {
  static const auto* names = new std::vector<std::string>{std::string(kHmacSha256BotanSignerName),
                                                          std::string(kHmacSha256OpensslSignerName),
                                                          std::string(kKeyRingSignerName)};
  return *names;
}

std::shared_ptr<const Registry> BuiltinSigners() {
  RegistryBuilder builder;
  absl::Status s = RegisterBuiltinSigners(builder);
  EXPECT_TRUE(s.ok()) << s;
  return std::move(builder).Build();
}

// Parses `spec_text` and creates the signer through `registry`, as the
// manager builder does.
absl::StatusOr<std::unique_ptr<LeaseSigner>> Make(const Registry& registry,
                                                  absl::string_view spec_text,
                                                  std::vector<Secret> keys) {
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(spec_text);
  if (!spec.ok()) return spec.status();
  absl::StatusOr<const LeaseSignerFactory*> factory = registry.FindSigner(spec->name);
  if (!factory.ok()) return factory.status();
  absl::StatusOr<std::unique_ptr<ParsedConfig>> config = (*factory)->ParseConfig(*spec, registry);
  if (!config.ok()) return config.status();
  SignerContext context;
  context.keys = std::move(keys);
  context.registry = &registry;
  return (*factory)->Create(**config, context);
}

std::string Tag(const LeaseSigner& signer, absl::string_view payload = kPayload) {
  absl::StatusOr<std::string> tag = signer.Sign(payload);
  EXPECT_TRUE(tag.ok()) << tag.status();
  return tag.ok() ? *tag : "";
}

// ---- Registration

TEST(SignerRegistryTest, RegistersTheThreeBuiltinsUnderTheirNames) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  EXPECT_THAT(registry->SignerNames(),
              UnorderedElementsAre("aequor.signer.hmac_sha256", "aequor.signer.hmac_sha256_openssl",
                                   "aequor.signer.key_ring"));
  for (const std::string& name : AllNames()) {
    absl::StatusOr<const LeaseSignerFactory*> factory = registry->FindSigner(name);
    ASSERT_TRUE(factory.ok()) << factory.status();
    EXPECT_EQ((*factory)->name(), name);
    EXPECT_FALSE((*factory)->description().empty());
  }
  EXPECT_EQ(kDefaultSigner, kHmacSha256BotanSignerName);
}

TEST(SignerRegistryTest, RegisteringTwiceIsAlreadyExists) {
  RegistryBuilder builder;
  ASSERT_TRUE(RegisterBuiltinSigners(builder).ok());
  EXPECT_EQ(RegisterBuiltinSigners(builder).code(), absl::StatusCode::kAlreadyExists);
}

TEST(SignerRegistryTest, UnknownSignerIsNotFound) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  EXPECT_EQ(registry->FindSigner("aequor.signer.hmac_md5").status().code(),
            absl::StatusCode::kNotFound);
}

// ---- Configuration and keys

TEST(SignerFactoryTest, LeafSignersTakeNoOptionsAndNoChildren) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  for (absl::string_view name : {kHmacSha256BotanSignerName, kHmacSha256OpensslSignerName}) {
    auto with_option = Make(*registry, absl::StrCat(name, "(rounds=2)"), {Secret(kNewKey)});
    EXPECT_EQ(with_option.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(with_option.status().message(), HasSubstr("unknown option 'rounds'"));
    auto with_child =
        Make(*registry, absl::StrCat(name, "(aequor.signer.hmac_sha256)"), {Secret(kNewKey)});
    EXPECT_EQ(with_child.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(SignerFactoryTest, ShortKeysAreInvalidArgumentAndNeverEchoed) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  const std::string short_key = "tiny-secret-15b";  // 15 bytes
  ASSERT_EQ(short_key.size(), kMinSecretBytes - 1);
  for (const std::string& name : AllNames()) {
    for (const std::vector<Secret>& keys :
         {std::vector<Secret>{Secret(short_key)},
          std::vector<Secret>{Secret(kNewKey), Secret(short_key)},
          std::vector<Secret>{Secret(short_key), Secret(kNewKey)}}) {
      absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = Make(*registry, name, keys);
      ASSERT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument) << name;
      EXPECT_THAT(signer.status().message(), HasSubstr("at least 16"));
      EXPECT_THAT(signer.status().ToString(), Not(HasSubstr(short_key)));
      EXPECT_THAT(signer.status().ToString(), Not(HasSubstr(kNewKey)));
    }
  }
  EXPECT_EQ(NewHmacSha256BotanSigner(Secret(short_key)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewHmacSha256OpensslSigner(Secret(short_key)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(NewHmacSha256OpensslSigner(Secret(short_key)).status().ToString(),
              Not(HasSubstr(short_key)));
}

TEST(SignerFactoryTest, NoKeysIsInvalidArgument) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  for (const std::string& name : AllNames()) {
    EXPECT_EQ(Make(*registry, name, {}).status().code(), absl::StatusCode::kInvalidArgument)
        << name;
  }
}

TEST(SignerFactoryTest, SixteenByteKeyIsEnough) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  for (const std::string& name : AllNames()) {
    EXPECT_TRUE(Make(*registry, name, {Secret("0123456789abcdef")}).ok()) << name;
  }
}

// ---- HMAC correctness

TEST(HmacSignerTest, MatchesRfc4231TagsTruncatedToEightBytes) {
  // RFC 4231 test case 4 (25-byte key) and 6 (131-byte key, hashed first).
  std::string key4;
  for (int k = 1; k <= 25; ++k) key4.push_back(static_cast<char>(k));
  const std::string data4(50, '\xCD');
  const std::string key6(131, '\xAA');
  const std::string data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  for (auto make : {&NewHmacSha256BotanSigner, &NewHmacSha256OpensslSigner}) {
    auto signer4 = make(Secret(key4));
    auto signer6 = make(Secret(key6));
    ASSERT_TRUE(signer4.ok() && signer6.ok());
    EXPECT_EQ(Tag(**signer4, data4), "glWKOJpEPA4");  // b0ba465637458c69...
    EXPECT_EQ(Tag(**signer6, data6), "YOQxWR7gtn8");  // 60e431591ee0b67f...
    EXPECT_TRUE((*signer4)->Verify(data4, "glWKOJpEPA4"));
  }
}

TEST(HmacSignerTest, BotanAndOpensslAgreeOnRandomPayloadsAndKeys) {
  std::mt19937_64 rng(99);
  for (int round = 0; round < 200; ++round) {
    std::string key(16 + rng() % 120, '\0');  // spans keys shorter and longer than a block
    for (char& c : key) c = static_cast<char>(rng());
    auto botan = NewHmacSha256BotanSigner(Secret(key));
    auto openssl = NewHmacSha256OpensslSigner(Secret(key));
    ASSERT_TRUE(botan.ok() && openssl.ok());
    for (int k = 0; k < 20; ++k) {
      std::string payload(rng() % 200, '\0');
      for (char& c : payload) c = static_cast<char>(rng());
      std::string tag = Tag(**botan, payload);
      ASSERT_EQ(tag.size(), kLeaseTagLength);
      ASSERT_EQ(tag, Tag(**openssl, payload));
      ASSERT_TRUE((*openssl)->Verify(payload, tag));
      ASSERT_TRUE((*botan)->Verify(payload, tag));
    }
  }
}

TEST(HmacSignerTest, VerifyRejectsWrongLengthsAndNearMisses) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  for (const std::string& name : AllNames()) {
    auto signer = Make(*registry, name, {Secret(kNewKey)});
    ASSERT_TRUE(signer.ok()) << signer.status();
    const std::string tag = Tag(**signer);
    EXPECT_TRUE((*signer)->Verify(kPayload, tag)) << name;
    EXPECT_FALSE((*signer)->Verify(kPayload, "")) << name;
    EXPECT_FALSE((*signer)->Verify(kPayload, tag.substr(0, 10))) << name;
    EXPECT_FALSE((*signer)->Verify(kPayload, tag + "A")) << name;
    EXPECT_FALSE((*signer)->Verify(kPayload, tag + std::string(1000, 'x'))) << name;
    std::string flipped = tag;
    flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
    EXPECT_FALSE((*signer)->Verify(kPayload, flipped)) << name;
    EXPECT_FALSE((*signer)->Verify("s=orders;i=AbCdEfGh;e=1767225600001", tag)) << name;
  }
}

// ---- Key ring

TEST(KeyRingTest, SignsWithNewestAndVerifiesWithAnyKey) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  for (absl::string_view spec :
       {"aequor.signer.key_ring", "aequor.signer.key_ring(aequor.signer.hmac_sha256)",
        "aequor.signer.key_ring(aequor.signer.hmac_sha256_openssl)"}) {
    auto ring = Make(*registry, spec, {Secret(kNewKey), Secret(kOldKey)});
    ASSERT_TRUE(ring.ok()) << spec << ": " << ring.status();
    auto by_new = NewHmacSha256BotanSigner(Secret(kNewKey));
    auto by_old = NewHmacSha256BotanSigner(Secret(kOldKey));
    auto by_stranger = NewHmacSha256BotanSigner(Secret(kStrangerKey));
    ASSERT_TRUE(by_new.ok() && by_old.ok() && by_stranger.ok());

    EXPECT_EQ(Tag(**ring), Tag(**by_new)) << spec;  // keys[0] signs
    EXPECT_NE(Tag(**ring), Tag(**by_old)) << spec;
    EXPECT_TRUE((*ring)->Verify(kPayload, Tag(**by_new))) << spec;
    EXPECT_TRUE((*ring)->Verify(kPayload, Tag(**by_old))) << spec;
    EXPECT_FALSE((*ring)->Verify(kPayload, Tag(**by_stranger))) << spec;
  }
}

TEST(KeyRingTest, RotationNeedsNoWindow) {
  // Step 1: old only. Step 2: new added as a verify-only key. Step 3: new
  // signs, old still verifies. Step 4: old dropped. Leases of adjacent steps
  // always verify.
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  std::vector<std::vector<Secret>> steps = {
      {Secret(kOldKey)},
      {Secret(kOldKey), Secret(kNewKey)},
      {Secret(kNewKey), Secret(kOldKey)},
      {Secret(kNewKey)},
  };
  std::vector<std::unique_ptr<LeaseSigner>> rings;
  for (const auto& keys : steps) {
    auto ring = Make(*registry, kKeyRingSignerName, keys);
    ASSERT_TRUE(ring.ok()) << ring.status();
    rings.push_back(*std::move(ring));
  }
  for (size_t k = 0; k + 1 < rings.size(); ++k) {
    EXPECT_TRUE(rings[k + 1]->Verify(kPayload, Tag(*rings[k]))) << "step " << k;
    EXPECT_TRUE(rings[k]->Verify(kPayload, Tag(*rings[k + 1]))) << "step " << k;
  }
}

TEST(KeyRingTest, RejectsOptionsTwoChildrenAndUnknownChildren) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  const std::vector<Secret> keys = {Secret(kNewKey)};
  auto option = Make(*registry, "aequor.signer.key_ring(max_keys=3)", keys);
  EXPECT_EQ(option.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(option.status().message(), HasSubstr("unknown option 'max_keys'"));

  auto two = Make(*registry,
                  "aequor.signer.key_ring(aequor.signer.hmac_sha256, "
                  "aequor.signer.hmac_sha256_openssl)",
                  keys);
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);

  auto unknown = Make(*registry, "aequor.signer.key_ring(acme.signer.kms)", keys);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("acme.signer.kms"));

  auto bad_child = Make(*registry, "aequor.signer.key_ring(aequor.signer.hmac_sha256(x=1))", keys);
  EXPECT_EQ(bad_child.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_child.status().message(), HasSubstr("aequor.signer.key_ring"));
}

TEST(KeyRingTest, CreateWithoutRegistryIsFailedPrecondition) {
  SignerContext context;
  context.keys = {Secret(kNewKey)};
  EXPECT_EQ(NewKeyRingSigner(context).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(KeyRingTest, ShortKeyErrorNamesItsIndexOnly) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  auto ring = Make(*registry, kKeyRingSignerName, {Secret(kNewKey), Secret("tiny-key")});
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ring.status().message(), HasSubstr("#1 is 8 bytes"));
  EXPECT_THAT(ring.status().message(), Not(HasSubstr("tiny-key")));
}

// ---- Concurrency (also run under TSan by CI)

TEST(SignerConcurrencyTest, SignAndVerifyAreThreadSafe) {
  std::shared_ptr<const Registry> registry = BuiltinSigners();
  for (const std::string& name : AllNames()) {
    auto signer = Make(*registry, name, {Secret(kNewKey), Secret(kOldKey)});
    ASSERT_TRUE(signer.ok()) << signer.status();
    const std::string expected = Tag(**signer);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int k = 0; k < 2000; ++k) {
          absl::StatusOr<std::string> tag = (*signer)->Sign(kPayload);
          if (!tag.ok() || *tag != expected) ++failures;
          if (!(*signer)->Verify(kPayload, expected)) ++failures;
          if ((*signer)->Verify(absl::StrCat(kPayload, t), expected)) ++failures;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0) << name;
  }
}

}  // namespace
}  // namespace aequor
