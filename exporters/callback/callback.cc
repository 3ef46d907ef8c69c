#include "exporters/callback/callback.h"

#include <exception>
#include <functional>

namespace aequor {
namespace {

class CallbackExporter final : public HookExporter {
 public:
  explicit CallbackExporter(CallbackHooks hooks) : hooks_(std::move(hooks)) {}

  void Export(absl::Span<const Event> batch) override {
    for (const Event& event : batch) {
      switch (event.kind) {
        case EventKind::kConnect:
        case EventKind::kReconnect:
          Call(hooks_.on_connect, event);
          break;
        case EventKind::kQueryStart:
          Call(hooks_.on_query_start, event);
          break;
        case EventKind::kQueryEnd:
          Call(hooks_.on_query_end, event);
          break;
        case EventKind::kQueryError:
          Call(hooks_.on_query_error, event);
          break;
        default:
          break;
      }
      Call(hooks_.on_event, event);
    }
  }

 private:
  static void Call(const std::function<void(const Event&)>& fn, const Event& event) {
    if (!fn) return;
    try {
      fn(event);
    } catch (...) {
      // A user callback must never break the query it reports on. The manager
      // counts exporter failures; here one bad callback must not stop the rest.
    }
  }

  CallbackHooks hooks_;
};

class Factory final : public HookExporterFactory {
 public:
  absl::string_view name() const override { return kCallbackExporterName; }
  absl::string_view description() const override {
    return "the functions given to ConnectionManagerBuilder::SetHooks()";
  }
  absl::StatusOr<std::unique_ptr<ParsedConfig>> ParseConfig(const PluginSpec& spec,
                                                             const Registry&) const override {
    ParamReader r(spec);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return std::make_unique<ParsedConfig>();
  }
  absl::StatusOr<std::unique_ptr<HookExporter>> Create(
      const ParsedConfig&, const ExporterContext& context) const override {
    if (context.hooks == nullptr) {
      return absl::FailedPreconditionError(
          "aequor.exporter.callback: no hooks were given; call "
          "ConnectionManagerBuilder::SetHooks()");
    }
    return MakeCallbackExporter(*context.hooks);
  }
};

}  // namespace

std::unique_ptr<HookExporter> MakeCallbackExporter(CallbackHooks hooks) {
  return std::make_unique<CallbackExporter>(std::move(hooks));
}

std::unique_ptr<HookExporterFactory> NewCallbackExporterFactory() {
  return std::make_unique<Factory>();
}

}  // namespace aequor
