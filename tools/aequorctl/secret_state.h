// tools/aequorctl/secret_state.h: the coordination secret of the
// environment as a signer, for the commands that read leases.
//
//   SecretState secret = SignerFromEnvironment();
//   if (secret.signer == nullptr && secret.status.code() != absl::StatusCode::kNotFound) {
//     ...set but unusable: a usage error...
//   }
//
// The secret comes from $AEQUOR_COORDINATION_SECRET or the file named by
// $AEQUOR_COORDINATION_SECRET_FILE, never from the command line; no status
// message ever holds it. The signer is the one a manager of the fleet uses:
// $AEQUOR_SIGNER (a plugin spec; default aequor.signer.hmac_sha256), made by
// the registry aequorctl runs with (tools/aequorctl/aequorctl_main.h: a team
// links its own plugins in), with the older secrets of
// $AEQUOR_COORDINATION_PREVIOUS_SECRETS_FILE for a key ring.
//
// Thread-safety: free functions; the signers are thread-safe.
#ifndef AEQUOR_TOOLS_AEQUORCTL_SECRET_STATE_H_
#define AEQUOR_TOOLS_AEQUORCTL_SECRET_STATE_H_

#include <memory>

#include "absl/status/status.h"
#include "api/lease_signer.h"
#include "api/registry.h"

namespace aequor {
namespace cli {

// The reason `leases` gives for a lease of the service it cannot verify
// because no coordination secret is set (not a core skip reason: a pass
// never runs without a secret).
inline constexpr char kNoSecretReason[] = "no_secret";

struct SecretState {
  std::unique_ptr<LeaseSigner> signer;  // null when absent or unusable
  // OK with a signer; NotFound when neither variable is set; another code
  // (FailedPrecondition, InvalidArgument) when it is set but unusable.
  absl::Status status;
};

// The variable naming the signer, as the builder's (README, "Configuration
// from the environment").
inline constexpr char kSignerEnvVar[] = "AEQUOR_SIGNER";

// The secret of the environment as the signer $AEQUOR_SIGNER names, made
// by `registry`. A spec that does not parse, an unknown signer, bad
// parameters or an unreadable previous-secrets file is a status naming the
// variable, never NotFound (which callers read as "no secret").
SecretState SignerFromEnvironment(const Registry& registry);

// A signer that verifies nothing: lets ReapDecision() judge every rule it can
// without a secret (a lease of the service then comes out as bad_tag, which
// callers report as kNoSecretReason).
std::unique_ptr<LeaseSigner> NoSecretSigner();

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_SECRET_STATE_H_
