// api/hooks.h: plain callbacks for the events users most often want.
//
//   aequor::CallbackHooks hooks;
//   hooks.on_query_end = [](const aequor::Event& e) { ... };
//   builder.SetHooks(std::move(hooks));
//
// A callback that throws is caught and counted; the query it reported on is
// unaffected. Callbacks run on the thread that made the call they report,
// inside the manager's call: keep them short.
//
// Thread-safety: the manager never runs two callbacks of one manager at once.
#ifndef AEQUOR_API_HOOKS_H_
#define AEQUOR_API_HOOKS_H_

#include <functional>
#include <memory>

#include "api/events.h"
#include "api/hook_exporter.h"

namespace aequor {

struct CallbackHooks {
  std::function<void(const Event&)> on_connect;      // kConnect and kReconnect
  std::function<void(const Event&)> on_query_start;
  std::function<void(const Event&)> on_query_end;
  std::function<void(const Event&)> on_query_error;
  std::function<void(const Event&)> on_event;        // every event, any kind
};

// The exporter behind "aequor.exporter.callback" (exporters/callback).
std::unique_ptr<HookExporter> MakeCallbackExporter(CallbackHooks hooks);

}  // namespace aequor

#endif  // AEQUOR_API_HOOKS_H_
