// signers/hmac_common.h: pieces shared by the built-in HMAC-SHA256 signers
// (internal to signers/, not a public header).
//
//   char tag[aequor::kLeaseTagLength];
//   aequor::signers_internal::EncodeTag(mac, tag);         // first 8 MAC bytes
//   char given[aequor::kLeaseTagLength];
//   bool same_length = aequor::signers_internal::PadTag(input, given);
//
// Thread-safety: free functions on values; safe from any thread.
#ifndef AEQUOR_SIGNERS_HMAC_COMMON_H_
#define AEQUOR_SIGNERS_HMAC_COMMON_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/plugin.h"
#include "api/secret.h"

namespace aequor {
namespace signers_internal {

// Writes the base64url (no padding) form of mac[0..8) to out[0..11).
void EncodeTag(const uint8_t* mac, char* out);

// Copies min(11, tag.size()) bytes of `tag` into out[0..11), zero-filling the
// rest, and returns whether tag.size() == 11. Lets a signer compare in
// constant time over a fixed 11 bytes whatever the input length.
bool PadTag(absl::string_view tag, char* out);

// OK if `key` has at least kMinSecretBytes bytes; otherwise InvalidArgument
// naming `signer`, the key's index and its length, never its bytes.
absl::Status CheckKey(absl::string_view signer, size_t index, const Secret& key);

// OK if `keys` is non-empty and every key has at least kMinSecretBytes bytes;
// otherwise InvalidArgument naming `signer` and the key's index and length,
// never its bytes.
absl::Status CheckKeys(absl::string_view signer, const std::vector<Secret>& keys);

// A factory for a leaf HMAC signer: takes no options and no children, keys
// with keys[0] of the context.
class LeafSignerFactory : public LeaseSignerFactory {
 public:
  using MakeFn = absl::StatusOr<std::unique_ptr<LeaseSigner>> (*)(const Secret& key);

  LeafSignerFactory(absl::string_view name, absl::string_view description, MakeFn make)
      : name_(name), description_(description), make_(make) {}

  absl::string_view name() const override { return name_; }
  absl::string_view description() const override { return description_; }
  absl::StatusOr<std::unique_ptr<ParsedConfig>> ParseConfig(
      const PluginSpec& spec, const Registry& registry) const override;
  absl::StatusOr<std::unique_ptr<LeaseSigner>> Create(const ParsedConfig& config,
                                                      const SignerContext& context) const override;

 private:
  absl::string_view name_;
  absl::string_view description_;
  MakeFn make_;
};

}  // namespace signers_internal
}  // namespace aequor

#endif  // AEQUOR_SIGNERS_HMAC_COMMON_H_
