// bench/storm/faults.h: one --fault value at a time, and the faults'
// random choices, a pure function of the seed and the invocation id.
#include "bench/storm/faults.h"

#include <optional>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

TEST(StormFaultsTest, EachKindParsesIntoItsField) {
  StormFaults f;
  ASSERT_TRUE(ParseFault("terminate-idle:0.25", &f).ok());
  ASSERT_TRUE(ParseFault("terminate-active:1", &f).ok());
  ASSERT_TRUE(ParseFault("restart-after-backends:7", &f).ok());
  EXPECT_EQ(*f.terminate_idle, 0.25);
  EXPECT_EQ(*f.terminate_active, 1.0);
  EXPECT_EQ(*f.restart_after_backends, 7);
  EXPECT_FALSE(f.restart_at_s.has_value());
  EXPECT_TRUE(f.any());
  EXPECT_TRUE(f.restart());
  EXPECT_EQ(f.ToString(), "terminate-idle:0.25,terminate-active:1,restart-after-backends:7");
  EXPECT_EQ(StormFaults().ToString(), "");
  EXPECT_FALSE(StormFaults().any());
}

TEST(StormFaultsTest, ABadValueIsInvalidArgumentNamingTheFlag) {
  StormFaults f;
  absl::Status s = ParseFault("terminate-idle:NaN", &f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "--fault: terminate-idle: probability must be a number in [0, 1], got 'NaN'");
  EXPECT_EQ(ParseFault("restart-at:inf", &f).message(),
            "--fault: restart-at: must be a number of seconds in [0, 86400], got 'inf'");
  EXPECT_FALSE(f.any()) << "nothing is set by a bad value";
}

TEST(StormFaultsTest, DrawsDependOnlyOnSeedAndInvocation) {
  int drawn = 0;
  for (int id = 1; id <= 1000; ++id) {
    const bool a = DrawsTerminateActive(7, id, 0.3);
    EXPECT_EQ(a, DrawsTerminateActive(7, id, 0.3)) << id;
    drawn += a ? 1 : 0;
    EXPECT_FALSE(DrawsTerminateActive(7, id, 0.0));
    EXPECT_TRUE(DrawsTerminateActive(7, id, 1.0));
  }
  EXPECT_GT(drawn, 200);
  EXPECT_LT(drawn, 400);
  int same = 0;
  for (int id = 1; id <= 100; ++id)
    same += DrawsTerminateActive(7, id, 0.5) == DrawsTerminateActive(8, id, 0.5);
  EXPECT_LT(same, 100) << "another seed, other choices";
}

TEST(StormFaultsTest, TerminateIdleComesWellBeforeTheThaw) {
  for (int id = 1; id <= 500; ++id) {
    std::optional<double> at = TerminateIdleAt(11, id, 1.0, 1000.0, 1200);
    ASSERT_TRUE(at.has_value());
    EXPECT_GE(*at, 1000.0);
    EXPECT_LT(*at, 1000.0 + 1200 - 200) << "at least min(200 ms, thaw / 4) before the thaw";
    EXPECT_EQ(at, TerminateIdleAt(11, id, 1.0, 1000.0, 1200));
    std::optional<double> short_thaw = TerminateIdleAt(11, id, 1.0, 0.0, 400);
    ASSERT_TRUE(short_thaw.has_value());
    EXPECT_LT(*short_thaw, 400 - 100);
    EXPECT_FALSE(TerminateIdleAt(11, id, 0.0, 1000.0, 1200).has_value());
  }
}

}  // namespace
}  // namespace storm
}  // namespace aequor
