// strategies/reaper/builtin.h: registers the built-in reaper schedulers.
#ifndef AEQUOR_STRATEGIES_REAPER_BUILTIN_H_
#define AEQUOR_STRATEGIES_REAPER_BUILTIN_H_

#include "absl/status/status.h"
#include "api/registry.h"

namespace aequor {

absl::Status RegisterBuiltinReaperSchedulers(RegistryBuilder& builder);

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_REAPER_BUILTIN_H_
