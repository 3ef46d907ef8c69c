#include "bench/storm/plugin_specs.h"

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/clock.h"
#include "api/plugin.h"
#include "api/random.h"
#include "api/reaper_scheduler.h"
#include "api/registry.h"

namespace aequor {
namespace storm {
namespace {

// The storm's flag error, whatever code the library gave: a bad option.
absl::Status Bad(absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("--reaper-scheduler: ", reason));
}

}  // namespace

absl::Status CheckReaperSchedulerSpec(absl::string_view text) {
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(text);
  if (!spec.ok()) return Bad(spec.status().message());
  // The registry an instance's builder uses when none is set.
  const std::shared_ptr<const Registry> registry = Registry::Default();
  absl::StatusOr<const ReaperSchedulerFactory*> factory = registry->FindReaperScheduler(spec->name);
  if (!factory.ok()) return Bad(factory.status().message());
  absl::StatusOr<std::unique_ptr<ParsedConfig>> config = (*factory)->ParseConfig(*spec, *registry);
  if (!config.ok()) return Bad(config.status().message());
  SeededRandom random(1);
  const SchedulerContext context{Clock::Real(), &random, registry.get()};
  absl::StatusOr<std::unique_ptr<ReaperScheduler>> scheduler =
      (*factory)->Create(**config, context);
  if (!scheduler.ok()) return Bad(scheduler.status().message());
  if (*scheduler == nullptr) {
    return Bad(absl::StrCat("factory '", spec->name, "' returned null"));
  }
  return absl::OkStatus();
}

}  // namespace storm
}  // namespace aequor
