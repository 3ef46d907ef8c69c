#include "strategies/retry/builtin.h"

#include "strategies/retry/decorrelated_jitter.h"
#include "strategies/retry/exponential.h"
#include "strategies/retry/none.h"

namespace aequor {

absl::Status RegisterBuiltinRetryPolicies(RegistryBuilder& builder) {
  for (auto* make : {&NewDecorrelatedJitterFactory, &NewExponentialFactory, &NewNoRetryFactory}) {
    if (absl::Status s = builder.Register(make()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace aequor
