// api/hook_exporter.h: the hook exporter plugin kind, where events and
// metrics go.
//
// The manager computes its metrics (api/metrics.h) from each event and hands
// events and metrics to its exporters, each as its delivery() says (queued
// by default, so an exporter never slows a query). How events travel, the
// queue and flushing: docs/EXPORTERS.md. Your own: examples/custom_exporter.
//
//   class LineCounter final : public aequor::HookExporter {
//    public:
//     void Export(absl::Span<const aequor::Event> batch) override { n_ += batch.size(); }
//     void ExportMetrics(const aequor::MetricsSnapshot& m) override { queries_ = m.queries; }
//     absl::Status Flush(absl::Duration) override { /* write n_, queries_ */ return
//     absl::OkStatus(); }
//    private:
//     size_t n_ = 0;
//     int64_t queries_ = 0;
//   };
//
// Built-ins (exporters/): aequor.exporter.callback (the user's functions,
// synchronous) and aequor.exporter.emf (CloudWatch Embedded Metric Format
// lines, on-flush only); optional targets add aequor.exporter.otlp_grpc and
// aequor.exporter.prometheus.
//
// A hook exporter must not throw; the manager nevertheless catches anything
// that escapes and counts it (MetricsSnapshot::exporter_failures).
//
// Thread-safety: the manager never calls one exporter from two threads at
// once. A queued exporter is called on the dispatcher thread only; a
// synchronous one only under the manager's lock; an on-flush-only one on the
// thread calling Flush() or destroying the manager, its calls serialised by
// a lock of their own. An exporter that starts threads of its own
// synchronises them itself.
#ifndef AEQUOR_API_HOOK_EXPORTER_H_
#define AEQUOR_API_HOOK_EXPORTER_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

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

  // How and on which thread the manager calls this exporter
  // (docs/EXPORTERS.md has the details).
  enum class Delivery {
    // Events are queued and handed over in batches by the manager's
    // dispatcher thread, which also calls ExportMetrics() every
    // exporter_interval and on Flush(). When the queue is full, events are
    // dropped and counted.
    kQueued,
    // As kQueued, without events: only ExportMetrics(), Flush() and
    // Shutdown(), on the dispatcher thread (a metrics endpoint or push).
    kQueuedMetricsOnly,
    // Export() runs on the thread that made the event, under the manager's
    // lock, before the manager's call returns; it must return quickly.
    kSynchronous,
    // No events and no dispatcher thread: ExportMetrics() and Flush() run on
    // the thread that calls ConnectionManager::Flush(), outside the
    // manager's lock; Shutdown() when the manager is destroyed.
    kOnFlushOnly,
  };

  // Asked once, when the manager is built. Default: kQueued.
  virtual Delivery delivery() const { return Delivery::kQueued; }
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
