// exporters/prometheus/prometheus.h: "aequor.exporter.prometheus", the
// manager's metrics (api/metrics.h) on an HTTP endpoint (/metrics) that
// Prometheus scrapes, for long-running services (a frozen serverless
// function cannot answer a scrape: use aequor.exporter.emf there). The
// series a scrape returns, binding and shutdown: docs/EXPORTERS.md.
//
// An optional target (//exporters/prometheus, prometheus-cpp + civetweb):
// the composition root never links it, so register it before selecting it
// by name:
//
//   aequor::RegistryBuilder rb(*aequor::Registry::Default());
//   absl::Status s = aequor::RegisterPrometheusExporter(rb);
//   builder.SetRegistry(std::move(rb).Build())
//       .AddExporter(aequor::PluginSpec("aequor.exporter.prometheus",
//                                       {{"bind", "0.0.0.0:9464"}}));
//   // GET http://<host>:9464/metrics
//
// Options:
//   bind  host:port to listen on. Default "127.0.0.1:9464" (this host only).
//         host is a dotted IPv4 address or a host name resolving to one (no
//         IPv6); port in [0, 65535], 0 picking a free port (reported to
//         PrometheusRegistration::on_listening). Build() fails with
//         InvalidArgument for a malformed value, and with Unavailable naming
//         the address and the reason when it cannot listen there.
//   exposer_metrics  true: serve with prometheus-cpp's Exposer, which adds
//         its own series (exposer_scrapes_total, exposer_transferred_bytes_
//         total, exposer_request_latencies in microseconds, unlabelled).
//         Default false: aequor's series only.
//
// Process-wide side effect: civetweb sets SIGPIPE to SIG_IGN when the first
// endpoint starts, and leaves it so.
//
// Thread-safety: the factory is immutable and thread-safe; on_listening is
// called on the thread that runs ConnectionManagerBuilder::Build(). The
// exporter is queued and takes metrics only (kQueuedMetricsOnly): the
// manager calls it on its dispatcher thread; scrapes run on civetweb's
// threads and take only the exporter's own mutex, never the manager's lock.
// FormatPrometheusText() is a pure function.
#ifndef AEQUOR_EXPORTERS_PROMETHEUS_PROMETHEUS_H_
#define AEQUOR_EXPORTERS_PROMETHEUS_PROMETHEUS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "api/hook_exporter.h"
#include "api/metrics.h"
#include "api/registry.h"

namespace aequor {

inline constexpr absl::string_view kPrometheusExporterName = "aequor.exporter.prometheus";

// An endpoint that has started listening.
struct PrometheusEndpoint {
  std::string service;   // the manager's normalised service name
  std::string instance;  // the manager's instance id
  std::string address;   // host:port as bound, e.g. "127.0.0.1:41237"
  int port = 0;          // the port bound (the chosen one when bind had port 0)
};

struct PrometheusRegistration {
  // Called by Create() (so inside ConnectionManagerBuilder::Build()) once
  // an endpoint listens. Default: none. For tests and for logging the port
  // chosen for port 0. Must not throw.
  std::function<void(const PrometheusEndpoint&)> on_listening;
};

// The factory of "aequor.exporter.prometheus".
std::unique_ptr<HookExporterFactory> NewPrometheusExporterFactory(
    PrometheusRegistration registration = {});

// Registers that factory. AlreadyExists if the name is taken (registered
// twice).
absl::Status RegisterPrometheusExporter(RegistryBuilder& builder,
                                        PrometheusRegistration registration = {});

// What a scrape returns for `metrics`, in the text exposition format. For
// tests, and for services that serve the text themselves.
std::string FormatPrometheusText(const MetricsSnapshot& metrics, absl::string_view service,
                                 absl::string_view instance);

}  // namespace aequor

#endif  // AEQUOR_EXPORTERS_PROMETHEUS_PROMETHEUS_H_
