// strategies/retry/builtin.h: registers the built-in retry policies
// (decorrelated_jitter, exponential, none).
#ifndef AEQUOR_STRATEGIES_RETRY_BUILTIN_H_
#define AEQUOR_STRATEGIES_RETRY_BUILTIN_H_

#include "absl/status/status.h"
#include "api/registry.h"

namespace aequor {

absl::Status RegisterBuiltinRetryPolicies(RegistryBuilder& builder);

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_RETRY_BUILTIN_H_
