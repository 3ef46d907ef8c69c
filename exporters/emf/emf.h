// exporters/emf/emf.h: "aequor.exporter.emf", the manager's metrics as
// CloudWatch Embedded Metric Format (EMF) lines on stdout or stderr, which a
// Lambda function's CloudWatch Logs turn into metrics (no agent, no API
// call). One line per Flush() of the manager, counts as deltas since the
// last line, gauges as values. The line's format, its metrics and how it is
// written: docs/EXPORTERS.md.
//
//   builder.AddExporter(aequor::PluginSpec("aequor.exporter.emf",
//                                          {{"namespace", "orders"}}));
//   ... in the handler, before returning:
//   (void)manager->Flush(absl::Milliseconds(200));
//
// Options:
//   namespace        CloudWatch namespace. Default "aequor". [A-Za-z0-9._#:/-],
//                    1 to 255 characters.
//   stream           "stdout" (default) or "stderr".
//   function         adds a "Function" dimension with this value, so the
//                    dimension set is ["Service","Function"]. Default
//                    $AWS_LAMBDA_FUNCTION_NAME when set, else none; give
//                    function= (empty) for none. Printable ASCII, at most
//                    1024 characters.
//   latency          how query latency is written: "histogram" (default):
//                    one metric, QueryLatency, whose value is a CloudWatch
//                    histogram ({"Values":[...],"Counts":[...],"Max","Min",
//                    "Count","Sum"}), so that CloudWatch computes p50/p99;
//                    "buckets": one Count metric per non-empty bucket, as
//                    before 2026-12 (QueryLatency.le_<bound>ms); "none".
//   latency_buckets  false is latency=none, true the default (kept for
//                    specs written before `latency`; not with it).
// The Service dimension is the manager's normalised service name.
//
// Thread-safety: on flush only (HookExporter::Delivery::kOnFlushOnly): the
// manager never calls it on the query path, starts no dispatcher thread for
// it, and calls it (ExportMetrics, Flush, Shutdown) on the thread that calls
// Flush() or destroys the manager, outside the manager's lock and one call
// at a time. A Flush() waits at most its timeout for a full stdout.
// FormatEmfLine() is a pure function.
#ifndef AEQUOR_EXPORTERS_EMF_EMF_H_
#define AEQUOR_EXPORTERS_EMF_EMF_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/clock.h"
#include "api/hook_exporter.h"
#include "api/metrics.h"

namespace aequor {

inline constexpr absl::string_view kEmfExporterName = "aequor.exporter.emf";
std::unique_ptr<HookExporterFactory> NewEmfExporterFactory();

// How query latency is written (the option `latency`).
enum class EmfLatency {
  kHistogram,  // QueryLatency as a CloudWatch histogram (Values/Counts)
  kBuckets,    // QueryLatency.le_<bound>ms, one Count metric per bucket
  kNone,
};

struct EmfOptions {
  std::string metric_namespace = "aequor";
  std::string service;   // the Service dimension. REQUIRES: not empty.
  std::string function;  // the Function dimension; "" for none
  std::string instance;  // written as "Instance" (not a dimension); "" omits it
  EmfLatency latency = EmfLatency::kHistogram;
  // Where lines go (not owned, never closed). For 1 and 2 the exporter also
  // flushes stdout's or stderr's stdio buffer first, under its lock.
  int fd = 1;
  Clock* clock = nullptr;  // for the Timestamp; default Clock::Real()
};

// The exporter, for tests and benchmarks that write elsewhere than
// stdout/stderr; users select it by name.
std::unique_ptr<HookExporter> MakeEmfExporter(EmfOptions options);

// One EMF document (no trailing newline) for `delta`, stamped `timestamp`.
std::string FormatEmfLine(const EmfOptions& options, const MetricsSnapshot& delta,
                          absl::Time timestamp);

}  // namespace aequor

#endif  // AEQUOR_EXPORTERS_EMF_EMF_H_
