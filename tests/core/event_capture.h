// tests/core/event_capture.h: an EventBus and EventEmitter whose events a
// test reads back, for the core's parts tested without a server.
//
//   EventCapture capture(clock);
//   ServerView view(clock, capture.emitter(), options);
//   ... ; std::vector<Event> events = capture.Take();
//
// Thread-safety: test-only; one thread.
#ifndef AEQUOR_TESTS_CORE_EVENT_CAPTURE_H_
#define AEQUOR_TESTS_CORE_EVENT_CAPTURE_H_

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "api/clock.h"
#include "api/hook_exporter.h"
#include "core/event_bus.h"
#include "core/event_emitter.h"

namespace aequor {
namespace testing {

class EventCapture {
 public:
  explicit EventCapture(Clock& clock) {
    auto sink = std::make_unique<Sink>();
    sink_ = sink.get();
    std::vector<std::unique_ptr<HookExporter>> exporters;
    exporters.push_back(std::move(sink));
    bus_ = std::make_unique<EventBus>(std::move(exporters));
    emitter_ = std::make_unique<EventEmitter>(*bus_, clock, "svc", "inst");
  }

  EventEmitter& emitter() { return *emitter_; }

  // Every event emitted so far (delivered by a flush), oldest first.
  std::vector<Event> Take() {
    bus_->FinishFlush(bus_->StartFlush(absl::Seconds(10))).IgnoreError();
    std::lock_guard<std::mutex> lock(sink_->mu);
    return std::exchange(sink_->events, {});
  }

 private:
  // A queued exporter (the default delivery) that keeps what it is given.
  struct Sink final : HookExporter {
    void Export(absl::Span<const Event> batch) override {
      std::lock_guard<std::mutex> lock(mu);
      events.insert(events.end(), batch.begin(), batch.end());
    }
    std::mutex mu;
    std::vector<Event> events;
  };

  Sink* sink_ = nullptr;
  std::unique_ptr<EventBus> bus_;
  std::unique_ptr<EventEmitter> emitter_;
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTS_CORE_EVENT_CAPTURE_H_
