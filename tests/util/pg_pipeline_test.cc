// pg::RunPipeline (util/pg.h) against a real PostgreSQL 15 that the test
// starts: one reply per statement, in order; a failed statement ends only
// its own sync segment; a deadline that passes mid-pipeline times out the
// statements still unanswered and closes the connection.
#include <libpq-fe.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/clock.h"
#include "gtest/gtest.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"
#include "util/pg.h"

namespace aequor {
namespace {

class PipelineTest : public testing::PostgresTest<PipelineTest> {
 protected:
  static pg::Conn Open() {
    const std::string conninfo =
        absl::StrCat(server_->SocketConninfoFor("aequor_app"), " application_name=pipeline-test");
    pg::Conn conn(PQconnectdb(conninfo.c_str()));
    EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << pg::ErrorMessage(conn.get());
    return conn;
  }

  static std::string Value(const pg::Reply& reply) {
    if (reply.result == nullptr || PQresultStatus(reply.result.get()) != PGRES_TUPLES_OK) {
      return "(no rows)";
    }
    return PQgetvalue(reply.result.get(), 0, 0);
  }
};

pg::Deadline In(absl::Duration d) {
  Clock& clock = *Clock::Real();
  return pg::Deadline(clock, clock.MonotonicNow() + d, absl::Seconds(1));
}

TEST_F(PipelineTest, EachStatementGetsItsOwnReplyAndAFailureEndsOnlyItsOwn) {
  pg::Conn conn = Open();
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  const char* two[] = {"2"};
  const char* zero[] = {"0"};
  std::vector<pg::Statement> statements(4);
  statements[0].text = "SELECT 1";
  statements[1].text = "SELECT $1::int * 10";
  statements[1].n_params = 1;
  statements[1].values = two;
  statements[2].text = "SELECT 1 / $1::int";
  statements[2].n_params = 1;
  statements[2].values = zero;
  statements[3].text = "SELECT 4";
  std::vector<pg::Reply> replies = pg::RunPipeline(conn.get(), statements, In(absl::Seconds(30)));
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(Value(replies[0]), "1");
  EXPECT_EQ(Value(replies[1]), "20");
  ASSERT_NE(replies[2].result, nullptr);
  EXPECT_EQ(PQresultStatus(replies[2].result.get()), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(replies[2].result.get(), PG_DIAG_SQLSTATE), "22012");
  EXPECT_EQ(Value(replies[3]), "4") << "the statement after a failed one runs in its own segment";
  for (const pg::Reply& r : replies) EXPECT_FALSE(r.timed_out);
  // Out of pipeline mode, idle, usable.
  EXPECT_EQ(PQpipelineStatus(conn.get()), PQ_PIPELINE_OFF);
  EXPECT_EQ(PQtransactionStatus(conn.get()), PQTRANS_IDLE);
  pg::Outcome after = pg::Exec(conn.get(), "SELECT 5");
  ASSERT_TRUE(after.ok()) << after.message();
}

TEST_F(PipelineTest, ADeadlinePassingMidPipelineTimesOutWhatIsUnansweredAndClosesTheConnection) {
  pg::Conn conn = Open();
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK);
  std::vector<pg::Statement> statements(3);
  statements[0].text = "SELECT 1";
  statements[1].text = "SELECT 2 FROM pg_sleep(30)";
  statements[2].text = "SELECT 3";
  std::vector<pg::Reply> replies =
      pg::RunPipeline(conn.get(), statements, In(absl::Milliseconds(300)));
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(Value(replies[0]), "1");
  EXPECT_FALSE(replies[0].timed_out);
  EXPECT_TRUE(replies[1].timed_out);
  EXPECT_EQ(replies[1].result, nullptr);
  EXPECT_TRUE(replies[2].timed_out) << "sent, never answered";
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD) << "shut, as pg::Run does";
}

}  // namespace
}  // namespace aequor
