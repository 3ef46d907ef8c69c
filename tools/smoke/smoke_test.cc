// Smoke test for the system dependencies: each test links one library from
// @aequor_system and checks a known answer, so a broken package or link line fails
// here with a clear name rather than deep inside the library's own tests.

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <botan/hex.h>
#include <botan/mac.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace {

// HMAC-SHA256(key = "key", message = "abc").
constexpr char kKey[] = "key";
constexpr char kMessage[] = "abc";
constexpr char kExpectedHmacHex[] =
    "9c196e32dc0175f86f4b1cb89289d6619de6bee699e4c378e68309ed97a1a6ab";

TEST(SmokeTest, LibpqIsVersion15OrNewer) { EXPECT_GE(PQlibVersion(), 150000); }

TEST(SmokeTest, BotanHmacSha256MatchesKnownDigest) {
  std::unique_ptr<Botan::MessageAuthenticationCode> mac =
      Botan::MessageAuthenticationCode::create("HMAC(SHA-256)");
  ASSERT_NE(mac, nullptr);
  mac->set_key(reinterpret_cast<const uint8_t*>(kKey), sizeof(kKey) - 1);
  mac->update(std::string(kMessage));
  EXPECT_EQ(Botan::hex_encode(mac->final(), /*uppercase=*/false), kExpectedHmacHex);
}

TEST(SmokeTest, OpenSslHmacSha256MatchesKnownDigest) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  ASSERT_NE(
      HMAC(EVP_sha256(), kKey, sizeof(kKey) - 1, reinterpret_cast<const unsigned char*>(kMessage),
           sizeof(kMessage) - 1, digest, &digest_len),
      nullptr);
  ASSERT_EQ(digest_len, 32u);
  EXPECT_EQ(
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), digest_len)),
      kExpectedHmacHex);
}

absl::StatusOr<int> ParsePositive(int value) {
  if (value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("not positive: ", value));
  }
  return value;
}

TEST(SmokeTest, AbseilStatusOrAndStrings) {
  absl::StatusOr<int> ok = ParsePositive(7);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);

  absl::StatusOr<int> bad = ParsePositive(-1);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "not positive: -1");

  EXPECT_EQ(absl::StrCat("a", 1, "b", 2.5), "a1b2.5");
  // Web-safe alphabet ('-' and '_'), no padding.
  EXPECT_EQ(absl::WebSafeBase64Escape(std::string("\xfb\xff\xfe", 3)), "-__-");
  EXPECT_EQ(absl::WebSafeBase64Escape("ab"), "YWI");
}

}  // namespace
