// signers/key_ring.h: "aequor.signer.key_ring", secret rotation with no
// maintenance window. Signs with keys[0] (the newest coordination secret) and
// accepts a tag made with any key of the SignerContext, so a fleet can roll a
// new secret out first as keys[1] (verified, not yet used), then as keys[0]
// (used), then drop the old one.
//
// The HMAC implementation inside is chosen by an optional child spec (default
// "aequor.signer.hmac_sha256"); the ring creates one inner signer per key
// through SignerContext::registry. No options otherwise.
//
//   builder.UseSigner("aequor.signer.key_ring(aequor.signer.hmac_sha256_openssl)");
//
//   aequor::SignerContext context{{Secret(new_key), Secret(old_key)}, registry.get()};
//   auto ring = aequor::NewKeyRingSigner(context);   // default inner signer
//
// Thread-safety: Sign() and Verify() are thread-safe (the inner signers are).
// Verify() tries every key, without stopping at the first match.
#ifndef AEQUOR_SIGNERS_KEY_RING_H_
#define AEQUOR_SIGNERS_KEY_RING_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lease_signer.h"
#include "api/plugin.h"

namespace aequor {

inline constexpr absl::string_view kKeyRingSignerName = "aequor.signer.key_ring";

// A key ring over `context.keys` whose inner signers are made by the factory
// named `inner` (a leaf spec such as "aequor.signer.hmac_sha256") from
// `*context.registry`. InvalidArgument if keys is empty or a key is too
// short; FailedPrecondition if context.registry is null; NotFound if `inner`
// is not registered.
absl::StatusOr<std::unique_ptr<LeaseSigner>> NewKeyRingSigner(
    const SignerContext& context,
    const PluginSpec& inner = PluginSpec(std::string(kDefaultSigner)));

std::unique_ptr<LeaseSignerFactory> NewKeyRingSignerFactory();

}  // namespace aequor

#endif  // AEQUOR_SIGNERS_KEY_RING_H_
