// exporters/prometheus/prometheus.h: "aequor.exporter.prometheus", the
// manager's metrics (api/metrics.h) on an HTTP endpoint that Prometheus
// scrapes, for long-running services. (A serverless function is frozen
// between invocations and cannot answer a scrape: use aequor.exporter.emf
// there.)
//
// An optional target (//exporters/prometheus, prometheus-cpp + civetweb):
// the core never links it, so register it before selecting it by name:
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
//         host is a dotted IPv4 address ("0.0.0.0" for every interface) or a
//         host name resolving to one; IPv6 is not supported (Debian's
//         civetweb is built without it). port is in [0, 65535]; 0 picks a
//         free port, reported through PrometheusRegistration::on_listening.
// The path is /metrics; other paths answer 404. Build() fails with
// InvalidArgument naming the option for a malformed value, and with
// Unavailable naming the address and the reason ("Address already in use")
// when the address cannot be opened, e.g. when another manager of the process
// already serves that port: each manager needs its own port.
//
// What a scrape returns (text exposition format 0.0.4). Every series has
// the labels service (the manager's normalised service name) and instance
// (its instance id); a labelled family adds its own label:
//   aequor_connects_total, aequor_reconnects_total,
//   aequor_connect_errors_total, aequor_retries_total{reason},
//   aequor_queries_total, aequor_query_errors_total,
//   aequor_lease_renewals_total, aequor_lease_renewal_failures_total,
//   aequor_reaper_passes_total{outcome}, aequor_zombies_killed_total,
//   aequor_reaper_rows_skipped_total{reason},
//   aequor_dead_clients_total{source}, aequor_events_dropped_total,
//   aequor_exporter_failures_total,
//   aequor_clock_offset_warnings_total                      (counters)
//   aequor_clock_offset_seconds     gauge: this host's clock offset to the
//       server's (server minus host), as last measured, in seconds;
//   aequor_connection_usage         gauge: connection slots in use / slots
//       this role may use, as the last reaper pass read it (a ratio);
//       a gauge is absent (no # HELP, # TYPE or series) until the manager
//       has a value for it;
//   aequor_query_duration_seconds   histogram of the query latency with
//       LatencyHistogram::kBoundsMs as `le` bounds in seconds (0.00025 ...
//       10, +Inf), cumulative as Prometheus wants; _sum in seconds.
// A labelled family has one series per label value seen so far (none yet:
// only its # HELP and # TYPE lines). prometheus-cpp's Exposer adds its own
// series to every endpoint, without these labels and beyond our control:
// exposer_transferred_bytes_total, exposer_scrapes_total and the summary
// exposer_request_latencies (microseconds; quantiles "Nan" until scraped).
// Content-Type is "text/plain; charset=utf-8".
//
//   # TYPE aequor_queries_total counter
//   aequor_queries_total{service="orders-api",instance="AbCdEfGh"} 5
//   aequor_query_duration_seconds_bucket{service="orders-api",instance="AbCdEfGh",le="0.001"} 4
//   # TYPE aequor_clock_offset_seconds gauge
//   aequor_clock_offset_seconds{service="orders-api",instance="AbCdEfGh"} -0.0035
//
// Note that Prometheus attaches its own `instance` label (the scrape
// target); with the default honor_labels: false the manager's one is kept as
// `exported_instance`. Set honor_labels: true on the scrape job to keep it
// as `instance`.
//
// How the numbers get there. The snapshot is cumulative and so are
// Prometheus counters, so the exporter keeps no prometheus::Counter objects
// (which could only be incremented by deltas) but a Collectable of its own
// holding the latest MetricsSnapshot, which it renders at each scrape. It is
// replaced when the manager calls ExportMetrics(): on every Flush() and every
// exporter_interval (default 1 s), so a scrape sees numbers at most that old.
// A scrape runs on civetweb's threads and takes only the exporter's own
// mutex (held while copying a snapshot), never the manager's lock: a long
// query does not delay a scrape, and a slow scrape does not delay a query.
// Before the first ExportMetrics() every counter is 0 and no gauge is
// there. The endpoint closes at Shutdown() (the manager's destructor), in
// some 20-40 ms: civetweb's listener only notices a stop between 2 s poll
// quanta, so Shutdown() wakes it with a connection to the port.
//
// Process-wide side effect: civetweb sets SIGPIPE to SIG_IGN when the first
// endpoint starts (so a scraper that hangs up cannot kill the process), and
// leaves it so.
//
// Thread-safety: the factory is immutable and thread-safe; on_listening is
// called on the thread that runs ConnectionManagerBuilder::Build(). The
// exporter is called by the manager's dispatcher thread only (it is queued
// and wants no events: nearly free per query) and synchronises with
// civetweb's threads itself. FormatPrometheusText() is a pure function.
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
