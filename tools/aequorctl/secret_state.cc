#include "tools/aequorctl/secret_state.h"

#include <cstdlib>
#include <string>
#include <vector>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/secret.h"
#include "api/lease_signer.h"
#include "api/plugin.h"
#include "api/registry.h"

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

SecretState SignerFromEnvironment(const Registry& registry) {
  SecretState state;
  absl::StatusOr<Secret> secret = ReadSecretFromEnvironment();
  if (!secret.ok()) {
    state.status = secret.status();
    return state;
  }
  PluginSpec spec{std::string(kDefaultSigner)};
  if (const char* text = std::getenv(kSignerEnvVar); text != nullptr && text[0] != '\0') {
    absl::StatusOr<PluginSpec> parsed = ParsePluginSpec(text);
    if (!parsed.ok()) {
      state.status = absl::InvalidArgumentError(
          absl::StrCat(kSignerEnvVar, ": ", parsed.status().message()));
      return state;
    }
    spec = *std::move(parsed);
  }
  absl::StatusOr<std::vector<Secret>> previous = ReadPreviousSecretsFromEnvironment();
  if (!previous.ok()) {
    state.status = previous.status();
    return state;
  }
  SignerContext context;
  context.keys.push_back(*std::move(secret));
  for (Secret& old : *previous) context.keys.push_back(std::move(old));
  context.registry = &registry;
  // Every failure names the variable; an unknown name is not NotFound, which
  // callers read as "no secret".
  auto failed = [&](const absl::Status& s) {
    return absl::Status(s.code() == absl::StatusCode::kNotFound
                            ? absl::StatusCode::kFailedPrecondition
                            : s.code(),
                        absl::StrCat(kSignerEnvVar, ": ", s.message()));
  };
  absl::StatusOr<const LeaseSignerFactory*> factory = registry.FindSigner(spec.name);
  if (!factory.ok()) {
    state.status = failed(factory.status());
    return state;
  }
  absl::StatusOr<std::unique_ptr<ParsedConfig>> config = (*factory)->ParseConfig(spec, registry);
  if (!config.ok()) {
    state.status = failed(config.status());
    return state;
  }
  absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = (*factory)->Create(**config, context);
  if (!signer.ok()) {
    state.status = failed(signer.status());  // names the length rule, never the bytes
    return state;
  }
  state.signer = *std::move(signer);
  return state;
}

std::unique_ptr<LeaseSigner> NoSecretSigner() { return std::make_unique<NoSecret>(); }

}  // namespace cli
}  // namespace aequor
