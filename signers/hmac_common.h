// signers/hmac_common.h: what the built-in HMAC-SHA256 signers share
// (internal to signers/, not a public header): the signer's Sign() and
// Verify(), written once over a keyed HMAC of one library; the tag encoding;
// key checks; the factory of a leaf signer.
//
//   // BotanMac: kLibrary, Compute() and Equal(), as HmacSigner describes.
//   std::unique_ptr<aequor::LeaseSigner> signer(
//       new aequor::signers_internal::HmacSigner<BotanMac>(BotanMac(std::move(mac))));
//
// Thread-safety: HmacSigner is thread-safe (its MAC is used under a mutex);
// the free functions work on values and are safe from any thread.
#ifndef AEQUOR_SIGNERS_HMAC_COMMON_H_
#define AEQUOR_SIGNERS_HMAC_COMMON_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/plugin.h"
#include "api/secret.h"

namespace aequor {
namespace signers_internal {

inline constexpr size_t kHmacSha256Bytes = 32;

// Writes the lease tag of a MAC, mac[0..8) as base64url without padding, to
// out[0..11).
void EncodeTag(const uint8_t* mac, char* out);

// Copies min(11, tag.size()) bytes of `tag` into out[0..11), zero-filling the
// rest, and returns whether tag.size() == 11. Lets a signer compare in
// constant time over a fixed 11 bytes whatever the input length.
bool PadTag(absl::string_view tag, char* out);

// A lease signer over `Mac`, one keyed HMAC-SHA256 of some library, which
// provides:
//   static constexpr absl::string_view kLibrary;  // "Botan", for errors
//   // Writes the 32-byte MAC of `payload` to `mac`, leaving the object ready
//   // for the next message; false on failure. Never throws.
//   bool Compute(absl::string_view payload, uint8_t* mac);
//   // Whether a[0..n) == b[0..n), in constant time.
//   static bool Equal(const char* a, const char* b, size_t n);
// Compute() is called under the signer's mutex, one call at a time.
template <typename Mac>
class HmacSigner final : public LeaseSigner {
 public:
  explicit HmacSigner(Mac mac) : mac_(std::move(mac)) {}

  absl::StatusOr<std::string> Sign(absl::string_view payload) const override {
    char tag[kLeaseTagLength];
    if (!Tag(payload, tag)) {
      return absl::InternalError(absl::StrCat(Mac::kLibrary, " HMAC-SHA256 failed"));
    }
    return std::string(tag, kLeaseTagLength);
  }

  bool Verify(absl::string_view payload, absl::string_view tag) const override {
    char expected[kLeaseTagLength];
    char given[kLeaseTagLength];
    const bool same_length = PadTag(tag, given);
    if (!Tag(payload, expected)) return false;
    const bool same_bytes = Mac::Equal(expected, given, kLeaseTagLength);
    return same_bytes & same_length;
  }

 private:
  // Writes the 11-character tag of `payload` to `tag`; false on failure.
  bool Tag(absl::string_view payload, char* tag) const {
    uint8_t mac[kHmacSha256Bytes];
    bool ok;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ok = mac_.Compute(payload, mac);
    }
    if (ok) EncodeTag(mac, tag);
    return ok;
  }

  // std::mutex rather than absl::Mutex: Debian's Abseil is a prebuilt shared
  // library without TSan annotations, so under --config=tsan an absl::Mutex
  // is invisible and every use of the MAC looks like a race. Same speed.
  mutable std::mutex mu_;
  mutable Mac mac_;  // guarded by mu_
};

// OK if `key` has at least kMinSecretBytes bytes; otherwise InvalidArgument
// naming `signer`, the key's index and its length, never its bytes.
absl::Status CheckKey(absl::string_view signer, size_t index, const Secret& key);

// OK if `keys` is non-empty and every key has at least kMinSecretBytes bytes;
// otherwise InvalidArgument naming `signer` and the key's index and length,
// never its bytes.
absl::Status CheckKeys(absl::string_view signer, const std::vector<Secret>& keys);

// A leaf HMAC signer takes no options and no children.
struct NoOptions {};

// A factory for a leaf HMAC signer: keys with keys[0] of the context.
class LeafSignerFactory final : public TypedPluginFactory<LeaseSigner, SignerContext, NoOptions> {
 public:
  using MakeFn = absl::StatusOr<std::unique_ptr<LeaseSigner>> (*)(const Secret& key);

  LeafSignerFactory(absl::string_view name, absl::string_view description, MakeFn make)
      : name_(name), description_(description), make_(make) {}

  absl::string_view name() const override { return name_; }
  absl::string_view description() const override { return description_; }

 protected:
  absl::StatusOr<NoOptions> ParseTyped(const PluginSpec& spec,
                                       const Registry& registry) const override;
  absl::StatusOr<std::unique_ptr<LeaseSigner>> CreateTyped(
      const NoOptions& config, const SignerContext& context) const override;

 private:
  absl::string_view name_;
  absl::string_view description_;
  MakeFn make_;
};

}  // namespace signers_internal
}  // namespace aequor

#endif  // AEQUOR_SIGNERS_HMAC_COMMON_H_
