// exporters/callback/callback.h: "aequor.exporter.callback", the user's
// functions (api/hooks.h) as a hook exporter.
//
// Usually added by ConnectionManagerBuilder::SetHooks(); selecting it by name
// uses the hooks given there. A callback that throws is caught here, counted,
// and the other callbacks of the batch still run.
//
// What each hook receives (api/hooks.h): on_connect kConnect and kReconnect,
// on_query_start/end/error their kind; on_event every event, of every kind,
// after the kind's own hook. Kinds without a hook of their own reach
// on_event only: kDisconnect, kConnectError, kRetry, kLeaseRenewed,
// kLeaseRenewFailed, kReap, kClientDead and kClockOffset (`clock_offset`
// holds the offset and its uncertainty; `message` a warning when the offset
// is larger than reap_clock_skew). Metrics are not passed to callbacks
// (ConnectionManager::metrics() has them).
//
// Options:
//   delivery   "sync" (default): the callbacks run on the caller's thread,
//              before the manager's call returns (api/hooks.h);
//              "queued": on the dispatcher thread, like other exporters.
//
// Thread-safety: called by the manager one batch at a time.
#ifndef AEQUOR_EXPORTERS_CALLBACK_CALLBACK_H_
#define AEQUOR_EXPORTERS_CALLBACK_CALLBACK_H_

#include <cstdint>
#include <memory>

#include "api/hook_exporter.h"
#include "api/hooks.h"

namespace aequor {

inline constexpr absl::string_view kCallbackExporterName = "aequor.exporter.callback";
std::unique_ptr<HookExporterFactory> NewCallbackExporterFactory();

}  // namespace aequor

#endif  // AEQUOR_EXPORTERS_CALLBACK_CALLBACK_H_
