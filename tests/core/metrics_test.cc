// The metrics computed from events (core/metrics.h, api/metrics.h).
#include "core/metrics.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

Event Make(EventKind kind) {
  Event e;
  e.kind = kind;
  return e;
}

Event Query(EventKind kind, absl::Duration took) {
  Event e = Make(kind);
  e.duration = took;
  return e;
}

TEST(Metrics, CountsAKnownSequence) {
  Metrics m;
  m.Record(Make(EventKind::kConnectError));
  m.Record(Make(EventKind::kConnect));
  m.Record(Make(EventKind::kQueryStart));
  m.Record(Query(EventKind::kQueryEnd, absl::Microseconds(100)));
  m.Record(Query(EventKind::kQueryEnd, absl::Milliseconds(3)));
  m.Record(Query(EventKind::kQueryError, absl::Milliseconds(30)));
  m.Record(Make(EventKind::kReconnect));
  m.Record(Make(EventKind::kLeaseRenewed));
  m.Record(Make(EventKind::kLeaseRenewed));
  m.Record(Make(EventKind::kLeaseRenewFailed));
  m.Record(Make(EventKind::kDisconnect));
  MetricsSnapshot s = m.Snapshot();
  EXPECT_EQ(s.connects, 2);
  EXPECT_EQ(s.reconnects, 1);
  EXPECT_EQ(s.connect_errors, 1);
  EXPECT_EQ(s.queries, 3) << "ends and errors, not starts";
  EXPECT_EQ(s.query_errors, 1);
  EXPECT_EQ(s.lease_renewals, 2);
  EXPECT_EQ(s.lease_renewal_failures, 1);
  EXPECT_EQ(s.query_latency.count, 3);
  EXPECT_DOUBLE_EQ(s.query_latency.sum_ms, 33.1);
  EXPECT_EQ(s.query_latency.counts[0], 1);  // <= 0.25 ms
  EXPECT_EQ(s.query_latency.counts[4], 1);  // (2.5, 5] ms
  EXPECT_EQ(s.query_latency.counts[7], 1);  // (25, 50] ms
}

TEST(Metrics, HistogramBucketBoundsAreInclusiveUpperBounds) {
  const auto& bounds = LatencyHistogram::kBoundsMs;
  ASSERT_EQ(LatencyHistogram::kBuckets, bounds.size() + 1);
  for (size_t i = 0; i < bounds.size(); ++i) {
    Metrics m;
    const absl::Duration bound = absl::Nanoseconds(static_cast<int64_t>(bounds[i] * 1e6));
    m.Record(Query(EventKind::kQueryEnd, bound));
    m.Record(Query(EventKind::kQueryEnd, bound + absl::Nanoseconds(1)));
    MetricsSnapshot s = m.Snapshot();
    EXPECT_EQ(s.query_latency.counts[i], 1) << "at the bound " << bounds[i] << " ms";
    EXPECT_EQ(s.query_latency.counts[i + 1], 1) << "just above " << bounds[i] << " ms";
  }
  Metrics m;
  m.Record(Query(EventKind::kQueryEnd, absl::Minutes(5)));
  m.Record(Query(EventKind::kQueryEnd, -absl::Seconds(1)));  // a clock oddity counts as 0
  MetricsSnapshot s = m.Snapshot();
  EXPECT_EQ(s.query_latency.counts.back(), 1);
  EXPECT_EQ(s.query_latency.counts.front(), 1);
}

TEST(Metrics, RetriesAreCountedByReason) {
  EXPECT_EQ(RetryReason("53300"), "too_many_connections");
  EXPECT_EQ(RetryReason("57P03"), "server_starting");
  EXPECT_EQ(RetryReason("40001"), "serialization_failure");
  EXPECT_EQ(RetryReason("40P01"), "deadlock");
  EXPECT_EQ(RetryReason(""), "connection");
  EXPECT_EQ(RetryReason("08006"), "connection");
  EXPECT_EQ(RetryReason("XX000"), "other");
  Metrics m;
  for (const char* sqlstate : {"53300", "53300", "", "40001"}) {
    Event e = Make(EventKind::kRetry);
    e.sqlstate = sqlstate;
    m.Record(e);
  }
  MetricsSnapshot s = m.Snapshot();
  EXPECT_EQ(s.retries,
            (std::map<std::string, int64_t>{
                {"connection", 1}, {"serialization_failure", 1}, {"too_many_connections", 2}}));
}

TEST(Metrics, ReaperPassesZombiesSkippedRowsAndDeadClients) {
  Metrics m;
  Event pass = Make(EventKind::kReap);
  pass.reap.outcome = ReapOutcome::kCompleted;
  pass.reap.killed = 3;
  pass.reap.skipped = {{"not_expired", 4}, {"bad_tag", 1}};
  m.Record(pass);
  pass.reap.killed = 1;
  pass.reap.skipped = {{"not_expired", 2}};
  m.Record(pass);
  Event busy = Make(EventKind::kReap);
  busy.reap.outcome = ReapOutcome::kBusy;
  m.Record(busy);
  Event error = Make(EventKind::kReap);
  error.reap.outcome = ReapOutcome::kError;
  m.Record(error);
  for (EventSource source : {EventSource::kThawCheck, EventSource::kThawCheck, EventSource::kQuery,
                             EventSource::kNone}) {
    Event dead = Make(EventKind::kClientDead);
    dead.source = source;
    m.Record(dead);
  }
  MetricsSnapshot s = m.Snapshot();
  EXPECT_EQ(s.reaper_passes,
            (std::map<std::string, int64_t>{{"busy", 1}, {"completed", 2}, {"error", 1}}));
  EXPECT_EQ(s.zombies_killed, 4);
  EXPECT_EQ(s.reaper_rows_skipped,
            (std::map<std::string, int64_t>{{"bad_tag", 1}, {"not_expired", 6}}));
  EXPECT_EQ(s.dead_clients,
            (std::map<std::string, int64_t>{{"query", 1}, {"thaw_check", 2}, {"unknown", 1}}));
}

TEST(Metrics, DroppedEventsAndExporterFailuresAddUpFromAnyThread) {
  Metrics m;
  m.AddDropped(3);
  m.AddDropped(2);
  m.AddExporterFailures(1);
  MetricsSnapshot s = m.Snapshot();
  EXPECT_EQ(s.events_dropped, 5);
  EXPECT_EQ(s.exporter_failures, 1);
}

TEST(Metrics, DeltaSubtractsCounterByCounterAndKeepsNewLabels) {
  Metrics m;
  m.Record(Make(EventKind::kConnect));
  m.Record(Query(EventKind::kQueryEnd, absl::Milliseconds(2)));
  Event retry = Make(EventKind::kRetry);
  m.Record(retry);
  MetricsSnapshot before = m.Snapshot();
  m.Record(Query(EventKind::kQueryEnd, absl::Milliseconds(2)));
  m.Record(Query(EventKind::kQueryError, absl::Milliseconds(40)));
  retry.sqlstate = "40P01";
  m.Record(retry);
  MetricsSnapshot d = MetricsDelta(m.Snapshot(), before);
  EXPECT_EQ(d.connects, 0);
  EXPECT_EQ(d.queries, 2);
  EXPECT_EQ(d.query_errors, 1);
  EXPECT_EQ(d.query_latency.count, 2);
  EXPECT_DOUBLE_EQ(d.query_latency.sum_ms, 42);
  EXPECT_EQ(d.query_latency.counts[3], 1);  // (1, 2.5] ms
  EXPECT_EQ(d.query_latency.counts[7], 1);  // (25, 50] ms
  EXPECT_EQ(d.retries, (std::map<std::string, int64_t>{{"connection", 0}, {"deadlock", 1}}));
}

TEST(Metrics, CountersListsEveryCounterInAFixedOrder) {
  MetricsSnapshot s;
  s.connects = 1;
  s.retries = {{"deadlock", 2}};
  s.dead_clients = {{"query", 3}};
  std::vector<std::string> seen;
  for (const CounterPoint& c : Counters(s)) {
    seen.push_back(c.label_key.empty()
                       ? absl::StrCat(c.name, "=", c.value)
                       : absl::StrCat(c.name, "{", c.label_key, "=", c.label_value, "}=", c.value));
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{
                "connects=1", "reconnects=0", "connect_errors=0", "retries{reason=deadlock}=2",
                "queries=0", "query_errors=0", "lease_renewals=0", "lease_renewal_failures=0",
                "zombies_killed=0", "dead_clients{source=query}=3", "events_dropped=0",
                "exporter_failures=0", "clock_offset_warnings=0"}));
}

TEST(Metrics, GaugesListOnlyTheGaugesThatHaveAValue) {
  MetricsSnapshot s;
  EXPECT_TRUE(Gauges(s).empty());
  s.connection_usage = 0.5;
  std::vector<GaugePoint> g = Gauges(s);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].name, "connection_usage");
  EXPECT_EQ(g[0].value, 0.5);
  s.clock_offset_ms = -3.5;
  g = Gauges(s);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].name, "clock_offset_ms");
  EXPECT_EQ(g[0].value, -3.5);
}

TEST(Metrics, AClockOffsetEventSetsTheGaugeAndAWarningCountsOnce) {
  Metrics m;
  Event e;
  e.kind = EventKind::kClockOffset;
  e.clock_offset = ClockOffset{absl::Milliseconds(12), absl::Microseconds(50)};
  m.Record(e);
  EXPECT_EQ(m.Snapshot().clock_offset_ms, 12.0);
  EXPECT_EQ(m.Snapshot().clock_offset_warnings, 0);
  e.clock_offset.offset = absl::Milliseconds(-250);
  e.message = "this host's clock is 250ms ahead of the server's";
  m.Record(e);
  EXPECT_EQ(m.Snapshot().clock_offset_ms, -250.0);
  EXPECT_EQ(m.Snapshot().clock_offset_warnings, 1);
  // A delta carries a gauge's current value.
  EXPECT_EQ(MetricsDelta(m.Snapshot(), m.Snapshot()).clock_offset_ms, -250.0);
}

}  // namespace
}  // namespace aequor
