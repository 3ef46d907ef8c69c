#include "strategies/reaper/builtin.h"

#include <memory>

#include "strategies/reaper/adaptive.h"
#include "strategies/reaper/compose.h"
#include "strategies/reaper/cooldown.h"
#include "strategies/reaper/periodic.h"
#include "strategies/reaper/pressure.h"
#include "strategies/reaper/probability.h"

namespace aequor {

absl::Status RegisterBuiltinReaperSchedulers(RegistryBuilder& builder) {
  for (auto* make :
       {&NewAdaptiveSchedulerFactory, &NewProbabilitySchedulerFactory, &NewCooldownSchedulerFactory,
        &NewPressureSchedulerFactory, &NewPeriodicSchedulerFactory, &NewAllOfSchedulerFactory,
        &NewAnyOfSchedulerFactory}) {
    if (absl::Status s = builder.Register(make()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace aequor
