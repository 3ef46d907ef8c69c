#include "tools/aequorctl/secret_state.h"

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "api/secret.h"
#include "signers/hmac_sha256_botan.h"

namespace aequor {
namespace cli {
namespace {

class NoSecret : public LeaseSigner {
 public:
  absl::StatusOr<std::string> Sign(absl::string_view) const override {
    return absl::FailedPreconditionError("no coordination secret");
  }
  bool Verify(absl::string_view, absl::string_view) const override { return false; }
};

}  // namespace

SecretState SignerFromEnvironment() {
  SecretState state;
  absl::StatusOr<Secret> secret = ReadSecretFromEnvironment();
  if (!secret.ok()) {
    state.status = secret.status();
    return state;
  }
  absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = NewHmacSha256BotanSigner(*secret);
  if (!signer.ok()) {
    state.status = signer.status();  // names the length rule, never the bytes
    return state;
  }
  state.signer = *std::move(signer);
  return state;
}

std::unique_ptr<LeaseSigner> NoSecretSigner() { return std::make_unique<NoSecret>(); }

}  // namespace cli
}  // namespace aequor
