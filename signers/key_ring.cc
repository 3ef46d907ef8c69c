#include "signers/key_ring.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/registry.h"
#include "signers/hmac_common.h"

namespace aequor {
namespace {

class KeyRingSigner final : public LeaseSigner {
 public:
  explicit KeyRingSigner(std::vector<std::unique_ptr<LeaseSigner>> signers)
      : signers_(std::move(signers)) {}

  absl::StatusOr<std::string> Sign(absl::string_view payload) const override {
    return signers_.front()->Sign(payload);
  }

  bool Verify(absl::string_view payload, absl::string_view tag) const override {
    // Every key is tried, so the time taken does not tell which key matched.
    bool any = false;
    for (const std::unique_ptr<LeaseSigner>& signer : signers_) {
      any |= signer->Verify(payload, tag);
    }
    return any;
  }

 private:
  const std::vector<std::unique_ptr<LeaseSigner>> signers_;  // never empty
};

struct KeyRingConfig {
  PluginSpec inner;
};

// Parses `inner` with its factory from `registry`; errors name the key ring.
absl::StatusOr<std::pair<const LeaseSignerFactory*, std::unique_ptr<ParsedConfig>>> ParseInner(
    const PluginSpec& inner, const Registry& registry) {
  absl::StatusOr<const LeaseSignerFactory*> factory = registry.FindSigner(inner.name);
  if (!factory.ok()) {
    return absl::Status(
        factory.status().code(),
        absl::StrCat(kKeyRingSignerName, ": inner signer: ", factory.status().message()));
  }
  absl::StatusOr<std::unique_ptr<ParsedConfig>> config = (*factory)->ParseConfig(inner, registry);
  if (!config.ok()) {
    return absl::Status(
        config.status().code(),
        absl::StrCat(kKeyRingSignerName, ": inner signer: ", config.status().message()));
  }
  return std::make_pair(*factory, *std::move(config));
}

class KeyRingFactory final : public TypedPluginFactory<LeaseSigner, SignerContext, KeyRingConfig> {
 public:
  absl::string_view name() const override { return kKeyRingSignerName; }
  absl::string_view description() const override {
    return "signs with the newest coordination secret, verifies with any: rotation with "
           "no window; optional child spec picks the HMAC (default aequor.signer.hmac_sha256)";
  }

 protected:
  absl::StatusOr<KeyRingConfig> ParseTyped(const PluginSpec& spec,
                                           const Registry& registry) const override {
    ParamReader reader(spec);
    if (absl::Status s = reader.Finish(/*max_children=*/1); !s.ok()) return s;
    KeyRingConfig config;
    config.inner =
        spec.children.empty() ? PluginSpec(std::string(kDefaultSigner)) : spec.children[0];
    // Validate the child now so that Build() fails before anything connects.
    if (auto inner = ParseInner(config.inner, registry); !inner.ok()) return inner.status();
    return config;
  }

  absl::StatusOr<std::unique_ptr<LeaseSigner>> CreateTyped(
      const KeyRingConfig& config, const SignerContext& context) const override {
    return NewKeyRingSigner(context, config.inner);
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<LeaseSigner>> NewKeyRingSigner(const SignerContext& context,
                                                              const PluginSpec& inner) {
  if (absl::Status s = signers_internal::CheckKeys(kKeyRingSignerName, context.keys); !s.ok()) {
    return s;
  }
  if (context.registry == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(kKeyRingSignerName,
                     ": SignerContext.registry is null; the key ring creates its inner "
                     "signers through the registry"));
  }
  // The inner spec is parsed again with the factory that will create it (the
  // registry given to ParseConfig may have held another factory of that name).
  auto parsed = ParseInner(inner, *context.registry);
  if (!parsed.ok()) return parsed.status();
  const auto& [factory, inner_config] = *parsed;

  std::vector<std::unique_ptr<LeaseSigner>> signers;
  signers.reserve(context.keys.size());
  for (size_t i = 0; i < context.keys.size(); ++i) {
    SignerContext one;
    one.keys.push_back(context.keys[i]);
    one.registry = context.registry;
    absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = factory->Create(*inner_config, one);
    if (!signer.ok()) {
      return absl::Status(signer.status().code(),
                          absl::StrCat(kKeyRingSignerName, ": coordination secret #", i, ": ",
                                       signer.status().message()));
    }
    if (*signer == nullptr) {
      return absl::InternalError(
          absl::StrCat(kKeyRingSignerName, ": inner signer '", inner.name, "' returned null"));
    }
    signers.push_back(*std::move(signer));
  }
  return std::unique_ptr<LeaseSigner>(new KeyRingSigner(std::move(signers)));
}

std::unique_ptr<LeaseSignerFactory> NewKeyRingSignerFactory() {
  return std::make_unique<KeyRingFactory>();
}

}  // namespace aequor
