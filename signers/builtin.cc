#include "signers/builtin.h"

#include "signers/hmac_sha256_botan.h"
#include "signers/hmac_sha256_openssl.h"
#include "signers/key_ring.h"

namespace aequor {

absl::Status RegisterBuiltinSigners(RegistryBuilder& builder) {
  if (absl::Status s = builder.Register(NewHmacSha256BotanSignerFactory()); !s.ok()) return s;
  if (absl::Status s = builder.Register(NewHmacSha256OpensslSignerFactory()); !s.ok()) return s;
  return builder.Register(NewKeyRingSignerFactory());
}

}  // namespace aequor
