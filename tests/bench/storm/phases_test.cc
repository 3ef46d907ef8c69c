// bench/storm/phases.h: an instance's phases with the time of every change.
#include "bench/storm/phases.h"

#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

TEST(StormPhasesTest, ThePhaseAtATimeIsTheLastChangeAtOrBeforeIt) {
  PhaseHistory h(InstancePhase::kRunning, 10);
  h.Set(InstancePhase::kAnswered, 40);
  h.Set(InstancePhase::kFrozen, 50);
  h.Set(InstancePhase::kRunning, 900);  // thawed
  EXPECT_EQ(h.current(), InstancePhase::kRunning);
  EXPECT_EQ(h.At(0), InstancePhase::kRunning);  // before the spawn: the first phase
  EXPECT_EQ(h.At(39.9), InstancePhase::kRunning);
  EXPECT_EQ(h.At(40), InstancePhase::kAnswered);
  EXPECT_EQ(h.At(49), InstancePhase::kAnswered);
  EXPECT_EQ(h.At(50), InstancePhase::kFrozen);
  EXPECT_EQ(h.At(899), InstancePhase::kFrozen);
  EXPECT_EQ(h.At(5000), InstancePhase::kRunning);
  EXPECT_EQ(h.SinceAt(600), 50);
  EXPECT_EQ(h.SinceAt(45), 40);
  EXPECT_EQ(h.since_ms(), 900);
  EXPECT_TRUE(h.Throughout(InstancePhase::kFrozen, 50, 899));
  EXPECT_FALSE(h.Throughout(InstancePhase::kFrozen, 49, 100));
  EXPECT_FALSE(h.Throughout(InstancePhase::kFrozen, 60, 900));
  EXPECT_EQ(InstancePhaseLabel(h.At(20)), "invocation in flight");
  EXPECT_EQ(InstancePhaseLabel(h.At(45)), "answered, not frozen yet");
}

TEST(StormPhasesTest, RepeatedAndOutOfOrderChangesKeepTheHistoryOrdered) {
  PhaseHistory h(InstancePhase::kRunning, 100);
  h.Set(InstancePhase::kRunning, 150);  // no change
  EXPECT_EQ(h.since_ms(), 100);
  h.Set(InstancePhase::kEnded, 90);  // earlier than the last change: raised to it
  EXPECT_EQ(h.since_ms(), 100);
  EXPECT_EQ(h.At(99), InstancePhase::kRunning);
  EXPECT_EQ(h.At(100), InstancePhase::kEnded);
}

}  // namespace
}  // namespace storm
}  // namespace aequor
