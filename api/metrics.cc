// MetricsDelta, Counters and Gauges of api/metrics.h.
#include "api/metrics.h"

#include <map>
#include <string>
#include <vector>

namespace aequor {

namespace {

std::map<std::string, int64_t> Minus(const std::map<std::string, int64_t>& now,
                                     const std::map<std::string, int64_t>& before) {
  std::map<std::string, int64_t> out = now;
  for (auto& [label, value] : out) {
    auto it = before.find(label);
    if (it != before.end()) value -= it->second;
  }
  return out;
}

}  // namespace

MetricsSnapshot MetricsDelta(const MetricsSnapshot& now, const MetricsSnapshot& before) {
  MetricsSnapshot d;
  d.connects = now.connects - before.connects;
  d.reconnects = now.reconnects - before.reconnects;
  d.connect_errors = now.connect_errors - before.connect_errors;
  d.retries = Minus(now.retries, before.retries);
  d.queries = now.queries - before.queries;
  d.query_errors = now.query_errors - before.query_errors;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    d.query_latency.counts[i] = now.query_latency.counts[i] - before.query_latency.counts[i];
  }
  d.query_latency.count = now.query_latency.count - before.query_latency.count;
  d.query_latency.sum_ms = now.query_latency.sum_ms - before.query_latency.sum_ms;
  d.lease_renewals = now.lease_renewals - before.lease_renewals;
  d.lease_renewal_failures = now.lease_renewal_failures - before.lease_renewal_failures;
  d.reaper_passes = Minus(now.reaper_passes, before.reaper_passes);
  d.zombies_killed = now.zombies_killed - before.zombies_killed;
  d.reaper_rows_skipped = Minus(now.reaper_rows_skipped, before.reaper_rows_skipped);
  d.dead_clients = Minus(now.dead_clients, before.dead_clients);
  d.events_dropped = now.events_dropped - before.events_dropped;
  d.exporter_failures = now.exporter_failures - before.exporter_failures;
  d.clock_offset_warnings = now.clock_offset_warnings - before.clock_offset_warnings;
  // Gauges are values, not counts: the delta carries the current value.
  d.clock_offset_ms = now.clock_offset_ms;
  d.connection_usage = now.connection_usage;
  d.exporter_queue_depth = now.exporter_queue_depth;
  d.connected = now.connected;
  d.lease_seconds_left = now.lease_seconds_left;
  if (now.pool.has_value()) {
    const PoolMetrics zero;
    const PoolMetrics& n = *now.pool;
    const PoolMetrics& b = before.pool.has_value() ? *before.pool : zero;
    PoolMetrics p = n;  // the gauges as they are now
    p.acquired = n.acquired - b.acquired;
    p.acquire_timeouts = n.acquire_timeouts - b.acquire_timeouts;
    p.leaks = n.leaks - b.leaks;
    p.recycled = n.recycled - b.recycled;
    p.dead_dropped = n.dead_dropped - b.dead_dropped;
    p.idle_renewals = n.idle_renewals - b.idle_renewals;
    p.idle_renewal_failures = n.idle_renewal_failures - b.idle_renewal_failures;
    p.batched = n.batched - b.batched;
    for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
      p.acquire_wait.counts[i] = n.acquire_wait.counts[i] - b.acquire_wait.counts[i];
    }
    p.acquire_wait.count = n.acquire_wait.count - b.acquire_wait.count;
    p.acquire_wait.sum_ms = n.acquire_wait.sum_ms - b.acquire_wait.sum_ms;
    d.pool = p;
  }
  return d;
}

std::vector<CounterPoint> Counters(const MetricsSnapshot& m) {
  std::vector<CounterPoint> out;
  auto add = [&](absl::string_view name, int64_t value) {
    out.push_back(CounterPoint{name, "", "", value});
  };
  auto family = [&](absl::string_view name, absl::string_view key,
                    const std::map<std::string, int64_t>& values) {
    for (const auto& [label, value] : values) out.push_back(CounterPoint{name, key, label, value});
  };
  add("connects", m.connects);
  add("reconnects", m.reconnects);
  add("connect_errors", m.connect_errors);
  family("retries", "reason", m.retries);
  add("queries", m.queries);
  add("query_errors", m.query_errors);
  add("lease_renewals", m.lease_renewals);
  add("lease_renewal_failures", m.lease_renewal_failures);
  family("reaper_passes", "outcome", m.reaper_passes);
  add("zombies_killed", m.zombies_killed);
  family("reaper_rows_skipped", "reason", m.reaper_rows_skipped);
  family("dead_clients", "source", m.dead_clients);
  add("events_dropped", m.events_dropped);
  add("exporter_failures", m.exporter_failures);
  add("clock_offset_warnings", m.clock_offset_warnings);
  if (m.pool.has_value()) {
    const PoolMetrics& p = *m.pool;
    add("pool_acquired", p.acquired);
    add("pool_acquire_timeouts", p.acquire_timeouts);
    add("pool_leaks", p.leaks);
    add("pool_recycled", p.recycled);
    add("pool_dead_dropped", p.dead_dropped);
    add("pool_idle_renewals", p.idle_renewals);
    add("pool_idle_renewal_failures", p.idle_renewal_failures);
    add("pool_batched", p.batched);
  }
  return out;
}

std::vector<GaugePoint> Gauges(const MetricsSnapshot& m) {
  std::vector<GaugePoint> out;
  if (m.clock_offset_ms.has_value())
    out.push_back(GaugePoint{"clock_offset_ms", *m.clock_offset_ms});
  if (m.connection_usage.has_value()) {
    out.push_back(GaugePoint{"connection_usage", *m.connection_usage});
  }
  if (m.exporter_queue_depth.has_value()) {
    out.push_back(GaugePoint{"exporter_queue_depth", *m.exporter_queue_depth});
  }
  if (m.connected.has_value()) out.push_back(GaugePoint{"connected", *m.connected});
  if (m.lease_seconds_left.has_value()) {
    out.push_back(GaugePoint{"lease_seconds_left", *m.lease_seconds_left});
  }
  if (m.pool.has_value()) {
    out.push_back(GaugePoint{"pool_size", static_cast<double>(m.pool->size)});
    out.push_back(GaugePoint{"pool_idle", static_cast<double>(m.pool->idle)});
    out.push_back(GaugePoint{"pool_in_use", static_cast<double>(m.pool->in_use)});
    out.push_back(GaugePoint{"pool_waiting", static_cast<double>(m.pool->waiting)});
  }
  return out;
}

}  // namespace aequor
