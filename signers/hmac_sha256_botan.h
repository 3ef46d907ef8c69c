// signers/hmac_sha256_botan.h: "aequor.signer.hmac_sha256", the default lease
// signer: HMAC-SHA256 on Botan 2, keyed with the coordination secret (keys[0]
// of the SignerContext), tag = first 8 bytes as 11 base64url characters, as
// pg-aequor computes it (api/lease.h). Takes no options.
//
//   absl::StatusOr<std::unique_ptr<aequor::LeaseSigner>> signer =
//       aequor::NewHmacSha256BotanSigner(aequor::Secret("coord-secret-0123456789"));
//   std::string tag = *(*signer)->Sign("s=orders;i=AbCdEfGh;e=1767225600000");
//
// Or by name: builder.UseSigner("aequor.signer.hmac_sha256").
//
// Thread-safety: Sign() and Verify() are thread-safe (one keyed HMAC behind a
// mutex, held for the hashing only). No Botan exception escapes.
#ifndef AEQUOR_SIGNERS_HMAC_SHA256_BOTAN_H_
#define AEQUOR_SIGNERS_HMAC_SHA256_BOTAN_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lease_signer.h"
#include "api/secret.h"

namespace aequor {

inline constexpr absl::string_view kHmacSha256BotanSignerName = "aequor.signer.hmac_sha256";

// The signer for one key. InvalidArgument if the key is shorter than
// kMinSecretBytes (the message never contains the key); Internal if Botan
// cannot provide HMAC(SHA-256).
absl::StatusOr<std::unique_ptr<LeaseSigner>> NewHmacSha256BotanSigner(const Secret& key);

std::unique_ptr<LeaseSignerFactory> NewHmacSha256BotanSignerFactory();

}  // namespace aequor

#endif  // AEQUOR_SIGNERS_HMAC_SHA256_BOTAN_H_
