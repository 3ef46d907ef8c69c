// exporters/emf/emf.h: "aequor.exporter.emf", the manager's metrics as
// CloudWatch Embedded Metric Format (EMF) lines on stdout or stderr, which is
// what a Lambda function's users read in CloudWatch: Lambda sends every line
// of stdout to CloudWatch Logs, and CloudWatch turns an EMF line into
// metrics, no agent and no API call needed.
//
//   builder.AddExporter(aequor::PluginSpec("aequor.exporter.emf",
//                                          {{"namespace", "orders"}}));
//   ... in the handler, before returning:
//   (void)manager->Flush(absl::Milliseconds(200));
//
// One line per Flush() of the manager (call it at the end of every
// invocation) and one at shutdown; nothing else is written. Each line is
// one JSON object ended by '\n' and written with one write() call (after
// flushing stdout's stdio buffer, under its lock), so it never interleaves
// with other output mid-line (a pipe keeps writes of up to PIPE_BUF, 4096
// bytes, whole; a line is about 1.5 KB). A flush with nothing to report
// writes nothing.
//
// Counts are deltas: what happened since the previous line written (the
// first line counts from the manager's start). A line that could not be
// written is not lost: its counts go into the next one. Gauges are values,
// never deltas: each line carries the last value seen. A flush writes a line
// when something was counted or a gauge changed since the last line.
//
//   {"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"aequor",
//    "Dimensions":[["Service"]],"Metrics":[{"Name":"Connects","Unit":"Count"},...]}]},
//    "Service":"orders-api","Instance":"AbCdEfGh","Connects":1,...,
//    "ClockOffset":-3.250,"ConnectionUsage":0.4}
//
// Metrics (Unit "Count" unless said), always present:
//   Connects, Reconnects, ConnectErrors, Retries, Queries, QueryErrors,
//   QueryLatencySum (Milliseconds: the sum of the query latencies, so that
//   QueryLatencySum / Queries is the mean), LeaseRenewals,
//   LeaseRenewalFailures, ReaperPasses, ZombiesKilled, ReaperRowsSkipped,
//   DeadClients, EventsDropped, ExporterFailures, ClockOffsetWarnings.
// Present once a label has been seen (api/metrics.h lists the labels):
//   Retries.<reason>, ReaperPasses.<outcome>, ReaperRowsSkipped.<reason>,
//   DeadClients.<source>.
// Gauges, present once a value has been seen (MetricsSnapshot's gauges):
//   ClockOffset       Milliseconds: this host's clock offset to the server's
//                     (server minus host), as last measured;
//   ConnectionUsage   None: connection slots in use / slots this role may
//                     use, as the last reaper pass read it.
// Present when non-zero in this line, with latency_buckets=true: the query
// latency histogram (api/metrics.h), QueryLatency.le_0.25ms,
//   QueryLatency.le_0.5ms, ..., QueryLatency.le_10000ms, QueryLatency.gt_10000ms:
//   the number of queries whose latency fell in each bucket.
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
//   latency_buckets  true (default) or false: write the histogram buckets.
// The Service dimension is the manager's normalised service name. Nothing
// secret is written: no conninfo, no lease, no SQL.
//
// Thread-safety: synchronous and metrics-only (api/hook_exporter.h): the
// manager never calls it on the query path, starts no dispatcher thread for
// it, and calls it (ExportMetrics, Flush, Shutdown) on the thread that calls
// Flush() or destroys the manager, outside the manager's lock and one call
// at a time. A Flush() waits at most its timeout for a full stdout.
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

struct EmfOptions {
  std::string metric_namespace = "aequor";
  std::string service;   // the Service dimension. REQUIRES: not empty.
  std::string function;  // the Function dimension; "" for none
  std::string instance;  // written as "Instance" (not a dimension); "" omits it
  bool latency_buckets = true;
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
