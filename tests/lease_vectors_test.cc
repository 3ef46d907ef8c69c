// Proves wire compatibility with pg-aequor: every vector that pg-aequor itself
// produced (tests/testdata/lease_vectors.json, a verbatim copy of
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
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

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

namespace aequor {
namespace {

// ---- A small JSON reader: an array of flat objects whose values are strings
// or integers (all lease_vectors.json holds). Fails the test on anything else.

struct JsonValue {
  bool is_string = false;
  std::string text;
  int64_t number = 0;
};
using JsonObject = std::map<std::string, JsonValue>;

class JsonReader {
 public:
  explicit JsonReader(std::string text) : text_(std::move(text)) {}

  // Parses the whole text; returns false and sets error() on failure.
  bool ParseArrayOfObjects(std::vector<JsonObject>* out) {
    SkipSpace();
    if (!Consume('[')) return Fail("expected '['");
    SkipSpace();
    if (Consume(']')) return AtEnd();
    while (true) {
      JsonObject object;
      if (!ParseObject(&object)) return false;
      out->push_back(std::move(object));
      SkipSpace();
      if (Consume(']')) return AtEnd();
      if (!Consume(',')) return Fail("expected ',' or ']'");
    }
  }

  const std::string& error() const { return error_; }

 private:
  bool ParseObject(JsonObject* object) {
    SkipSpace();
    if (!Consume('{')) return Fail("expected '{'");
    SkipSpace();
    if (Consume('}')) return true;
    while (true) {
      SkipSpace();
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (!Consume(':')) return Fail("expected ':'");
      SkipSpace();
      JsonValue value;
      if (Peek() == '"') {
        value.is_string = true;
        if (!ParseString(&value.text)) return false;
      } else if (!ParseInteger(&value.number)) {
        return false;
      }
      if (!object->emplace(key, std::move(value)).second) return Fail("duplicate key " + key);
      SkipSpace();
      if (Consume('}')) return true;
      if (!Consume(',')) return Fail("expected ',' or '}'");
    }
  }

  bool ParseString(std::string* out) {
    if (!Consume('"')) return Fail("expected '\"'");
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in string");
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return Fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            uint32_t low;
            if (!Consume('\\') || !Consume('u') || !Hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return Fail("unpaired surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("unpaired surrogate");
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Fail("bad escape");
      }
    }
    if (!Consume('"')) return Fail("unterminated string");
    return true;
  }

  bool ParseInteger(int64_t* out) {
    bool negative = Consume('-');
    size_t start = pos_;
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      int digit = text_[pos_++] - '0';
      if (value > (INT64_MAX - digit) / 10) return Fail("integer overflow");
      value = value * 10 + digit;
    }
    if (pos_ == start) return Fail("expected a string or an integer");
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      return Fail("only integers are supported");
    }
    *out = negative ? -value : value;
    return true;
  }

  bool Hex4(uint32_t* out) {
    if (pos_ + 4 > text_.size()) return Fail("short \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return Fail("bad hex digit");
    }
    *out = v;
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Consume(char c) {
    if (Peek() != c || pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size() || Fail("trailing text");
  }
  bool Fail(const std::string& what) {
    error_ = absl::StrCat(what, " at offset ", pos_);
    return false;
  }

  std::string text_;
  size_t pos_ = 0;
  std::string error_;
};

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
  if (srcdir == nullptr) return "tests/testdata/lease_vectors.json";  // run by hand from the root
  return absl::StrCat(srcdir, "/", workspace != nullptr ? workspace : "aequor",
                      "/tests/testdata/lease_vectors.json");
}

struct Vector {
  std::string service;
  std::string instance;
  std::string secret;
  int64_t expires_ms = 0;
  std::string normalized_service;
  std::string application_name;
};

std::string Field(const JsonObject& object, const std::string& key) {
  auto it = object.find(key);
  if (it == object.end() || !it->second.is_string) {
    ADD_FAILURE() << "vector lacks string field '" << key << "'";
    return "";
  }
  return it->second.text;
}

std::vector<Vector> LoadVectors() {
  bool ok = false;
  std::string text = ReadFile(VectorsPath(), &ok);
  if (!ok) {
    ADD_FAILURE() << "cannot read " << VectorsPath();
    return {};
  }
  std::vector<JsonObject> objects;
  JsonReader reader(text);
  if (!reader.ParseArrayOfObjects(&objects)) {
    ADD_FAILURE() << "lease_vectors.json: " << reader.error();
    return {};
  }
  std::vector<Vector> vectors;
  for (const JsonObject& object : objects) {
    Vector v;
    v.service = Field(object, "service");
    v.instance = Field(object, "instance");
    v.secret = Field(object, "secret");
    v.normalized_service = Field(object, "normalized_service");
    v.application_name = Field(object, "application_name");
    auto it = object.find("expires_ms");
    if (it == object.end() || it->second.is_string) {
      ADD_FAILURE() << "vector lacks integer field 'expires_ms'";
    } else {
      v.expires_ms = it->second.number;
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
    // The runfile is a symlink into the source tree: <root>/tests/testdata/...
    char resolved[PATH_MAX];
    if (::realpath(VectorsPath().c_str(), resolved) != nullptr) {
      std::string path = resolved;
      const std::string suffix = "/tests/testdata/lease_vectors.json";
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
  EXPECT_EQ(copy, original) << "tests/testdata/lease_vectors.json differs from " << shared
                            << "; copy it again verbatim";
}

}  // namespace
}  // namespace aequor
