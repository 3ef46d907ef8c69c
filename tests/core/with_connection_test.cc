// ConnectionManager::WithConnection (and PooledConnection's), the escape
// hatch for what the manager does not wrap, against a real server: COPY
// FROM STDIN and LISTEN/NOTIFY on the managed connection, and what `fn`
// leaves behind never reaching the next call.
#include <libpq-fe.h>
#include <poll.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/connection_manager.h"
#include "api/pool.h"
#include "gtest/gtest.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "with-connection-secret-0123456789";

class WithConnectionTest : public testing::PostgresTest<WithConnectionTest> {
 protected:
  std::unique_ptr<ConnectionManager> Make() {
    return testing::MakeManager(testing::QuietBuilder(*server_, "with_conn", kSecret));
  }
  static std::string Pid(ConnectionManager& m) {
    absl::StatusOr<QueryResult> r = m.Query("SELECT pg_backend_pid()");
    return r.ok() ? std::string(r->Get(0, 0)) : "error: " + r.status().ToString();
  }
};

// The whole of a COPY FROM STDIN on the managed connection.
absl::Status CopyRows(PGconn* c, int rows) {
  PGresult* started = PQexec(c, "COPY copied (id, name) FROM STDIN");
  const bool in = PQresultStatus(started) == PGRES_COPY_IN;
  PQclear(started);
  if (!in) return absl::InternalError(PQerrorMessage(c));
  for (int i = 1; i <= rows; ++i) {
    const std::string line = absl::StrCat(i, "\tname ", i, "\n");
    if (PQputCopyData(c, line.data(), static_cast<int>(line.size())) != 1) {
      return absl::InternalError(PQerrorMessage(c));
    }
  }
  if (PQputCopyEnd(c, nullptr) != 1) return absl::InternalError(PQerrorMessage(c));
  PGresult* done = PQgetResult(c);
  const bool ok = PQresultStatus(done) == PGRES_COMMAND_OK;
  PQclear(done);
  while (PGresult* more = PQgetResult(c)) PQclear(more);
  return ok ? absl::OkStatus() : absl::InternalError(PQerrorMessage(c));
}

TEST_F(WithConnectionTest, CopyFromStdinRunsOnTheManagedConnectionWhichIsKept) {
  std::unique_ptr<ConnectionManager> m = Make();
  ASSERT_TRUE(m->Query("CREATE TEMP TABLE copied (id int, name text)").ok());
  const std::string before = Pid(*m);
  absl::Status s = m->WithConnection([](PGconn* c) { return CopyRows(c, 500); });
  ASSERT_TRUE(s.ok()) << s;
  absl::StatusOr<QueryResult> n = m->Query("SELECT count(*), max(name) FROM copied");
  ASSERT_TRUE(n.ok()) << n.status() << " (the temp table lives on the same session)";
  EXPECT_EQ(n->Get(0, 0), "500");
  EXPECT_EQ(n->Get(0, 1), "name 99");
  EXPECT_EQ(Pid(*m), before) << "a clean connection is kept";
}

TEST_F(WithConnectionTest, AConnectionLeftInACopyOrATransactionIsClosedNotReused) {
  std::unique_ptr<ConnectionManager> m = Make();
  ASSERT_TRUE(m->Query("CREATE TABLE IF NOT EXISTS left_behind (id int)").ok());
  // A COPY started and never ended.
  std::string before = Pid(*m);
  absl::Status s = m->WithConnection([](PGconn* c) {
    PGresult* r = PQexec(c, "COPY left_behind FROM STDIN");
    PQclear(r);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_FALSE(m->connected());
  std::string after = Pid(*m);
  EXPECT_NE(after, before) << "a new connection";
  EXPECT_FALSE(absl::StartsWith(after, "error")) << after;

  // A transaction begun and never ended: its insert never commits.
  before = after;
  s = m->WithConnection([](PGconn* c) {
    PQclear(PQexec(c, "BEGIN"));
    PQclear(PQexec(c, "INSERT INTO left_behind VALUES (1)"));
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_NE(Pid(*m), before);
  absl::StatusOr<QueryResult> n = m->Query("SELECT count(*) FROM left_behind");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->Get(0, 0), "0");
  ASSERT_TRUE(m->Query("DROP TABLE left_behind").ok());
}

TEST_F(WithConnectionTest, ListenThenNotifyArrivesOnTheManagedConnection) {
  std::unique_ptr<ConnectionManager> m = Make();
  ASSERT_TRUE(m->WithConnection([](PGconn* c) {
                  PGresult* r = PQexec(c, "LISTEN orders_changed");
                  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
                  PQclear(r);
                  return ok ? absl::OkStatus() : absl::InternalError(PQerrorMessage(c));
                })
                  .ok());
  ASSERT_TRUE(server_->AdminQuery("SELECT pg_notify('orders_changed', 'order 42')").ok());
  std::string payload;
  absl::Status s = m->WithConnection([&](PGconn* c) -> absl::Status {
    // Wait for the notification (bounded), as a LISTEN loop would.
    for (int i = 0; i < 100 && payload.empty(); ++i) {
      struct pollfd p = {PQsocket(c), POLLIN, 0};
      poll(&p, 1, 100);
      PQconsumeInput(c);
      while (PGnotify* n = PQnotifies(c)) {
        payload = n->extra;
        PQfreemem(n);
      }
    }
    return payload.empty() ? absl::DeadlineExceededError("no notification") : absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(payload, "order 42");
  EXPECT_TRUE(m->connected()) << "LISTEN is session state: the connection is kept";
}

TEST_F(WithConnectionTest, NestedCallsAreRefusedAndAThrowingCallbackClosesTheConnection) {
  std::unique_ptr<ConnectionManager> m = Make();
  absl::Status inner;
  ASSERT_TRUE(m->WithConnection([&](PGconn*) {
                  inner = m->Query("SELECT 1").status();
                  return absl::OkStatus();
                })
                  .ok());
  EXPECT_EQ(inner.code(), absl::StatusCode::kFailedPrecondition) << inner;
  absl::Status threw = m->WithConnection([](PGconn*) -> absl::Status { throw 42; });
  EXPECT_EQ(threw.code(), absl::StatusCode::kInternal) << threw;
  EXPECT_FALSE(m->connected());
  EXPECT_TRUE(m->Query("SELECT 1").ok());
  // The callback's own error comes back as it is.
  EXPECT_EQ(m->WithConnection([](PGconn*) { return absl::NotFoundError("mine"); }).message(),
            "mine");
}

TEST_F(WithConnectionTest, APooledConnectionLendsItsConnectionToo) {
  PoolOptions o;
  o.max_size = 1;
  o.maintenance_thread = false;
  absl::StatusOr<std::unique_ptr<Pool>> pool =
      testing::QuietBuilder(*server_, "with_conn_pool", kSecret).BuildPool(o);
  ASSERT_TRUE(pool.ok()) << pool.status();
  absl::StatusOr<PooledConnection> c = (*pool)->Acquire();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->Query("CREATE TEMP TABLE copied (id int, name text)").ok());
  ASSERT_TRUE(c->WithConnection([](PGconn* conn) { return CopyRows(conn, 20); }).ok());
  absl::StatusOr<QueryResult> n = c->Query("SELECT count(*) FROM copied");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->Get(0, 0), "20");
}

}  // namespace
}  // namespace aequor
