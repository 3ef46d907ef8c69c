// Exporters and metrics through a real ConnectionManager against a real
// PostgreSQL 15 (testing/postgres_environment.h).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "testing/strict_json.h"
#include "tests/core/test_exporter.h"

namespace aequor {
namespace {

using testing::ExporterProbe;
using Json = nlohmann::ordered_json;
using testing::MakeProbeExporter;
using testing::ParseStrictJson;

constexpr char kSecret[] = "exporters-secret-0123456789";
constexpr int64_t kStartMs = 1767225600000;

class ManagerExportersTest : public testing::PostgresTest<ManagerExportersTest> {
 protected:
  ConnectionManagerBuilder Builder() {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, "orders-api", kSecret);
    b.SetClock(&clock_);
    return b;
  }

  std::unique_ptr<ConnectionManager> Make(ConnectionManagerBuilder b) {
    return testing::MakeManager(std::move(b));
  }

  // 1 connect, 3 queries that succeed, 1 that fails (22012).
  static void KnownSequence(ConnectionManager& m) {
    ASSERT_TRUE(m.Connect().ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(m.Query("SELECT 1").ok());
    EXPECT_EQ(SqlState(m.Query("SELECT 1/0").status()), "22012");
  }

  testing::FakeClock clock_{absl::FromUnixMillis(kStartMs)};
};

// Runs `fn` with fd 1 sent to a pipe; returns what was written there.
template <typename Fn>
std::string CaptureStdout(Fn fn) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  fflush(stdout);
  const int saved = dup(STDOUT_FILENO);
  dup2(fds[1], STDOUT_FILENO);
  close(fds[1]);
  fn();
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);  // closes the last write end: the reader sees EOF
  close(saved);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

TEST_F(ManagerExportersTest, MetricsOfAKnownSequence) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kQueuedMetricsOnly;
  ConnectionManagerBuilder b = Builder();
  b.AddExporter(MakeProbeExporter(probe));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  KnownSequence(*m);

  MetricsSnapshot s = m->metrics();
  EXPECT_EQ(s.connects, 1);
  EXPECT_EQ(s.reconnects, 0);
  EXPECT_EQ(s.connect_errors, 0);
  EXPECT_EQ(s.queries, 4);
  EXPECT_EQ(s.query_errors, 1);
  EXPECT_EQ(s.query_latency.count, 4);
  EXPECT_EQ(s.query_latency.counts[0], 4) << "the fake clock never moves: 0 ms each";
  EXPECT_TRUE(s.retries.empty());
  EXPECT_EQ(s.events_dropped, 0);
  EXPECT_EQ(s.exporter_failures, 0);

  // A Flush hands the exporter the same numbers, then flushes it.
  ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());
  std::lock_guard<std::mutex> lock(probe->mu);
  ASSERT_FALSE(probe->metrics.empty());
  EXPECT_EQ(probe->metrics.back().queries, 4);
  EXPECT_EQ(probe->metrics.back().connects, 1);
  EXPECT_EQ(probe->calls.back(), "flush");
  EXPECT_EQ(probe->export_calls, 0) << "a metrics-only exporter is sent no events";
}

TEST_F(ManagerExportersTest, ReconnectsAfterAKilledConnectionAndDeadClientsAreCounted) {
  auto probe = std::make_shared<ExporterProbe>();
  ConnectionManagerBuilder b = Builder();
  b.AddExporter(MakeProbeExporter(probe));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  absl::StatusOr<QueryResult> pid = m->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(
      server_->AdminQuery(absl::StrCat("SELECT pg_terminate_backend(", pid->Get(0, 0), ")")).ok());
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<std::string> n = server_->AdminQuery(
        absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE pid = ", pid->Get(0, 0)));
    if (n.ok() && *n == "0") break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  clock_.Advance(absl::Seconds(10));  // a warm invocation: the thaw check runs
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  MetricsSnapshot s = m->metrics();
  EXPECT_EQ(s.connects, 2);
  EXPECT_EQ(s.reconnects, 1);
  EXPECT_EQ(s.dead_clients, (std::map<std::string, int64_t>{{"thaw_check", 1}}));
  EXPECT_EQ(s.queries, 2);
}

TEST_F(ManagerExportersTest, ConnectErrorsAndRetriesByReason) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kQueuedMetricsOnly;
  ConnectionManagerBuilder b = Builder();
  b.SetConninfo("host=127.0.0.1 port=1 dbname=x user=x")
      .UseRetryPolicy(PluginSpec("aequor.retry.decorrelated_jitter", {{"retries", "2"}}))
      .AddExporter(MakeProbeExporter(probe));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  EXPECT_EQ(m->Connect().code(), absl::StatusCode::kUnavailable);
  MetricsSnapshot s = m->metrics();
  // Connects are retried until connect_budget (beyond the policy's 2
  // retries), each retry counted under its reason.
  EXPECT_GT(s.connect_errors, 3);
  EXPECT_EQ(s.connects, 0);
  EXPECT_EQ(s.retries,
            (std::map<std::string, int64_t>{{"connection", s.connect_errors - 1}}));
}

TEST_F(ManagerExportersTest, TheLatencyHistogramWithTheRealClock) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kQueuedMetricsOnly;
  ConnectionManagerBuilder b = Builder();
  b.SetClock(Clock::Real()).AddExporter(MakeProbeExporter(probe));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  ASSERT_TRUE(m->Connect().ok());
  ASSERT_TRUE(m->Query("SELECT pg_sleep(0.03)").ok());
  MetricsSnapshot s = m->metrics();
  EXPECT_EQ(s.query_latency.count, 1);
  EXPECT_GE(s.query_latency.sum_ms, 30);
  int64_t slow = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    if (i >= 7) slow += s.query_latency.counts[i];  // above 25 ms
  }
  EXPECT_EQ(slow, 1);
}

TEST_F(ManagerExportersTest, TheConnectionGaugesFollowTheConnectionAndItsLease) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  const double ttl_s = absl::ToDoubleSeconds(ManagerOptions().lease_ttl);
  MetricsSnapshot s = m->metrics();
  EXPECT_EQ(s.connected, std::optional<double>(0));
  EXPECT_EQ(s.lease_seconds_left, std::nullopt) << "no connection, no lease";

  ASSERT_TRUE(m->Connect().ok());
  s = m->metrics();
  EXPECT_EQ(s.connected, std::optional<double>(1));
  EXPECT_EQ(s.lease_seconds_left, std::optional<double>(ttl_s));
  // The lease runs down while nothing happens (a frozen process's would).
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(m->metrics().lease_seconds_left, std::optional<double>(ttl_s - 2));
  clock_.Advance(ManagerOptions().lease_ttl);
  EXPECT_EQ(m->metrics().lease_seconds_left, std::optional<double>(-2)) << "ran out 2 s ago";
  // A call renews it (a blocking renewal: it ran out).
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_EQ(m->metrics().lease_seconds_left, std::optional<double>(ttl_s));

  m->Close();
  s = m->metrics();
  EXPECT_EQ(s.connected, std::optional<double>(0));
  EXPECT_EQ(s.lease_seconds_left, std::nullopt);
}

TEST_F(ManagerExportersTest, WithoutLeasesThereIsNoLeaseGauge) {
  ConnectionManagerBuilder b;
  b.SetConninfo(server_->ConninfoFor("aequor_app")).SetLeaseMode(LeaseMode::kOptional);
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  ASSERT_FALSE(m->leases_enabled());
  ASSERT_TRUE(m->Connect().ok());
  MetricsSnapshot s = m->metrics();
  EXPECT_EQ(s.connected, std::optional<double>(1));
  EXPECT_EQ(s.lease_seconds_left, std::nullopt);
}

TEST_F(ManagerExportersTest, TheEmfExporterWritesOneLinePerFlushWithTheDeltas) {
  ConnectionManagerBuilder b = Builder();
  b.AddExporter(
      PluginSpec("aequor.exporter.emf", {{"namespace", "aequor-test"}, {"function", "orders-fn"}}));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  KnownSequence(*m);
  std::string first = CaptureStdout([&] { EXPECT_TRUE(m->Flush(absl::Seconds(5)).ok()); });
  clock_.Advance(absl::Milliseconds(250));
  ASSERT_TRUE(m->Query("SELECT 2").ok());
  std::string second = CaptureStdout([&] { EXPECT_TRUE(m->Flush(absl::Seconds(5)).ok()); });
  std::string third = CaptureStdout([&] { EXPECT_TRUE(m->Flush(absl::Seconds(5)).ok()); });

  ASSERT_TRUE(absl::EndsWith(first, "\n")) << first;
  ASSERT_EQ(std::count(first.begin(), first.end(), '\n'), 1) << first;
  absl::StatusOr<Json> doc = ParseStrictJson(first);
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << first;
  const Json& aws = doc->at("_aws");
  EXPECT_EQ(aws.at("Timestamp").get<double>(), kStartMs);
  ASSERT_EQ(aws.at("CloudWatchMetrics").size(), 1u);
  const Json& directive = aws.at("CloudWatchMetrics").at(0);
  EXPECT_EQ(directive.at("Namespace").get<std::string>(), "aequor-test");
  ASSERT_EQ(directive.at("Dimensions").size(), 1u);
  ASSERT_EQ(directive.at("Dimensions").at(0).size(), 2u);
  EXPECT_EQ(directive.at("Dimensions").at(0).at(0).get<std::string>(), "Service");
  EXPECT_EQ(directive.at("Dimensions").at(0).at(1).get<std::string>(), "Function");
  EXPECT_EQ(doc->at("Service").get<std::string>(), "orders-api");
  EXPECT_EQ(doc->at("Function").get<std::string>(), "orders-fn");
  EXPECT_EQ(doc->at("Instance").get<std::string>(), m->instance());
  std::map<std::string, std::string> units;
  for (const Json& def : directive.at("Metrics")) {
    units[def.at("Name").get<std::string>()] = def.at("Unit").get<std::string>();
  }
  EXPECT_EQ(units["Connects"], "Count");
  EXPECT_EQ(units["Queries"], "Count");
  EXPECT_EQ(units["QueryLatencySum"], "Milliseconds");
  EXPECT_EQ(units["QueryLatency"], "Milliseconds");
  EXPECT_EQ(units["Connected"], "None");
  EXPECT_EQ(units["LeaseSecondsLeft"], "Seconds");
  EXPECT_EQ(doc->at("Connects").get<double>(), 1);
  EXPECT_EQ(doc->at("Reconnects").get<double>(), 0);
  EXPECT_EQ(doc->at("ConnectErrors").get<double>(), 0);
  EXPECT_EQ(doc->at("Queries").get<double>(), 4);
  EXPECT_EQ(doc->at("QueryErrors").get<double>(), 1);
  // The fake clock does not move during a query: every latency is 0.
  EXPECT_EQ(doc->at("QueryLatency").at("Values"), Json::parse("[0.125]"));
  EXPECT_EQ(doc->at("QueryLatency").at("Counts"), Json::parse("[4]"));
  EXPECT_EQ(doc->at("QueryLatency").at("Count").get<double>(), 4);
  EXPECT_EQ(doc->at("Connected").get<double>(), 1);
  EXPECT_EQ(doc->at("LeaseSecondsLeft").get<double>(),
            absl::ToDoubleSeconds(ManagerOptions().lease_ttl));
  EXPECT_EQ(doc->at("EventsDropped").get<double>(), 0);

  absl::StatusOr<Json> next = ParseStrictJson(second);
  ASSERT_TRUE(next.ok()) << next.status() << "\n" << second;
  EXPECT_EQ(next->at("_aws").at("Timestamp").get<double>(), kStartMs + 250);
  EXPECT_EQ(next->at("Queries").get<double>(), 1) << "a delta since the previous line";
  EXPECT_EQ(next->at("Connects").get<double>(), 0);
  EXPECT_EQ(next->at("QueryErrors").get<double>(), 0);
  EXPECT_EQ(third, "") << "nothing happened since: no line";

  // Nothing secret in what was written.
  for (const std::string& out : {first, second}) {
    EXPECT_FALSE(absl::StrContains(out, kSecret));
    EXPECT_FALSE(absl::StrContains(out, "password"));
    EXPECT_FALSE(absl::StrContains(out, "SELECT"));
  }
}

TEST_F(ManagerExportersTest, ABlockedExporterNeverStallsQueriesAndOverflowIsCounted) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->block_export = true;
  ConnectionManagerBuilder b = Builder();
  b.mutable_options().exporter_queue_capacity = 16;
  b.AddExporter(MakeProbeExporter(probe));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  // The dispatcher takes those events and blocks in Export().
  EXPECT_EQ(m->Flush(absl::Milliseconds(50)).code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(probe->WaitForExports(1, absl::Seconds(5)));

  const absl::Time start = absl::Now();
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<QueryResult> r = m->Query("SELECT $1::int", {i});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->Get(0, 0), absl::StrCat(i));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  MetricsSnapshot s = m->metrics();
  EXPECT_EQ(s.queries, 201);
  EXPECT_EQ(s.events_dropped, 400 - 16) << "2 events per query; 16 fit in the queue";

  // A Flush gives up on time and does not hang...
  const absl::Time flush_start = absl::Now();
  absl::Status flushed = m->Flush(absl::Milliseconds(100));
  EXPECT_EQ(flushed.code(), absl::StatusCode::kDeadlineExceeded) << flushed;
  EXPECT_TRUE(absl::StrContains(flushed.message(), "exporter #0 is still busy")) << flushed;
  EXPECT_LT(absl::Now() - flush_start, absl::Seconds(2));

  // ...and while one waits, other threads' queries go on.
  std::atomic<bool> flush_done{false};
  std::thread flusher([&] {
    (void)m->Flush(absl::Seconds(3));
    flush_done = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_FALSE(flush_done.load()) << "the query did not wait for the flush";
  probe->Release();
  flusher.join();
  EXPECT_TRUE(m->Flush(absl::Seconds(5)).ok());
  // The first events, then what fitted in the queue.
  std::vector<std::string> kinds = probe->Kinds();
  ASSERT_EQ(kinds.size(), 3u + 16u) << "the query during the flush found the queue full";
  EXPECT_EQ(kinds[0], "connect:");
  EXPECT_EQ(kinds[1], "query_start:SELECT 1");
  EXPECT_EQ(kinds[2], "query_end:SELECT 1");
  EXPECT_EQ(kinds[3], "query_start:SELECT $1::int");
  EXPECT_EQ(kinds[18], "query_end:SELECT $1::int") << "then the 16 that fitted";
  EXPECT_EQ(m->metrics().events_dropped, 400 - 16 + 2);
}

// A kOnFlushOnly exporter (emf, metrics only) is flushed on the thread that
// calls Flush(), but outside the manager's lock: a flush stuck in it never
// stalls another thread's query.
TEST_F(ManagerExportersTest, AFlushBlockedInASynchronousMetricsOnlyExporterNeverStallsQueries) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kOnFlushOnly;
  probe->block_flush = true;
  ConnectionManagerBuilder b = Builder();
  b.AddExporter(MakeProbeExporter(probe));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  std::atomic<bool> flush_done{false};
  std::thread flusher([&] {
    EXPECT_TRUE(m->Flush(absl::Seconds(30)).ok());
    flush_done = true;
  });
  ASSERT_TRUE(probe->WaitFor(
      [&] { return std::count(probe->calls.begin(), probe->calls.end(), "flush") == 1; },
      absl::Seconds(10)));
  // On another thread, so that a query stuck behind the flush fails the
  // test instead of hanging it.
  std::mutex mu;
  std::condition_variable cv;
  int ok_queries = 0;
  std::thread querier([&] {
    for (int i = 0; i < 20; ++i) {
      const bool ok = m->Query("SELECT 1").ok();
      std::lock_guard<std::mutex> lock(mu);
      ok_queries += ok;
      cv.notify_all();
    }
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return ok_queries == 20; }))
        << ok_queries << " of 20 queries ran while the flush was blocked";
  }
  EXPECT_FALSE(flush_done.load());
  probe->Release();
  querier.join();
  flusher.join();
  EXPECT_TRUE(flush_done.load());
  EXPECT_EQ(m->metrics().queries, 21);
  std::lock_guard<std::mutex> lock(probe->mu);
  EXPECT_EQ(probe->export_calls, 0);
  EXPECT_EQ(probe->metrics.back().queries, 1) << "the metrics as of the Flush() call";
}

TEST_F(ManagerExportersTest, DestroyingAManagerWhoseExporterIsBlockedReturns) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->block_export = true;
  const absl::Time start = absl::Now();
  {
    ConnectionManagerBuilder b = Builder();
    b.AddExporter(MakeProbeExporter(probe));
    std::unique_ptr<ConnectionManager> m = Make(std::move(b));
    ASSERT_TRUE(m->Query("SELECT 1").ok());
    (void)m->Flush(absl::Milliseconds(1));
    ASSERT_TRUE(probe->WaitForExports(1, absl::Seconds(5)));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "shutdown waits 1 s, then gives up";
  probe->Release();
}

TEST_F(ManagerExportersTest, CallbacksSelectedQueuedRunOnTheDispatcherAndFlushWaitsForThem) {
  std::vector<std::string> seen;  // written by the dispatcher, read after Flush
  std::atomic<bool> on_caller_thread{false};
  const std::thread::id caller = std::this_thread::get_id();
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    seen.push_back(absl::StrCat(EventKindName(e.kind), ":", e.sql));
    if (std::this_thread::get_id() == caller) on_caller_thread = true;
  };
  ConnectionManagerBuilder b = Builder();
  b.AddExporter(PluginSpec("aequor.exporter.callback", {{"delivery", "queued"}}))
      .SetHooks(std::move(hooks));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());
  EXPECT_EQ(seen,
            (std::vector<std::string>{"connect:", "query_start:SELECT 1", "query_end:SELECT 1"}));
  EXPECT_FALSE(on_caller_thread.load());
}

TEST_F(ManagerExportersTest, EveryEventOfACallCarriesItsLabel) {
  std::vector<std::string> seen;  // "kind:label", on the caller's thread
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    seen.push_back(absl::StrCat(EventKindName(e.kind), ":", e.label));
  };
  ConnectionManagerBuilder b = Builder();
  b.SetHooks(std::move(hooks));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  QueryOptions request;
  request.label = "req-42";
  ASSERT_TRUE(m->Query("SELECT 1", {}, request).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"connect:req-42", "query_start:req-42",
                                            "query_end:req-42"}));
  seen.clear();
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"query_start:", "query_end:"})) << "none given";

  seen.clear();
  TransactionOptions checkout;
  checkout.label = "checkout";
  ASSERT_TRUE(m->RunTransaction(
                    [](Transaction& tx) { return tx.Query("SELECT 2").status(); }, checkout)
                  .ok());
  ASSERT_FALSE(seen.empty());
  for (const std::string& s : seen) EXPECT_TRUE(absl::EndsWith(s, ":checkout")) << s;
  EXPECT_NE(std::find(seen.begin(), seen.end(), "query_end:checkout"), seen.end());
}

TEST_F(ManagerExportersTest, ThrowingCallbacksAreCountedAsExporterFailures) {
  CallbackHooks hooks;
  hooks.on_query_end = [](const Event&) { throw std::runtime_error("boom"); };
  ConnectionManagerBuilder b = Builder();
  b.SetHooks(std::move(hooks));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_EQ(m->metrics().exporter_failures, 2);
  EXPECT_EQ(m->metrics().queries, 2);
}

TEST_F(ManagerExportersTest, WithoutExportersNoMetricsAreKept) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_EQ(m->metrics().queries, 0);
  EXPECT_TRUE(m->Flush(absl::Seconds(1)).ok());
}

TEST_F(ManagerExportersTest, BadExporterOptionsFailTheBuildNamingTheOption) {
  ConnectionManagerBuilder b = Builder();
  b.mutable_options().exporter_queue_capacity = 0;
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(m.status().message(), "exporter_queue_capacity")) << m.status();

  ConnectionManagerBuilder c = Builder();
  c.mutable_options().exporter_interval = absl::Milliseconds(1);
  m = c.Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(m.status().message(), "exporter_interval")) << m.status();

  ConnectionManagerBuilder d = Builder();
  d.AddExporter(PluginSpec("aequor.exporter.emf", {{"stream", "file"}}));
  m = d.Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(m.status().message(), "exporters[0]: aequor.exporter.emf"))
      << m.status();
}

}  // namespace
}  // namespace aequor
