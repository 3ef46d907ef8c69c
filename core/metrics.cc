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
    case EventKind::kDisconnect: return;
    case EventKind::kConnect: connects_.Add(1); return;
    case EventKind::kReconnect:
      connects_.Add(1);
      reconnects_.Add(1);
      return;
    case EventKind::kConnectError: connect_errors_.Add(1); return;
    case EventKind::kRetry: AddLabelled(retries_, RetryReason(event.sqlstate), 1); return;
    case EventKind::kLeaseRenewed: lease_renewals_.Add(1); return;
    case EventKind::kLeaseRenewFailed: lease_renewal_failures_.Add(1); return;
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
      AddLabelled(dead_clients_, EventSourceName(event.source), 1);
      return;
    case EventKind::kDegraded: return;  // rare; the event itself is the report
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
  if (queue_depth_on_.load(std::memory_order_relaxed)) {
    m.exporter_queue_depth = static_cast<double>(queue_depth_.load(std::memory_order_relaxed));
  }
  std::lock_guard<std::mutex> lock(labels_mu_);
  m.clock_offset_ms = clock_offset_ms_;
  m.connection_usage = connection_usage_;
  m.retries = retries_;
  m.reaper_passes = reaper_passes_;
  m.reaper_rows_skipped = reaper_rows_skipped_;
  m.dead_clients = dead_clients_;
  if (pool_source_) m.pool = pool_source_();
  if (connection_source_) {
    const ConnectionGauges g = connection_source_();
    m.connected = static_cast<double>(g.connected);
    m.lease_seconds_left = g.lease_seconds_left;
  }
  return m;
}

}  // namespace aequor
