// signers/builtin.h: registers the built-in lease signers:
//   aequor.signer.hmac_sha256          (signers/hmac_sha256_botan.h, the default)
//   aequor.signer.hmac_sha256_openssl  (signers/hmac_sha256_openssl.h)
//   aequor.signer.key_ring             (signers/key_ring.h)
//
//   aequor::RegistryBuilder builder;
//   absl::Status s = aequor::RegisterBuiltinSigners(builder);
//
// Thread-safety: as RegistryBuilder (not thread-safe).
#ifndef AEQUOR_SIGNERS_BUILTIN_H_
#define AEQUOR_SIGNERS_BUILTIN_H_

#include "absl/status/status.h"
#include "api/registry.h"

namespace aequor {

// Fails (AlreadyExists) only if one of the names is already registered.
absl::Status RegisterBuiltinSigners(RegistryBuilder& builder);

}  // namespace aequor

#endif  // AEQUOR_SIGNERS_BUILTIN_H_
