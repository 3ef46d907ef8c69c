// bench/storm/verdict.h: a backend gone is a reaped zombie, a false kill or
// neither, by its instance's phase at the kill's own time.
#include "bench/storm/verdict.h"

#include <optional>

#include "bench/storm/phases.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

using Kind = Verdict::Kind;

// Running from 0, answered at 40, frozen at 50, thawed at 900, answered at
// 940, frozen at 950.
PhaseHistory TwoInvocations() {
  PhaseHistory h(InstancePhase::kRunning, 0);
  h.Set(InstancePhase::kAnswered, 40);
  h.Set(InstancePhase::kFrozen, 50);
  h.Set(InstancePhase::kRunning, 900);
  h.Set(InstancePhase::kAnswered, 940);
  h.Set(InstancePhase::kFrozen, 950);
  return h;
}

TEST(StormVerdictTest, ALoggedKillIsJudgedByThePhaseAtItsLoggedTime) {
  const PhaseHistory h = TwoInvocations();
  Verdict v = JudgeDisappearance(h, true, LoggedKill{500, "administrator command"}, 450, 1000);
  EXPECT_EQ(v.kind, Kind::kZombieReaped);
  EXPECT_EQ(v.when_ms, 500);
  EXPECT_EQ(v.reason, "administrator command");
  // Seen gone while frozen again, killed while running: a false kill in flight.
  v = JudgeDisappearance(h, true, LoggedKill{910, "idle-session timeout"}, 880, 1000);
  EXPECT_EQ(v.kind, Kind::kFalseKill);
  EXPECT_EQ(FalseKillPhase(h, v.when_ms), "in_flight");
  v = JudgeDisappearance(h, true, LoggedKill{945, "idle-session timeout"}, 900, 1000);
  EXPECT_EQ(v.kind, Kind::kFalseKill);
  EXPECT_EQ(FalseKillPhase(h, v.when_ms), "answered_not_frozen");
}

TEST(StormVerdictTest, AKillAfterTheInstanceEndedIsNothing) {
  PhaseHistory h(InstancePhase::kRunning, 0);
  h.Set(InstancePhase::kEnded, 100);
  EXPECT_EQ(JudgeDisappearance(h, true, LoggedKill{150, "administrator command"}, 90, 200).kind,
            Kind::kNone);
  EXPECT_EQ(JudgeDisappearance(h, false, std::nullopt, 90, 200).kind, Kind::kNone);
}

TEST(StormVerdictTest, WithALogAnUnloggedDisappearanceIsAZombieOnlyIfFrozenThroughout) {
  const PhaseHistory h = TwoInvocations();
  Verdict v = JudgeDisappearance(h, true, std::nullopt, 100, 800);
  EXPECT_EQ(v.kind, Kind::kZombieReaped);
  EXPECT_EQ(v.reason, "not in the server log");
  EXPECT_EQ(v.when_ms, 800);
  // Alive at some point since it was last seen: it may have closed its own.
  EXPECT_EQ(JudgeDisappearance(h, true, std::nullopt, 100, 920).kind, Kind::kNone);
}

TEST(StormVerdictTest, WithoutALogThePhaseWhenFoundGoneDecides) {
  const PhaseHistory h = TwoInvocations();
  Verdict v = JudgeDisappearance(h, false, std::nullopt, 100, 600);
  EXPECT_EQ(v.kind, Kind::kZombieReaped);
  EXPECT_EQ(v.reason, "terminated");
  v = JudgeDisappearance(h, false, std::nullopt, 100, 920);
  EXPECT_EQ(v.kind, Kind::kFalseKill);
  EXPECT_EQ(v.reason, "terminated");
  EXPECT_EQ(FalseKillPhase(h, v.when_ms), "in_flight");
}

}  // namespace
}  // namespace storm
}  // namespace aequor
