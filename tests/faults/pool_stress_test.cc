// The pool under faults: 16 threads on 4 connections while backends are
// terminated at random and the server restarts. Run under ThreadSanitizer in
// CI. What must hold at the end: no connection was used by two threads at
// once, no handle was lost (nothing borrowed, nobody waiting), the counters
// agree with what the threads saw, and no transaction ran twice.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/errors.h"
#include "api/pool.h"
#include "gtest/gtest.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "pool-stress-secret-0123456789";
constexpr int kThreads = 16;
constexpr int kConnections = 4;
constexpr int kRounds = 60;  // per thread: a borrow with two statements, and a transaction

class PoolStressTest : public testing::PostgresTest<PoolStressTest> {
 public:
  // Restarted by the test: a server nobody else uses.
  static testing::SuiteServer Server() { return testing::SuiteServer::Own(); }
};

TEST_F(PoolStressTest, SixteenThreadsOnFourConnectionsThroughKillsAndARestart) {
  std::atomic<int> reconnects{0};
  CallbackHooks hooks;
  hooks.on_connect = [&](const Event& e) {
    if (e.kind == EventKind::kReconnect) reconnects.fetch_add(1);
  };
  ConnectionManagerBuilder b;
  b.SetHooks(std::move(hooks));
  b.SetConninfo(server_->ConninfoFor(testing::ThrowawayPostgres::kAppRole))
      .SetService("pool_stress")
      .SetCoordinationSecret(kSecret)
      .SetConnectBudget(absl::Seconds(60))
      .SetQueryBudget(absl::Seconds(60))
      .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}));
  PoolOptions o;
  o.max_size = kConnections;
  o.acquire_timeout = absl::Seconds(60);
  o.keepalive_interval = absl::Milliseconds(20);  // maintenance races the borrowers
  absl::StatusOr<std::unique_ptr<Pool>> built = b.BuildPool(o);
  ASSERT_TRUE(built.ok()) << built.status();
  Pool& pool = **built;
  ASSERT_TRUE(pool.Query("CREATE TABLE stress_counter (id int PRIMARY KEY, n bigint)").ok());
  ASSERT_TRUE(pool.Query("INSERT INTO stress_counter VALUES (1, 0)").ok());
  const int64_t setup_borrows = pool.stats().acquired;

  std::mutex mu;
  std::map<std::string, int> holder;  // backend pid -> thread using it now
  int shared_use = 0;
  std::atomic<int> rounds_done{0};
  std::atomic<int64_t> borrows{0};
  std::atomic<int64_t> reads{0};  // pool.Query() calls: 0 to 2 borrows each
  std::atomic<int64_t> committed{0};
  std::atomic<int64_t> unknown{0};
  std::atomic<int64_t> failed{0};
  std::vector<std::string> failures;

  auto worker = [&](int id) {
    for (int round = 0; round < kRounds; ++round) {
      {
        absl::StatusOr<PooledConnection> c = pool.Acquire();
        borrows.fetch_add(1);
        if (!c.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(absl::StrCat("acquire: ", c.status().ToString()));
          continue;
        }
        QueryOptions idempotent;
        idempotent.idempotent = true;
        absl::StatusOr<QueryResult> pid = c->Query("SELECT pg_backend_pid()", {}, idempotent);
        if (pid.ok()) {
          const std::string p(pid->Get(0, 0));
          {
            std::lock_guard<std::mutex> lock(mu);
            auto [it, fresh] = holder.emplace(p, id);
            if (!fresh && it->second != id) ++shared_use;
            it->second = id;
          }
          absl::StatusOr<QueryResult> again = c->Query("SELECT pg_backend_pid()", {}, idempotent);
          std::lock_guard<std::mutex> lock(mu);
          if (again.ok() && std::string(again->Get(0, 0)) == p) {
            // Still ours: nobody else was handed this connection meanwhile.
            auto it = holder.find(p);
            if (it == holder.end() || it->second != id) ++shared_use;
          }
          holder.erase(p);
        } else {
          failed.fetch_add(1);
        }
      }
      {
        // An idempotent read through the pool, which may ride in another
        // call's batch: each thread gets its own answer, kills or not.
        QueryOptions read;
        read.idempotent = true;
        const int64_t token = int64_t{id} * 100000 + round;
        absl::StatusOr<QueryResult> r = pool.Query("SELECT $1::bigint", {Param(token)}, read);
        reads.fetch_add(1);
        if (r.ok()) {
          if (r->Get(0, 0) != absl::StrCat(token)) {
            std::lock_guard<std::mutex> lock(mu);
            failures.push_back(absl::StrCat("read ", token, " answered ", r->Get(0, 0)));
          }
        } else {
          failed.fetch_add(1);
        }
      }
      borrows.fetch_add(1);
      absl::Status tx = pool.RunTransaction([](Transaction& t) -> absl::Status {
        return t.Query("UPDATE stress_counter SET n = n + 1 WHERE id = 1").status();
      });
      if (tx.ok()) {
        committed.fetch_add(1);
      } else if (IsOutcomeUnknown(tx)) {
        unknown.fetch_add(1);
      } else {
        failed.fetch_add(1);
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(absl::StrCat("transaction: ", tx.ToString()));
      }
      rounds_done.fetch_add(1);
    }
  };

  std::atomic<bool> stop{false};
  std::atomic<int> kills{0};
  std::thread killer([&] {
    std::mt19937 rng(12345);
    while (!stop.load()) {
      absl::StatusOr<std::vector<std::vector<std::string>>> pids = server_->AdminQueryRows(
          "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 's=pool_stress;%'");
      if (pids.ok() && !pids->empty()) {
        const std::string& pid = (*pids)[rng() % pids->size()][0];
        if (server_->AdminQuery(absl::StrCat("SELECT pg_terminate_backend(", pid, ")")).ok()) {
          kills.fetch_add(1);
        }
      }
      absl::SleepFor(absl::Milliseconds(15));  // the pace of the faults, not a wait
    }
  });

  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  // The restart, once a third of the work is done.
  while (rounds_done.load() < kThreads * kRounds / 3) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(server_->Restart().ok());
  for (std::thread& t : threads) t.join();
  stop.store(true);
  killer.join();

  ::testing::Test::RecordProperty(
      "summary", absl::StrCat("kills ", kills.load(), ", committed ", committed.load(),
                              ", outcome unknown ", unknown.load(), ", failed ", failed.load(),
                              ", reconnects ", reconnects.load(),
                              ", reads batched ", pool.stats().batched));
  EXPECT_EQ(shared_use, 0) << "a connection was in two threads' hands at once";
  EXPECT_GT(kills.load(), 0);
  EXPECT_GT(reconnects.load(), kConnections) << "the kills and the restart reached the pool";
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.in_use, 0) << "a handle was lost";
  EXPECT_EQ(s.waiting, 0);
  EXPECT_EQ(s.size, s.idle);
  EXPECT_LE(s.size, kConnections);
  // Every borrow was served; a read borrows nothing when it rides in a
  // batch, once when it leads or runs alone, and once more when it runs
  // again after its batch's connection was lost.
  EXPECT_GE(s.acquired - setup_borrows, borrows.load());
  EXPECT_LE(s.acquired - setup_borrows, borrows.load() + 2 * reads.load());
  EXPECT_GT(s.batched, 0) << "no read rode in a batch";
  EXPECT_EQ(s.acquire_timeouts, 0);
  // Reconnects absorbed the kills and the restart: a few statements may fail
  // (a kill during COMMIT that cannot be resolved, the restart's window),
  // and none of them may run twice.
  absl::StatusOr<std::string> n = server_->AdminQuery("SELECT n FROM stress_counter WHERE id = 1");
  ASSERT_TRUE(n.ok()) << n.status();
  int64_t counted = 0;
  ASSERT_TRUE(absl::SimpleAtoi(*n, &counted));
  EXPECT_GE(counted, committed.load());
  EXPECT_LE(counted, committed.load() + unknown.load()) << "a transaction ran twice";
  EXPECT_GT(committed.load(), kThreads * kRounds / 2) << "most transactions commit";
  for (const std::string& f : failures) ADD_FAILURE() << f;
  EXPECT_TRUE(pool.Close(absl::Seconds(10)).ok());
}

}  // namespace
}  // namespace aequor
