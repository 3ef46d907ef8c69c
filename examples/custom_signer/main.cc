// examples/custom_signer: write a lease signer, register it, select it by name.
//
//   bazel run //examples/custom_signer
//
// The signer here, "example.signer.context_hmac", keys HMAC-SHA256 with
// SHA-256(context || secret), so two fleets sharing one secret but not one
// `context` cannot reap each other. (Note: leases it signs are not verifiable
// by pg-aequor; for a mixed Node/C++ fleet keep the built-in signer.)
//
// The example checks its own signer end to end without a database: it builds
// a manager that selects the signer by name with an option, signs a lease,
// parses it back and verifies it, and shows that a wrong option value is
// refused by Build() with a message naming it.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "api/connection_manager.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/registry.h"
#include "botan/hash.h"
#include "botan/mac.h"

namespace example {

// Step 1: the signer. Sign() and Verify() must be thread-safe and never throw.
class ContextHmacSigner final : public aequor::LeaseSigner {
 public:
  static absl::StatusOr<std::unique_ptr<ContextHmacSigner>> Make(absl::string_view context,
                                                                 const aequor::Secret& secret) {
    try {
      auto hash = Botan::HashFunction::create_or_throw("SHA-256");
      hash->update(std::string(context));
      hash->update(std::string(secret.UnsafeBytes()));
      auto mac = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)");
      mac->set_key(hash->final());
      return std::unique_ptr<ContextHmacSigner>(new ContextHmacSigner(std::move(mac)));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("example.signer.context_hmac: ", e.what()));
    }
  }

  absl::StatusOr<std::string> Sign(absl::string_view payload) const override {
    absl::MutexLock lock(&mu_);
    try {
      mac_->update(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
      Botan::secure_vector<uint8_t> tag = mac_->final();
      return aequor::Base64UrlEncode(
          absl::string_view(reinterpret_cast<const char*>(tag.data()), aequor::kLeaseTagBytes));
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("example.signer.context_hmac: ", e.what()));
    }
  }

  bool Verify(absl::string_view payload, absl::string_view tag) const override {
    absl::StatusOr<std::string> expected = Sign(payload);
    if (!expected.ok() || expected->size() != tag.size()) return false;
    unsigned char diff = 0;  // constant time over the tag's length
    for (size_t i = 0; i < tag.size(); ++i) diff |= (*expected)[i] ^ tag[i];
    return diff == 0;
  }

 private:
  explicit ContextHmacSigner(std::unique_ptr<Botan::MessageAuthenticationCode> mac)
      : mac_(std::move(mac)) {}
  mutable absl::Mutex mu_;
  std::unique_ptr<Botan::MessageAuthenticationCode> mac_ ABSL_GUARDED_BY(mu_);
};

// Step 2: its factory: a name, an option parser that validates into a
// config of its own type, and a Create from that config.
struct ContextHmacConfig {
  std::string context;
};

class ContextHmacFactory final
    : public aequor::TypedPluginFactory<aequor::LeaseSigner, aequor::SignerContext,
                                        ContextHmacConfig> {
 public:
  absl::string_view name() const override { return "example.signer.context_hmac"; }
  absl::string_view description() const override {
    return "HMAC-SHA256 keyed with SHA-256(context || secret)";
  }

 protected:
  absl::StatusOr<ContextHmacConfig> ParseTyped(const aequor::PluginSpec& spec,
                                               const aequor::Registry&) const override {
    ContextHmacConfig config;
    aequor::ParamReader r(spec);
    config.context = r.String("context", "");
    if (config.context.empty()) r.Fail("option 'context' is required (e.g. context=billing)");
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<aequor::LeaseSigner>> CreateTyped(
      const ContextHmacConfig& config, const aequor::SignerContext& context) const override {
    if (context.keys.empty()) return absl::InvalidArgumentError("no coordination secret");
    auto signer = ContextHmacSigner::Make(config.context, context.keys.front());
    if (!signer.ok()) return signer.status();
    return std::unique_ptr<aequor::LeaseSigner>(*std::move(signer));
  }
};

}  // namespace example

int main() {
  // Step 3: a registry with the built-ins plus ours.
  aequor::RegistryBuilder registry_builder(*aequor::Registry::Default());
  if (absl::Status s = registry_builder.Register(std::make_unique<example::ContextHmacFactory>());
      !s.ok()) {
    std::fprintf(stderr, "register: %s\n", s.ToString().c_str());
    return 1;
  }
  std::shared_ptr<const aequor::Registry> registry = std::move(registry_builder).Build();
  std::printf("signers available: ");
  for (const std::string& name : registry->SignerNames()) std::printf("%s ", name.c_str());
  std::printf("\n");

  // Step 4: select it by name, with its option, through the builder.
  auto build = [&](aequor::PluginSpec spec) {
    return aequor::ConnectionManagerBuilder()
        .SetRegistry(registry)
        .SetConninfo("host=db.example.internal dbname=orders")  // not contacted here
        .SetService("billing-worker")
        .SetCoordinationSecret("example-coordination-secret")
        .UseSigner(std::move(spec))
        .Build();
  };
  absl::StatusOr<std::unique_ptr<aequor::ConnectionManager>> wrong =
      build(aequor::PluginSpec("example.signer.context_hmac"));
  std::printf("without its option, Build() says: %s\n", wrong.status().ToString().c_str());
  if (wrong.ok()) return 1;

  absl::StatusOr<aequor::PluginSpec> spec =
      aequor::ParsePluginSpec("example.signer.context_hmac(context=billing)");
  if (!spec.ok()) return 1;
  absl::StatusOr<std::unique_ptr<aequor::ConnectionManager>> manager = build(*spec);
  if (!manager.ok()) {
    std::fprintf(stderr, "build: %s\n", manager.status().ToString().c_str());
    return 1;
  }
  std::printf("built a manager with signer %s\n", aequor::FormatPluginSpec(*spec).c_str());

  // Step 5: the signer in use: sign a lease the way the manager does, read it back.
  auto factory = registry->FindSigner("example.signer.context_hmac");
  auto config = (*factory)->ParseConfig(*spec, *registry);
  aequor::SignerContext context;
  context.keys.emplace_back("example-coordination-secret");
  auto signer = (*factory)->Create(**config, context);
  if (!signer.ok()) return 1;
  absl::StatusOr<std::string> lease =
      aequor::SignLease(**signer, (*manager)->service(), (*manager)->instance(), 1767225600000);
  if (!lease.ok()) return 1;
  absl::StatusOr<aequor::ParsedLease> parsed = aequor::ParseLease(*lease);
  bool valid = parsed.ok() && aequor::VerifyLeaseTag(**signer, *parsed);
  std::printf("lease %s verifies: %s\n", lease->c_str(), valid ? "yes" : "NO");
  return valid ? 0 : 1;
}
