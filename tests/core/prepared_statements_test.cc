// The statement cache (ManagerOptions::statement_cache_size) against a real
// server: what is prepared on the session and when, the bound, a reconnect,
// and the two ways the server refuses a name (a changed table, a name it no
// longer knows), each retried unnamed without the caller seeing it.
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/manager_builders.h"
#include "testing/pgbouncer.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "prepared-statements-secret-0123";

class PreparedStatementsTest : public testing::PostgresTest<PreparedStatementsTest> {
 protected:
  std::unique_ptr<ConnectionManager> Make(int cache_size) {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, "prepared", kSecret);
    b.mutable_options().statement_cache_size = cache_size;
    return testing::MakeManager(std::move(b));
  }
  // The statements prepared on the manager's session, read with a text
  // used once (never cached itself).
  int Prepared(ConnectionManager& m) {
    absl::StatusOr<QueryResult> r = m.Query(
        absl::StrCat("SELECT count(*) FROM pg_prepared_statements -- ", ++reads_));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::stoi(std::string(r->Get(0, 0))) : -1;
  }
  int reads_ = 0;
};

TEST_F(PreparedStatementsTest, AStatementIsPreparedOnItsSecondRunAndNotBefore) {
  std::unique_ptr<ConnectionManager> m = Make(8);
  const char* sql = "SELECT $1::int * 2 AS twice";
  ASSERT_TRUE(m->Query(sql, {21}).ok());
  EXPECT_EQ(Prepared(*m), 0) << "a statement run once is not prepared";
  absl::StatusOr<QueryResult> r = m->Query(sql, {21});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "42");
  EXPECT_EQ(Prepared(*m), 1);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<QueryResult> again = m->Query(sql, {i});
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->Get(0, "twice"), std::to_string(2 * i));
  }
  EXPECT_EQ(Prepared(*m), 1) << "run by name, not prepared again";
  // Without the cache nothing is ever prepared.
  std::unique_ptr<ConnectionManager> off = Make(0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(off->Query(sql, {i}).ok());
  EXPECT_EQ(Prepared(*off), 0);
}

TEST_F(PreparedStatementsTest, TheCacheIsBoundedAndStartsAgainOnANewConnection) {
  std::unique_ptr<ConnectionManager> m = Make(2);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(m->Query(absl::StrCat("SELECT ", i, " + $1::int"), {1}).ok());
  }
  EXPECT_EQ(Prepared(*m), 2) << "at most statement_cache_size";
  m->Close();
  ASSERT_TRUE(m->Query("SELECT 0 + $1::int", {1}).ok());
  EXPECT_EQ(Prepared(*m), 0) << "a new session: nothing prepared yet";
  ASSERT_TRUE(m->Query("SELECT 0 + $1::int", {1}).ok());
  EXPECT_EQ(Prepared(*m), 1) << "prepared again on its second run there";
}

TEST_F(PreparedStatementsTest, AChangedTableIsRetriedUnnamedAndTheCallerSeesTheNewShape) {
  std::unique_ptr<ConnectionManager> m = Make(8);
  ASSERT_TRUE(m->Query("CREATE TABLE IF NOT EXISTS shape (a int)").ok());
  ASSERT_TRUE(m->Query("INSERT INTO shape VALUES (1)").ok());
  const char* sql = "SELECT * FROM shape WHERE a = $1::int";
  ASSERT_TRUE(m->Query(sql, {1}).ok());
  ASSERT_TRUE(m->Query(sql, {1}).ok());  // prepared
  ASSERT_EQ(Prepared(*m), 1);
  ASSERT_TRUE(m->Query("ALTER TABLE shape ADD COLUMN b text DEFAULT 'x'").ok());
  // The plan cannot be reused (0A000): run unnamed, the new column there.
  absl::StatusOr<QueryResult> r = m->Query(sql, {1});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->columns(), 2);
  EXPECT_EQ(r->Get(0, "b"), "x");
  ASSERT_TRUE(m->Query("DROP TABLE shape").ok());
}

TEST_F(PreparedStatementsTest, ANameTheServerForgotIsRetriedUnnamedAndTheCacheTurnsOff) {
  std::unique_ptr<ConnectionManager> m = Make(8);
  const char* sql = "SELECT $1::text || '!'";
  ASSERT_TRUE(m->Query(sql, {"a"}).ok());
  ASSERT_TRUE(m->Query(sql, {"b"}).ok());
  ASSERT_EQ(Prepared(*m), 1);
  // What a transaction-mode pooler does to a session's names, in effect.
  ASSERT_TRUE(m->WithConnection([](PGconn* c) {
                  PQclear(PQexec(c, "DEALLOCATE ALL"));
                  return absl::OkStatus();
                })
                  .ok());
  absl::StatusOr<QueryResult> r = m->Query(sql, {"c"});
  ASSERT_TRUE(r.ok()) << r.status() << " (26000 must be retried unnamed)";
  EXPECT_EQ(r->Get(0, 0), "c!");
  ASSERT_TRUE(m->Query(sql, {"d"}).ok());
  ASSERT_TRUE(m->Query(sql, {"e"}).ok());
  EXPECT_EQ(Prepared(*m), 0) << "the connection's cache is off from then on";
}

TEST_F(PreparedStatementsTest, ErrorsOfAPreparedStatementAreTheStatementsOwn) {
  std::unique_ptr<ConnectionManager> m = Make(8);
  const char* bad = "SELEC $1::int";
  absl::StatusOr<QueryResult> first = m->Query(bad, {1});
  absl::StatusOr<QueryResult> second = m->Query(bad, {1});  // the prepare fails
  EXPECT_EQ(SqlState(first.status()), "42601");
  EXPECT_EQ(SqlState(second.status()), "42601");
  EXPECT_EQ(first.status().message(), second.status().message());
  const char* div = "SELECT 1 / $1::int";
  ASSERT_TRUE(m->Query(div, {1}).ok());
  absl::StatusOr<QueryResult> zero = m->Query(div, {0});  // prepared, then fails at run
  EXPECT_EQ(SqlState(zero.status()), "22012");
  EXPECT_TRUE(m->Query(div, {1}).ok());
}

// Behind PgBouncer in transaction mode, two clients' statements share server
// sessions. A client's name must never run another client's statement:
// names carry the instance and the connection, so a name found on the wrong
// session is unknown there (26000) and the statement runs again unnamed.
// Each client's statement answers with its own tag, so a statement of the
// other client run by mistake shows.
TEST_F(PreparedStatementsTest, BehindATransactionPoolerNoClientRunsAnothersStatement) {
  testing::PgBouncerOptions o;
  o.default_pool_size = 2;
  absl::StatusOr<std::unique_ptr<testing::PgBouncer>> bouncer = testing::PgBouncer::Start(*server_, o);
  ASSERT_TRUE(bouncer.ok()) << bouncer.status();
  std::unique_ptr<ConnectionManager> clients[2];
  for (int i = 0; i < 2; ++i) {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, "prepared_pooled", kSecret);
    b.SetConninfo((*bouncer)->ConninfoFor(testing::ThrowawayPostgres::kAppRole));
    b.mutable_options().statement_cache_size = 8;
    clients[i] = testing::MakeManager(std::move(b));
    ASSERT_NE(clients[i], nullptr);
  }
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 2; ++i) {
      // The same shape (one text parameter) for both clients, a different tag.
      const std::string sql = absl::StrCat("SELECT $1::text || ':client", i, "'");
      absl::StatusOr<QueryResult> r = clients[i]->Query(sql, {absl::StrCat(round)});
      ASSERT_TRUE(r.ok()) << "client " << i << ", round " << round << ": " << r.status();
      EXPECT_EQ(r->Get(0, 0), absl::StrCat(round, ":client", i)) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace aequor
