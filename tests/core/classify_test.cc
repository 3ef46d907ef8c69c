// The retry classifier: every rule of core/classify.h, as a table.
#include "core/classify.h"

#include "api/errors.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

absl::Status Sql(const char* sqlstate) { return StatusFromSqlState(sqlstate, "server said no"); }

TEST(Classify, ConnectPhase) {
  auto verdict = [](absl::Status s) {
    FailureFacts f;
    f.phase = Phase::kConnect;
    f.status = s;
    return Classify(f);
  };
  EXPECT_EQ(verdict(Sql("53300")), Verdict::kRetry) << "too many clients";
  EXPECT_EQ(verdict(Sql("57P03")), Verdict::kRetry) << "starting up";
  EXPECT_EQ(verdict(absl::UnavailableError("connection refused")), Verdict::kRetry);
  EXPECT_EQ(verdict(Sql("28P01")), Verdict::kFail) << "bad password: never";
  EXPECT_EQ(verdict(Sql("28000")), Verdict::kFail) << "no pg_hba entry: never";
  EXPECT_EQ(verdict(Sql("3D000")), Verdict::kFail) << "no such database: never";
  EXPECT_EQ(verdict(absl::InvalidArgumentError("invalid connection option")), Verdict::kFail);
}

TEST(Classify, StatementPhase) {
  FailureFacts f;
  f.phase = Phase::kStatement;
  f.connection_lost = true;
  f.status = absl::UnavailableError("connection lost");
  EXPECT_EQ(Classify(f), Verdict::kOutcomeUnknown) << "sent, not idempotent";
  f.idempotent = true;
  EXPECT_EQ(Classify(f), Verdict::kRetry);
  f.idempotent = false;
  f.nothing_sent = true;
  EXPECT_EQ(Classify(f), Verdict::kRetry) << "provably nothing ran";
  f.nothing_sent = false;
  f.in_transaction = true;
  f.idempotent = true;
  EXPECT_EQ(Classify(f), Verdict::kFail) << "one statement of a dead transaction is never re-run";
  f.is_commit = true;
  EXPECT_EQ(Classify(f), Verdict::kOutcomeUnknown) << "a COMMIT lost in flight";

  FailureFacts s;
  s.phase = Phase::kStatement;
  s.status = Sql("40001");
  EXPECT_EQ(Classify(s), Verdict::kRetry) << "autocommit serialization failure rolled back";
  s.status = Sql("40P01");
  EXPECT_EQ(Classify(s), Verdict::kRetry);
  s.in_transaction = true;
  EXPECT_EQ(Classify(s), Verdict::kFail) << "inside the user's transaction: theirs to retry";
  s.in_transaction = false;
  s.status = Sql("23505");
  EXPECT_EQ(Classify(s), Verdict::kFail);
  s.status = Sql("57014");
  EXPECT_EQ(Classify(s), Verdict::kFail) << "statement_timeout is not retried";
}

TEST(Classify, TransactionBodyAndCommit) {
  FailureFacts body;
  body.phase = Phase::kTransactionBody;
  body.connection_lost = true;
  EXPECT_EQ(Classify(body), Verdict::kRetry) << "lost before COMMIT: nothing committed";
  body.connection_lost = false;
  body.status = Sql("40001");
  EXPECT_EQ(Classify(body), Verdict::kRetry);
  body.status = Sql("23505");
  EXPECT_EQ(Classify(body), Verdict::kFail);

  FailureFacts commit;
  commit.phase = Phase::kCommit;
  commit.connection_lost = true;
  EXPECT_EQ(Classify(commit), Verdict::kOutcomeUnknown);
  commit.connection_lost = false;
  commit.status = Sql("40001");
  EXPECT_EQ(Classify(commit), Verdict::kRetry) << "serializable failure at COMMIT rolled back";
  commit.status = Sql("23505");  // a deferred constraint
  EXPECT_EQ(Classify(commit), Verdict::kFail);
}

TEST(Classify, ATimedOutStatementIsNeverRetriedAndASentWriteIsUnknown) {
  FailureFacts f;
  f.phase = Phase::kStatement;
  f.connection_lost = true;
  f.timed_out = true;
  f.status = absl::DeadlineExceededError("deadline");
  EXPECT_EQ(Classify(f), Verdict::kOutcomeUnknown) << "sent, not idempotent";
  f.idempotent = true;
  EXPECT_EQ(Classify(f), Verdict::kFail) << "the call's time is spent";
  f.phase = Phase::kTransactionBody;
  EXPECT_EQ(Classify(f), Verdict::kFail) << "rolled back, and no time to run it again";
  f.phase = Phase::kCommit;
  EXPECT_EQ(Classify(f), Verdict::kOutcomeUnknown);
}

TEST(LooksLikeCommit, RecognisesCommitStatementsOnly) {
  for (const char* yes : {"COMMIT", "commit", "  Commit;", "END", "end transaction",
                          "COMMIT AND CHAIN", "COMMIT PREPARED 'x'"}) {
    EXPECT_TRUE(LooksLikeCommit(yes)) << yes;
  }
  for (const char* no :
       {"SELECT 1", "committed_at", "ENDING", "INSERT INTO commit VALUES (1)", "", "ROLLBACK"}) {
    EXPECT_FALSE(LooksLikeCommit(no)) << no;
  }
}

}  // namespace
}  // namespace aequor
