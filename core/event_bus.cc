#include "core/event_bus.h"

#include "absl/strings/str_cat.h"

namespace aequor {

EventBus::~EventBus() { Shutdown(absl::Seconds(1)); }

void EventBus::Emit(const Event& event) {
  if (shut_down_) return;
  for (const std::unique_ptr<HookExporter>& exporter : exporters_) {
    try {
      exporter->Export(absl::MakeConstSpan(&event, 1));
    } catch (...) {
      ++exporter_failures_;
    }
  }
}

absl::Status EventBus::Flush(absl::Duration timeout) {
  absl::Status first_error;
  for (const std::unique_ptr<HookExporter>& exporter : exporters_) {
    absl::Status s;
    try {
      s = exporter->Flush(timeout);
    } catch (...) {
      s = absl::InternalError("a hook exporter threw from Flush()");
    }
    if (!s.ok()) {
      ++exporter_failures_;
      if (first_error.ok()) first_error = s;
    }
  }
  return first_error;
}

void EventBus::Shutdown(absl::Duration timeout) {
  if (shut_down_) return;
  shut_down_ = true;
  for (const std::unique_ptr<HookExporter>& exporter : exporters_) {
    try {
      if (!exporter->Shutdown(timeout).ok()) ++exporter_failures_;
    } catch (...) {
      ++exporter_failures_;
    }
  }
}

}  // namespace aequor
