// bench/storm/frozen_leader.h: what became of a frozen leader, from the
// reaper passes the instances reported and the zombies reaped (the session
// itself needs a server: tests/bench/storm/storm_frozen_leader_test.cc).
#include "bench/storm/frozen_leader.h"

#include <vector>

#include "bench/storm/summary.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

ReapLine Pass(double read_ms, int instance, const char* outcome, int killed, bool leader = false) {
  ReapLine line;
  line.read_ms = read_ms;
  line.instance = instance;
  line.reap.source = "connect";
  line.reap.outcome = outcome;
  line.reap.killed = killed;
  line.reap.frozen_leader_killed = leader;
  return line;
}

TEST(StormFrozenLeaderReportTest, ReapingResumesAtTheFirstKillAfterTheExpiry) {
  FrozenLeaderReport f;
  f.killed_ms = 2170;
  SummarizeFrozenLeader(
      1953,
      {Pass(300, 2, "busy", 0), Pass(1200, 5, "busy", 0),
       Pass(2180, 9, "completed", 3, /*leader=*/true), Pass(2500, 10, "completed", 1)},
      {150, 2200, 2482.5}, &f);
  EXPECT_EQ(f.lease_expires_ms, 1953);
  EXPECT_EQ(f.freed_by_instance, 9);
  EXPECT_EQ(f.passes_while_valid, 2);
  EXPECT_EQ(f.busy_while_valid, 2);
  EXPECT_EQ(f.kills_while_valid, 0);
  ASSERT_TRUE(f.reaping_resumed_ms.has_value());
  EXPECT_EQ(*f.reaping_resumed_ms, 2170 - 1953);
  EXPECT_EQ(f.first_zombie_reaped_ms, 2200);
  EXPECT_TRUE(f.within_ttl_plus_1s);
  EXPECT_EQ(FrozenLeaderLine(f),
            "frozen leader: lease expired at 1.953 s, terminated at 2.170 s by instance 9's pass; "
            "reaping resumed 217 ms after the expiry (within TTL + 1 s: yes); first instance "
            "zombie reaped after it at 2.200 s; while its lease was valid: 2 passes, 2 busy, 0 "
            "sessions terminated");
}

TEST(StormFrozenLeaderReportTest, ALeaderNeverFreedResumesNothing) {
  FrozenLeaderReport f;
  SummarizeFrozenLeader(1953, {Pass(300, 2, "completed", 1)}, {100}, &f);
  EXPECT_FALSE(f.freed_by_instance.has_value());
  EXPECT_EQ(f.kills_while_valid, 1);
  EXPECT_FALSE(f.reaping_resumed_ms.has_value());
  EXPECT_FALSE(f.first_zombie_reaped_ms.has_value());
  EXPECT_FALSE(f.within_ttl_plus_1s);
  EXPECT_EQ(FrozenLeaderLine(f),
            "frozen leader: lease expired at 1.953 s, never terminated; reaping resumed never "
            "(within TTL + 1 s: NO); while its lease was valid: 1 passes, 0 busy, 1 sessions "
            "terminated");
}

}  // namespace
}  // namespace storm
}  // namespace aequor
