// The pool (api/pool.h) against a real PostgreSQL 15 that the test starts:
// borrowing, waiters, leases of idle connections renewed by maintenance (and
// what a reaper does without it), recycling, leaks, Close(). Maintenance is
// driven by hand on a fake clock (maintenance_thread = false), so nothing
// here waits for a guessed delay.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/lease.h"
#include "api/pool.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "pool-test-secret-0123456789";

class PoolTest : public testing::PostgresTest<PoolTest> {
 protected:
  // Maintenance by hand on clock_, unless a test says otherwise.
  std::unique_ptr<Pool> MakePool(const std::string& service, PoolOptions options,
                                 CallbackHooks hooks = {}, Clock* clock = nullptr) {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, service, kSecret);
    b.SetClock(clock != nullptr ? clock : &clock_).SetRandom(std::make_unique<SeededRandom>(7));
    if (hooks.on_event) b.SetHooks(std::move(hooks));
    absl::StatusOr<std::unique_ptr<Pool>> pool = b.BuildPool(options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  static PoolOptions ByHand(int max_size) {
    PoolOptions o;
    o.max_size = max_size;
    o.maintenance_thread = false;
    return o;
  }

  // The application_name of every backend of `service`, by pid.
  std::vector<std::pair<int, std::string>> Backends(const std::string& service) {
    absl::StatusOr<std::vector<std::vector<std::string>>> rows = server_->AdminQueryRows(
        absl::StrCat("SELECT pid, application_name FROM pg_stat_activity WHERE "
                     "application_name LIKE 's=",
                     service, ";%' ORDER BY pid"));
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::pair<int, std::string>> out;
    if (!rows.ok()) return out;
    for (const auto& row : *rows) {
      int pid = 0;
      EXPECT_TRUE(absl::SimpleAtoi(row[0], &pid));
      out.emplace_back(pid, row[1]);
    }
    return out;
  }

  // Waits (bounded) until `service` has `n` backends on the server: a
  // closed connection's backend goes a moment after the client closed it.
  bool BackendsBecome(const std::string& service, size_t n) {
    const absl::Time end = absl::Now() + absl::Seconds(20);
    while (absl::Now() < end) {
      if (Backends(service).size() == n) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  // A reaper pass of another instance of `service`. It judges leases by
  // the server's clock.
  ReapReport Reap(const std::string& service) {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, service, kSecret);
    b.SetReapMinIdle(absl::ZeroDuration());
    std::unique_ptr<ConnectionManager> reaper = testing::MakeManager(std::move(b));
    if (reaper == nullptr) return ReapReport();
    absl::StatusOr<ReapReport> report = reaper->RunReaperPass();
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : ReapReport();
  }

  testing::FakeClock clock_{absl::Now()};
};

TEST_F(PoolTest, EveryPooledConnectionCarriesAValidLeaseOfThePoolsInstance) {
  std::unique_ptr<Pool> pool = MakePool("pool_leases", ByHand(3));
  ASSERT_NE(pool, nullptr);
  std::vector<PooledConnection> held;
  std::set<std::string> pids;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<PooledConnection> c = pool->Acquire();
    ASSERT_TRUE(c.ok()) << c.status();
    absl::StatusOr<QueryResult> r = c->Query("SELECT pg_backend_pid(), current_setting('application_name')");
    ASSERT_TRUE(r.ok()) << r.status();
    pids.insert(std::string(r->Get(0, 0)));
    EXPECT_EQ(r->Get(0, 1), c->application_name());
    absl::StatusOr<ParsedLease> lease = ParseLease(r->Get(0, 1));
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_EQ(lease->instance, pool->instance());
    EXPECT_EQ(lease->expires_ms, absl::ToUnixMillis(clock_.Now() + absl::Seconds(90)));
    held.push_back(*std::move(c));
  }
  EXPECT_EQ(pids.size(), 3u) << "three borrowers, three connections";
  PoolStats s = pool->stats();
  EXPECT_EQ(s.size, 3);
  EXPECT_EQ(s.in_use, 3);
  EXPECT_EQ(s.idle, 0);
  held.clear();
  s = pool->stats();
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.idle, 3);
  EXPECT_EQ(s.acquired, 3);
  // One call borrows one of them and gives it back.
  absl::StatusOr<QueryResult> r = pool->Query("SELECT $1::int + 1", {41});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "42");
  EXPECT_EQ(pool->stats().size, 3);
  EXPECT_EQ(pool->stats().in_use, 0);
}

TEST_F(PoolTest, AFullPoolTimesOutNamingSizeInUseAndWaiting) {
  std::unique_ptr<Pool> pool = MakePool("pool_full", ByHand(1));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  absl::StatusOr<PooledConnection> more = pool->Acquire(absl::Milliseconds(50));
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(more.status().message(),
                                "size 1 of max_size 1, 1 in use, 0 idle, 0 waiting"))
      << more.status();
  // A query on the pool waits at most its own timeout, then says so.
  QueryOptions quick;
  quick.timeout = absl::Milliseconds(50);
  absl::StatusOr<QueryResult> q = pool->Query("SELECT 1", {}, quick);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kDeadlineExceeded) << q.status();
  EXPECT_EQ(pool->stats().acquire_timeouts, 2);
  EXPECT_EQ(pool->stats().waiting, 0);
  EXPECT_EQ(pool->Acquire(absl::Milliseconds(-1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PoolTest, WaitersAreServedFirstComeFirstServed) {
  std::unique_ptr<Pool> pool = MakePool("pool_fifo", ByHand(1));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok());
  absl::StatusOr<QueryResult> first = held->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string pid(first->Get(0, 0));
  std::mutex mu;
  std::vector<int> order;
  auto waiter = [&](int id) {
    absl::StatusOr<PooledConnection> c = pool->Acquire(absl::Seconds(30));
    ASSERT_TRUE(c.ok()) << c.status();
    absl::StatusOr<QueryResult> r = c->Query("SELECT pg_backend_pid()");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->Get(0, 0), pid) << "the connection given back, handed over";
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(id);
  };  // gives it back
  auto waiting_becomes = [&](int n) {
    const absl::Time end = absl::Now() + absl::Seconds(20);
    while (pool->stats().waiting != n && absl::Now() < end) absl::SleepFor(absl::Milliseconds(1));
    return pool->stats().waiting == n;
  };
  std::vector<std::thread> threads;
  for (int id = 1; id <= 3; ++id) {
    threads.emplace_back(waiter, id);
    ASSERT_TRUE(waiting_becomes(id)) << "waiter " << id << " never queued";
  }
  held->Release();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(pool->stats().size, 1) << "one connection served them all";
}

// A call's own timeout covers its wait for a connection: when the wait used
// it up (on the pool's clock), nothing is sent and the connection it was
// handed goes back to the pool; when some is left, the call runs with it.
TEST_F(PoolTest, ACallWhoseTimeoutPassedWhileItWaitedSendsNothingAndGivesTheConnectionBack) {
  std::unique_ptr<Pool> pool = MakePool("pool_wait_budget", ByHand(1));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(held->Query("SELECT 0").ok()) << "connected, so that the pool keeps it";
  auto waiting_becomes = [&](int n) {
    const absl::Time end = absl::Now() + absl::Seconds(20);
    while (pool->stats().waiting != n && absl::Now() < end) absl::SleepFor(absl::Milliseconds(1));
    return pool->stats().waiting == n;
  };
  QueryOptions five_seconds;
  five_seconds.timeout = absl::Seconds(5);

  absl::Status late;
  std::thread caller([&] { late = pool->Query("SELECT 1", {}, five_seconds).status(); });
  ASSERT_TRUE(waiting_becomes(1));
  clock_.Advance(absl::Seconds(6));
  held->Release();
  caller.join();
  EXPECT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded) << late;
  EXPECT_TRUE(absl::StrContains(late.message(), "passed while it waited")) << late;
  PoolStats s = pool->stats();
  EXPECT_EQ(s.in_use, 0) << "the connection it was handed went back";
  EXPECT_EQ(s.idle, 1);

  held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  absl::StatusOr<QueryResult> in_time;
  std::thread second([&] { in_time = pool->Query("SELECT 2", {}, five_seconds); });
  ASSERT_TRUE(waiting_becomes(1));
  clock_.Advance(absl::Seconds(4));
  held->Release();
  second.join();
  ASSERT_TRUE(in_time.ok()) << in_time.status();
  EXPECT_EQ(in_time->Get(0, 0), "2");
  EXPECT_EQ(pool->stats().in_use, 0);
}

// Statement batching (PoolOptions::max_batch): `n` calls queued, in order,
// behind the pool's one borrowed connection; then it is given back.
class Queue {
 public:
  explicit Queue(Pool& pool) : pool_(pool) {}
  ~Queue() {
    for (std::thread& t : threads_) t.join();
  }
  // Starts `call` on a thread of its own and returns once it waits.
  bool Add(std::function<void()> call) {
    const int before = pool_.stats().waiting;
    threads_.emplace_back(std::move(call));
    const absl::Time end = absl::Now() + absl::Seconds(20);
    while (pool_.stats().waiting != before + 1 && absl::Now() < end) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    return pool_.stats().waiting == before + 1;
  }
  void Join() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  Pool& pool_;
  std::vector<std::thread> threads_;
};

QueryOptions Idempotent(std::string label = "") {
  QueryOptions o;
  o.idempotent = true;
  o.label = std::move(label);
  return o;
}

TEST_F(PoolTest, IdempotentReadsQueuedBehindACallRideInItsBatchEachWithItsOwnAnswer) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::thread::id>> ends;  // label, thread
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    if (e.kind != EventKind::kQueryEnd || e.label.empty()) return;
    std::lock_guard<std::mutex> lock(mu);
    ends.emplace_back(e.label, std::this_thread::get_id());
  };
  std::unique_ptr<Pool> pool = MakePool("pool_batch", ByHand(1), std::move(hooks));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(held->Query("SELECT 0").ok());

  constexpr int kCalls = 6;
  std::vector<absl::StatusOr<QueryResult>> got;
  for (int i = 0; i < kCalls; ++i) got.emplace_back(absl::UnknownError("not run"));
  std::vector<std::thread::id> threads(kCalls);
  Queue queue(*pool);
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(queue.Add([&, i] {
      threads[i] = std::this_thread::get_id();
      got[i] = pool->Query("SELECT $1::int * 2, pg_backend_pid()", {Param(i)},
                           Idempotent(absl::StrCat("call", i)));
    })) << "call " << i << " never queued";
  }
  held->Release();
  queue.Join();
  std::set<std::string> pids;
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(got[i].ok()) << i << ": " << got[i].status();
    EXPECT_EQ(got[i]->Get(0, 0), absl::StrCat(i * 2)) << "call " << i << " got another's answer";
    pids.insert(std::string(got[i]->Get(0, 1)));
  }
  EXPECT_EQ(pids.size(), 1u) << "one connection";
  PoolStats s = pool->stats();
  EXPECT_EQ(s.batched, kCalls - 1) << "the first served led, the five behind it rode along";
  EXPECT_EQ(s.in_use, 0);
  EXPECT_EQ(s.waiting, 0);
  // Each call reported its own end, on its own thread, with its own label.
  std::lock_guard<std::mutex> lock(mu);
  for (int i = 0; i < kCalls; ++i) {
    const std::string label = absl::StrCat("call", i);
    int seen = 0;
    for (const auto& [l, thread] : ends) {
      if (l != label) continue;
      ++seen;
      EXPECT_EQ(thread, threads[i]) << label << "'s event on another thread";
    }
    EXPECT_EQ(seen, 1) << label;
  }
}

TEST_F(PoolTest, AStatementThatFailsInABatchRunsAgainAloneAndFailsAsItWouldHave) {
  std::mutex mu;
  std::vector<std::string> retried;  // labels of kRetry events
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    if (e.kind != EventKind::kRetry) return;
    std::lock_guard<std::mutex> lock(mu);
    retried.push_back(e.label);
  };
  std::unique_ptr<Pool> pool = MakePool("pool_batch_fail", ByHand(1), std::move(hooks));
  // The error of the statement run alone, for comparison.
  const absl::Status alone = pool->Query("SELECT 1 / $1::int", {Param(0)}, Idempotent()).status();
  ASSERT_FALSE(alone.ok());
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(held->Query("SELECT 0").ok());
  absl::StatusOr<QueryResult> before = absl::UnknownError("not run");
  absl::StatusOr<QueryResult> failing = absl::UnknownError("not run");
  absl::StatusOr<QueryResult> after = absl::UnknownError("not run");
  Queue queue(*pool);
  ASSERT_TRUE(queue.Add([&] { before = pool->Query("SELECT 1", {}, Idempotent()); }));
  ASSERT_TRUE(queue.Add(
      [&] { failing = pool->Query("SELECT 1 / $1::int", {Param(0)}, Idempotent("fails")); }));
  ASSERT_TRUE(queue.Add([&] { after = pool->Query("SELECT 3", {}, Idempotent()); }));
  held->Release();
  queue.Join();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->Get(0, 0), "1");
  ASSERT_TRUE(after.ok()) << after.status() << ": each statement has a sync of its own";
  EXPECT_EQ(after->Get(0, 0), "3");
  EXPECT_EQ(failing.status(), alone);
  EXPECT_EQ(pool->stats().batched, 2);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(retried, std::vector<std::string>{"fails"}) << "its second run, reported as a retry";
}

TEST_F(PoolTest, CallsThatMayNotRideAreServedAloneInOrder) {
  // The order calls start in, from their kQueryStart events: each is
  // reported on the call's thread while it holds the connection.
  std::mutex mu;
  std::vector<std::string> started;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    if (e.kind != EventKind::kQueryStart || e.label.empty()) return;
    std::lock_guard<std::mutex> lock(mu);
    started.push_back(e.label);
  };
  std::unique_ptr<Pool> pool = MakePool("pool_batch_alone", ByHand(1), std::move(hooks));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(held->Query("SELECT 0").ok());
  auto call = [&](const char* label, const char* sql, bool idempotent) {
    return [&, label, sql, idempotent] {
      QueryOptions o = Idempotent(label);
      o.idempotent = idempotent;
      EXPECT_TRUE(pool->Query(sql, {}, o).ok()) << sql;
    };
  };
  Queue queue(*pool);
  ASSERT_TRUE(queue.Add(call("1", "SELECT 1", false)));              // not idempotent
  ASSERT_TRUE(queue.Add(call("2", "SET work_mem = '8MB'", true)));   // not a read
  ASSERT_TRUE(queue.Add(call("3", "  begin", true)));                // a transaction
  ASSERT_TRUE(queue.Add(call("4", "ROLLBACK", true)));
  ASSERT_TRUE(queue.Add(call("5", "SELECT 5", false)));
  held->Release();
  queue.Join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(started, (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(pool->stats().batched, 0);
}

TEST_F(PoolTest, MaxBatchOneTurnsBatchingOffAndOutOfRangeIsRefused) {
  PoolOptions o = ByHand(1);
  o.max_batch = 1;
  std::unique_ptr<Pool> pool = MakePool("pool_batch_off", o);
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(held->Query("SELECT 0").ok());
  Queue queue(*pool);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(queue.Add([&] { EXPECT_TRUE(pool->Query("SELECT 1", {}, Idempotent()).ok()); }));
  }
  held->Release();
  queue.Join();
  EXPECT_EQ(pool->stats().batched, 0);

  for (int bad : {0, 1001}) {
    PoolOptions wrong = ByHand(1);
    wrong.max_batch = bad;
    absl::Status s = ValidatePoolOptions(wrong);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StrContains(s.message(), "max_batch")) << s;
  }
}

// A batch whose connection is lost in flight: every call in it was sent and
// got no answer; being idempotent, each runs again on its own, on a new
// connection, and none fails.
TEST_F(PoolTest, ABatchWhoseConnectionIsLostRunsEachCallAgainAlone) {
  std::unique_ptr<Pool> pool = MakePool("pool_batch_lost", ByHand(1));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(held->Query("SELECT 0").ok());
  constexpr int kCalls = 4;
  std::vector<absl::StatusOr<QueryResult>> got;
  for (int i = 0; i < kCalls; ++i) got.emplace_back(absl::UnknownError("not run"));
  Queue queue(*pool);
  ASSERT_TRUE(queue.Add([&] {
    got[0] = pool->Query("SELECT 0 FROM pg_sleep(30)", {}, Idempotent());
  }));
  for (int i = 1; i < kCalls; ++i) {
    ASSERT_TRUE(queue.Add(
        [&, i] { got[i] = pool->Query("SELECT $1::int", {Param(i)}, Idempotent()); }));
  }
  held->Release();
  // The batch is in flight once its first statement sleeps; then its
  // backend goes.
  const std::string sleeping =
      "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT 0 FROM pg_sleep%'";
  absl::StatusOr<std::vector<std::vector<std::string>>> rows;
  const absl::Time end = absl::Now() + absl::Seconds(20);
  do {
    rows = server_->AdminQueryRows(sleeping);
    ASSERT_TRUE(rows.ok()) << rows.status();
  } while (rows->empty() && absl::Now() < end && (absl::SleepFor(absl::Milliseconds(5)), true));
  ASSERT_EQ(rows->size(), 1u) << "the batch never started";
  const std::string batch_pid = (*rows)[0][0];
  ASSERT_TRUE(
      server_->AdminQueryRows(absl::StrCat("SELECT pg_terminate_backend(", batch_pid, ")")).ok());
  // The first call's sleep runs again alone: end it as well, once.
  do {
    rows = server_->AdminQueryRows(absl::StrCat(sleeping, " AND pid <> ", batch_pid));
    ASSERT_TRUE(rows.ok()) << rows.status();
  } while (rows->empty() && absl::Now() < end && (absl::SleepFor(absl::Milliseconds(5)), true));
  ASSERT_EQ(rows->size(), 1u) << "the first call never ran again";
  ASSERT_TRUE(
      server_->AdminQueryRows(absl::StrCat("SELECT pg_cancel_backend(", (*rows)[0][0], ")")).ok());
  queue.Join();
  // Its second run, cancelled (57014 is reported as DeadlineExceeded).
  EXPECT_EQ(got[0].status().code(), absl::StatusCode::kDeadlineExceeded) << got[0].status();
  EXPECT_TRUE(absl::StrContains(got[0].status().message(), "canceling statement due to user"))
      << got[0].status();
  for (int i = 1; i < kCalls; ++i) {
    ASSERT_TRUE(got[i].ok()) << i << ": " << got[i].status();
    EXPECT_EQ(got[i]->Get(0, 0), absl::StrCat(i));
  }
  EXPECT_EQ(pool->stats().batched, kCalls - 1);
}

// Idle connections of a living process are never reaped: the maintenance
// round renews their leases before they run out. The same pool without the
// round loses them to another instance's reaper, which judges leases by the
// server's clock: so the pool's clock starts 120 s in the past, and its
// first leases (90 s) ran out 30 s ago as far as the server can tell.
TEST_F(PoolTest, MaintenanceRenewsIdleLeasesSoAReaperSparesThem) {
  for (const bool maintained : {true, false}) {
    SCOPED_TRACE(maintained ? "maintained" : "not maintained");
    const std::string service = maintained ? "pool_renew_a" : "pool_renew_b";
    testing::FakeClock clock(absl::Now() - absl::Seconds(120));
    std::unique_ptr<Pool> pool = MakePool(service, ByHand(2), {}, &clock);
    {
      absl::StatusOr<PooledConnection> a = pool->Acquire();
      absl::StatusOr<PooledConnection> b = pool->Acquire();
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_TRUE(a->Query("SELECT 1").ok());
      ASSERT_TRUE(b->Query("SELECT 1").ok());
    }
    ASSERT_EQ(Backends(service).size(), 2u);
    // 61 s later on the pool's clock: renewal is due (30 s before the end).
    clock.Advance(absl::Seconds(61));
    if (maintained) {
      ASSERT_TRUE(pool->Maintain().ok());
      EXPECT_EQ(pool->stats().idle_renewals, 2);
      for (const auto& [pid, name] : Backends(service)) {
        absl::StatusOr<ParsedLease> lease = ParseLease(name);
        ASSERT_TRUE(lease.ok()) << name;
        EXPECT_GT(lease->expires_ms, absl::ToUnixMillis(absl::Now()) + 30'000)
            << "renewed, and compensated by the clock offset the renewal measured";
      }
    }
    const ReapReport report = Reap(service);
    EXPECT_EQ(report.outcome, ReapOutcome::kCompleted) << report.message;
    EXPECT_EQ(report.killed, maintained ? 0 : 2);
    if (maintained) {
      // The pool's own (the reaper's session may still be on its way out).
      int own = 0;
      for (const auto& [pid, name] : Backends(service)) {
        own += absl::StrContains(name, absl::StrCat(";i=", pool->instance(), ";"));
      }
      EXPECT_EQ(own, 2) << "a living pool's idle connections are spared";
    } else {
      EXPECT_TRUE(BackendsBecome(service, 0)) << "expired leases are reaped";
      // The pool finds them dead when next used, and the caller sees nothing.
      clock.Advance(absl::Seconds(1));
      absl::StatusOr<QueryResult> r = pool->Query("SELECT 1");
      EXPECT_TRUE(r.ok()) << r.status();
    }
  }
}

// A busy pool's lanes rarely idle long enough for a call to ask the
// scheduler: the maintenance round asks it on an idle connection.
TEST_F(PoolTest, MaintenanceRunsThePoolsReaperScheduleOnAnIdleConnection) {
  ConnectionManagerBuilder b = testing::QuietBuilder(*server_, "pool_reaps", kSecret);
  b.SetClock(&clock_)
      .SetReapMinIdle(absl::ZeroDuration())
      .UseReaperScheduler(
          PluginSpec("aequor.reaper.probability", {{"p", "1"}, {"warm_p", "1"}}));
  absl::StatusOr<std::unique_ptr<Pool>> living = b.BuildPool(ByHand(2));
  ASSERT_TRUE(living.ok()) << living.status();
  ASSERT_TRUE((*living)->Query("SELECT 1").ok());  // its connect-time pass: nothing yet

  // Then a frozen instance's pool: its clock 120 s behind, its lease long over.
  testing::FakeClock past(absl::Now() - absl::Seconds(120));
  std::unique_ptr<Pool> frozen = MakePool("pool_reaps", ByHand(1), {}, &past);
  ASSERT_TRUE(frozen->Query("SELECT 1").ok());
  auto of_frozen = [&] {
    int n = 0;
    for (const auto& [pid, name] : Backends("pool_reaps")) {
      n += absl::StrContains(name, absl::StrCat(";i=", frozen->instance(), ";"));
    }
    return n;
  };
  ASSERT_EQ(of_frozen(), 1);
  clock_.Advance(absl::Seconds(2));  // past invocation_gap
  ASSERT_TRUE((*living)->Maintain().ok());
  const absl::Time end = absl::Now() + absl::Seconds(20);
  while (of_frozen() != 0 && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(of_frozen(), 0) << "the frozen pool's expired connection is reaped";
  EXPECT_EQ((*living)->stats().size, 1) << "the living pool keeps its own";
}

TEST_F(PoolTest, MaintenanceDropsDeadConnectionsAndABorrowerNeverSeesThem) {
  std::unique_ptr<Pool> pool = MakePool("pool_dead", ByHand(2));
  {
    absl::StatusOr<PooledConnection> a = pool->Acquire();
    absl::StatusOr<PooledConnection> b = pool->Acquire();
    ASSERT_TRUE(a->Query("SELECT 1").ok());
    ASSERT_TRUE(b->Query("SELECT 1").ok());
  }
  ASSERT_TRUE(server_->AdminQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE application_name LIKE 's=pool_dead;%'")
                  .ok());
  ASSERT_TRUE(BackendsBecome("pool_dead", 0));
  clock_.Advance(absl::Seconds(1));
  // A backend leaves pg_stat_activity a moment before its process exits
  // and its socket closes: a round may find one still open. Rounds until
  // both are found dead (bounded).
  const absl::Time end = absl::Now() + absl::Seconds(20);
  do {
    ASSERT_TRUE(pool->Maintain().ok());
  } while (pool->stats().dead_dropped < 2 && absl::Now() < end &&
           (absl::SleepFor(absl::Milliseconds(5)), true));
  EXPECT_EQ(pool->stats().dead_dropped, 2);
  EXPECT_EQ(pool->stats().size, 0);
  absl::StatusOr<QueryResult> r = pool->Query("SELECT 1");
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(pool->stats().size, 1);
}

TEST_F(PoolTest, IdleTimeoutShrinksToMinSizeAndMaxLifetimeRecyclesAndRefills) {
  PoolOptions o = ByHand(3);
  o.min_size = 1;
  o.idle_timeout = absl::Seconds(10);
  o.max_lifetime = absl::Seconds(100);  // 90 to 100 s with its jitter
  std::unique_ptr<Pool> pool = MakePool("pool_recycle", o);
  ASSERT_TRUE(pool->Maintain().ok());
  EXPECT_EQ(pool->stats().size, 1) << "min_size is opened by maintenance";
  ASSERT_TRUE(BackendsBecome("pool_recycle", 1));
  const int first_pid = Backends("pool_recycle")[0].first;
  {
    std::vector<PooledConnection> held;
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<PooledConnection> c = pool->Acquire();
      ASSERT_TRUE(c.ok());
      ASSERT_TRUE(c->Query("SELECT 1").ok());
      held.push_back(*std::move(c));
    }
  }
  EXPECT_EQ(pool->stats().idle, 3);
  clock_.Advance(absl::Seconds(11));
  ASSERT_TRUE(pool->Maintain().ok());
  EXPECT_EQ(pool->stats().size, 1) << "idle past idle_timeout, down to min_size";
  EXPECT_EQ(pool->stats().recycled, 2);
  ASSERT_TRUE(BackendsBecome("pool_recycle", 1));
  clock_.Advance(absl::Seconds(100));
  ASSERT_TRUE(pool->Maintain().ok());
  EXPECT_EQ(pool->stats().recycled, 3) << "past max_lifetime";
  EXPECT_EQ(pool->stats().size, 1) << "refilled to min_size";
  ASSERT_TRUE(BackendsBecome("pool_recycle", 1));
  EXPECT_NE(Backends("pool_recycle")[0].first, first_pid) << "a new connection";
}

TEST_F(PoolTest, ABorrowHeldPastLeakThresholdIsReportedOnce) {
  std::mutex mu;
  std::vector<std::string> degraded;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    if (e.kind != EventKind::kDegraded || e.source != EventSource::kPoolLeak) return;
    std::lock_guard<std::mutex> lock(mu);
    degraded.push_back(e.message);
  };
  PoolOptions o = ByHand(2);
  o.leak_threshold = absl::Seconds(5);
  std::unique_ptr<Pool> pool = MakePool("pool_leak", o, std::move(hooks));
  absl::StatusOr<PooledConnection> c = pool->Acquire();
  ASSERT_TRUE(c.ok());
  clock_.Advance(absl::Seconds(4));
  ASSERT_TRUE(pool->Maintain().ok());
  EXPECT_EQ(pool->stats().leaks, 0);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(pool->Maintain().ok());
  ASSERT_TRUE(pool->Maintain().ok());
  EXPECT_EQ(pool->stats().leaks, 1);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(degraded.size(), 1u);
  EXPECT_TRUE(absl::StrContains(degraded[0], "borrowed for 6s, longer than leak_threshold (5s)"))
      << degraded[0];
  EXPECT_EQ(pool->metrics().pool->leaks, 1);
}

TEST_F(PoolTest, CloseDrainsRefusesNewBorrowsAndClosesWhatIsGivenBack) {
  std::unique_ptr<Pool> pool = MakePool("pool_close", ByHand(2));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(held->Query("SELECT 1").ok());
  ASSERT_TRUE(pool->Query("SELECT 1").ok());  // a second connection, idle now
  ASSERT_TRUE(BackendsBecome("pool_close", 2));
  absl::Status closed = pool->Close(absl::Milliseconds(50));
  EXPECT_EQ(closed.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(closed.message(), "1 connection(s) still borrowed")) << closed;
  EXPECT_TRUE(BackendsBecome("pool_close", 1)) << "the idle one is closed at once";
  EXPECT_EQ(pool->Acquire().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pool->Query("SELECT 1").status().code(), absl::StatusCode::kFailedPrecondition);
  held->Release();
  EXPECT_TRUE(BackendsBecome("pool_close", 0)) << "the borrowed one when given back";
  EXPECT_TRUE(pool->Close(absl::Milliseconds(50)).ok());
  EXPECT_EQ(pool->stats().size, 0);
}

// The maintenance thread may be opening connections towards min_size to a
// server that is down (retrying within its round's budget, seconds): Close()
// still returns by its own timeout.
TEST_F(PoolTest, CloseIsBoundedWhileMaintenanceRetriesADeadServer) {
  ConnectionManagerBuilder b = testing::QuietBuilder(*server_, "pool_dead_server", kSecret);
  // A loopback port nothing listens on: every connect is refused at once.
  b.SetConninfo("host=127.0.0.1 port=1 dbname=none user=nobody");
  b.SetConnectTimeout(absl::Seconds(2));  // a round retries for 2.1 s at most
  PoolOptions o;
  o.min_size = 1;
  o.keepalive_interval = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<Pool>> pool = b.BuildPool(o);
  ASSERT_TRUE(pool.ok()) << pool.status();
  const absl::Time start = absl::Now();
  const absl::Status closed = (*pool)->Close(absl::Milliseconds(200));
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(closed.ok() || closed.code() == absl::StatusCode::kDeadlineExceeded) << closed;
  // Without the bound it waited for the round: several seconds of retries.
  EXPECT_LT(took, absl::Seconds(3)) << closed;
  pool->reset();  // waits for the round still running (about 2 s): no thread outlives it
}

TEST_F(PoolTest, AHandleThatOutlivesThePoolIsClosedWhenDestroyed) {
  std::unique_ptr<Pool> pool = MakePool("pool_outlive", ByHand(1));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(held->Query("SELECT 1").ok());
  pool.reset();  // Close(1 s) times out; the handle still works
  EXPECT_TRUE(held->Query("SELECT 1").ok());
  held->Release();
  EXPECT_TRUE(BackendsBecome("pool_outlive", 0));
  PooledConnection empty;
  EXPECT_EQ(empty.Query("SELECT 1").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(PoolTest, AHandleCalledFromItsOwnCallbackIsRefusedNotRunUnderIt) {
  std::unique_ptr<Pool> pool = MakePool("pool_nested", ByHand(2));
  absl::StatusOr<PooledConnection> c = pool->Acquire();
  ASSERT_TRUE(c.ok());
  absl::Status inner;
  ASSERT_TRUE(c->WithConnection([&](PGconn*) {
                  inner = c->Query("SELECT 1").status();
                  return absl::OkStatus();
                })
                  .ok());
  EXPECT_EQ(inner.code(), absl::StatusCode::kFailedPrecondition) << inner;
  absl::Status in_body;
  ASSERT_TRUE(c->RunTransaction([&](Transaction& t) -> absl::Status {
                  in_body = c->WithConnection([](PGconn*) { return absl::OkStatus(); });
                  return t.Query("SELECT 1").status();
                })
                  .ok());
  EXPECT_EQ(in_body.code(), absl::StatusCode::kFailedPrecondition) << in_body;
  EXPECT_TRUE(c->Query("SELECT 1").ok()) << "and usable afterwards";
}

// An infinite wait is a long one, not an overflow that times out at once.
TEST_F(PoolTest, AnInfiniteAcquireWaitsForTheConnectionGivenBack) {
  std::unique_ptr<Pool> pool = MakePool("pool_infinite", ByHand(1));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok());
  absl::Status got;
  std::thread waiter([&] { got = pool->Acquire(absl::InfiniteDuration()).status(); });
  const absl::Time end = absl::Now() + absl::Seconds(20);
  while (pool->stats().waiting != 1 && absl::Now() < end && got.ok()) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  held->Release();
  waiter.join();
  EXPECT_TRUE(got.ok()) << got;
  EXPECT_TRUE(pool->Close(absl::InfiniteDuration()).ok());
}

TEST_F(PoolTest, BadPoolOptionsAreRefusedNamingTheOption) {
  PoolOptions o;
  o.max_size = 0;
  ConnectionManagerBuilder b = testing::QuietBuilder(*server_, "pool_bad", kSecret);
  absl::StatusOr<std::unique_ptr<Pool>> pool = b.BuildPool(o);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().message(), "pool max_size: must be 1 to 10000, got 0");
  o = PoolOptions();
  o.min_size = 5;
  EXPECT_EQ(ValidatePoolOptions(o).message(), "pool min_size: must be 0 to max_size (4), got 5");
  o = PoolOptions();
  o.max_lifetime = absl::Milliseconds(10);
  EXPECT_TRUE(absl::StartsWith(ValidatePoolOptions(o).message(), "pool max_lifetime:"));
  o = PoolOptions();
  o.keepalive_interval = absl::ZeroDuration();
  EXPECT_TRUE(absl::StartsWith(ValidatePoolOptions(o).message(), "pool keepalive_interval:"));
  // A manager option is checked as for Build().
  ConnectionManagerBuilder bad = testing::QuietBuilder(*server_, "pool_bad", kSecret);
  bad.SetLeaseTtl(absl::Milliseconds(10));
  EXPECT_EQ(bad.BuildPool().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PoolTest, MetricsCarryThePoolsGaugesAndCounters) {
  std::unique_ptr<Pool> pool = MakePool("pool_metrics", ByHand(2));
  absl::StatusOr<PooledConnection> held = pool->Acquire();
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(held->Query("SELECT 1").ok());
  MetricsSnapshot m = pool->metrics();
  ASSERT_TRUE(m.pool.has_value());
  EXPECT_EQ(m.pool->size, 1);
  EXPECT_EQ(m.pool->in_use, 1);
  EXPECT_EQ(m.pool->acquired, 1);
  EXPECT_EQ(m.pool->acquire_wait.count, 1);
  std::set<std::string> gauges;
  for (const GaugePoint& g : Gauges(m)) gauges.insert(std::string(g.name));
  EXPECT_TRUE(gauges.count("pool_in_use") == 1 && gauges.count("pool_waiting") == 1);
  bool acquired = false;
  for (const CounterPoint& c : Counters(m)) acquired |= c.name == "pool_acquired" && c.value == 1;
  EXPECT_TRUE(acquired);

  // The connection gauges count every open connection, borrowed or idle,
  // and give the soonest lease's seconds left.
  EXPECT_EQ(m.connected, std::optional<double>(1));
  absl::StatusOr<PooledConnection> second = pool->Acquire();
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->Query("SELECT 1").ok());
  held = absl::UnknownError("given back");  // the first goes back idle, still open
  m = pool->metrics();
  EXPECT_EQ(m.connected, std::optional<double>(2));
  ASSERT_TRUE(m.lease_seconds_left.has_value());
  EXPECT_GT(*m.lease_seconds_left, 0);
  EXPECT_LE(*m.lease_seconds_left, absl::ToDoubleSeconds(ManagerOptions().lease_ttl));
}

}  // namespace
}  // namespace aequor
