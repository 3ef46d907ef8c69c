// api/hooks.h: plain callbacks for the events users most often want.
//
//   aequor::CallbackHooks hooks;
//   hooks.on_query_end = [](const aequor::Event& e) { ... };
//   builder.SetHooks(std::move(hooks));
//
// Callbacks are synchronous: they run on the thread that made the call they
// report, inside the manager's call and before it returns, in the order the
// events happened. This is what hooks are for (a test or a tracer sees the
// query's events as soon as Query() returns, on the thread that ran it,
// with no Flush()), and it is the one exception to "exporters are queued"
// (api/hook_exporter.h). The price: a callback that blocks stalls that
// call and, since calls are serialised, every other thread's. Keep them
// short; for slow work (network, disk) write an exporter, which runs on the
// dispatcher thread, or select the callbacks queued by name:
//
//   builder.AddExporter(aequor::PluginSpec("aequor.exporter.callback",
//                                          {{"delivery", "queued"}}));
//   builder.SetHooks(std::move(hooks));  // uses the spec above
//
// Queued, the callbacks run on the dispatcher thread, events can be dropped
// when the queue is full, and Flush() waits for them.
//
// A callback that throws is caught and counted; the query it reported on is
// unaffected and the other callbacks of the event still run.
//
// Thread-safety: the manager never runs two callbacks of one manager at once.
#ifndef AEQUOR_API_HOOKS_H_
#define AEQUOR_API_HOOKS_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <functional>
#include <memory>

#include "api/events.h"
#include "api/hook_exporter.h"

namespace aequor {

struct CallbackHooks {
  std::function<void(const Event&)> on_connect;  // kConnect and kReconnect
  std::function<void(const Event&)> on_query_start;
  std::function<void(const Event&)> on_query_end;
  std::function<void(const Event&)> on_query_error;
  std::function<void(const Event&)> on_event;  // every event, any kind
};

// The exporter behind "aequor.exporter.callback" (exporters/callback):
// synchronous unless `synchronous` is false.
std::unique_ptr<HookExporter> MakeCallbackExporter(CallbackHooks hooks, bool synchronous = true);

}  // namespace aequor

#endif  // AEQUOR_API_HOOKS_H_
