// The lease codec (api/lease.h): service normalisation as pg-aequor does it
// (expected values computed with pg-aequor's algorithm on Node.js), strict
// parsing with precise reasons, signing and verification, base64url, and a
// randomized robustness run of ParseLease.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/random.h"
#include "api/secret.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signers/hmac_sha256_botan.h"

namespace aequor {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kSecret = "coord-secret-0123456789";
constexpr absl::string_view kValidTag = "jqYuPhbNIxo";  // of the first pg-aequor vector
constexpr absl::string_view kValidLease = "s=my-service;i=AbCdEfGh;e=1767225600000;g=jqYuPhbNIxo";

std::unique_ptr<LeaseSigner> Signer(absl::string_view secret = kSecret) {
  auto signer = NewHmacSha256BotanSigner(Secret(std::string(secret)));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return signer.ok() ? *std::move(signer) : nullptr;
}

// ---- MaxServiceLength / NormalizeService

TEST(MaxServiceLengthTest, IsTwentyForTheUsualInstanceAndNeverBelowOne) {
  EXPECT_EQ(MaxServiceLength(), 20u);
  EXPECT_EQ(MaxServiceLength(8), 20u);
  EXPECT_EQ(MaxServiceLength(0), 28u);
  EXPECT_EQ(MaxServiceLength(20), 8u);
  EXPECT_EQ(MaxServiceLength(26), 2u);
  EXPECT_EQ(MaxServiceLength(27), 1u);
  EXPECT_EQ(MaxServiceLength(28), 1u);
  EXPECT_EQ(MaxServiceLength(1000), 1u);
}

TEST(NormalizeServiceTest, KeepsAllowedAsciiThatFits) {
  EXPECT_EQ(NormalizeService("orders"), "orders");
  EXPECT_EQ(NormalizeService("a:b_c-D9"), "a:b_c-D9");
  EXPECT_EQ(NormalizeService("abcdefghijklmnopqrst"), "abcdefghijklmnopqrst");  // exactly 20
  EXPECT_EQ(NormalizeService("svc_a"), "svc_a");
}

TEST(NormalizeServiceTest, HashesLongNames) {
  EXPECT_EQ(NormalizeService("abcdefghijklmnopqrstu"), "abcdefghijk-eca986b9");  // 21
  EXPECT_EQ(NormalizeService(std::string(30, 'a'), 0), "aaaaaaaaaaaaaaaaaaa-cd762363");
}

TEST(NormalizeServiceTest, HashesAnyChangedName) {
  EXPECT_EQ(NormalizeService("svc a"), "svc_a-b35665c1");  // never collides with "svc_a"
}

TEST(NormalizeServiceTest, EmojiGivesTwoUnderscoresLikeUtf16) {
  EXPECT_EQ(NormalizeService("a\xF0\x9F\x98\x80"
                             "b"),
            "a__b-d8f2abf4");
  // Six emoji are twelve UTF-16 code units: cut to 11, then the hash.
  std::string six;
  for (int k = 0; k < 6; ++k) six += "\xF0\x9F\x98\x80";
  EXPECT_EQ(NormalizeService(six), "___________-d45b0260");
}

TEST(NormalizeServiceTest, BmpCharactersGiveOneUnderscore) {
  EXPECT_EQ(NormalizeService("caf\xC3\xA9"), "caf_-f424452a");  // é: 2 bytes, 1 code unit
  // 日本語サービス: 7 characters of 3 bytes each, 7 code units.
  EXPECT_EQ(NormalizeService("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x82\xB5\xE3\x83\xBC"
                             "\xE3\x83\x93\xE3\x82\xB9"),
            "_______-0bc7910a");
}

TEST(NormalizeServiceTest, InvalidUtf8GivesOneUnderscorePerByteAndHashesTheBytes) {
  // SHA-1 of the original bytes 61 ff 62 starts 2b962856.
  EXPECT_EQ(NormalizeService("a\xFF"
                             "b"),
            "a_b-2b962856");
  // A truncated 3-byte sequence (e2 82) is two invalid bytes: two '_'.
  EXPECT_EQ(NormalizeService("x\xE2\x82"
                             "y"),
            "x__y-97faf66e");
  // Overlong, surrogate and out-of-range encodings are invalid byte by byte.
  EXPECT_EQ(NormalizeService("\xC0\xAF").substr(0, 3), "__-");
  EXPECT_EQ(NormalizeService("\xED\xA0\x80").substr(0, 4), "___-");
  EXPECT_EQ(NormalizeService("\xF4\x90\x80\x80").substr(0, 5), "____-");
}

TEST(NormalizeServiceTest, EmptyNameIsPgAequorsDefault) {
  EXPECT_EQ(NormalizeService(""), "sls_pg");
}

TEST(NormalizeServiceTest, HashOnlyWhenMaxIsAtMostEight) {
  EXPECT_EQ(NormalizeService("orders.v2", 20), "15ab348b");   // max 8
  EXPECT_EQ(NormalizeService("orders.v2", 25), "15a");        // max 3
  EXPECT_EQ(NormalizeService("orders.v2", 100), "1");         // max 1
  EXPECT_EQ(NormalizeService("abcdefghi", 20), "c63b19f1");   // 9 > 8
  EXPECT_EQ(NormalizeService("abcdefgh", 20), "abcdefgh");    // fits, unchanged
  EXPECT_EQ(NormalizeService("abcdefghi", 19), "abcdefghi");  // max 9
}

TEST(NormalizeServiceTest, ResultAlwaysFitsALease) {
  std::unique_ptr<LeaseSigner> signer = Signer();
  const std::vector<std::string> names = {"x", std::string(200, 'y'), "caf\xC3\xA9/orders",
                                          std::string(50, '\xFF'), ""};
  for (size_t instance_length : {1u, 8u, 12u, 20u, 27u}) {
    for (const std::string& name : names) {
      std::string service = NormalizeService(name, instance_length);
      EXPECT_LE(service.size(), MaxServiceLength(instance_length));
      absl::StatusOr<std::string> lease =
          SignLease(*signer, service, std::string(instance_length, 'I'), 9999999999999);
      ASSERT_TRUE(lease.ok()) << lease.status();
      EXPECT_LE(lease->size(), kMaxLeaseLength);
    }
  }
}

// ---- LeasePayload / SignLease

TEST(SignLeaseTest, ProducesPayloadSemicolonTag) {
  EXPECT_EQ(LeasePayload("orders", "AbCdEfGh", 1767225600000),
            "s=orders;i=AbCdEfGh;e=1767225600000");
  absl::StatusOr<std::string> lease = SignLease(*Signer(), "my-service", "AbCdEfGh", 1767225600000);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(*lease, kValidLease);
}

TEST(SignLeaseTest, RejectsALeaseLongerThan63Bytes) {
  absl::StatusOr<std::string> lease =
      SignLease(*Signer(), std::string(40, 's'), "AbCdEfGh", 1767225600000);
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(lease.status().message(), HasSubstr("more than 63"));
  // 21 characters is one too many with an 8-character instance and 13 digits.
  EXPECT_EQ(SignLease(*Signer(), std::string(21, 's'), "AbCdEfGh", 1767225600000).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SignLease(*Signer(), std::string(20, 's'), "AbCdEfGh", 1767225600000).ok());
}

TEST(SignLeaseTest, RejectsFieldsTheFormatForbids) {
  std::unique_ptr<LeaseSigner> signer = Signer();
  struct Case {
    absl::string_view service, instance;
    int64_t expires;
    absl::string_view reason;
  };
  for (const Case& c : std::vector<Case>{
           {"", "AbCdEfGh", 1, "service is empty"},
           {"a;b", "AbCdEfGh", 1, "service has a character outside"},
           {"a.b", "AbCdEfGh", 1, "service has a character outside"},
           {"ok", "", 1, "instance is empty"},
           {"ok", "Ab=dEfGh", 1, "instance has a character outside"},
           {"ok", "AbCdEfGh", -1, "expiry must not be negative"},
       }) {
    absl::StatusOr<std::string> lease = SignLease(*signer, c.service, c.instance, c.expires);
    EXPECT_EQ(lease.status().code(), absl::StatusCode::kInvalidArgument) << c.reason;
    EXPECT_THAT(lease.status().message(), HasSubstr(c.reason));
  }
}

class ThrowingSigner final : public LeaseSigner {
 public:
  absl::StatusOr<std::string> Sign(absl::string_view) const override { throw 42; }
  bool Verify(absl::string_view, absl::string_view) const override { throw 42; }
};

class MalformedSigner final : public LeaseSigner {
 public:
  absl::StatusOr<std::string> Sign(absl::string_view) const override { return "short"; }
  bool Verify(absl::string_view, absl::string_view) const override { return true; }
};

class FailingSigner final : public LeaseSigner {
 public:
  absl::StatusOr<std::string> Sign(absl::string_view) const override {
    return absl::UnavailableError("hsm offline");
  }
  bool Verify(absl::string_view, absl::string_view) const override { return false; }
};

TEST(SignLeaseTest, SignerExceptionsAndBadTagsBecomeStatuses) {
  EXPECT_EQ(SignLease(ThrowingSigner(), "svc", "AbCdEfGh", 1).status().code(),
            absl::StatusCode::kInternal);
  absl::StatusOr<std::string> malformed = SignLease(MalformedSigner(), "svc", "AbCdEfGh", 1);
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(malformed.status().message(), HasSubstr("malformed tag"));
  EXPECT_EQ(SignLease(FailingSigner(), "svc", "AbCdEfGh", 1).status().code(),
            absl::StatusCode::kUnavailable);
}

// ---- ParseLease

TEST(ParseLeaseTest, SplitsAValidLease) {
  absl::StatusOr<ParsedLease> lease = ParseLease(kValidLease);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(lease->service, "my-service");
  EXPECT_EQ(lease->instance, "AbCdEfGh");
  EXPECT_EQ(lease->expires_ms, 1767225600000);
  EXPECT_EQ(lease->tag, kValidTag);
  EXPECT_EQ(lease->payload, "s=my-service;i=AbCdEfGh;e=1767225600000");
}

TEST(ParseLeaseTest, AcceptsTheExtremesOfTheExpiry) {
  auto zero = ParseLease("s=a;i=b;e=0;g=AAAAAAAAAAA");
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(zero->expires_ms, 0);
  auto max = ParseLease("s=a;i=b;e=9223372036854775807;g=AAAAAAAAAAA");
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(max->expires_ms, INT64_MAX);
}

struct Rejection {
  std::string lease;
  std::string reason;
};

class ParseLeaseRejectionTest : public ::testing::TestWithParam<Rejection> {};

TEST_P(ParseLeaseRejectionTest, IsInvalidArgumentWithThePreciseReason) {
  absl::StatusOr<ParsedLease> lease = ParseLease(GetParam().lease);
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kInvalidArgument) << GetParam().lease;
  EXPECT_THAT(std::string(lease.status().message()), HasSubstr(GetParam().reason))
      << GetParam().lease;
}

const std::string kTail = ";g=AAAAAAAAAAA";

INSTANTIATE_TEST_SUITE_P(
    Reasons, ParseLeaseRejectionTest,
    ::testing::Values(
        Rejection{"", "lease is empty"},
        Rejection{"s=" + std::string(33, 'a') + ";i=AbCdEfGh;e=1" + kTail,
                  "is 64 bytes, more than 63"},
        Rejection{"s=a;i=b;e=1", "missing field 'g'"},
        Rejection{"s=a;e=1" + kTail, "missing field 'i'"},
        Rejection{"i=b;e=1" + kTail, "missing field 's'"},
        Rejection{"s=a;i=b;s=c;e=1" + kTail, "repeated field 's'"},
        Rejection{"s=a;i=b;e=1;e=2" + kTail, "repeated field 'e'"},
        Rejection{"s=a;i=b;x=1;e=1" + kTail, "unknown field 'x'"},
        Rejection{"s=a;i=b;ee=1" + kTail, "unknown field 'ee'"},
        Rejection{"s=a;i=b;=1" + kTail, "unknown field ''"},
        Rejection{"i=b;s=a;e=1" + kTail, "field 's' out of order"},
        Rejection{"s=a;i=b" + kTail + ";e=1", "field 'e' out of order"},
        Rejection{"s=a;i=b;e=1;g", "field 4 is not key=value"},
        Rejection{"s=a;i=b;e=1" + kTail + ";", "field 5 is not key=value"},
        Rejection{"s=a;i=b;e=12a" + kTail, "expiry 'e' is not a decimal number"},
        Rejection{"s=a;i=b;e=1.5" + kTail, "expiry 'e' is not a decimal number"},
        Rejection{"s=a;i=b;e=+1" + kTail, "expiry 'e' is not a decimal number"},
        Rejection{"s=a;i=b;e=-1" + kTail, "expiry 'e' is not a decimal number"},
        Rejection{"s=a;i=b;e= 1" + kTail, "expiry 'e' is not a decimal number"},
        Rejection{"s=a;i=b;e=" + kTail, "expiry 'e' is empty"},
        Rejection{"s=a;i=b;e=01" + kTail, "expiry 'e' has a leading zero"},
        Rejection{"s=a;i=b;e=9223372036854775808" + kTail, "expiry 'e' overflows"},
        Rejection{"s=a;i=b;e=99999999999999999999" + kTail, "expiry 'e' overflows"},
        Rejection{"s=a;i=b;e=1;g=AAAAAAAAAA+",
                  "tag 'g' has a character outside base64url at offset 10"},
        Rejection{"s=a;i=b;e=1;g=AAAAAAAAAA=", "tag 'g' has a character outside base64url"},
        Rejection{"s=a;i=b;e=1;g=AAAAAAAAAA", "tag 'g' must be 11 base64url characters, got 10"},
        Rejection{"s=a;i=b;e=1;g=AAAAAAAAAAAA", "tag 'g' must be 11 base64url characters, got 12"},
        Rejection{"s=a;i=b;e=1;g=", "tag 'g' must be 11 base64url characters, got 0"},
        Rejection{"s=a;i=b;e=1;g=AAAAAAAAAAB", "tag 'g' is not canonical base64url"},
        Rejection{"s=a;i=b;e=1;g=AAAAAAAAAA_", "tag 'g' is not canonical base64url"},
        Rejection{"s=caf\xC3\xA9;i=b;e=1" + kTail, "non-ASCII byte 0xc3 at offset 5"},
        Rejection{"s=a\n;i=b;e=1" + kTail, "control character 0x0a at offset 3"},
        Rejection{std::string("s=a\0;i=b;e=1", 12) + kTail, "control character 0x00 at offset 3"},
        Rejection{"s=a\x7F;i=b;e=1" + kTail, "control character 0x7f at offset 3"},
        Rejection{"s=;i=b;e=1" + kTail, "service 's' is empty"},
        Rejection{"s=a;i=;e=1" + kTail, "instance 'i' is empty"},
        Rejection{"s=a.b;i=b;e=1" + kTail,
                  "service 's' has a character outside [A-Za-z0-9:_-] at offset 1"},
        Rejection{"s=a b;i=b;e=1" + kTail, "service 's' has a character outside"},
        Rejection{"s=a=b;i=b;e=1" + kTail, "service 's' has a character outside"},
        Rejection{"s=a;i=b%;e=1" + kTail, "instance 'i' has a character outside"}));

// ---- Verification

TEST(VerifyLeaseTagTest, AcceptsTheSignersOwnLease) {
  absl::StatusOr<ParsedLease> lease = ParseLease(kValidLease);
  ASSERT_TRUE(lease.ok());
  EXPECT_TRUE(VerifyLeaseTag(*Signer(), *lease));
}

TEST(VerifyLeaseTagTest, RejectsATamperedLease) {
  std::unique_ptr<LeaseSigner> signer = Signer();
  const std::string original(kValidLease);
  std::vector<std::string> tampered = {
      "s=my-servicf;i=AbCdEfGh;e=1767225600000;g=jqYuPhbNIxo",  // service
      "s=my-service;i=AbCdEfGi;e=1767225600000;g=jqYuPhbNIxo",  // instance
      "s=my-service;i=AbCdEfGh;e=1767225600001;g=jqYuPhbNIxo",  // expiry
      "s=my-service;i=AbCdEfGh;e=9767225600000;g=jqYuPhbNIxo",  // expiry extended
      "s=my-service;i=AbCdEfGh;e=1767225600000;g=kqYuPhbNIxo",  // tag, first char
      "s=my-service;i=AbCdEfGh;e=1767225600000;g=jqYuPhbNIxk",  // tag, last char (canonical)
  };
  for (const std::string& text : tampered) {
    absl::StatusOr<ParsedLease> lease = ParseLease(text);
    ASSERT_TRUE(lease.ok()) << text << ": " << lease.status();
    EXPECT_FALSE(VerifyLeaseTag(*signer, *lease)) << text;
  }
}

TEST(VerifyLeaseTagTest, RejectsALeaseSignedWithAnotherSecret) {
  absl::StatusOr<ParsedLease> lease = ParseLease(kValidLease);
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(VerifyLeaseTag(*Signer("coord-secret-0123456788"), *lease));
  EXPECT_FALSE(VerifyLeaseTag(*Signer("a-completely-different-secret"), *lease));
}

TEST(VerifyLeaseTagTest, ASignerThatThrowsVerifiesNothing) {
  absl::StatusOr<ParsedLease> lease = ParseLease(kValidLease);
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(VerifyLeaseTag(ThrowingSigner(), *lease));
}

TEST(VerifyLeaseTagTest, SignParseVerifyRoundTrip) {
  std::unique_ptr<LeaseSigner> signer = Signer();
  SeededRandom random(7);
  for (int k = 0; k < 200; ++k) {
    std::string instance = NewInstanceId(random);
    std::string service = NormalizeService(absl::StrCat("svc-", k, k % 3 == 0 ? ".x" : ""));
    int64_t expiry = static_cast<int64_t>(random.Next64() % 10000000000000ULL);
    absl::StatusOr<std::string> text = SignLease(*signer, service, instance, expiry);
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<ParsedLease> lease = ParseLease(*text);
    ASSERT_TRUE(lease.ok()) << *text << ": " << lease.status();
    EXPECT_EQ(lease->service, service);
    EXPECT_EQ(lease->instance, instance);
    EXPECT_EQ(lease->expires_ms, expiry);
    EXPECT_TRUE(VerifyLeaseTag(*signer, *lease));
  }
}

// ---- base64url and instance ids

TEST(Base64UrlEncodeTest, MatchesRfc4648WithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xFB\xFF"), "-_8");  // the url-safe characters
  EXPECT_EQ(Base64UrlEncode(std::string(8, '\0')), "AAAAAAAAAAA");
}

TEST(NewInstanceIdTest, IsEightBase64UrlCharactersAndDeterministicWhenSeeded) {
  SeededRandom a(42);
  SeededRandom b(42);
  std::string first = NewInstanceId(a);
  EXPECT_EQ(first.size(), kInstanceIdLength);
  EXPECT_EQ(
      first.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  EXPECT_EQ(first, NewInstanceId(b));
  EXPECT_NE(first, NewInstanceId(a));
}

// ---- Robustness: ParseLease never crashes, and whatever it accepts is in
// canonical form (formatting the parsed fields gives back the input).

TEST(ParseLeaseRobustnessTest, HundredThousandRandomAndMutatedInputsNeverCrash) {
  std::mt19937_64 rng(20240501);
  std::unique_ptr<LeaseSigner> signer = Signer();
  const std::string alphabet = "sieg=;0123456789AZaz-_:+/. \x01\x7F\xC3\xA9\xFF";
  const std::vector<std::string> seeds = {
      std::string(kValidLease), "s=a;i=b;e=0;g=AAAAAAAAAAA",
      "s=payments-le-a57f282a;i=Mm3nB4vC;e=2000000000000;g=anHu4FaoTSk"};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  int accepted = 0;
  for (int iteration = 0; iteration < 100000; ++iteration) {
    std::string input;
    if (iteration % 4 == 0) {
      // Random bytes from a lease-ish alphabet or the full byte range.
      size_t length = pick(80);
      bool any_byte = pick(2) == 0;
      for (size_t k = 0; k < length; ++k) {
        input.push_back(any_byte ? static_cast<char>(rng() & 0xFF)
                                 : alphabet[pick(alphabet.size())]);
      }
    } else {
      input = seeds[pick(seeds.size())];
      int mutations = 1 + static_cast<int>(pick(4));
      for (int m = 0; m < mutations; ++m) {
        size_t at = input.empty() ? 0 : pick(input.size() + 1);
        switch (pick(6)) {
          case 0:  // replace a byte
            if (!input.empty()) input[pick(input.size())] = alphabet[pick(alphabet.size())];
            break;
          case 1:  // insert a byte
            input.insert(at, 1, alphabet[pick(alphabet.size())]);
            break;
          case 2:  // delete a byte
            if (!input.empty()) input.erase(pick(input.size()), 1);
            break;
          case 3:  // truncate
            input.resize(at);
            break;
          case 4: {  // duplicate a slice
            size_t from = input.empty() ? 0 : pick(input.size());
            size_t length = pick(input.size() - from + 1);
            input.insert(at > input.size() ? input.size() : at, input.substr(from, length));
            break;
          }
          default:  // flip a bit
            if (!input.empty()) input[pick(input.size())] ^= static_cast<char>(1 << pick(8));
            break;
        }
      }
    }
    absl::StatusOr<ParsedLease> lease = ParseLease(input);
    if (!lease.ok()) {
      ASSERT_EQ(lease.status().code(), absl::StatusCode::kInvalidArgument);
      ASSERT_FALSE(lease.status().message().empty());
      continue;
    }
    ++accepted;
    ASSERT_LE(input.size(), kMaxLeaseLength);
    ASSERT_EQ(LeasePayload(lease->service, lease->instance, lease->expires_ms), lease->payload);
    ASSERT_EQ(absl::StrCat(lease->payload, ";g=", lease->tag), input);
    (void)VerifyLeaseTag(*signer, *lease);
  }
  EXPECT_GT(accepted, 0);  // the mutations do reach the accepting paths
}

}  // namespace
}  // namespace aequor
