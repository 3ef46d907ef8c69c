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
// message ever holds it.
//
// Thread-safety: free functions; the signers are thread-safe.
#ifndef AEQUOR_TOOLS_AEQUORCTL_SECRET_STATE_H_
#define AEQUOR_TOOLS_AEQUORCTL_SECRET_STATE_H_

#include <memory>

#include "absl/status/status.h"
#include "api/lease_signer.h"

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

// The secret of the environment as an aequor.signer.hmac_sha256 signer.
SecretState SignerFromEnvironment();

// A signer that verifies nothing: lets ReapDecision() judge every rule it can
// without a secret (a lease of the service then comes out as bad_tag, which
// callers report as kNoSecretReason).
std::unique_ptr<LeaseSigner> NoSecretSigner();

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_SECRET_STATE_H_
