// api/lease_signer.h: the lease signer plugin kind.
//
// A signer computes and checks the tag of a lease: the first 8 bytes of
// HMAC-SHA256 over the lease payload ("s=<service>;i=<instance>;e=<expiry>"),
// base64url without padding (11 characters), keyed with the coordination
// secret's bytes. That is pg-aequor's wire format v1; see api/lease.h.
//
// Built-ins (signers/):
//   aequor.signer.hmac_sha256          HMAC-SHA256 on Botan (the default)
//   aequor.signer.hmac_sha256_openssl  HMAC-SHA256 on OpenSSL
//   aequor.signer.key_ring             signs with the newest key, verifies with
//                                      any key: secret rotation with no window
//
// Writing your own: see examples/custom_signer.
//
// Thread-safety: Sign() and Verify() must be safe to call concurrently.
#ifndef AEQUOR_API_LEASE_SIGNER_H_
#define AEQUOR_API_LEASE_SIGNER_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/plugin.h"
#include "api/secret.h"

namespace aequor {

class LeaseSigner {
 public:
  virtual ~LeaseSigner() = default;

  // The tag for `payload`, exactly kLeaseTagLength (11) base64url characters.
  // Fails only if the underlying crypto library fails.
  virtual absl::StatusOr<std::string> Sign(absl::string_view payload) const = 0;

  // True iff `tag` is the tag of `payload` under one of this signer's keys.
  // Must compare in constant time and never throw.
  virtual bool Verify(absl::string_view payload, absl::string_view tag) const = 0;
};

// What a signer is made with.
struct SignerContext {
  // The coordination secrets, newest first. keys[0] signs; a key ring verifies
  // with all of them. Never empty when a signer is created; each key is at
  // least kMinSecretBytes long.
  std::vector<Secret> keys;
  // For composite signers (the key ring creates one inner signer per key).
  const Registry* registry = nullptr;
};

using LeaseSignerFactory = PluginFactory<LeaseSigner, SignerContext>;

inline constexpr absl::string_view kDefaultSigner = "aequor.signer.hmac_sha256";

}  // namespace aequor

#endif  // AEQUOR_API_LEASE_SIGNER_H_
