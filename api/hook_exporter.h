// api/hook_exporter.h: the hook exporter plugin kind, where events go.
//
// The manager hands events to every configured exporter, in batches, one
// call at a time (never concurrently for one exporter). A hook exporter
// must not throw; the manager nevertheless catches anything that escapes
// (so a user callback that throws never breaks a query) and counts it.
//
// Built-ins (exporters/):
//   aequor.exporter.callback   the user's functions (api/hooks.h)
//
// Thread-safety: the manager never calls one exporter from two threads at
// once; an exporter that starts threads of its own synchronises them itself.
#ifndef AEQUOR_API_HOOK_EXPORTER_H_
#define AEQUOR_API_HOOK_EXPORTER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "api/events.h"
#include "api/plugin.h"

namespace aequor {

class Clock;

class HookExporter {
 public:
  virtual ~HookExporter() = default;

  // Takes a batch of events. Must return quickly; must not throw.
  virtual void Export(absl::Span<const Event> batch) = 0;

  // Pushes out whatever is buffered, giving up after `timeout`.
  virtual absl::Status Flush(absl::Duration timeout) {
    (void)timeout;
    return absl::OkStatus();
  }

  // Flushes and releases resources; Export is not called afterwards.
  virtual absl::Status Shutdown(absl::Duration timeout) { return Flush(timeout); }
};

struct CallbackHooks;

struct ExporterContext {
  std::string service;   // normalised service name
  std::string instance;  // the manager's instance id
  Clock* clock = nullptr;
  const Registry* registry = nullptr;
  // The functions given to ConnectionManagerBuilder::SetHooks(), for
  // "aequor.exporter.callback"; null when none were given.
  const CallbackHooks* hooks = nullptr;
};

using HookExporterFactory = PluginFactory<HookExporter, ExporterContext>;

}  // namespace aequor

#endif  // AEQUOR_API_HOOK_EXPORTER_H_
