// bench/storm/report.h: the write workload's tally, the full database's
// recovery, and the closing progress lines.
#include "bench/storm/report.h"

#include <set>
#include <string>
#include <vector>

#include "bench/storm/options.h"
#include "bench/storm/summary.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

TEST(StormReportTest, OpeningLinesSayTheScheduleTheLeaseAndTheFaults) {
  StormOptions o;
  o.client = ClientKind::kLibpq;
  EXPECT_EQ(
      OpeningLines(o, 7),
      (std::vector<std::string>{
          "storm: client=libpq, 40 invocations, a new instance for each, one every 400 ms, "
          "frozen 0 ms after answering, timeout 10000 ms, seed 7",
          "lease: service=storm ttl=2000 ms min_idle=1 s reaper_scheduler=(library default)"}));
  o.client = ClientKind::kCommand;
  o.client_cmd = "node h.js";
  o.invocations_per_instance = 3;
  o.thaw_after_ms = 1500;
  o.faults.terminate_idle = 1;
  o.reaper_role = true;
  o.reaper_scheduler = "aequor.reaper.probability(p=1)";
  EXPECT_EQ(OpeningLines(o, 7),
            (std::vector<std::string>{
                "storm: client=cmd (node h.js), 40 invocations, 14 instances started one every 400 "
                "ms, each resumed 1500 ms after its freeze for up to 3 invocations, frozen 0 ms "
                "after answering, timeout 10000 ms, seed 7",
                "lease: service=storm ttl=2000 ms min_idle=1 s "
                "reaper_scheduler=aequor.reaper.probability(p=1) reaper_role=2 slots",
                "faults: terminate-idle:1"}));
}

TEST(StormReportTest, WritesAreTalliedAgainstTheAnswers) {
  StormSummary s;
  // #1 ok with its row, #2 ok written twice, #3 ok without a row, #4 unknown
  // with its row, #5 unknown without, #6 failed yet written, #7 pending.
  TallyWrites({{1, 1}, {2, 2}, {4, 1}, {6, 1}},
              {Answer::kOk, Answer::kOk, Answer::kOk, Answer::kUnknown, Answer::kUnknown,
               Answer::kFailed, Answer::kPending},
              &s);
  EXPECT_EQ(s.rows, 5);
  EXPECT_EQ(s.duplicated_invocations, 1);
  EXPECT_EQ(s.ok_without_row, 1);
  EXPECT_EQ(s.unknown_with_row, 1);
  EXPECT_EQ(s.failed_with_row, 1);
}

TEST(StormReportTest, RecoveryIsTheFirstFleetBackendAfterTheDatabaseFilled) {
  StormSummary s;
  SummarizeRecovery(1000, {900, 1000, 1031, 1500}, &s);
  ASSERT_TRUE(s.full_recovery_ms.has_value());
  EXPECT_EQ(*s.full_recovery_ms, 31);
  StormSummary never;
  SummarizeRecovery(1000, {900, 1000}, &never);
  EXPECT_FALSE(never.full_recovery_ms.has_value());
}

TEST(StormReportTest, ClosingLinesSayTheTotalsAndOnlyWhatApplies) {
  StormSummary s;
  s.ok = 27;
  s.failed = 13;
  s.failures["53300"] = 13;
  s.peak_connections = 27;
  s.final_connections = 27;
  s.zombies_left = 27;
  s.p50_ms = 23.25;
  StormOptions o;
  EXPECT_EQ(ClosingLines(s, o, 15600),
            (std::vector<std::string>{
                "done in 15.6 s: 27 ok, 13 failed (53300 x13); peak 27 connections, 27 at the end; "
                "zombies: 0 reaped, 27 left; false kills: 0; latency p50 23.2 ms, p99 -"}));
  s.full_at_ms = 4012;
  s.refused_connections = 13;
  o.faults.terminate_active = 0.5;
  o.workload = Workload::kWrite;
  s.fault_kills = 2;
  s.fault_kills_by["terminate-active"] = 2;
  const std::vector<std::string> lines = ClosingLines(s, o, 15600);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1],
            "database full at 4.0 s (refused connections: 13); the fleet never got in again");
  EXPECT_EQ(lines[2], "faults: 2 backends terminated by the harness (terminate-active x2)");
  EXPECT_EQ(lines[3],
            "writes: 0 rows; 0 invocations with more than one row, 0 ok without a row, 0 outcome "
            "unknown (0 of them wrote their row), 0 other failures that wrote their row");
}

}  // namespace
}  // namespace storm
}  // namespace aequor
