// signers/hmac_sha256_openssl.h: "aequor.signer.hmac_sha256_openssl":
// HMAC-SHA256 on OpenSSL 3 (EVP_MAC, no deprecated API). Produces exactly the
// tags of "aequor.signer.hmac_sha256" (Botan); pick it when the process already
// links OpenSSL (e.g. for libpq's TLS) or needs a FIPS provider. Takes no
// options; keys with keys[0] of the SignerContext.
//
//   auto signer = aequor::NewHmacSha256OpensslSigner(aequor::Secret(secret_bytes));
//   bool ok = signer.ok() && (*signer)->Verify(payload, tag);
//
// Or by name: builder.UseSigner("aequor.signer.hmac_sha256_openssl").
//
// Thread-safety: Sign() and Verify() are thread-safe (one keyed EVP_MAC_CTX
// behind a mutex, re-initialised from its cached key state on each call).
#ifndef AEQUOR_SIGNERS_HMAC_SHA256_OPENSSL_H_
#define AEQUOR_SIGNERS_HMAC_SHA256_OPENSSL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lease_signer.h"
#include "api/secret.h"

namespace aequor {

inline constexpr absl::string_view kHmacSha256OpensslSignerName =
    "aequor.signer.hmac_sha256_openssl";

// The signer for one key. InvalidArgument if the key is shorter than
// kMinSecretBytes (the message never contains the key); Internal if OpenSSL
// cannot provide HMAC with SHA-256.
absl::StatusOr<std::unique_ptr<LeaseSigner>> NewHmacSha256OpensslSigner(const Secret& key);

std::unique_ptr<LeaseSignerFactory> NewHmacSha256OpensslSignerFactory();

}  // namespace aequor

#endif  // AEQUOR_SIGNERS_HMAC_SHA256_OPENSSL_H_
