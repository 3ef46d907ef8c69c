// bench/storm/protocol.h: the lines an instance prints and the commands it reads.
#include "bench/storm/protocol.h"

#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

TEST(StormProtocolTest, AnswerLines) {
  EXPECT_EQ(ParseInstanceLine("ok").kind, InstanceLine::Kind::kOk);
  EXPECT_EQ(ParseInstanceLine("ok\r").kind, InstanceLine::Kind::kOk);
  InstanceLine f = ParseInstanceLine("fail 53300 sorry, too many clients already");
  EXPECT_EQ(f.kind, InstanceLine::Kind::kFail);
  EXPECT_EQ(f.failure_key, "53300");
  EXPECT_EQ(f.detail, "sorry, too many clients already");
  InstanceLine t = ParseInstanceLine("fail connection refused");
  EXPECT_EQ(t.failure_key, "connection refused");
  EXPECT_EQ(ParseInstanceLine("fail").failure_key, "unspecified");
  EXPECT_EQ(ParseInstanceLine("# pid 4242").backend_pid, 4242);
  EXPECT_EQ(ParseInstanceLine("# lease s=x").kind, InstanceLine::Kind::kComment);
  EXPECT_EQ(ParseInstanceLine("okay").kind, InstanceLine::Kind::kOther);
  EXPECT_EQ(ParseInstanceLine("failed").kind, InstanceLine::Kind::kOther);
  EXPECT_EQ(FailLine("53300",
                     "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too "
                     "many clients already\n"),
            "fail 53300 sorry, too many clients already");
  EXPECT_EQ(FailLine("", "boom\nbang"), "fail boom bang");
}

// A failure key is cut to about 80 bytes, at a word boundary, never mid-word
// (issue 12, item 6: "... reaper_scheduler: aequor.reaper.probability: opt").
TEST(StormProtocolTest, LongFailureTextIsCutBetweenWordsNeverInOne) {
  const std::string text =
      "config: reaper_scheduler: aequor.reaper.probability: option 'p' must be a number in "
      "[0, 1], got '2'";
  ASSERT_GT(text.size(), 80u);
  InstanceLine f = ParseInstanceLine("fail " + text);
  EXPECT_EQ(f.failure_key,
            "config: reaper_scheduler: aequor.reaper.probability: option 'p' must be a number");
  EXPECT_LE(f.failure_key.size(), 80u);
  // Exactly 80 bytes that end a word stay whole.
  const std::string eighty = std::string(75, 'x') + " abcd";
  EXPECT_EQ(ParseInstanceLine("fail " + eighty + " more").failure_key, eighty);
  // One word longer than the bound is kept whole, not cut inside.
  const std::string word(100, 'y');
  EXPECT_EQ(ParseInstanceLine("fail " + word + " tail").failure_key, word);
}

TEST(StormProtocolTest, UnknownOutcomeIsItsOwnFailureKey) {
  InstanceLine u = ParseInstanceLine("fail unknown_outcome terminating connection [57P01]");
  EXPECT_EQ(u.kind, InstanceLine::Kind::kFail);
  EXPECT_TRUE(u.outcome_unknown);
  EXPECT_EQ(u.failure_key, "unknown_outcome");
  EXPECT_EQ(u.detail, "terminating connection [57P01]");
  EXPECT_TRUE(ParseInstanceLine("fail unknown_outcome").outcome_unknown);
  EXPECT_FALSE(ParseInstanceLine("fail 57P01 terminating connection").outcome_unknown);
  EXPECT_FALSE(ParseInstanceLine("fail unknown_outcomes").outcome_unknown);
  EXPECT_EQ(FailLine(kUnknownOutcome, "connection lost ...: FATAL:  terminating connection\n"),
            "fail unknown_outcome terminating connection");
}

TEST(StormProtocolTest, InvokeCommandsAndTheWriteStatement) {
  EXPECT_EQ(InvokeCommand(17), "invoke 17");
  EXPECT_EQ(ParseInvokeCommand("invoke 17", 3), 17);
  EXPECT_EQ(ParseInvokeCommand("  invoke   17\r", 3), 17);
  EXPECT_EQ(ParseInvokeCommand("invoke", 3), 4);
  EXPECT_FALSE(ParseInvokeCommand("invoke x", 3).has_value());
  EXPECT_FALSE(ParseInvokeCommand("invoke -2", 3).has_value());
  EXPECT_FALSE(ParseInvokeCommand("invoked", 3).has_value());
  EXPECT_FALSE(ParseInvokeCommand("exit", 3).has_value());
  EXPECT_EQ(WriteStatement(7, 2, 0),
            "INSERT INTO storm_writes (invocation, instance) VALUES (7, 2)");
  EXPECT_EQ(WriteStatement(7, 2, 0.2),
            "INSERT INTO storm_writes (invocation, instance) SELECT 7, 2 FROM pg_sleep(0.2)");
}

TEST(StormProtocolTest, ReapCommentsNameTheirSourceAndKills) {
  InstanceLine l =
      ParseInstanceLine("# reap source=emergency outcome=ok scanned=5 candidates=3 killed=3 ms=2");
  EXPECT_EQ(l.kind, InstanceLine::Kind::kComment);
  ASSERT_TRUE(l.reap.has_value());
  EXPECT_EQ(l.reap->source, "emergency");
  EXPECT_EQ(l.reap->killed, 3);
  EXPECT_EQ(ParseInstanceLine("# reap killed=0 source=connect").reap->source, "connect");
  EXPECT_FALSE(ParseInstanceLine("# reap source=connect").reap.has_value());
  EXPECT_FALSE(ParseInstanceLine("# reap killed=2").reap.has_value());
  EXPECT_FALSE(ParseInstanceLine("# reap source=x killed=-1").reap.has_value());
  EXPECT_FALSE(ParseInstanceLine("# pid 12").reap.has_value());
  EXPECT_EQ(l.reap->outcome, "ok");
  EXPECT_FALSE(l.reap->frozen_leader_killed);
}

TEST(StormProtocolTest, ReapCommentsCarryTheOutcomeAndAFreedLeader) {
  // What storm_instance prints for aequor's ReapReport.
  InstanceLine busy = ParseInstanceLine(
      "# reap source=connect outcome=busy scanned=0 candidates=0 killed=0 ms=3 "
      "frozen_leader_killed=0");
  ASSERT_TRUE(busy.reap.has_value());
  EXPECT_EQ(busy.reap->outcome, "busy");
  EXPECT_EQ(busy.reap->killed, 0);
  EXPECT_FALSE(busy.reap->frozen_leader_killed);
  InstanceLine freed = ParseInstanceLine(
      "# reap source=connect outcome=completed scanned=4 candidates=1 killed=2 ms=108 "
      "frozen_leader_killed=1");
  ASSERT_TRUE(freed.reap.has_value());
  EXPECT_EQ(freed.reap->outcome, "completed");
  EXPECT_EQ(freed.reap->killed, 2);
  EXPECT_TRUE(freed.reap->frozen_leader_killed);
  EXPECT_EQ(ParseInstanceLine("# reap source=x killed=1").reap->outcome, "");
}

}  // namespace
}  // namespace storm
}  // namespace aequor
