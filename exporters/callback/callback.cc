#include "exporters/callback/callback.h"

#include <exception>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"

namespace aequor {
namespace {

// Thrown out of Export() (and caught by the manager's event bus, which
// counts it) when a callback threw.
struct CallbackFailed {};

struct CallbackConfig {
  bool synchronous = true;
};

class CallbackExporter final : public HookExporter {
 public:
  CallbackExporter(CallbackHooks hooks, bool synchronous)
      : hooks_(std::move(hooks)), synchronous_(synchronous) {}

  Delivery delivery() const override {
    return synchronous_ ? Delivery::kSynchronous : Delivery::kQueued;
  }

  void Export(absl::Span<const Event> batch) override {
    failed_ = false;
    for (const Event& event : batch) {
      switch (event.kind) {
        case EventKind::kConnect:
        case EventKind::kReconnect: Call(hooks_.on_connect, event); break;
        case EventKind::kQueryStart: Call(hooks_.on_query_start, event); break;
        case EventKind::kQueryEnd: Call(hooks_.on_query_end, event); break;
        case EventKind::kQueryError: Call(hooks_.on_query_error, event); break;
        default: break;
      }
      Call(hooks_.on_event, event);
    }
    if (failed_) throw CallbackFailed();
  }

 private:
  void Call(const std::function<void(const Event&)>& fn, const Event& event) {
    if (!fn) return;
    try {
      fn(event);
    } catch (...) {
      // A user callback must never break the query it reports on, and one
      // bad callback must not stop the rest: catch here, and rethrow once
      // at the end of the batch so that the manager counts the failure.
      failed_ = true;
    }
  }

  CallbackHooks hooks_;
  const bool synchronous_;
  bool failed_ = false;
};

class Factory final : public TypedPluginFactory<HookExporter, ExporterContext, CallbackConfig> {
 public:
  absl::string_view name() const override { return kCallbackExporterName; }
  absl::string_view description() const override {
    return "the functions given to ConnectionManagerBuilder::SetHooks()";
  }

 protected:
  absl::StatusOr<CallbackConfig> ParseTyped(const PluginSpec& spec,
                                            const Registry&) const override {
    ParamReader r(spec);
    const std::string delivery = r.String("delivery", "sync");
    if (delivery != "sync" && delivery != "queued") {
      r.Fail(absl::StrCat("option 'delivery' must be 'sync' or 'queued', got '", delivery, "'"));
    }
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    CallbackConfig config;
    config.synchronous = delivery == "sync";
    return config;
  }
  absl::StatusOr<std::unique_ptr<HookExporter>> CreateTyped(
      const CallbackConfig& config, const ExporterContext& context) const override {
    if (context.hooks == nullptr) {
      return absl::FailedPreconditionError(
          "aequor.exporter.callback: no hooks were given; call "
          "ConnectionManagerBuilder::SetHooks()");
    }
    return MakeCallbackExporter(*context.hooks, config.synchronous);
  }
};

}  // namespace

std::unique_ptr<HookExporter> MakeCallbackExporter(CallbackHooks hooks, bool synchronous) {
  return std::make_unique<CallbackExporter>(std::move(hooks), synchronous);
}

std::unique_ptr<HookExporterFactory> NewCallbackExporterFactory() {
  return std::make_unique<Factory>();
}

}  // namespace aequor
