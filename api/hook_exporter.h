// api/hook_exporter.h: the hook exporter plugin kind, where events and
// metrics go.
//
// How events travel. The manager computes its metrics (api/metrics.h) from
// each event, then hands the event to its exporters in one of two ways:
//
//  - Queued (the default): the query path only appends the event to a
//    bounded queue (ManagerOptions::exporter_queue_capacity, default 1024)
//    and returns. One dispatcher thread per manager drains the queue and
//    calls each exporter's Export() with batches, in order, never
//    concurrently for one exporter. When the queue is full the event is
//    dropped and counted (MetricsSnapshot::events_dropped). An exporter that
//    throws, blocks or crawls never breaks or stalls a query; at worst its
//    events are dropped.
//  - Synchronous (synchronous() returns true, as the user callbacks of
//    api/hooks.h do): Export() runs on the thread that made the event,
//    inside the manager's call and under its lock, before the call returns.
//    What it throws is caught and counted; what it blocks, it blocks.
//  - Synchronous and metrics only (synchronous() true, wants_events()
//    false, as aequor.exporter.emf): never called on the query path. Its
//    ExportMetrics() and Flush() run on the thread that calls
//    ConnectionManager::Flush(), outside the manager's lock (other threads'
//    queries go on), one call at a time; Shutdown() when the manager is
//    destroyed. No dispatcher thread is started for it. It must keep to the
//    timeout it is given: nothing else bounds its Flush().
//
// The dispatcher hands queued events over when half the queue is full, every
// exporter_interval (default 1 s), and on ConnectionManager::Flush(), which
// delivers every event made before it, then calls each exporter's
// ExportMetrics() and Flush() (a synchronous one's on the caller's thread),
// and waits for all of that up to its timeout.
// In a serverless runtime, where the process (and the dispatcher) freezes
// between invocations, call Flush() before the handler returns. The
// manager's destructor does the same with Shutdown() (waiting up to 1 s).
//
// A minimal exporter, registered by name (examples/custom_exporter):
//
//   class LineCounter final : public aequor::HookExporter {
//    public:
//     void Export(absl::Span<const aequor::Event> batch) override { n_ += batch.size(); }
//     void ExportMetrics(const aequor::MetricsSnapshot& m) override { queries_ = m.queries; }
//     absl::Status Flush(absl::Duration) override { /* write n_, queries_ */ return absl::OkStatus(); }
//    private:
//     size_t n_ = 0;
//     int64_t queries_ = 0;
//   };
//
// Built-ins (exporters/):
//   aequor.exporter.callback   the user's functions (api/hooks.h); synchronous
//   aequor.exporter.emf        CloudWatch Embedded Metric Format lines on
//                              stdout/stderr, one per Flush() (metrics only;
//                              synchronous: written by the Flush() caller)
//
// A hook exporter must not throw; the manager nevertheless catches anything
// that escapes and counts it (MetricsSnapshot::exporter_failures).
//
// Thread-safety: the manager never calls one exporter from two threads at
// once. A queued exporter is called on the dispatcher thread only (Export,
// ExportMetrics, Flush, Shutdown); a synchronous one only under the
// manager's lock, except a synchronous metrics-only one, whose calls are
// serialised by a lock of their own (see above). An exporter that starts threads of its own synchronises
// them itself.
#ifndef AEQUOR_API_HOOK_EXPORTER_H_
#define AEQUOR_API_HOOK_EXPORTER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "api/events.h"
#include "api/metrics.h"
#include "api/plugin.h"

namespace aequor {

class Clock;

class HookExporter {
 public:
  virtual ~HookExporter() = default;

  // Takes a batch of events, oldest first. Must not throw. A queued exporter
  // may take its time (it only delays its own later batches); a synchronous
  // one must return quickly.
  virtual void Export(absl::Span<const Event> batch) = 0;

  // The manager's cumulative metrics. Called right before every Flush() and
  // Shutdown() with the metrics as of the manager's Flush() call (so a flush
  // reports everything that happened before it), and, for queued exporters,
  // every exporter_interval with fresh numbers (for exporters that serve or
  // push metrics on their own schedule, e.g. a Prometheus endpoint or an
  // OTLP push). Default: ignores them.
  virtual void ExportMetrics(const MetricsSnapshot& metrics) { (void)metrics; }

  // Pushes out whatever is buffered, giving up after `timeout`.
  virtual absl::Status Flush(absl::Duration timeout) {
    (void)timeout;
    return absl::OkStatus();
  }

  // Flushes and releases resources; nothing is called afterwards.
  virtual absl::Status Shutdown(absl::Duration timeout) { return Flush(timeout); }

  // True: Export() is called on the thread that made the event, under the
  // manager's lock, before the manager's call returns; with wants_events()
  // false, the exporter is only called by Flush() and at shutdown, on the
  // caller's thread (see above). Default false: queued.
  virtual bool synchronous() const { return false; }

  // False for exporters that only want metrics (ExportMetrics): no events
  // are queued for them, which makes them nearly free per query. Default true.
  virtual bool wants_events() const { return true; }
};

struct CallbackHooks;

struct ExporterContext {
  std::string service;   // normalised service name
  std::string instance;  // the manager's instance id
  Clock* clock = nullptr;
  const Registry* registry = nullptr;
  // The functions given to ConnectionManagerBuilder::SetHooks(), for
  // "aequor.exporter.callback"; null when none were given.
  const CallbackHooks* hooks = nullptr;
};

using HookExporterFactory = PluginFactory<HookExporter, ExporterContext>;

}  // namespace aequor

#endif  // AEQUOR_API_HOOK_EXPORTER_H_
