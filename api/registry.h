// api/registry.h: the map from plugin names to factories.
//
// A Registry is immutable once built, so it can be shared by every manager of
// a process without locks. Users start from the built-ins and add their own:
//
//   aequor::RegistryBuilder b;
//   aequor::RegisterBuiltins(b);
//   absl::Status s = b.Register(std::make_unique<MySignerFactory>());
//   std::shared_ptr<const aequor::Registry> registry = std::move(b).Build();
//   builder.SetRegistry(registry).UseSigner("acme.signer.kms");
//
// Tests swap one factory for their scope with RegistryBuilder::Replace().
// An unknown name is NotFound listing the names that exist.
//
// Thread-safety: Registry is immutable and thread-safe. RegistryBuilder is not.
#ifndef AEQUOR_API_REGISTRY_H_
#define AEQUOR_API_REGISTRY_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/hook_exporter.h"
#include "api/lease_signer.h"
#include "api/reaper_scheduler.h"
#include "api/retry_policy.h"

namespace aequor {

namespace registry_internal {
// Name -> factory for one plugin kind.
template <typename Factory>
using Table = std::map<std::string, std::shared_ptr<const Factory>, std::less<>>;
}  // namespace registry_internal

class Registry {
 public:
  absl::StatusOr<const LeaseSignerFactory*> FindSigner(absl::string_view name) const;
  absl::StatusOr<const ReaperSchedulerFactory*> FindReaperScheduler(absl::string_view name) const;
  absl::StatusOr<const RetryPolicyFactory*> FindRetryPolicy(absl::string_view name) const;
  absl::StatusOr<const HookExporterFactory*> FindExporter(absl::string_view name) const;

  std::vector<std::string> SignerNames() const;
  std::vector<std::string> ReaperSchedulerNames() const;
  std::vector<std::string> RetryPolicyNames() const;
  std::vector<std::string> ExporterNames() const;

  // The built-in plugins only (RegisterBuiltins), built once, never destroyed.
  static std::shared_ptr<const Registry> Default();

 private:
  friend class RegistryBuilder;
  Registry() = default;

  registry_internal::Table<LeaseSignerFactory> signers_;
  registry_internal::Table<ReaperSchedulerFactory> schedulers_;
  registry_internal::Table<RetryPolicyFactory> retry_policies_;
  registry_internal::Table<HookExporterFactory> exporters_;
};

class RegistryBuilder {
 public:
  RegistryBuilder();
  // Starts from the factories of `base` (e.g. Registry::Default()).
  explicit RegistryBuilder(const Registry& base);

  // Adds a factory. AlreadyExists if its name is taken, InvalidArgument if the
  // name is empty or not dotted lowercase ([a-z0-9_]+ separated by '.').
  absl::Status Register(std::unique_ptr<LeaseSignerFactory> factory);
  absl::Status Register(std::unique_ptr<ReaperSchedulerFactory> factory);
  absl::Status Register(std::unique_ptr<RetryPolicyFactory> factory);
  absl::Status Register(std::unique_ptr<HookExporterFactory> factory);

  // Adds or replaces the factory of the same name (tests, overrides).
  void Replace(std::unique_ptr<LeaseSignerFactory> factory);
  void Replace(std::unique_ptr<ReaperSchedulerFactory> factory);
  void Replace(std::unique_ptr<RetryPolicyFactory> factory);
  void Replace(std::unique_ptr<HookExporterFactory> factory);

  std::shared_ptr<const Registry> Build() &&;

 private:
  std::unique_ptr<Registry> registry_;
};

// Registers every built-in plugin that the core target links: the signers,
// the reaper schedulers, the retry policies and the core exporters.
// Optional exporters (gRPC, Prometheus) register themselves through their
// own Register functions. Fails only if a name is already taken.
absl::Status RegisterBuiltins(RegistryBuilder& builder);

}  // namespace aequor

#endif  // AEQUOR_API_REGISTRY_H_
