// exporters/otlp_grpc/otlp_grpc.h: "aequor.exporter.otlp_grpc", the
// manager's metrics (api/metrics.h) pushed to an OpenTelemetry Collector (or
// any OTLP/gRPC receiver) with the unary RPC
//   /opentelemetry.proto.collector.metrics.v1.MetricsService/Export
// every interval_ms and at every Flush() of the manager.
//
// An optional target (//exporters/otlp_grpc, gRPC + protobuf): the core
// never links it, so register it before selecting it by name:
//
//   aequor::RegistryBuilder rb(*aequor::Registry::Default());
//   absl::Status s = aequor::RegisterOtlpGrpcExporter(rb);
//   builder.SetRegistry(std::move(rb).Build())
//       .AddExporter(aequor::PluginSpec("aequor.exporter.otlp_grpc",
//                                       {{"endpoint", "127.0.0.1:4317"}}));
//   ... in a serverless handler, before returning:
//   absl::Status flushed = manager->Flush(absl::Milliseconds(500));
//
// or by object (MakeOtlpGrpcExporter(), e.g. to watch exports through
// OtlpGrpcOptions::on_export).
//
// Options:
//   endpoint     host:port of the collector's OTLP/gRPC receiver. Default
//                "127.0.0.1:4317". host is an IPv4 address, a host name or
//                a bracketed IPv6 address ("[::1]:4317"); port in
//                [1, 65535]. "http://host:port" is accepted as the same.
//                The channel is insecure (plaintext HTTP/2): TLS
//                ("https://...") is not supported yet and rejected.
//   interval_ms  push period. Default 10000, in [100, 3600000].
//   timeout_ms   deadline of one export RPC. Default 2000, in [10, 60000].
// Build() fails with InvalidArgument naming the option, e.g.
//   "aequor.exporter.otlp_grpc: option 'timeout_ms' must be a whole number
//    of milliseconds in [10, 60000], got '0'".
//
// What is sent. One ResourceMetrics with resource attributes service.name
// (the manager's normalised service name), service.instance.id (its
// instance id), telemetry.sdk.name "aequor" and telemetry.sdk.language
// "cpp"; one ScopeMetrics with scope name "aequor"; in it:
//   aequor.connects, aequor.reconnects, aequor.connect_errors,
//   aequor.retries{reason}, aequor.queries, aequor.query_errors,
//   aequor.lease_renewals, aequor.lease_renewal_failures,
//   aequor.reaper_passes{outcome}, aequor.zombies_killed,
//   aequor.reaper_rows_skipped{reason}, aequor.dead_clients{source},
//   aequor.events_dropped, aequor.exporter_failures,
//   aequor.clock_offset_warnings                            unit "1"
//       monotonic cumulative Sums of integers (as_int), one point each, or
//       one per attribute value for the labelled ones (a labelled metric is
//       left out until a value has been seen: api/metrics.h lists them);
//   aequor.exporter.otlp_grpc.failed_exports                unit "1"
//       this exporter's own failed exports so far (the one being sent
//       aside), so that a collector that was down sees what it missed;
//   aequor.clock_offset                                     unit "ms"
//       Gauge (as_double): this host's clock offset to the server's (server
//       minus host), as last measured;
//   aequor.connection_usage                                 unit "1"
//       Gauge (as_double): connection slots in use / slots this role may
//       use, as the last reaper pass read it;
//       a gauge is left out until the manager has a value for it;
//   aequor.query_latency                                    unit "ms"
//       cumulative Histogram with LatencyHistogram::kBoundsMs as
//       explicit_bounds (15 bounds, 16 bucket_counts), count and sum.
// Every point has time_unix_nano = when the manager took the snapshot (its
// last ExportMetrics() call) and, but for the gauges' points (a gauge is a
// value at that time), start_time_unix_nano = when the exporter was created
// (inside ConnectionManagerBuilder::Build(), i.e. the manager's start: its
// counters count from 0 there), both from the manager's Clock. Nothing
// secret is sent: no conninfo, no lease, no SQL.
//
// Threads and failures. The exporter wants no events (nearly free per
// query) and keeps one thread of its own that makes every RPC, so neither a
// query nor the manager's dispatcher (nor the other exporters) ever waits
// for the collector. Metrics are cumulative, so its queue is one snapshot:
// the latest replaces an unsent one, and a collector that is down costs
// that one snapshot, never memory that grows. The thread exports the latest
// snapshot every interval_ms (once the manager has handed one over; it
// does every exporter_interval, 1 s by default). Flush(timeout) asks the
// thread for an export of the snapshot as of the manager's Flush() and
// waits for it at most `timeout`: the RPC's deadline is the sooner of
// timeout_ms and that. It returns OK when the collector accepted it, else
// the RPC's status with the gRPC code (Unavailable when nothing listens,
// DeadlineExceeded when the collector does not answer in time) and a
// message "aequor.exporter.otlp_grpc: export to <endpoint> failed: ...".
// The manager's Flush() returns that status and counts it in
// MetricsSnapshot::exporter_failures; a failed periodic export is counted
// in aequor.exporter.otlp_grpc.failed_exports and reported to on_export.
// A failed export is not retried: the next one carries newer totals. A
// collector's partial_success (rejected points) is an accepted export and is
// reported through on_export. Reconnect backoff is capped at 2 s, so a
// collector that comes back is used again within about that.
// Shutdown(timeout) (the manager's destructor) does a last Flush() with most
// of the timeout, then cancels any RPC still running and joins the thread.
//
// Future work: TLS (grpc::SslCredentials with a CA file option), headers
// (API keys), gzip compression, HTTP/protobuf transport.
//
// Thread-safety: the factory is immutable and thread-safe. The exporter is
// called by the manager's dispatcher thread (as every queued exporter is)
// and synchronises with its own thread; on_export is called on that thread.
// EncodeOtlpMetricsRequest() is a pure function.
#ifndef AEQUOR_EXPORTERS_OTLP_GRPC_OTLP_GRPC_H_
#define AEQUOR_EXPORTERS_OTLP_GRPC_OTLP_GRPC_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/clock.h"
#include "api/hook_exporter.h"
#include "api/metrics.h"
#include "api/registry.h"

namespace aequor {

inline constexpr absl::string_view kOtlpGrpcExporterName = "aequor.exporter.otlp_grpc";

// The outcome of one export RPC, for OtlpGrpcOptions::on_export.
struct OtlpExportResult {
  std::string endpoint;
  // OK when the collector accepted the request; else the RPC's error.
  absl::Status status;
  // True for the export of a Flush() or Shutdown(); false for a periodic one.
  bool flush = false;
  // Exports so far, this one included.
  int64_t succeeded = 0;
  int64_t failed = 0;
  // From the collector's partial_success (0 and "" when it sent none).
  int64_t rejected_data_points = 0;
  std::string collector_message;
  absl::Duration took;  // the RPC, from send to answer or error
};

struct OtlpGrpcOptions {
  // Collector address, host:port (see "endpoint" above). Default
  // "127.0.0.1:4317". REQUIRES: valid (the factory checks the option; an
  // invalid address given here makes every export fail).
  std::string endpoint = "127.0.0.1:4317";
  // Push period. Default 10 s. REQUIRES: > 0.
  absl::Duration interval = absl::Seconds(10);
  // Deadline of one RPC. Default 2 s. REQUIRES: > 0.
  absl::Duration timeout = absl::Seconds(2);
  // service.name. REQUIRES: not empty.
  std::string service;
  // service.instance.id; "" leaves the attribute out.
  std::string instance;
  // For time_unix_nano and the default start time. Default Clock::Real().
  // Not owned; must outlive the exporter.
  Clock* clock = nullptr;
  // start_time_unix_nano of every point. Default (InfinitePast): the
  // clock's Now() when the exporter is made.
  absl::Time start_time = absl::InfinitePast();
  // Called after every export RPC, on the exporter's thread. Default none.
  // Must not throw, block for long, or call the manager (its Flush() would
  // wait for this very thread).
  std::function<void(const OtlpExportResult&)> on_export;
};

// The exporter, for use by object:
//   builder.AddExporter(aequor::MakeOtlpGrpcExporter(options));
// It makes no connection until the first export.
std::unique_ptr<HookExporter> MakeOtlpGrpcExporter(OtlpGrpcOptions options);

// What the factory of "aequor.exporter.otlp_grpc" passes to the exporters
// it makes.
struct OtlpGrpcRegistration {
  // As OtlpGrpcOptions::on_export. Default none.
  std::function<void(const OtlpExportResult&)> on_export;
};

// The factory of "aequor.exporter.otlp_grpc" (service and instance come
// from the manager).
std::unique_ptr<HookExporterFactory> NewOtlpGrpcExporterFactory(
    OtlpGrpcRegistration registration = {});

// Registers that factory. AlreadyExists if the name is taken (registered
// twice).
absl::Status RegisterOtlpGrpcExporter(RegistryBuilder& builder,
                                      OtlpGrpcRegistration registration = {});

// The serialized ExportMetricsServiceRequest sent for `metrics` taken at
// `now` (options: service, instance, start_time, which must be set), with
// `failed_exports` as aequor.exporter.otlp_grpc.failed_exports. For tests
// and for tools that send the bytes themselves.
std::string EncodeOtlpMetricsRequest(const OtlpGrpcOptions& options, const MetricsSnapshot& metrics,
                                     absl::Time now, int64_t failed_exports = 0);

}  // namespace aequor

#endif  // AEQUOR_EXPORTERS_OTLP_GRPC_OTLP_GRPC_H_
