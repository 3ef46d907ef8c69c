// The bounded queue and the dispatcher (core/event_bus.h), without a server.
#include "core/event_bus.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/core/test_exporter.h"

namespace aequor {
namespace {

using testing::ExporterProbe;
using testing::MakeProbeExporter;

Event QueryEnd(absl::string_view sql, absl::Duration took = absl::Milliseconds(1)) {
  Event e;
  e.kind = EventKind::kQueryEnd;
  e.sql = std::string(sql);
  e.duration = took;
  return e;
}

std::vector<std::unique_ptr<HookExporter>> One(std::shared_ptr<ExporterProbe> probe) {
  std::vector<std::unique_ptr<HookExporter>> v;
  v.push_back(MakeProbeExporter(std::move(probe)));
  return v;
}

EventBusOptions Capacity(size_t n) {
  EventBusOptions o;
  o.queue_capacity = n;
  return o;
}

// `threads` threads each Emit() and flush `rounds` times, Emit/StartFlush
// under one lock (as the manager's), FinishFlush outside it. Returns how
// many flushes succeeded.
int EmitAndFlushFromThreads(EventBus& bus, int threads, int rounds) {
  std::mutex caller_lock;
  std::atomic<int> ok{0};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        EventBus::FlushTicket ticket;
        {
          std::lock_guard<std::mutex> lock(caller_lock);
          bus.Emit(QueryEnd("q"));
          ticket = bus.StartFlush(absl::Seconds(10));
        }
        ok += bus.FinishFlush(ticket).ok();
      }
    });
  }
  for (std::thread& t : running) t.join();
  return ok.load();
}

TEST(EventBus, NoQueueNoQueueDepthGauge) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kSynchronous;
  EventBus bus(One(probe));
  bus.Emit(QueryEnd("q"));
  EXPECT_FALSE(bus.metrics().exporter_queue_depth.has_value());
}

TEST(EventBus, WithoutExportersNothingIsObserved) {
  EventBus bus({});
  EXPECT_FALSE(bus.observed());
  EXPECT_FALSE(bus.streaming());
  EXPECT_TRUE(bus.Flush(absl::Milliseconds(10)).ok());
}

TEST(EventBus, AQueuedExporterGetsEveryEventInOrderByFlush) {
  auto probe = std::make_shared<ExporterProbe>();
  EventBus bus(One(probe));
  EXPECT_TRUE(bus.observed());
  EXPECT_TRUE(bus.streaming());
  for (int i = 0; i < 100; ++i) bus.Emit(QueryEnd(absl::StrCat("q", i)));
  ASSERT_TRUE(bus.Flush(absl::Seconds(5)).ok());
  std::vector<std::string> kinds = probe->Kinds();
  ASSERT_EQ(kinds.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(kinds[i], absl::StrCat("query_end:q", i));
  std::lock_guard<std::mutex> lock(probe->mu);
  // Delivered by the dispatcher, not by the thread that emitted.
  for (std::thread::id t : probe->export_threads) EXPECT_NE(t, std::this_thread::get_id());
  // Flush: the events, then the metrics, then Flush().
  ASSERT_GE(probe->calls.size(), 3u);
  EXPECT_EQ(probe->calls[probe->calls.size() - 2], "metrics");
  EXPECT_EQ(probe->calls.back(), "flush");
  EXPECT_EQ(probe->metrics.back().queries, 100);
}

TEST(EventBus, ASynchronousExporterRunsOnTheCallersThreadBeforeEmitReturns) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kSynchronous;
  EventBus bus(One(probe));
  bus.Emit(QueryEnd("SELECT 1"));
  std::lock_guard<std::mutex> lock(probe->mu);
  ASSERT_EQ(probe->kinds.size(), 1u);
  EXPECT_EQ(probe->export_threads[0], std::this_thread::get_id());
}

TEST(EventBus, ABlockedExporterNeverStallsEmitAndOverflowIsDroppedAndCounted) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->block_export = true;
  constexpr size_t kCapacity = 64;
  EventBus bus(One(probe), Capacity(kCapacity));

  // The dispatcher takes the first event and blocks in Export().
  bus.Emit(QueryEnd("first"));
  absl::Status s = bus.Flush(absl::Milliseconds(50));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  ASSERT_TRUE(probe->WaitForExports(1, absl::Seconds(5)));

  // Meanwhile the caller never waits: the queue fills, then drops.
  const absl::Time start = absl::Now();
  for (size_t i = 0; i < kCapacity + 10; ++i) bus.Emit(QueryEnd(absl::StrCat("q", i)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(bus.events_dropped(), 10);
  EXPECT_EQ(bus.metrics().events_dropped, 10);
  EXPECT_EQ(bus.metrics().queries, static_cast<int64_t>(kCapacity) + 11)
      << "metrics count every event, delivered or not";

  // The queue's depth is a gauge: full now, empty once delivered.
  ASSERT_TRUE(bus.metrics().exporter_queue_depth.has_value());
  EXPECT_EQ(*bus.metrics().exporter_queue_depth, static_cast<double>(kCapacity));
  bool listed = false;
  for (const GaugePoint& g : Gauges(bus.metrics())) listed |= g.name == "exporter_queue_depth";
  EXPECT_TRUE(listed);

  probe->Release();
  ASSERT_TRUE(bus.Flush(absl::Seconds(5)).ok());
  EXPECT_EQ(*bus.metrics().exporter_queue_depth, 0);
  std::vector<std::string> kinds = probe->Kinds();
  ASSERT_EQ(kinds.size(), kCapacity + 1);
  EXPECT_EQ(kinds.front(), "query_end:first");
  EXPECT_EQ(kinds.back(), absl::StrCat("query_end:q", kCapacity - 1)) << "the newest are dropped";
}

TEST(EventBus, FlushWithATimeoutReturnsDeadlineExceededNamingTheBusyExporterAndDoesNotHang) {
  auto fine = std::make_shared<ExporterProbe>();
  auto stuck = std::make_shared<ExporterProbe>();
  stuck->block_export = true;
  std::vector<std::unique_ptr<HookExporter>> exporters;
  exporters.push_back(MakeProbeExporter(fine));
  exporters.push_back(MakeProbeExporter(stuck));
  EventBus bus(std::move(exporters));
  bus.Emit(QueryEnd("SELECT 1"));
  const absl::Time start = absl::Now();
  absl::Status s = bus.Flush(absl::Milliseconds(100));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "exporter #1 is still busy")) << s;
  EXPECT_GE(took, absl::Milliseconds(100));
  EXPECT_LT(took, absl::Seconds(2));
  // A second flush while it is still stuck times out too, on its own clock.
  EXPECT_EQ(bus.Flush(absl::Milliseconds(20)).code(), absl::StatusCode::kDeadlineExceeded);
  stuck->Release();
  EXPECT_TRUE(bus.Flush(absl::Seconds(5)).ok());
  EXPECT_EQ(fine->Kinds(), (std::vector<std::string>{"query_end:SELECT 1"}));
}

TEST(EventBus, AThrowingExporterIsCountedAndTheOthersStillGetTheirEvents) {
  auto thrower = std::make_shared<ExporterProbe>();
  thrower->throw_in_export = true;
  auto sync_thrower = std::make_shared<ExporterProbe>();
  sync_thrower->delivery = HookExporter::Delivery::kSynchronous;
  sync_thrower->throw_in_export = true;
  auto fine = std::make_shared<ExporterProbe>();
  std::vector<std::unique_ptr<HookExporter>> exporters;
  exporters.push_back(MakeProbeExporter(thrower));
  exporters.push_back(MakeProbeExporter(sync_thrower));
  exporters.push_back(MakeProbeExporter(fine));
  EventBus bus(std::move(exporters));
  bus.Emit(QueryEnd("a"));
  bus.Emit(QueryEnd("b"));
  ASSERT_TRUE(bus.Flush(absl::Seconds(5)).ok());
  EXPECT_EQ(fine->Kinds(), (std::vector<std::string>{"query_end:a", "query_end:b"}));
  EXPECT_EQ(sync_thrower->Kinds().size(), 2u);
  // Two synchronous throws (one per event) and at least one queued batch.
  EXPECT_GE(bus.exporter_failures(), 3);
}

TEST(EventBus, AFailedFlushIsReturnedAndCounted) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->flush_status = absl::UnavailableError("sink gone");
  EventBus bus(One(probe));
  absl::Status s = bus.Flush(absl::Seconds(5));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(bus.exporter_failures(), 1);
}

TEST(EventBus, AMetricsOnlyExporterIsSentNoEventsButTheMetricsOfEachFlush) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kQueuedMetricsOnly;
  EventBus bus(One(probe));
  EXPECT_TRUE(bus.observed());
  EXPECT_FALSE(bus.streaming()) << "metrics alone need no event details";
  bus.Emit(QueryEnd("a"));
  bus.Emit(QueryEnd("b", absl::Seconds(20)));
  ASSERT_TRUE(bus.Flush(absl::Seconds(5)).ok());
  std::lock_guard<std::mutex> lock(probe->mu);
  EXPECT_EQ(probe->export_calls, 0);
  ASSERT_FALSE(probe->metrics.empty());
  EXPECT_EQ(probe->metrics.back().queries, 2);
  EXPECT_EQ(probe->metrics.back().query_latency.counts.back(), 1);
}

// emf's kind: kOnFlushOnly (metrics only). Never called on the query path, no
// dispatcher thread, flushed on the thread that flushes.
TEST(EventBus, ASynchronousMetricsOnlyExporterIsCalledOnlyByFlushOnTheCallersThread) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kOnFlushOnly;
  EventBusOptions options;
  options.interval = absl::Milliseconds(1);  // a dispatcher would wake at once
  EventBus bus(One(probe), options);
  EXPECT_TRUE(bus.observed());
  EXPECT_FALSE(bus.streaming());
  bus.Emit(QueryEnd("a"));
  bus.Emit(QueryEnd("b"));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(probe->Kinds().empty());
  {
    std::lock_guard<std::mutex> lock(probe->mu);
    EXPECT_TRUE(probe->calls.empty()) << "called before any Flush: " << probe->calls[0];
  }
  ASSERT_TRUE(bus.Flush(absl::Seconds(5)).ok());
  std::lock_guard<std::mutex> lock(probe->mu);
  EXPECT_EQ(probe->calls, (std::vector<std::string>{"metrics", "flush"}));
  ASSERT_EQ(probe->metrics.size(), 1u);
  EXPECT_EQ(probe->metrics[0].queries, 2);
  for (std::thread::id t : probe->flush_threads) EXPECT_EQ(t, std::this_thread::get_id());
}

TEST(EventBus, FlushesOfASynchronousMetricsOnlyExporterFromSeveralThreadsNeverOverlap) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kOnFlushOnly;
  EventBus bus(One(probe));
  EXPECT_EQ(EmitAndFlushFromThreads(bus, 4, 50), 200);
  bus.Shutdown(absl::Seconds(1));
  std::lock_guard<std::mutex> lock(probe->mu);
  EXPECT_EQ(probe->most_in_call, 1);
  EXPECT_EQ(std::count(probe->calls.begin(), probe->calls.end(), "flush"), 200);
  EXPECT_EQ(probe->calls.back(), "shutdown");
  EXPECT_EQ(probe->metrics.back().queries, 200);
}

TEST(EventBus, AFlushAfterShutdownCallsNothing) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->delivery = HookExporter::Delivery::kOnFlushOnly;
  EventBus bus(One(probe));
  EventBus::FlushTicket before = bus.StartFlush(absl::Seconds(1));
  bus.Shutdown(absl::Seconds(1));
  EXPECT_TRUE(bus.FinishFlush(before).ok());
  EXPECT_TRUE(bus.Flush(absl::Seconds(1)).ok());
  std::lock_guard<std::mutex> lock(probe->mu);
  EXPECT_EQ(probe->calls, (std::vector<std::string>{"metrics", "shutdown"}));
}

TEST(EventBus, QueuedEventsAndMetricsAreDeliveredEveryIntervalWithoutAFlush) {
  auto probe = std::make_shared<ExporterProbe>();
  EventBusOptions options;
  options.interval = absl::Milliseconds(20);
  EventBus bus(One(probe), options);
  bus.Emit(QueryEnd("SELECT 1"));
  ASSERT_TRUE(probe->WaitForExports(1, absl::Seconds(5)));
  ASSERT_TRUE(probe->WaitFor([&] { return !probe->metrics.empty(); }, absl::Seconds(5)));
  std::lock_guard<std::mutex> lock(probe->mu);
  EXPECT_EQ(probe->metrics.back().queries, 1);
}

TEST(EventBus, AHalfFullQueueWakesTheDispatcherAtOnce) {
  auto probe = std::make_shared<ExporterProbe>();
  EventBusOptions options;
  options.queue_capacity = 8;
  options.interval = absl::Hours(1);  // no periodic wake-up
  EventBus bus(One(probe), options);
  for (int i = 0; i < 4; ++i) bus.Emit(QueryEnd("x"));
  EXPECT_TRUE(probe->WaitForExports(1, absl::Seconds(5)));
}

TEST(EventBus, ShutdownDeliversWhatIsQueuedThenShutsEachExporterDownOnce) {
  auto probe = std::make_shared<ExporterProbe>();
  {
    EventBus bus(One(probe));
    bus.Emit(QueryEnd("last"));
    bus.Shutdown(absl::Seconds(5));
    bus.Emit(QueryEnd("after"));  // ignored
    bus.Shutdown(absl::Seconds(5));
  }
  std::lock_guard<std::mutex> lock(probe->mu);
  EXPECT_EQ(probe->kinds, (std::vector<std::string>{"query_end:last"}));
  EXPECT_EQ(std::count(probe->calls.begin(), probe->calls.end(), "shutdown"), 1);
  EXPECT_EQ(probe->calls.back(), "shutdown");
  EXPECT_EQ(probe->metrics.back().queries, 1);
}

TEST(EventBus, ShutdownGivesUpOnABlockedExporterAfterItsTimeout) {
  auto probe = std::make_shared<ExporterProbe>();
  probe->block_export = true;
  const absl::Time start = absl::Now();
  {
    EventBus bus(One(probe));
    bus.Emit(QueryEnd("stuck"));
    (void)bus.Flush(absl::Milliseconds(1));  // wakes the dispatcher, which blocks
    ASSERT_TRUE(probe->WaitForExports(1, absl::Seconds(5)));
    bus.Shutdown(absl::Milliseconds(100));
  }  // the abandoned dispatcher keeps the exporter (and the probe) alive
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  probe->Release();  // let it finish: it shuts the exporter down, then exits
  EXPECT_TRUE(probe->WaitFor(
      [&] { return std::count(probe->calls.begin(), probe->calls.end(), "shutdown") == 1; },
      absl::Seconds(5)));
}

TEST(EventBus, ConcurrentFlushesFromSeveralThreadsAllReturn) {
  auto probe = std::make_shared<ExporterProbe>();
  EventBus bus(One(probe));
  EXPECT_EQ(EmitAndFlushFromThreads(bus, 4, 50), 200);
  EXPECT_EQ(probe->Kinds().size(), 200u);
}

}  // namespace
}  // namespace aequor
