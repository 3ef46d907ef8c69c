// Writes cut off in flight, through a test-owned TCP proxy in front of a real
// server: a write is never run twice, and the caller always learns whether it
// happened or that it cannot be known.
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/postgres_test_base.h"
#include "testing/tcp_proxy.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

using testing::TcpProxy;
using testing::ThrowawayPostgres;

// One server for the whole binary (testing/postgres_test_base.h).
class FaultTest : public testing::PostgresTest<FaultTest> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_
                    ->AdminQuery("DROP TABLE IF EXISTS w; CREATE TABLE w (id int); "
                                 "GRANT ALL ON w TO aequor_app")
                    .ok());
    auto proxy = TcpProxy::Start("127.0.0.1", server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
    auto m = ConnectionManagerBuilder()
                 .SetConninfo(absl::StrCat("host=127.0.0.1 port=", proxy_->port(),
                                           " dbname=aequor user=aequor_app password=",
                                           ThrowawayPostgres::PasswordFor("aequor_app")))
                 .SetService("faults")
                 .SetCoordinationSecret("fault-test-secret-0123456789")
                 .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}))
                 .Build();
    ASSERT_TRUE(m.ok()) << m.status();
    db_ = *std::move(m);
    ASSERT_TRUE(db_->Connect().ok());
  }
  std::string Rows(int id) {
    auto r = server_->AdminQuery(absl::StrCat("SELECT count(*) FROM w WHERE id = ", id));
    return r.ok() ? *r : r.status().ToString();
  }

  std::unique_ptr<TcpProxy> proxy_;
  std::unique_ptr<ConnectionManager> db_;
};

TEST_F(FaultTest, AnAutocommitWriteCutAfterItWasSentIsOutcomeUnknownAndNotReplayed) {
  proxy_->ArmOnClientBytes("INSERT", TcpProxy::Action::kReset);
  absl::StatusOr<QueryResult> r = db_->Query("INSERT INTO w VALUES (1)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnknown) << r.status();
  EXPECT_TRUE(IsOutcomeUnknown(r.status())) << r.status();
  EXPECT_EQ(Rows(1), "1") << "the write ran once and was not replayed";
  EXPECT_TRUE(db_->Query("SELECT 1").ok()) << "the next call reconnects";
}

TEST_F(FaultTest, AnIdempotentStatementCutInFlightIsRetried) {
  proxy_->ArmOnClientBytes("SELECT 42", TcpProxy::Action::kReset);
  QueryOptions idempotent;
  idempotent.idempotent = true;
  absl::StatusOr<QueryResult> r = db_->Query("SELECT 42", {}, idempotent);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "42");
}

TEST_F(FaultTest, ACommitCutAfterItWasSentIsResolvedAsCommittedAndNotRunAgain) {
  int runs = 0;
  absl::Status s = db_->RunTransaction([&](Transaction& tx) -> absl::Status {
    ++runs;
    if (runs == 1) proxy_->ArmOnClientBytes("COMMIT", TcpProxy::Action::kReset);
    return tx.Query("INSERT INTO w VALUES (2)").status();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(runs, 1) << "committed: the body must not run again";
  EXPECT_EQ(Rows(2), "1");
}

TEST_F(FaultTest, ACommitCutWithoutTheXidIsOutcomeUnknown) {
  TransactionOptions options;
  options.resolve_outcome = false;
  int runs = 0;
  absl::Status s = db_->RunTransaction(
      [&](Transaction& tx) -> absl::Status {
        ++runs;
        if (runs == 1) proxy_->ArmOnClientBytes("COMMIT", TcpProxy::Action::kReset);
        return tx.Query("INSERT INTO w VALUES (3)").status();
      },
      options);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown) << s;
  EXPECT_TRUE(IsOutcomeUnknown(s));
  EXPECT_TRUE(absl::StrContains(s.message(), "may or may not have committed")) << s;
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(Rows(3), "1");
}

TEST_F(FaultTest, AConnectionCutBeforeCommitRunsTheTransactionAgainExactlyOnce) {
  int runs = 0;
  absl::Status s = db_->RunTransaction([&](Transaction& tx) -> absl::Status {
    ++runs;
    if (auto r = tx.Query("INSERT INTO w VALUES (4)"); !r.ok()) return r.status();
    if (runs == 1) proxy_->ArmOnClientBytes("SELECT 'last'", TcpProxy::Action::kReset);
    return tx.Query("SELECT 'last'").status();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(Rows(4), "1") << "the first attempt was rolled back by the server";
}

TEST_F(FaultTest, AStalledServerIsBoundedByTheQueryBudgetForIdempotentRetries) {
  // A server that stops answering: a reset afterwards ends the wait.
  proxy_->ArmOnClientBytes("SELECT 7", TcpProxy::Action::kStall);
  std::thread unstick([&] {
    absl::SleepFor(absl::Milliseconds(300));
    proxy_->ResetAll();
    proxy_->SetStalled(false);
  });
  QueryOptions idempotent;
  idempotent.idempotent = true;
  absl::StatusOr<QueryResult> r = db_->Query("SELECT 7", {}, idempotent);
  unstick.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "7");
}

}  // namespace
}  // namespace aequor
