#include "core/metrics.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"

namespace aequor {

absl::string_view RetryReason(absl::string_view sqlstate) {
  if (sqlstate == "53300") return "too_many_connections";
  if (sqlstate == "57P03") return "server_starting";
  if (sqlstate == "40001") return "serialization_failure";
  if (sqlstate == "40P01") return "deadlock";
  if (sqlstate.empty() || absl::StartsWith(sqlstate, "08")) return "connection";
  return "other";
}

void Metrics::AddLabelled(std::map<std::string, int64_t>& family, absl::string_view label,
                          int64_t n) {
  std::string key(label.empty() ? absl::string_view("unknown") : label);
  std::lock_guard<std::mutex> lock(labels_mu_);
  family[key] += n;
}

void Metrics::Record(const Event& event) {
  switch (event.kind) {
    case EventKind::kQueryEnd:
      RecordQuery(absl::ToInt64Nanoseconds(event.duration), /*failed=*/false);
      return;
    case EventKind::kQueryError:
      RecordQuery(absl::ToInt64Nanoseconds(event.duration), /*failed=*/true);
      return;
    case EventKind::kQueryStart:
    case EventKind::kDisconnect:
      return;
    case EventKind::kConnect:
      connects_.Add(1);
      return;
    case EventKind::kReconnect:
      connects_.Add(1);
      reconnects_.Add(1);
      return;
    case EventKind::kConnectError:
      connect_errors_.Add(1);
      return;
    case EventKind::kRetry:
      AddLabelled(retries_, RetryReason(event.sqlstate), 1);
      return;
    case EventKind::kLeaseRenewed:
      lease_renewals_.Add(1);
      return;
    case EventKind::kLeaseRenewFailed:
      lease_renewal_failures_.Add(1);
      return;
    case EventKind::kReap:
      if (event.reap.connection_usage.has_value()) {
        std::lock_guard<std::mutex> lock(labels_mu_);
        connection_usage_ = event.reap.connection_usage;
      }
      AddLabelled(reaper_passes_, ReapOutcomeName(event.reap.outcome), 1);
      zombies_killed_.Add(event.reap.killed);
      for (const auto& [reason, n] : event.reap.skipped) {
        AddLabelled(reaper_rows_skipped_, reason, n);
      }
      return;
    case EventKind::kClientDead:
      AddLabelled(dead_clients_, event.source, 1);
      return;
    case EventKind::kClockOffset: {
      if (!event.message.empty()) clock_offset_warnings_.Add(1);
      std::lock_guard<std::mutex> lock(labels_mu_);
      clock_offset_ms_ = absl::ToDoubleMilliseconds(event.clock_offset.offset);
      return;
    }
  }
}

MetricsSnapshot Metrics::Snapshot() const {
  MetricsSnapshot m;
  m.connects = connects_.Get();
  m.reconnects = reconnects_.Get();
  m.connect_errors = connect_errors_.Get();
  m.queries = queries_.Get();
  m.query_errors = query_errors_.Get();
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    m.query_latency.counts[i] = latency_counts_[i].Get();
    m.query_latency.count += m.query_latency.counts[i];
  }
  m.query_latency.sum_ms = static_cast<double>(latency_sum_ns_.Get()) / 1e6;
  m.lease_renewals = lease_renewals_.Get();
  m.lease_renewal_failures = lease_renewal_failures_.Get();
  m.zombies_killed = zombies_killed_.Get();
  m.events_dropped = events_dropped_.load(std::memory_order_relaxed);
  m.exporter_failures = exporter_failures_.load(std::memory_order_relaxed);
  m.clock_offset_warnings = clock_offset_warnings_.Get();
  std::lock_guard<std::mutex> lock(labels_mu_);
  m.clock_offset_ms = clock_offset_ms_;
  m.connection_usage = connection_usage_;
  m.retries = retries_;
  m.reaper_passes = reaper_passes_;
  m.reaper_rows_skipped = reaper_rows_skipped_;
  m.dead_clients = dead_clients_;
  return m;
}

// ---- api/metrics.h -------------------------------------------------------

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
  return out;
}

std::vector<GaugePoint> Gauges(const MetricsSnapshot& m) {
  std::vector<GaugePoint> out;
  if (m.clock_offset_ms.has_value()) out.push_back(GaugePoint{"clock_offset_ms", *m.clock_offset_ms});
  if (m.connection_usage.has_value()) {
    out.push_back(GaugePoint{"connection_usage", *m.connection_usage});
  }
  return out;
}

}  // namespace aequor
