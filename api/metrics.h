// api/metrics.h: the numbers a ConnectionManager keeps about itself.
//
// The manager computes its metrics from its own events (api/events.h), in
// one place, as each event happens, before any exporter sees it; so the
// numbers are exact even when the exporter queue drops events. Every counter
// is cumulative since the manager was built and never goes down. Exporters
// receive a snapshot through HookExporter::ExportMetrics()
// (api/hook_exporter.h); an exporter that reports deltas (the EMF exporter)
// subtracts the previous snapshot itself (MetricsDelta below). Users read
// one with ConnectionManager::metrics():
//
//   aequor::MetricsSnapshot m = manager->metrics();
//   std::printf("%lld queries, %lld failed\n", (long long)m.queries,
//               (long long)m.query_errors);
//   for (const aequor::CounterPoint& c : aequor::Counters(m)) { ... }
//
// Metrics are kept while the manager has at least one exporter (events are
// only built then, so a manager without exporters pays nothing per query);
// without exporters every value stays 0.
//
// Thread-safety: plain values and pure functions.
#ifndef AEQUOR_API_METRICS_H_
#define AEQUOR_API_METRICS_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aequor {

// Query latency (the duration of kQueryEnd and kQueryError events: the whole
// call, retries and any reconnect included), in fixed buckets.
struct LatencyHistogram {
  // Upper bounds of the buckets, in milliseconds, inclusive: bucket i counts
  // the latencies d with kBoundsMs[i-1] < d <= kBoundsMs[i] (bucket 0 counts
  // d <= 0.25 ms); the last bucket, index kBoundsMs.size(), counts d > 10 s.
  // This is OpenTelemetry's explicit-bucket layout; Prometheus's cumulative
  // `le` buckets are running sums of `counts`.
  static constexpr std::array<double, 15> kBoundsMs = {0.25, 0.5, 1,   2.5,  5,    10,   25,   50,
                                                       100,  250, 500, 1000, 2500, 5000, 10000};
  static constexpr size_t kBuckets = kBoundsMs.size() + 1;

  std::array<int64_t, kBuckets> counts{};  // not cumulative
  int64_t count = 0;                       // sum of counts
  double sum_ms = 0;                       // sum of the latencies
};

// A pool's own metrics (api/pool.h PoolStats, with the acquire wait).
struct PoolMetrics {
  // Gauges, as of the snapshot.
  int64_t size = 0;     // connections open or being opened
  int64_t idle = 0;     // open and not borrowed
  int64_t in_use = 0;   // borrowed
  int64_t waiting = 0;  // borrowers waiting
  // Counters.
  int64_t acquired = 0;
  int64_t acquire_timeouts = 0;
  int64_t leaks = 0;
  int64_t recycled = 0;
  int64_t dead_dropped = 0;
  int64_t idle_renewals = 0;
  int64_t idle_renewal_failures = 0;
  // Query() calls whose statement rode in another call's pipeline
  // (statement batching, PoolOptions::max_batch); not in `acquired`.
  int64_t batched = 0;
  // How long borrows waited for a connection (those that got one), in the
  // query latency's buckets.
  LatencyHistogram acquire_wait;
};

struct MetricsSnapshot {
  int64_t connects = 0;        // connections opened (kConnect + kReconnect)
  int64_t reconnects = 0;      // of which replaced a lost one (kReconnect)
  int64_t connect_errors = 0;  // failed connect attempts (kConnectError)
  // Retries (kRetry) by reason: "too_many_connections" (53300),
  // "server_starting" (57P03), "serialization_failure" (40001), "deadlock"
  // (40P01), "connection" (refused, reset, lost, timed out: class 08 or no
  // SQLSTATE), "other". Only reasons seen so far are present.
  std::map<std::string, int64_t> retries;
  int64_t queries = 0;       // statements finished (kQueryEnd + kQueryError)
  int64_t query_errors = 0;  // of which failed (kQueryError)
  LatencyHistogram query_latency;
  int64_t lease_renewals = 0;          // kLeaseRenewed
  int64_t lease_renewal_failures = 0;  // kLeaseRenewFailed
  // Reaper passes (kReap) by outcome: "completed" (held the lock), "busy"
  // (another instance held it), "error". Only outcomes seen are present.
  std::map<std::string, int64_t> reaper_passes;
  int64_t zombies_killed = 0;  // sessions terminated by reaper passes
  // Sessions a pass looked at and spared, by reason (core/reaper.h lists the
  // reasons: "not_expired", "bad_tag", "over_limit", ...).
  std::map<std::string, int64_t> reaper_rows_skipped;
  // Connections found dead (kClientDead) by source: "thaw_check", "query",
  // "reaper", "transaction", "commit".
  std::map<std::string, int64_t> dead_clients;
  // Events not delivered because the exporter queue was full.
  int64_t events_dropped = 0;
  // Exporter calls that threw or returned an error (Export, ExportMetrics,
  // Flush, Shutdown; a callback that throws counts once).
  int64_t exporter_failures = 0;
  // Clock offsets larger than reap_clock_skew (kClockOffset with a warning).
  int64_t clock_offset_warnings = 0;

  // Gauges: the last value seen, nullopt until one is.
  // This host's clock offset to the server's (server minus host), in ms.
  std::optional<double> clock_offset_ms;
  // Connection slots in use / slots this role may use, as last measured
  // (api/events.h ReapReport::connection_usage).
  std::optional<double> connection_usage;
  // Events waiting for the exporter dispatcher, at the snapshot: set when an
  // exporter takes queued events (a growing depth is an exporter falling
  // behind; at exporter_queue_capacity new events are dropped).
  std::optional<double> exporter_queue_depth;
  // Connections open: a manager's 0 or 1, a pool's count. Read from the
  // connections themselves as of the end of the last call on each (a call
  // in progress shows when it returns). Set by every manager and pool.
  std::optional<double> connected;
  // Seconds left on the current lease, counted on this host's monotonic
  // clock from when the lease was signed (a pool: the soonest to expire of
  // its open connections). Negative: the lease ran out while nothing used
  // the connection (a frozen or idle process; the fleet may reap it).
  // nullopt when nothing is connected or leases are off.
  std::optional<double> lease_seconds_left;

  // Set for a Pool (api/pool.h), nullopt for a ConnectionManager. Kept
  // whether or not an exporter is configured.
  std::optional<PoolMetrics> pool;
};

// `now` minus `before`, counter by counter (labels missing from `before`
// count from 0). For exporters that report deltas; `before` must be an
// earlier snapshot of the same manager.
MetricsSnapshot MetricsDelta(const MetricsSnapshot& now, const MetricsSnapshot& before);

// One counter of a snapshot, for exporters that write every counter the same
// way. Names are stable snake_case ("connects", "retries", ...); a labelled
// family has one point per label value plus none for the total.
struct CounterPoint {
  absl::string_view name;       // e.g. "retries"
  absl::string_view label_key;  // "" or "reason" / "outcome" / "source"
  std::string label_value;      // "" when label_key is ""
  int64_t value = 0;
};

// Every counter of `m` (the histograms aside), in a fixed order: connects,
// reconnects, connect_errors, retries{reason}, queries, query_errors,
// lease_renewals, lease_renewal_failures, reaper_passes{outcome},
// zombies_killed, reaper_rows_skipped{reason}, dead_clients{source},
// events_dropped, exporter_failures, clock_offset_warnings; then, for a
// pool only, pool_acquired, pool_acquire_timeouts, pool_leaks,
// pool_recycled, pool_dead_dropped, pool_idle_renewals,
// pool_idle_renewal_failures, pool_batched.
std::vector<CounterPoint> Counters(const MetricsSnapshot& m);

// One gauge of a snapshot (a value, not a count: exporters report it as it
// is, never as a delta).
struct GaugePoint {
  absl::string_view name;  // "clock_offset_ms", "connection_usage", "pool_size", ...
  double value = 0;
};

// The gauges of `m` that have a value, in a fixed order: clock_offset_ms,
// connection_usage, exporter_queue_depth, connected, lease_seconds_left;
// then, for a pool, pool_size,
// pool_idle, pool_in_use, pool_waiting.
std::vector<GaugePoint> Gauges(const MetricsSnapshot& m);

}  // namespace aequor

#endif  // AEQUOR_API_METRICS_H_
