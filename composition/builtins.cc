// RegisterBuiltins and Registry::Default: every plugin the core target links.
#include "api/registry.h"
#include "exporters/builtin.h"
#include "signers/builtin.h"
#include "strategies/reaper/builtin.h"
#include "strategies/retry/builtin.h"

namespace aequor {

absl::Status RegisterBuiltins(RegistryBuilder& builder) {
  for (auto* add : {&RegisterBuiltinSigners, &RegisterBuiltinReaperSchedulers,
                    &RegisterBuiltinRetryPolicies, &RegisterBuiltinExporters}) {
    if (absl::Status s = add(builder); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::shared_ptr<const Registry> Registry::Default() {
  // Built once; leaked on purpose (no non-trivial static destructors).
  static const std::shared_ptr<const Registry>* const registry = [] {
    RegistryBuilder builder;
    // Cannot fail: the built-in names are distinct (tested in registry_test).
    (void)RegisterBuiltins(builder);
    return new std::shared_ptr<const Registry>(std::move(builder).Build());
  }();
  return *registry;
}

}  // namespace aequor
