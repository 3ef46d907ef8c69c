// The transaction helper against a real server: retried from the start on
// serialization failures and on a connection lost before COMMIT; never run
// twice once committed.
#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

using testing::ThrowawayPostgres;

// One server for the whole binary (testing/postgres_test_base.h).
class TransactionTest : public testing::PostgresTest<TransactionTest> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_
                    ->AdminQuery("DROP TABLE IF EXISTS t; CREATE TABLE t (id int, v int); "
                                 "INSERT INTO t VALUES (1, 0); GRANT ALL ON t TO aequor_app")
                    .ok());
    std::vector<Event>* events = &events_;
    CallbackHooks hooks;
    hooks.on_event = [events](const Event& e) { events->push_back(e); };
    auto m = testing::QuietBuilder(*server_, "tx-test", "transaction-test-secret-0123")
                 .SetHooks(std::move(hooks))
                 .Build();
    ASSERT_TRUE(m.ok()) << m.status();
    db_ = *std::move(m);
  }
  std::string Admin(const std::string& sql) {
    auto r = server_->AdminQuery(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : "";
  }

  std::vector<Event> events_;
  std::unique_ptr<ConnectionManager> db_;
};

TEST_F(TransactionTest, CommitsWhatTheBodyDid) {
  absl::Status s = db_->RunTransaction([](Transaction& tx) -> absl::Status {
    if (auto r = tx.Query("UPDATE t SET v = v + 1 WHERE id = $1", {1}); !r.ok()) return r.status();
    return tx.Query("INSERT INTO t VALUES (2, 20)").status();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Admin("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t"), "1:1,2:20");
}

TEST_F(TransactionTest, ABodyErrorRollsBackAndIsReturnedWithoutRetry) {
  int runs = 0;
  absl::Status s = db_->RunTransaction([&](Transaction& tx) -> absl::Status {
    ++runs;
    if (auto r = tx.Query("INSERT INTO t VALUES (3, 30)"); !r.ok()) return r.status();
    return absl::FailedPreconditionError("the caller changed its mind");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(Admin("SELECT count(*) FROM t WHERE id = 3"), "0");
  // A server error in the body is returned with its SQLSTATE, not retried.
  runs = 0;
  s = db_->RunTransaction([&](Transaction& tx) -> absl::Status {
    ++runs;
    return tx.Query("SELECT 1/0").status();
  });
  EXPECT_EQ(SqlState(s), "22012");
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(db_->Query("SELECT 1").ok()) << "the connection is usable afterwards";
}

TEST_F(TransactionTest, ASerializationFailureRunsTheBodyAgainFromTheStart) {
  int runs = 0;
  TransactionOptions options;
  options.isolation = Isolation::kRepeatableRead;
  absl::Status s = db_->RunTransaction(
      [&](Transaction& tx) -> absl::Status {
        ++runs;
        auto r = tx.Query("SELECT v FROM t WHERE id = 1");
        if (!r.ok()) return r.status();
        if (runs == 1) {
          // Another session changes the row after our snapshot was taken.
          EXPECT_EQ(Admin("UPDATE t SET v = 100 WHERE id = 1"), "");
        }
        return tx.Query("UPDATE t SET v = v + 1 WHERE id = 1").status();
      },
      options);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(Admin("SELECT v FROM t WHERE id = 1"), "101");
  int retries = 0;
  for (const Event& e : events_) retries += e.kind == EventKind::kRetry;
  EXPECT_EQ(retries, 1);
}

TEST_F(TransactionTest, AConnectionLostBeforeCommitRunsTheBodyAgain) {
  int runs = 0;
  absl::Status s = db_->RunTransaction([&](Transaction& tx) -> absl::Status {
    ++runs;
    auto pid = tx.Query("SELECT pg_backend_pid()");
    if (!pid.ok()) return pid.status();
    if (auto r = tx.Query("INSERT INTO t VALUES (4, 40)"); !r.ok()) return r.status();
    if (runs == 1) {
      Admin(absl::StrCat("SELECT pg_terminate_backend(", pid->Get(0, 0), ", 5000)"));
    }
    return tx.Query("SELECT 1").status();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(Admin("SELECT count(*) FROM t WHERE id = 4"), "1") << "exactly one row";
}

TEST_F(TransactionTest, CallingTheManagerFromTheBodyIsAnErrorNotADeadlock) {
  absl::Status inner;
  absl::Status s = db_->RunTransaction([&](Transaction&) -> absl::Status {
    inner = db_->Query("SELECT 1").status();
    EXPECT_TRUE(db_->connected());
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(inner.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(inner.message(), "inside a RunTransaction body"));
}

TEST_F(TransactionTest, ABodyThatThrowsRollsBackAndReturnsInternal) {
  absl::Status s = db_->RunTransaction([&](Transaction& tx) -> absl::Status {
    (void)tx.Query("INSERT INTO t VALUES (5, 50)");
    throw std::runtime_error("bug in the handler");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(s.message(), "bug in the handler")) << s;
  EXPECT_EQ(Admin("SELECT count(*) FROM t WHERE id = 5"), "0");
  EXPECT_TRUE(db_->Query("SELECT 1").ok());
}

TEST_F(TransactionTest, BadIsolationIsRefused) {
  TransactionOptions options;
  options.isolation = static_cast<Isolation>(42);  // not one of the enum's values
  absl::Status s = db_->RunTransaction([](Transaction&) { return absl::OkStatus(); }, options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "TransactionOptions.isolation"));
}

}  // namespace
}  // namespace aequor
