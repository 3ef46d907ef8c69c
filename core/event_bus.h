// core/event_bus.h (internal): hands events to the hook exporters.
//
// Nothing an exporter does can break the caller: every call is wrapped in a
// catch-all and failures are counted. Events are only built when at least
// one exporter listens (observed()), so a manager without exporters pays
// nothing per query.
//
// Thread-safety: not thread-safe; the manager calls it under its lock, which
// also guarantees that one exporter is never called concurrently.
#ifndef AEQUOR_CORE_EVENT_BUS_H_
#define AEQUOR_CORE_EVENT_BUS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/events.h"
#include "api/hook_exporter.h"

namespace aequor {

class EventBus {
 public:
  explicit EventBus(std::vector<std::unique_ptr<HookExporter>> exporters)
      : exporters_(std::move(exporters)) {}
  ~EventBus();

  bool observed() const { return !exporters_.empty(); }
  void Emit(const Event& event);
  absl::Status Flush(absl::Duration timeout);
  // Calls every exporter's Shutdown once; Emit does nothing afterwards.
  void Shutdown(absl::Duration timeout);

  // Exporter calls that threw or returned an error.
  int64_t exporter_failures() const { return exporter_failures_; }

 private:
  std::vector<std::unique_ptr<HookExporter>> exporters_;
  int64_t exporter_failures_ = 0;
  bool shut_down_ = false;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_EVENT_BUS_H_
