// The lease codec: service normalisation, signing, strict parsing, base64url.
// Wire format v1, byte-compatible with pg-aequor (see api/lease.h and
// ../shared/DESIGN.md, "The lease").
#include "api/lease.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lease_signer.h"
#include "api/random.h"
#include "botan/hash.h"
#include "botan/hex.h"

namespace aequor {
namespace {

// pg-aequor's fixed overhead around the service: "s=" ";i=" ";e=" + 13 digits
// + ";g=" = 24, plus the instance and the tag.
constexpr size_t kLeaseOverhead = 24;

// pg-aequor's default when no service name is given.
constexpr absl::string_view kDefaultServiceName = "sls_pg";

// How many hex digits of SHA-1 pg-aequor appends.
constexpr size_t kHashSuffixLength = 8;

// [A-Za-z0-9:_-]: the characters a service or instance may contain (pg-aequor's
// _sanitizeToken keeps exactly these).
bool IsTokenChar(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' ||
         c == '_' || c == '-';
}

// The 6-bit value of a base64url character, or -1.
int Base64UrlValue(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// The number of bytes of the well-formed UTF-8 sequence starting at s[i], and
// its code point in *cp; 0 if s[i] does not start a well-formed sequence
// (Unicode Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  const size_t left = s.size() - i;
  const auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return k < left && byte(i + k) >= lo && byte(i + k) <= hi;
  };
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return 0;
    *cp = ((b0 & 0x1Fu) << 6) | (byte(i + 1) & 0x3Fu);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2)) return 0;
    *cp = ((b0 & 0x0Fu) << 12) | ((byte(i + 1) & 0x3Fu) << 6) | (byte(i + 2) & 0x3Fu);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2) || !cont(3)) return 0;
    *cp = ((b0 & 0x07u) << 18) | ((byte(i + 1) & 0x3Fu) << 12) | ((byte(i + 2) & 0x3Fu) << 6) |
          (byte(i + 3) & 0x3Fu);
    return 4;
  }
  return 0;
}

// JavaScript's String(s).replace(/[^a-zA-Z0-9:_-]/g, '_') on the UTF-16 form
// of `s`: one '_' per UTF-16 code unit of every other character. A byte that
// does not start a well-formed UTF-8 sequence gives one '_' (Node would have
// decoded it to U+FFFD, also one code unit).
std::string Sanitize(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) {
      out.push_back('_');
      ++i;
      continue;
    }
    if (n == 1 && IsTokenChar(static_cast<unsigned char>(cp))) {
      out.push_back(static_cast<char>(cp));
    } else {
      out.append(cp >= 0x10000 ? 2 : 1, '_');  // a surrogate pair is two code units
    }
    i += n;
  }
  return out;
}

// The first 8 lowercase hex digits of SHA-1(bytes), or "" if Botan fails
// (it cannot in practice: SHA-1 is always compiled into Debian's Botan 2).
std::string Sha1HexPrefix(absl::string_view bytes) {
  try {
    std::unique_ptr<Botan::HashFunction> sha1 = Botan::HashFunction::create("SHA-1");
    if (sha1 == nullptr) return "";
    sha1->update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    Botan::secure_vector<uint8_t> digest = sha1->final();
    return Botan::hex_encode(digest.data(), digest.size(), /*uppercase=*/false)
        .substr(0, kHashSuffixLength);
  } catch (...) {
    return "";
  }
}

// Checks a service or instance field: non-empty, [A-Za-z0-9:_-] only.
absl::Status CheckToken(absl::string_view what, absl::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  for (size_t i = 0; i < value.size(); ++i) {
    if (!IsTokenChar(static_cast<unsigned char>(value[i]))) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s has a character outside [A-Za-z0-9:_-] at offset %d", what, i));
    }
  }
  return absl::OkStatus();
}

// Checks that `tag` is exactly 11 base64url characters encoding 8 bytes (the
// last character carries 4 data bits and 2 zero bits).
absl::Status CheckTag(absl::string_view tag) {
  if (tag.size() != kLeaseTagLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tag 'g' must be %d base64url characters, got %d", kLeaseTagLength, tag.size()));
  }
  for (size_t i = 0; i < tag.size(); ++i) {
    if (Base64UrlValue(static_cast<unsigned char>(tag[i])) < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("tag 'g' has a character outside base64url at offset %d", i));
    }
  }
  if ((Base64UrlValue(static_cast<unsigned char>(tag.back())) & 0x3) != 0) {
    return absl::InvalidArgumentError(
        "tag 'g' is not canonical base64url (nonzero trailing bits in its last character)");
  }
  return absl::OkStatus();
}

// Parses the expiry strictly: canonical decimal (digits only, no sign, no
// leading zero), fits int64.
absl::StatusOr<int64_t> ParseExpiry(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("expiry 'e' is empty");
  for (char c : text) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError("expiry 'e' is not a decimal number");
    }
  }
  if (text.size() > 1 && text[0] == '0') {
    return absl::InvalidArgumentError("expiry 'e' has a leading zero");
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t value = 0;
  for (char c : text) {
    const int digit = c - '0';
    if (value > (kMax - digit) / 10) {
      return absl::InvalidArgumentError("expiry 'e' overflows a 64-bit integer");
    }
    value = value * 10 + digit;
  }
  return value;
}

constexpr std::array<char, 4> kFieldOrder = {'s', 'i', 'e', 'g'};

// The index of `key` in s,i,e,g, or -1.
int FieldIndex(absl::string_view key) {
  if (key.size() != 1) return -1;
  for (size_t k = 0; k < kFieldOrder.size(); ++k) {
    if (key[0] == kFieldOrder[k]) return static_cast<int>(k);
  }
  return -1;
}

}  // namespace

size_t MaxServiceLength(size_t instance_length) {
  // max(1, 63 - (24 + instance_length + 11)), without unsigned wrap-around.
  const size_t fixed = kLeaseOverhead + kLeaseTagLength;  // 35
  if (instance_length >= kMaxLeaseLength - fixed) return 1;
  return std::max<size_t>(1, kMaxLeaseLength - fixed - instance_length);
}

std::string NormalizeService(absl::string_view service, size_t instance_length) {
  const absl::string_view original = service.empty() ? kDefaultServiceName : service;
  std::string sanitized = Sanitize(original);
  const size_t max = MaxServiceLength(instance_length);
  // Sanitised text is ASCII, so its length in bytes is its length in UTF-16.
  if (sanitized == original && sanitized.size() <= max) return sanitized;

  std::string hash = Sha1HexPrefix(original);
  if (hash.empty()) {
    // Unreachable with a working Botan. Never crash: keep a name that fits.
    sanitized.resize(std::min(sanitized.size(), max));
    return sanitized;
  }
  if (max <= hash.size()) return hash.substr(0, max);
  const size_t prefix = max - (hash.size() + 1);
  return absl::StrCat(absl::string_view(sanitized).substr(0, prefix), "-", hash);
}

std::string LeasePayload(absl::string_view normalized_service, absl::string_view instance,
                         int64_t expires_ms) {
  return absl::StrCat("s=", normalized_service, ";i=", instance, ";e=", expires_ms);
}

absl::StatusOr<std::string> SignLease(const LeaseSigner& signer,
                                      absl::string_view normalized_service,
                                      absl::string_view instance, int64_t expires_ms) {
  if (absl::Status s = CheckToken("service", normalized_service); !s.ok()) return s;
  if (absl::Status s = CheckToken("instance", instance); !s.ok()) return s;
  if (expires_ms < 0) return absl::InvalidArgumentError("expiry must not be negative");

  std::string payload = LeasePayload(normalized_service, instance, expires_ms);
  const size_t length = payload.size() + 3 + kLeaseTagLength;
  if (length > kMaxLeaseLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("lease would be %d bytes, more than %d (normalise the service with "
                        "NormalizeService for this instance length)",
                        length, kMaxLeaseLength));
  }

  absl::StatusOr<std::string> tag;
  try {
    tag = signer.Sign(payload);
  } catch (...) {
    return absl::InternalError("lease signer threw an exception");
  }
  if (!tag.ok()) return tag.status();
  if (!CheckTag(*tag).ok()) {
    return absl::InternalError(absl::StrCat("lease signer returned a malformed tag (", tag->size(),
                                            " bytes; want 11 canonical base64url characters)"));
  }
  return absl::StrCat(payload, ";g=", *tag);
}

absl::StatusOr<ParsedLease> ParseLease(absl::string_view application_name) {
  if (application_name.empty()) return absl::InvalidArgumentError("lease is empty");
  if (application_name.size() > kMaxLeaseLength) {
    return absl::InvalidArgumentError(absl::StrFormat("lease is %d bytes, more than %d",
                                                      application_name.size(), kMaxLeaseLength));
  }
  for (size_t i = 0; i < application_name.size(); ++i) {
    const auto c = static_cast<unsigned char>(application_name[i]);
    if (c >= 0x80) {
      return absl::InvalidArgumentError(
          absl::StrFormat("non-ASCII byte 0x%02x at offset %d", c, i));
    }
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError(
          absl::StrFormat("control character 0x%02x at offset %d", c, i));
    }
  }

  // Split into at most a few ';'-separated "k=v" fields. From here on every
  // byte is printable ASCII, so echoing a key in a message is safe.
  std::array<absl::string_view, kFieldOrder.size()> values;
  std::array<bool, kFieldOrder.size()> seen = {};
  std::array<int, kFieldOrder.size()> position = {};
  size_t tag_start = 0;  // offset of ";g=" (the end of the payload)
  size_t start = 0;
  int count = 0;
  while (true) {
    const size_t end = std::min(application_name.find(';', start), application_name.size());
    const absl::string_view field = application_name.substr(start, end - start);
    const size_t eq = field.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrFormat("field %d is not key=value", count + 1));
    }
    const absl::string_view key = field.substr(0, eq);
    const int index = FieldIndex(key);
    if (index < 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown field '", key, "'"));
    }
    if (seen[index]) {
      return absl::InvalidArgumentError(absl::StrCat("repeated field '", key, "'"));
    }
    seen[index] = true;
    position[index] = count;
    values[index] = field.substr(eq + 1);
    if (kFieldOrder[index] == 'g') tag_start = start == 0 ? 0 : start - 1;
    ++count;
    if (end == application_name.size()) break;
    start = end + 1;
  }
  for (size_t k = 0; k < kFieldOrder.size(); ++k) {
    if (!seen[k]) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing field '", std::string(1, kFieldOrder[k]), "'"));
    }
  }
  for (size_t k = 0; k < kFieldOrder.size(); ++k) {
    if (position[k] != static_cast<int>(k)) {
      return absl::InvalidArgumentError(absl::StrCat("field '", std::string(1, kFieldOrder[k]),
                                                     "' out of order; the order is s, i, e, g"));
    }
  }

  ParsedLease lease;
  if (absl::Status s = CheckToken("service 's'", values[0]); !s.ok()) return s;
  if (absl::Status s = CheckToken("instance 'i'", values[1]); !s.ok()) return s;
  absl::StatusOr<int64_t> expiry = ParseExpiry(values[2]);
  if (!expiry.ok()) return expiry.status();
  if (absl::Status s = CheckTag(values[3]); !s.ok()) return s;

  lease.service = std::string(values[0]);
  lease.instance = std::string(values[1]);
  lease.expires_ms = *expiry;
  lease.tag = std::string(values[3]);
  lease.payload = std::string(application_name.substr(0, tag_start));
  return lease;
}

bool VerifyLeaseTag(const LeaseSigner& signer, const ParsedLease& lease) {
  try {
    return signer.Verify(lease.payload, lease.tag);
  } catch (...) {
    return false;
  }
}

std::string NewInstanceId(Random& random) {
  const uint64_t bits = random.Next64();
  char bytes[6];
  for (int k = 0; k < 6; ++k) bytes[k] = static_cast<char>((bits >> (8 * k)) & 0xFF);
  return Base64UrlEncode(absl::string_view(bytes, sizeof(bytes)));
}

std::string Base64UrlEncode(absl::string_view bytes) {
  return absl::WebSafeBase64Escape(bytes);  // RFC 4648 section 5, no padding
}

}  // namespace aequor
