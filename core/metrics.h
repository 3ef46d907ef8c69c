// core/metrics.h (internal): computes the manager's metrics (api/metrics.h)
// from its events, in one place.
//
//   Metrics metrics;
//   metrics.Record(event);          // under the manager's lock, per event
//   MetricsSnapshot m = metrics.Snapshot();  // any thread
//
// Thread-safety: Record() calls must be serialised (the manager calls it
// under its lock); Snapshot(), AddDropped() and AddExporterFailures() may be
// called from any thread at any time. The hot counters are atomics written
// by the single recording thread with plain loads and stores (no locked
// instruction per query); a snapshot taken while events are being recorded
// may see one counter updated before another, never a torn value.
#ifndef AEQUOR_CORE_METRICS_H_
#define AEQUOR_CORE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/events.h"
#include "api/metrics.h"

namespace aequor {

// The retry reason label for a retry caused by `sqlstate` (api/metrics.h).
absl::string_view RetryReason(absl::string_view sqlstate);

namespace metrics_internal {
// LatencyHistogram::kBoundsMs in nanoseconds: one integer comparison per
// bucket.
constexpr std::array<int64_t, LatencyHistogram::kBoundsMs.size()> BoundsNs() {
  std::array<int64_t, LatencyHistogram::kBoundsMs.size()> ns{};
  for (size_t i = 0; i < ns.size(); ++i) {
    ns[i] = static_cast<int64_t>(LatencyHistogram::kBoundsMs[i] * 1e6);
  }
  return ns;
}
inline constexpr std::array<int64_t, LatencyHistogram::kBoundsMs.size()> kBoundsNs = BoundsNs();
}  // namespace metrics_internal

// The connection gauges of a manager or pool (MetricsSnapshot::connected,
// lease_seconds_left), as its connection source reads them.
struct ConnectionGauges {
  int64_t connected = 0;
  std::optional<double> lease_seconds_left;
};

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void Record(const Event& event);
  // What Record() does with a kQueryEnd (failed = false) or kQueryError
  // event that took `took_ns` nanoseconds; for a caller that has no event to
  // build. Inline: the query path calls it for every query.
  void RecordQuery(int64_t took_ns, bool failed) {
    queries_.Add(1);
    if (failed) query_errors_.Add(1);
    if (took_ns < 0) took_ns = 0;
    latency_counts_[BucketOf(took_ns)].Add(1);
    latency_sum_ns_.Add(took_ns);
  }
  void AddDropped(int64_t n) { events_dropped_.fetch_add(n, std::memory_order_relaxed); }
  void AddExporterFailures(int64_t n) {
    exporter_failures_.fetch_add(n, std::memory_order_relaxed);
  }

  MetricsSnapshot Snapshot() const;

  // The exporter queue's depth (EventBus): reported by Snapshot() once
  // enabled (a bus with a queued exporter that takes events). Any thread.
  void EnableQueueDepth() { queue_depth_on_.store(true, std::memory_order_relaxed); }
  void SetQueueDepth(int64_t n) { queue_depth_.store(n, std::memory_order_relaxed); }

  // A pool's metrics, read by every Snapshot() (from any thread; it must not
  // call Snapshot() itself). Null: none (a ConnectionManager).
  void SetPoolSource(std::function<PoolMetrics()> source) {
    std::lock_guard<std::mutex> lock(labels_mu_);
    pool_source_ = std::move(source);
  }
  // The connection gauges, read by every Snapshot() (from any thread; the
  // same rules as the pool source). Null: none.
  void SetConnectionSource(std::function<ConnectionGauges()> source) {
    std::lock_guard<std::mutex> lock(labels_mu_);
    connection_source_ = std::move(source);
  }

 private:
  // Written by the recording thread only.
  class Counter {
   public:
    void Add(int64_t n) {
      v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    int64_t Get() const { return v_.load(std::memory_order_relaxed); }

   private:
    std::atomic<int64_t> v_{0};
  };

  // The histogram bucket (LatencyHistogram) of a latency of `ns` >= 0.
  static size_t BucketOf(int64_t ns) {
    size_t i = 0;
    while (i < metrics_internal::kBoundsNs.size() && ns > metrics_internal::kBoundsNs[i]) ++i;
    return i;
  }

  void AddLabelled(std::map<std::string, int64_t>& family, absl::string_view label, int64_t n);

  // The per-query counters first, together (one or two cache lines).
  Counter queries_, query_errors_, latency_sum_ns_;
  Counter latency_counts_[LatencyHistogram::kBuckets];
  Counter connects_, reconnects_, connect_errors_;
  Counter lease_renewals_, lease_renewal_failures_;
  Counter zombies_killed_, clock_offset_warnings_;
  std::atomic<int64_t> events_dropped_{0};
  std::atomic<bool> queue_depth_on_{false};
  std::atomic<int64_t> queue_depth_{0};
  std::atomic<int64_t> exporter_failures_{0};

  // The labelled families change rarely (retries, reaper passes, dead
  // clients): a small lock keeps them simple.
  mutable std::mutex labels_mu_;
  std::map<std::string, int64_t> retries_;
  std::map<std::string, int64_t> reaper_passes_;
  std::map<std::string, int64_t> reaper_rows_skipped_;
  std::map<std::string, int64_t> dead_clients_;
  std::optional<double> clock_offset_ms_;
  std::optional<double> connection_usage_;
  std::function<PoolMetrics()> pool_source_;  // guarded by labels_mu_
  std::function<ConnectionGauges()> connection_source_;  // guarded by labels_mu_
};

}  // namespace aequor

#endif  // AEQUOR_CORE_METRICS_H_
