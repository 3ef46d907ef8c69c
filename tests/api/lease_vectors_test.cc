// Proves wire compatibility with pg-aequor: every vector that pg-aequor itself
// produced (tests/api/testdata/lease_vectors.json, a verbatim copy of
// ../shared/lease_vectors.json) is reproduced byte for byte by every built-in
// signer, and parses and verifies.
//
// The copy is compared with ../shared/lease_vectors.json when that file can be
// found: $AEQUOR_SHARED_LEASE_VECTORS if set, else ../shared next to the real
// (symlink-resolved) workspace the test data comes from. Otherwise that one
// check is skipped, so the test never depends on a path outside the workspace.
#include <sys/stat.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/registry.h"
#include "api/secret.h"
#include "gtest/gtest.h"
#include "signers/builtin.h"
#include "signers/hmac_sha256_botan.h"
#include "signers/hmac_sha256_openssl.h"
#include "signers/key_ring.h"
#include "testing/strict_json.h"

namespace aequor {
namespace {

using Json = nlohmann::ordered_json;

// ---- Test data.

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  if (!in.is_open()) *ok = false;
  return contents.str();
}

std::string VectorsPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr)
    return "tests/api/testdata/lease_vectors.json";  // run by hand from the root
  return absl::StrCat(srcdir, "/", workspace != nullptr ? workspace : "aequor",
                      "/tests/api/testdata/lease_vectors.json");
}

struct Vector {
  std::string service;
  std::string instance;
  std::string secret;
  int64_t expires_ms = 0;
  std::string normalized_service;
  std::string application_name;
};

std::string Field(const Json& object, const std::string& key) {
  if (!object.contains(key) || !object.at(key).is_string()) {
    ADD_FAILURE() << "vector lacks string field '" << key << "'";
    return "";
  }
  return object.at(key).get<std::string>();
}

// `value` as an int64 when it is a number written as an integer in range
// (no fraction, no exponent: nlohmann-json reads those as integers).
std::optional<int64_t> Integer(const Json& value) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return value.get<int64_t>();
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(value.get<uint64_t>());
  }
  return std::nullopt;
}

// lease_vectors.json: an array of flat objects whose members are strings or
// integers, no member named twice. Anything else fails the test, with no vectors.
std::vector<Vector> LoadVectors() {
  bool ok = false;
  std::string text = ReadFile(VectorsPath(), &ok);
  if (!ok) {
    ADD_FAILURE() << "cannot read " << VectorsPath();
    return {};
  }
  // Refuses a member named twice too.
  absl::StatusOr<Json> doc = testing::ParseStrictJson(text);
  if (!doc.ok()) {
    ADD_FAILURE() << "lease_vectors.json: " << doc.status();
    return {};
  }
  if (!doc->is_array()) {
    ADD_FAILURE() << "lease_vectors.json: not an array";
    return {};
  }
  for (const Json& object : *doc) {
    if (!object.is_object()) {
      ADD_FAILURE() << "lease_vectors.json: a vector that is not an object";
      return {};
    }
    for (const auto& [key, value] : object.items()) {
      if (!value.is_string() && !Integer(value).has_value()) {
        ADD_FAILURE() << "lease_vectors.json: '" << key << "' is neither a string nor an integer";
        return {};
      }
    }
  }
  std::vector<Vector> vectors;
  for (const Json& object : *doc) {
    Vector v;
    v.service = Field(object, "service");
    v.instance = Field(object, "instance");
    v.secret = Field(object, "secret");
    v.normalized_service = Field(object, "normalized_service");
    v.application_name = Field(object, "application_name");
    const Json expires = object.contains("expires_ms") ? object.at("expires_ms") : Json();
    if (std::optional<int64_t> expires_ms = Integer(expires); expires_ms.has_value()) {
      v.expires_ms = *expires_ms;
    } else {
      ADD_FAILURE() << "vector lacks integer field 'expires_ms'";
    }
    vectors.push_back(std::move(v));
  }
  return vectors;
}

std::shared_ptr<const Registry> SignerRegistry() {
  RegistryBuilder builder;
  EXPECT_TRUE(RegisterBuiltinSigners(builder).ok());
  return std::move(builder).Build();
}

// Every built-in way of signing with `secret` (first) plus key rings where the
// secret is not the newest key (verify-only).
struct NamedSigner {
  std::string name;
  std::unique_ptr<LeaseSigner> signer;
  bool signs_with_secret;
};

std::vector<NamedSigner> SignersFor(const std::string& secret, const Registry& registry) {
  std::vector<NamedSigner> out;
  const Secret key(secret);
  const Secret other("an-unrelated-coordination-secret");
  auto add = [&](std::string name, absl::StatusOr<std::unique_ptr<LeaseSigner>> s, bool signs) {
    EXPECT_TRUE(s.ok()) << name << ": " << s.status();
    if (s.ok()) out.push_back({std::move(name), *std::move(s), signs});
  };
  add("hmac_sha256 (Botan)", NewHmacSha256BotanSigner(key), true);
  add("hmac_sha256_openssl", NewHmacSha256OpensslSigner(key), true);
  add("key_ring(botan) [secret]", NewKeyRingSigner({{key}, &registry}), true);
  add("key_ring(openssl) [secret, other]",
      NewKeyRingSigner({{key, other}, &registry},
                       PluginSpec(std::string(kHmacSha256OpensslSignerName))),
      true);
  add("key_ring(botan) [other, secret]", NewKeyRingSigner({{other, key}, &registry}), false);
  return out;
}

TEST(LeaseVectorsTest, FileHoldsTheSixPgAequorVectors) {
  std::vector<Vector> vectors = LoadVectors();
  EXPECT_EQ(vectors.size(), 6u);
}

TEST(LeaseVectorsTest, NormalizeServiceMatchesPgAequor) {
  for (const Vector& v : LoadVectors()) {
    EXPECT_EQ(NormalizeService(v.service, v.instance.size()), v.normalized_service)
        << "service: " << v.service;
    EXPECT_EQ(NormalizeService(v.service), v.normalized_service) << "service: " << v.service;
  }
}

TEST(LeaseVectorsTest, EverySignerReproducesEveryApplicationNameByteForByte) {
  std::shared_ptr<const Registry> registry = SignerRegistry();
  std::vector<Vector> vectors = LoadVectors();
  ASSERT_FALSE(vectors.empty());
  for (const Vector& v : vectors) {
    for (const NamedSigner& s : SignersFor(v.secret, *registry)) {
      if (!s.signs_with_secret) continue;
      absl::StatusOr<std::string> lease = SignLease(
          *s.signer, NormalizeService(v.service, v.instance.size()), v.instance, v.expires_ms);
      ASSERT_TRUE(lease.ok()) << s.name << ": " << lease.status();
      EXPECT_EQ(*lease, v.application_name) << s.name << ", service " << v.service;
    }
  }
}

TEST(LeaseVectorsTest, EveryApplicationNameParsesAndVerifiesWithEverySigner) {
  std::shared_ptr<const Registry> registry = SignerRegistry();
  std::vector<Vector> vectors = LoadVectors();
  ASSERT_FALSE(vectors.empty());
  for (const Vector& v : vectors) {
    absl::StatusOr<ParsedLease> lease = ParseLease(v.application_name);
    ASSERT_TRUE(lease.ok()) << v.application_name << ": " << lease.status();
    EXPECT_EQ(lease->service, v.normalized_service);
    EXPECT_EQ(lease->instance, v.instance);
    EXPECT_EQ(lease->expires_ms, v.expires_ms);
    EXPECT_EQ(lease->payload, LeasePayload(v.normalized_service, v.instance, v.expires_ms));
    EXPECT_EQ(absl::StrCat(lease->payload, ";g=", lease->tag), v.application_name);
    for (const NamedSigner& s : SignersFor(v.secret, *registry)) {
      EXPECT_TRUE(VerifyLeaseTag(*s.signer, *lease)) << s.name << ": " << v.application_name;
    }
    // And a signer with another secret rejects it.
    auto stranger = NewHmacSha256BotanSigner(Secret("not-the-secret-of-this-vector"));
    ASSERT_TRUE(stranger.ok());
    EXPECT_FALSE(VerifyLeaseTag(**stranger, *lease)) << v.application_name;
  }
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

TEST(LeaseVectorsTest, CopyEqualsSharedVectorsWhenReachable) {
  std::string shared;
  if (const char* env = std::getenv("AEQUOR_SHARED_LEASE_VECTORS"); env != nullptr && *env) {
    shared = env;
  } else {
    // The runfile is a symlink into the source tree: <root>/tests/api/testdata/...
    char resolved[PATH_MAX];
    if (::realpath(VectorsPath().c_str(), resolved) != nullptr) {
      std::string path = resolved;
      const std::string suffix = "/tests/api/testdata/lease_vectors.json";
      if (path.size() > suffix.size() &&
          path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
        shared = path.substr(0, path.size() - suffix.size()) + "/../shared/lease_vectors.json";
      }
    }
  }
  if (shared.empty() || !FileExists(shared)) {
    GTEST_SKIP() << "../shared/lease_vectors.json not reachable; set "
                    "AEQUOR_SHARED_LEASE_VECTORS to compare the copy";
  }
  bool ok_copy = false;
  bool ok_shared = false;
  std::string copy = ReadFile(VectorsPath(), &ok_copy);
  std::string original = ReadFile(shared, &ok_shared);
  ASSERT_TRUE(ok_copy && ok_shared);
  EXPECT_EQ(copy, original) << "tests/api/testdata/lease_vectors.json differs from " << shared
                            << "; copy it again verbatim";
}

}  // namespace
}  // namespace aequor
