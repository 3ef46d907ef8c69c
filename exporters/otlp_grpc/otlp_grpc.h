// exporters/otlp_grpc/otlp_grpc.h: "aequor.exporter.otlp_grpc", the
// manager's metrics (api/metrics.h) pushed to an OpenTelemetry Collector (or
// any OTLP/gRPC receiver) every interval_ms and at every Flush() of the
// manager. What is sent, and how exports fail and recover:
// docs/EXPORTERS.md.
//
// An optional target (//exporters/otlp_grpc, gRPC + protobuf): the
// composition root never links it, so register it before selecting it by
// name:
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
// Options (Build() fails with InvalidArgument naming a bad one):
//   endpoint     host:port of the collector's OTLP/gRPC receiver. Default
//                "127.0.0.1:4317". host is an IPv4 address, a host name or
//                a bracketed IPv6 address ("[::1]:4317"); port in
//                [1, 65535]. "http://host:port" is accepted as the same.
//                Plaintext only: "https://..." is rejected.
//   interval_ms  push period. Default 10000, in [100, 3600000].
//   timeout_ms   deadline of one export RPC. Default 2000, in [10, 60000].
//
// Thread-safety: the factory is immutable and thread-safe. The exporter is
// queued and takes metrics only (kQueuedMetricsOnly): the manager calls it
// on its dispatcher thread; it makes every RPC on a thread of its own and
// synchronises with it; on_export is called on that thread.
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
