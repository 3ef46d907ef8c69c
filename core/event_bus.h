// core/event_bus.h (internal): hands events to the hook exporters, and keeps
// the metrics computed from them.
//
// Emit() is the manager's only per-event work: it records the event in the
// metrics (core/metrics.h), calls the kSynchronous exporters (the user
// callbacks) on the caller's thread, and appends the event to a bounded
// queue for the kQueued exporters, waking the dispatcher only when the queue
// is half full. One dispatcher thread drains the queue and calls the queued
// exporters (kQueued with batches of events, kQueuedMetricsOnly with
// metrics only); it also wakes every `interval`. When the queue is full the
// event is dropped and counted. A kOnFlushOnly exporter (emf) is only called
// by FinishFlush() and Shutdown(), on the caller's thread; with no queued
// exporter there is no dispatcher thread at all. Nothing an exporter does can
// break the caller: every call is wrapped in a catch-all and failures are
// counted.
// Events are only built when at least one exporter listens (observed()), so
// a manager without exporters pays nothing per query.
//
//   EventBus bus(std::move(exporters), EventBusOptions{});
//   if (bus.observed()) bus.Emit(event);
//   EventBus::FlushTicket t = bus.StartFlush(timeout);
//   absl::Status s = bus.FinishFlush(t);  // waits; other threads' queries go on
//
// Thread-safety: every method may be called from any thread. Emit(),
// RecordQuery(), StartFlush() and Shutdown() are serialised by emit_mu_ (the
// lanes of a pool emit concurrently), which also guarantees that a
// synchronous exporter is never called concurrently; uncontended, as in a
// ConnectionManager, it costs one lock per event. FinishFlush() calls the
// flushed-here exporters one call at a time (flush_mu_).
#ifndef AEQUOR_CORE_EVENT_BUS_H_
#define AEQUOR_CORE_EVENT_BUS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/events.h"
#include "api/hook_exporter.h"
#include "api/metrics.h"
#include "core/metrics.h"

namespace aequor {

struct EventBusOptions {
  // Events waiting for the dispatcher; more are dropped. REQUIRES: >= 1.
  size_t queue_capacity = 1024;
  // The dispatcher delivers queued events and fresh metrics at least this
  // often. REQUIRES: > 0.
  absl::Duration interval = absl::Seconds(1);
};

class EventBus {
 public:
  explicit EventBus(std::vector<std::unique_ptr<HookExporter>> exporters,
                    EventBusOptions options = {});
  // Shutdown(1 s) unless already shut down.
  ~EventBus();

  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // Whether anything listens: an exporter of any kind (the metrics are kept
  // then). Build no event when false.
  bool observed() const { return observed_; }
  // Whether an exporter takes events (a kSynchronous or kQueued one),
  // rather than only metrics. When false, only the
  // metrics listen: the manager need not build a kQueryStart (the metrics
  // ignore it), and may report a finished query with RecordQuery().
  bool streaming() const { return streaming_; }
  void Emit(const Event& event);
  // What Emit() of a kQueryEnd (failed = false) or kQueryError that took
  // `took_ns` nanoseconds does when !streaming(), without building the
  // event: the per-query hot path of a manager whose exporters only take
  // metrics.
  void RecordQuery(int64_t took_ns, bool failed) {
    std::lock_guard<std::mutex> lock(emit_mu_);
    if (!shut_down_) metrics_->RecordQuery(took_ns, failed);
  }

  // A flush in two steps, so that the manager's lock is not held while
  // waiting for the exporters. StartFlush() flushes the kSynchronous
  // exporters, takes the metrics and asks the dispatcher to
  // deliver every event queued so far, then call ExportMetrics() and Flush()
  // on each queued exporter. FinishFlush() calls ExportMetrics() and Flush()
  // on the flushed-here exporters, then waits for the dispatcher until the
  // deadline: DeadlineExceeded (naming the exporter still busy) if it did
  // not finish, else the first error an exporter returned.
  struct FlushTicket {
    uint64_t generation = 0;  // 0: nothing queued to wait for
    std::chrono::steady_clock::time_point deadline;
    absl::Duration timeout;
    absl::Status sync_status;
    bool flush_here = false;  // FinishFlush() flushes the flushed-here exporters
    MetricsSnapshot metrics;  // as of StartFlush(), for them
  };
  FlushTicket StartFlush(absl::Duration timeout);
  absl::Status FinishFlush(const FlushTicket& ticket);
  absl::Status Flush(absl::Duration timeout) { return FinishFlush(StartFlush(timeout)); }

  // Delivers what is queued, then calls ExportMetrics() and Shutdown() on
  // every exporter once, waiting up to `timeout` for the dispatcher. A
  // dispatcher still blocked in an exporter after that is abandoned (the
  // thread is detached and keeps the exporters alive until it returns).
  // Emit() does nothing afterwards.
  void Shutdown(absl::Duration timeout);

  MetricsSnapshot metrics() const;
  // See Metrics::SetPoolSource().
  void SetPoolSource(std::function<PoolMetrics()> source) {
    metrics_->SetPoolSource(std::move(source));
  }
  // See Metrics::SetConnectionSource().
  void SetConnectionSource(std::function<ConnectionGauges()> source) {
    metrics_->SetConnectionSource(std::move(source));
  }
  // Exporter calls that threw or returned an error.
  int64_t exporter_failures() const;
  // Events dropped because the queue was full.
  int64_t events_dropped() const;

 private:
  struct State;
  static void Run(std::shared_ptr<State> state);
  void Enqueue(const Event& event);

  // kSynchronous exporters (Emit() calls them), and kOnFlushOnly ones,
  // flushed by FinishFlush() and Shutdown().
  std::vector<std::unique_ptr<HookExporter>> sync_;
  std::vector<std::unique_ptr<HookExporter>> flushed_here_;
  // Serialises Emit(), RecordQuery(), StartFlush() and Shutdown(): the
  // metrics' recording side and the synchronous exporters take one caller
  // at a time. Guards shut_down_.
  std::mutex emit_mu_;
  std::mutex flush_mu_;                  // held while a flushed_here_ exporter is called
  bool flushed_here_shut_down_ = false;  // guarded by flush_mu_
  std::shared_ptr<State> state_;         // shared with the dispatcher thread
  Metrics* metrics_;                     // state_->metrics
  std::thread dispatcher_;               // not joinable without queued exporters
  bool observed_ = false;
  bool streaming_ = false;
  bool queue_events_ = false;  // a kQueued exporter (one that takes events)
  bool shut_down_ = false;  // guarded by emit_mu_
};

}  // namespace aequor

#endif  // AEQUOR_CORE_EVENT_BUS_H_
