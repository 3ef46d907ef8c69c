// exporters/callback/callback.h: "aequor.exporter.callback", the user's
// functions (api/hooks.h) as a hook exporter.
//
// Usually added by ConnectionManagerBuilder::SetHooks(); selecting it by name
// uses the hooks given there. A callback that throws is caught here, counted,
// and the other callbacks of the batch still run.
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
