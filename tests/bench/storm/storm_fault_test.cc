// The storm's faults against real PostgreSQL 15 servers it starts itself:
// warm instances whose backends are terminated while frozen, writes killed
// in flight, and a server restart. Apart from storm_test so that the two
// binaries run side by side.
#include <string>

#include "absl/strings/match.h"
#include "bench/storm/options.h"
#include "bench/storm/summary.h"
#include "gtest/gtest.h"
#include "tests/bench/storm/storm_testing.h"

namespace aequor {
namespace storm {
namespace {

using ::aequor::storm::storm_testing::Has;
using ::aequor::storm::storm_testing::InstanceBinary;
using ::aequor::storm::storm_testing::Int;
using ::aequor::storm::storm_testing::IsNull;
using ::aequor::storm::storm_testing::Json;
using ::aequor::storm::storm_testing::Member;
using ::aequor::storm::storm_testing::Ran;
using ::aequor::storm::storm_testing::RunOrFail;
using ::aequor::storm::storm_testing::String;

// Two warm instances of three invocations each, thawed 1.2 s after their
// freeze (more than aequor's 1 s invocation_gap, below which it does not
// check a connection for a thaw), each frozen backend terminated before the
// thaw. A long lease keeps aequor's own reaper out of it.
StormOptions WarmTerminateIdle(ClientKind client) {
  StormOptions o;
  o.client = client;
  o.instance_binary = InstanceBinary();
  o.invocations = 6;
  o.invocations_per_instance = 3;
  o.thaw_after_ms = 1200;
  o.interval_ms = 100;
  o.max_connections = 8;
  o.lease_ttl_ms = 60000;
  o.faults.terminate_idle = 1.0;
  o.seed = 11;
  return o;
}

TEST(StormFaultTest, WarmAequorInstancesReconnectSilentlyAfterTerminateIdle) {
  Ran r = RunOrFail(WarmTerminateIdle(ClientKind::kAequor));
  EXPECT_EQ(Int(r.json, "ok"), 6) << r.progress;
  EXPECT_EQ(Int(r.json, "failed"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "instances"), 2) << r.progress;
  EXPECT_EQ(Int(r.json, "warm_invocations"), 4) << r.progress;
  // Every frozen span before a thaw: 2 per instance.
  EXPECT_EQ(Int(r.json, "fault_kills"), 4) << r.progress;
  EXPECT_EQ(r.summary.fault_kills_by["terminate-idle"], 4) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_reaped"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "false_kills"), 0) << r.progress;
  EXPECT_EQ(String(r.json, "faults"), "terminate-idle:1");
}

// Plain libpq finds the dead connection by failing the thawed invocation,
// then reconnects on the next one (whose connection is killed again).
TEST(StormFaultTest, WarmLibpqInstancesFailTheInvocationAfterTerminateIdle) {
  Ran r = RunOrFail(WarmTerminateIdle(ClientKind::kLibpq));
  EXPECT_EQ(Int(r.json, "ok"), 4) << r.progress;
  EXPECT_EQ(Int(r.json, "failed"), 2) << r.progress;
  // After the failed invocation there is no backend left to terminate.
  EXPECT_EQ(Int(r.json, "fault_kills"), 2) << r.progress;
  EXPECT_TRUE(absl::StrContains(r.progress, "has no backend to terminate")) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_reaped"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "false_kills"), 0) << r.progress;
}

// What every write storm must show: no write twice, none lost after an ok,
// no definite failure that wrote anyway, and the counts add up.
// `server_restarting_failures`: the restart tests pass true, as a connect
// that lands while the server restarts (50-130 ms quiet, about 0.5 s on a
// loaded machine) may use up the retry policy's 3 retries and fail with
// 57P03 ("the database system is starting up"): a definite failure that
// wrote nothing, so honest; every other failure must be an outcome unknown.
void ExpectHonestWrites(const Ran& r, bool server_restarting_failures = false) {
  const int ok = Int(r.json, "ok");
  const int failed = Int(r.json, "failed");
  const int unknown = Int(r.json, "unknown_outcome");
  EXPECT_EQ(ok + failed, Int(r.json, "invocations")) << r.progress;
  EXPECT_EQ(Int(r.json, "duplicated_invocations"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "ok_without_row"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "failed_with_row"), 0) << r.progress;
  const Json& failures = Member(r.json, "failures");
  const int starting_up =
      server_restarting_failures && Has(failures, "57P03") ? Int(failures, "57P03") : 0;
  // aequor with nothing else in the way: every failure is an outcome unknown.
  EXPECT_EQ(failed, unknown + starting_up) << r.progress;
  EXPECT_EQ(Has(failures, "unknown_outcome") ? Int(failures, "unknown_outcome") : 0, unknown);
  EXPECT_EQ(Int(r.json, "rows"), ok + Int(r.json, "unknown_with_row")) << r.progress;
  EXPECT_EQ(Int(r.json, "false_kills"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_reaped"), 0) << r.progress;
  EXPECT_EQ(String(r.json, "workload"), "write");
}

TEST(StormFaultTest, WritesKilledInFlightAreOutcomeUnknownNeverDuplicatedOrLost) {
  StormOptions o;
  o.client = ClientKind::kAequor;
  o.instance_binary = InstanceBinary();
  o.workload = Workload::kWrite;
  o.invocations = 8;
  o.interval_ms = 100;
  o.max_connections = 12;
  o.lease_ttl_ms = 60000;
  o.faults.terminate_active = 0.5;
  o.seed = 21;
  Ran r = RunOrFail(o);
  ExpectHonestWrites(r);
  EXPECT_GE(Int(r.json, "unknown_outcome"), 1) << r.progress;
  EXPECT_GE(Int(r.json, "ok"), 1) << r.progress;
  EXPECT_EQ(Int(r.json, "fault_kills"), r.summary.fault_kills_by["terminate-active"]);
  EXPECT_GE(Int(r.json, "fault_kills"), Int(r.json, "unknown_outcome")) << r.progress;
}

StormOptions RestartStorm() {
  StormOptions o;
  o.client = ClientKind::kAequor;
  o.instance_binary = InstanceBinary();
  o.workload = Workload::kWrite;
  o.invocations = 6;
  o.interval_ms = 150;
  o.max_connections = 12;
  o.lease_ttl_ms = 60000;
  o.faults.terminate_active = 0.0;
  o.seed = 31;
  return o;
}

// A fast restart while writes are in flight (terminate-active:0 only makes
// them last 0.2 s): aequor reconnects, and what was cut off is unknown. The
// restart waits for a condition, not a time: the 2nd backend seen. Both are
// open then (the first instance's is frozen, with a 60 s lease nobody
// reaps), however slowly the machine started the instances.
TEST(StormFaultTest, RestartCutsEveryBackendAsFaultKillsAndLosesNoWrite) {
  StormOptions o = RestartStorm();
  o.faults.restart_after_backends = 2;
  Ran r = RunOrFail(o);
  ExpectHonestWrites(r, /*server_restarting_failures=*/true);
  EXPECT_EQ(Int(r.json, "restarts"), 1) << r.progress;
  EXPECT_TRUE(r.summary.restart_ms.has_value()) << r.progress;
  EXPECT_GE(r.summary.fault_kills_by["restart-after-backends"], 2) << r.progress;
  EXPECT_EQ(Int(r.json, "fault_kills"), r.summary.fault_kills_by["restart-after-backends"])
      << r.progress;
  EXPECT_EQ(String(r.json, "faults"), "terminate-active:0,restart-after-backends:2");
  EXPECT_TRUE(absl::StrContains(r.progress, "fault: restart-after-backends: backend 2 seen at "))
      << r.progress;
  EXPECT_TRUE(
      absl::StrContains(r.progress, "fault: restart-after-backends: the server is back after"))
      << r.progress;
}

// restart-at:S keeps its contract: one restart, S seconds in, whatever is
// open then (on a loaded machine maybe nothing yet: the count of fault
// kills is not asserted here, the test above pins it down).
TEST(StormFaultTest, RestartAtRestartsOnceAtItsTimeAndLosesNoWrite) {
  StormOptions o = RestartStorm();
  o.faults.restart_at_s = 0.4;
  Ran r = RunOrFail(o);
  ExpectHonestWrites(r, /*server_restarting_failures=*/true);
  EXPECT_EQ(Int(r.json, "restarts"), 1) << r.progress;
  EXPECT_GE(Int(r.json, "duration_ms"), 400) << r.progress;
  EXPECT_EQ(Int(r.json, "fault_kills"), r.summary.fault_kills_by["restart-at"]) << r.progress;
  EXPECT_EQ(String(r.json, "faults"), "terminate-active:0,restart-at:0.4");
  EXPECT_TRUE(absl::StrContains(r.progress, "fault: restart-at: the server is back after"))
      << r.progress;
}

// A condition never met: the storm ends without a restart, and says so in
// its counts.
TEST(StormFaultTest, RestartAfterMoreBackendsThanTheStormOpensNeverRestarts) {
  StormOptions o = RestartStorm();
  o.invocations = 2;
  o.faults.restart_after_backends = 50;
  Ran r = RunOrFail(o);
  ExpectHonestWrites(r);
  EXPECT_EQ(Int(r.json, "restarts"), 0) << r.progress;
  EXPECT_TRUE(IsNull(r.json, "restart_ms"));
  EXPECT_EQ(Int(r.json, "fault_kills"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "ok"), 2) << r.progress;
}

}  // namespace
}  // namespace storm
}  // namespace aequor
