#include "signers/hmac_common.h"

#include <cstring>

namespace aequor {
namespace signers_internal {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

// Hand-written rather than absl::WebSafeBase64Escape (which api/lease.cc's
// Base64UrlEncode uses): the tag is encoded on every Sign() and Verify(), and
// absl's encoder, which can only return a std::string, cost about 190 more
// instructions per call (callgrind) and made a Botan Verify() about 10% slower
// (lease_bench: 198 -> 220 ns). tests/api/lease_vectors_test pins the tags.
void EncodeTag(const uint8_t* mac, char* out) {
  static_assert(kLeaseTagBytes == 8 && kLeaseTagLength == 11, "tag layout");
  // 8 bytes = two groups of 3 (4 characters each) + 2 bytes (3 characters).
  for (int g = 0; g < 2; ++g) {
    const uint32_t v =
        (uint32_t{mac[3 * g]} << 16) | (uint32_t{mac[3 * g + 1]} << 8) | mac[3 * g + 2];
    out[4 * g] = kAlphabet[(v >> 18) & 63];
    out[4 * g + 1] = kAlphabet[(v >> 12) & 63];
    out[4 * g + 2] = kAlphabet[(v >> 6) & 63];
    out[4 * g + 3] = kAlphabet[v & 63];
  }
  const uint32_t v = (uint32_t{mac[6]} << 16) | (uint32_t{mac[7]} << 8);
  out[8] = kAlphabet[(v >> 18) & 63];
  out[9] = kAlphabet[(v >> 12) & 63];
  out[10] = kAlphabet[(v >> 6) & 63];
}

bool PadTag(absl::string_view tag, char* out) {
  std::memset(out, 0, kLeaseTagLength);
  const size_t n = tag.size() < kLeaseTagLength ? tag.size() : kLeaseTagLength;
  if (n > 0) std::memcpy(out, tag.data(), n);
  return tag.size() == kLeaseTagLength;
}

absl::Status CheckKey(absl::string_view signer, size_t index, const Secret& key) {
  if (key.size() >= kMinSecretBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(signer, ": coordination secret #", index, " is ",
                                                 key.size(), " bytes; at least ", kMinSecretBytes,
                                                 " are required"));
}

absl::Status CheckKeys(absl::string_view signer, const std::vector<Secret>& keys) {
  if (keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(signer, ": no coordination secret given (keys is empty)"));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (absl::Status s = CheckKey(signer, i, keys[i]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<NoOptions> LeafSignerFactory::ParseTyped(const PluginSpec& spec,
                                                        const Registry&) const {
  ParamReader reader(spec);
  if (absl::Status s = reader.Finish(/*max_children=*/0); !s.ok()) return s;
  return NoOptions{};
}

absl::StatusOr<std::unique_ptr<LeaseSigner>> LeafSignerFactory::CreateTyped(
    const NoOptions&, const SignerContext& context) const {
  if (absl::Status s = CheckKeys(name_, context.keys); !s.ok()) return s;
  return make_(context.keys[0]);
}

}  // namespace signers_internal
}  // namespace aequor
