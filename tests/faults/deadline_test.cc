// Every call ends by its deadline, whatever the server or the network does
// once the statement is sent: a statement that runs too long, a backend
// stopped with SIGSTOP, a network that stops carrying bytes (the test-owned
// TCP proxy's stall mode: no byte, no FIN, no RST, like a blackhole). The
// documented bound is the deadline plus 10% plus cancel_timeout; a call
// never ends early, a write is never run twice, and the server stops the
// cancelled statement. docs/RELIABILITY.md lists these faults.
#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/postgres_test_base.h"
#include "testing/shifted_clock.h"
#include "testing/tcp_proxy.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

using testing::TcpProxy;
using testing::ThrowawayPostgres;

constexpr absl::Duration kCancelTimeout = absl::Milliseconds(500);

// Waits for `condition` (a test's wait for what it needs, not a guess).
bool Eventually(const std::function<bool()>& condition,
                absl::Duration limit = absl::Seconds(20)) {
  const absl::Time end = absl::Now() + limit;
  while (absl::Now() < end) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

// SIGCONT for a stopped backend, whatever the test's assertions did.
class Resume {
 public:
  explicit Resume(pid_t pid) : pid_(pid) {}
  ~Resume() { kill(pid_, SIGCONT); }

 private:
  pid_t pid_;
};

class DeadlineTest : public testing::PostgresTest<DeadlineTest> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_
                    ->AdminQuery("DROP TABLE IF EXISTS d; CREATE TABLE d (id int); "
                                 "GRANT ALL ON d TO aequor_app")
                    .ok());
    auto proxy = TcpProxy::Start("127.0.0.1", server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
  }
  void TearDown() override {
    if (proxy_ != nullptr) {
      proxy_->SetStalled(false);
      proxy_->ResetAll();
    }
  }

  // A manager through the proxy with `budget` as query_budget.
  // `real_clock`: Clock::Real(), as in production, instead of the test's
  // shifted clock (util/pg.cc takes a deadline on the real clock as it is).
  std::unique_ptr<ConnectionManager> Manager(absl::Duration budget,
                                             absl::Duration lease_ttl = absl::Seconds(90),
                                             bool real_clock = false) {
    ManagerOptions o;
    o.conninfo = absl::StrCat("host=127.0.0.1 port=", proxy_->port(),
                              " dbname=aequor user=aequor_app password=",
                              ThrowawayPostgres::PasswordFor("aequor_app"));
    o.service = "deadlines";
    o.coordination_secret = Secret("deadline-test-secret-0123456789");
    o.query_budget = budget;
    o.cancel_timeout = kCancelTimeout;
    o.lease_ttl = lease_ttl;
    if (lease_ttl < absl::Seconds(90)) {
      o.lease_renew_before = lease_ttl / 2;
      o.lease_block_before = lease_ttl / 4;
      o.lease_renew_timeout = absl::Seconds(1);
    }
    o.reaper_scheduler = PluginSpec("aequor.reaper.probability", {{"p", "0"}});
    ConnectionManagerBuilder builder;
    builder.SetOptions(o);
    if (!real_clock) builder.SetClock(&clock_);
    auto m = builder.Build();
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok()) return nullptr;
    EXPECT_TRUE((*m)->Connect().ok());
    return *std::move(m);
  }

  std::string Rows(int id) {
    auto r = server_->AdminQuery(absl::StrCat("SELECT count(*) FROM d WHERE id = ", id));
    return r.ok() ? *r : r.status().ToString();
  }
  // Sessions of this suite's service still running `text`.
  int Running(absl::string_view text) {
    auto r = server_->AdminQuery(absl::StrCat(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%",
        text, "%' AND pid <> pg_backend_pid()"));
    int n = -1;
    return r.ok() && absl::SimpleAtoi(*r, &n) ? n : -1;
  }

  testing::ShiftedClock clock_;
  std::unique_ptr<TcpProxy> proxy_;
};

// The bound every timed-out call must keep: not before `timeout`, not after
// timeout + 10% + cancel_timeout.
#define EXPECT_ENDS_BY_DEADLINE(took, timeout)                                  \
  do {                                                                          \
    EXPECT_GE((took), (timeout)) << "gave up before the deadline";              \
    EXPECT_LE((took), (timeout) * 1.1 + kCancelTimeout) << "overran the bound"; \
  } while (0)

TEST_F(DeadlineTest, ALongStatementIsCancelledAtTheBudgetAndTheServerStopsIt) {
  // Issue 12: pg_sleep(5) under a 2 s budget returned OK after 5.17 s.
  auto db = Manager(absl::Seconds(2));
  ASSERT_NE(db, nullptr);
  const absl::Time start = absl::Now();
  absl::StatusOr<QueryResult> r = db->Query("SELECT pg_sleep(5), 'long-sleep-1'");
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_TRUE(IsOutcomeUnknown(r.status())) << "not marked idempotent: " << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "cancelled")) << r.status();
  EXPECT_ENDS_BY_DEADLINE(took, absl::Seconds(2));
  EXPECT_TRUE(Eventually([&] { return Running("long-sleep-1") == 0; }))
      << "the server still runs the cancelled statement";
  absl::StatusOr<QueryResult> next = db->Query("SELECT 1");
  EXPECT_TRUE(next.ok()) << "the next call reconnects: " << next.status();
}

TEST_F(DeadlineTest, APerCallTimeoutWinsOverTheBudgetAndIdempotentIsNotOutcomeUnknown) {
  auto db = Manager(absl::Seconds(30));
  ASSERT_NE(db, nullptr);
  QueryOptions options;
  options.timeout = absl::Seconds(1);
  options.idempotent = true;
  const absl::Time start = absl::Now();
  absl::StatusOr<QueryResult> r = db->Query("SELECT pg_sleep(10), 'long-sleep-2'", {}, options);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_FALSE(IsOutcomeUnknown(r.status())) << r.status();
  EXPECT_ENDS_BY_DEADLINE(took, absl::Seconds(1));
  EXPECT_TRUE(Eventually([&] { return Running("long-sleep-2") == 0; }));
}

TEST_F(DeadlineTest, ANegativeTimeoutIsRefusedNamingTheOption) {
  auto db = Manager(absl::Seconds(5));
  ASSERT_NE(db, nullptr);
  QueryOptions options;
  options.timeout = absl::Seconds(-1);
  absl::StatusOr<QueryResult> r = db->Query("SELECT 1", {}, options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "QueryOptions.timeout")) << r.status();
  TransactionOptions tx;
  tx.timeout = absl::Seconds(-1);
  absl::Status s = db->RunTransaction([](Transaction&) { return absl::OkStatus(); }, tx);
  EXPECT_TRUE(absl::StrContains(s.message(), "TransactionOptions.timeout")) << s;
}

// A write on a backend stopped with SIGSTOP, through a manager on the test's
// clock or on the real one.
void ExpectAStoppedBackendEndsTheCallAtTheDeadline(std::unique_ptr<ConnectionManager> db, int id) {
  ASSERT_NE(db, nullptr);
  absl::StatusOr<QueryResult> pid_row = db->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid_row.ok()) << pid_row.status();
  int pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(pid_row->Get(0, 0), &pid));
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  Resume resume(pid);
  const absl::Time start = absl::Now();
  absl::StatusOr<QueryResult> r = db->Query(absl::StrCat("INSERT INTO d VALUES (", id, ")"));
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_TRUE(IsOutcomeUnknown(r.status())) << r.status();
  EXPECT_ENDS_BY_DEADLINE(took, absl::Seconds(2));
}

TEST_F(DeadlineTest, AStoppedBackendEndsTheCallAtTheDeadline) {
  // Issue 12: a query on a backend stopped with SIGSTOP still waited after 60 s.
  ExpectAStoppedBackendEndsTheCallAtTheDeadline(Manager(absl::Seconds(2)), 1);
}

TEST_F(DeadlineTest, OnTheRealClockAStoppedBackendEndsTheCallAtTheDeadline) {
  ExpectAStoppedBackendEndsTheCallAtTheDeadline(
      Manager(absl::Seconds(2), absl::Seconds(90), /*real_clock=*/true), 5);
}

TEST_F(DeadlineTest, AShortTimeoutAfterLongDeadlinesEndsOnTime) {
  // The watchdog that ends waits (util/deadline_watchdog.h) sleeps until
  // the earliest deadline it knows, 30 s ahead after the first call; a
  // later call's 1 s timeout must wake it.
  auto db = Manager(absl::Seconds(30), absl::Seconds(90), /*real_clock=*/true);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Query("SELECT 1").ok());
  QueryOptions options;
  options.timeout = absl::Seconds(1);
  options.idempotent = true;
  const absl::Time start = absl::Now();
  absl::StatusOr<QueryResult> r = db->Query("SELECT pg_sleep(10), 'long-sleep-3'", {}, options);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_ENDS_BY_DEADLINE(took, absl::Seconds(1));
  EXPECT_TRUE(Eventually([&] { return Running("long-sleep-3") == 0; }));
  EXPECT_TRUE(db->Query("SELECT 1").ok()) << "the next call reconnects";
}

TEST_F(DeadlineTest, AStalledNetworkEndsAWriteAtTheDeadlineAndItIsNotReplayed) {
  // Issue 12: a write through a blackholed network with a 5 s budget still
  // waited after 1,200 s. The cancel request meets the same stalled network:
  // its bound (cancel_timeout) holds too.
  auto db = Manager(absl::Seconds(3));
  ASSERT_NE(db, nullptr);
  proxy_->ArmOnClientBytes("INSERT", TcpProxy::Action::kStall);
  proxy_->SetStalled(true);
  const absl::Time start = absl::Now();
  absl::StatusOr<QueryResult> r = db->Query("INSERT INTO d VALUES (2)");
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_TRUE(IsOutcomeUnknown(r.status())) << r.status();
  EXPECT_ENDS_BY_DEADLINE(took, absl::Seconds(3));
  proxy_->SetStalled(false);
  EXPECT_TRUE(db->Query("SELECT 1").ok());
  const std::string rows = Rows(2);
  EXPECT_TRUE(rows == "0" || rows == "1") << "run at most once, never replayed: " << rows;
}

TEST_F(DeadlineTest, AStalledCommitIsDeadlineExceededAndOutcomeUnknownAndTheBodyRunsOnce) {
  auto db = Manager(absl::Seconds(3));
  ASSERT_NE(db, nullptr);
  int runs = 0;
  const absl::Time start = absl::Now();
  absl::Status s = db->RunTransaction([&](Transaction& tx) -> absl::Status {
    ++runs;
    absl::Status inserted = tx.Query("INSERT INTO d VALUES (3)").status();
    proxy_->SetStalled(true);  // COMMIT goes nowhere
    return inserted;
  });
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_TRUE(IsOutcomeUnknown(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "may or may not have committed")) << s;
  EXPECT_EQ(runs, 1);
  EXPECT_ENDS_BY_DEADLINE(took, absl::Seconds(3));
  // The proxy holds the COMMIT it never delivered: drop it (RSTs to both
  // sides), so that the server rolls back. Delivered late, it would commit:
  // which is why the outcome is reported unknown.
  proxy_->ResetAll();
  proxy_->SetStalled(false);
  EXPECT_TRUE(Eventually([&] { return Rows(3) == "0"; }))
      << "COMMIT never reached the server: the transaction rolled back";
}

TEST_F(DeadlineTest, AStalledStatementInsideATransactionIsDeadlineExceededNotUnknown) {
  auto db = Manager(absl::Seconds(30));
  ASSERT_NE(db, nullptr);
  TransactionOptions options;
  options.timeout = absl::Seconds(2);
  int runs = 0;
  const absl::Time start = absl::Now();
  absl::Status s = db->RunTransaction(
      [&](Transaction& tx) -> absl::Status {
        ++runs;
        if (auto r = tx.Query("INSERT INTO d VALUES (4)"); !r.ok()) return r.status();
        proxy_->SetStalled(true);
        return tx.Query("SELECT 'after the stall'").status();
      },
      options);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_FALSE(IsOutcomeUnknown(s)) << "COMMIT was never sent: " << s;
  EXPECT_EQ(runs, 1) << "the deadline passed: not run again";
  EXPECT_ENDS_BY_DEADLINE(took, absl::Seconds(2));
  proxy_->SetStalled(false);
  EXPECT_TRUE(Eventually([&] { return Rows(4) == "0"; }));
}

TEST_F(DeadlineTest, ADueLeaseRenewalOnAStalledNetworkEndsByTheDeadline) {
  // A lease of 4 s is renewed alone once less than 1 s is left; that
  // renewal and the reconnect after it meet a stalled network.
  auto db = Manager(absl::Seconds(3), /*lease_ttl=*/absl::Seconds(4));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Query("SELECT 1").ok());
  clock_.Advance(absl::Seconds(3) + absl::Milliseconds(200));
  proxy_->SetStalled(true);
  const absl::Time start = absl::Now();
  absl::StatusOr<QueryResult> r = db->Query("SELECT 1");
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(r.ok());
  // The connect attempt after the renewal gets what is left of the
  // deadline in whole seconds (libpq's connect_timeout, at least 2 s):
  // docs/RELIABILITY.md.
  EXPECT_LE(took, absl::Seconds(3) * 1.1 + kCancelTimeout + absl::Seconds(2)) << r.status();
  EXPECT_GE(took, absl::Seconds(1)) << "the renewal's own timeout comes first";
}

}  // namespace
}  // namespace aequor
