// --reaper-role: the way out of a full database. With no ordinary reaper
// passes (aequor.reaper.probability(p=0), given explicitly so that the
// library's default scheduler does not matter), the fleet's zombies fill the
// database; only the emergency path (a connect refused with 53300 runs a pass
// as a role with its own headroom, then retries) can free it.
//
// No timing is guessed: zombies connect 700 ms apart, the fleet's role has 3
// slots, so the 4th instance is refused; its emergency pass finds the oldest
// zombie reapable once its lease (1 s) and the skew margin have passed, and
// until then the manager backs off and tries again (connect_budget, 15 s,
// and the harness's 10 s timeout are far beyond any margin the library uses).
#include <string>

#include "absl/strings/match.h"
#include "bench/storm/options.h"
#include "bench/storm/summary.h"
#include "gtest/gtest.h"
#include "tests/bench/storm/storm_testing.h"

namespace aequor {
namespace storm {
namespace {

using namespace ::aequor::storm::storm_testing;  // NOLINT: the shared helpers

constexpr char kNoOrdinaryPasses[] = "aequor.reaper.probability(p=0)";

StormOptions FullDatabaseStorm() {
  StormOptions o;
  o.client = ClientKind::kAequor;
  o.instance_binary = InstanceBinary();
  o.invocations = 8;
  o.interval_ms = 700;
  o.max_connections = 8;  // 5 fleet slots
  o.lease_ttl_ms = 1000;
  o.min_idle_s = 0;
  o.reaper_scheduler = kNoOrdinaryPasses;
  o.seed = 31;
  return o;
}

TEST(StormReaperRoleTest, EmergencyPathFreesAFullDatabaseAndNoInvocationFails) {
  StormOptions o = FullDatabaseStorm();
  o.reaper_role = true;
  o.reaper_slots = 2;  // the fleet's role: CONNECTION LIMIT 3
  Ran r = RunOrFail(o);

  EXPECT_TRUE(Bool(r.json, "reaper_role"));
  EXPECT_EQ(Int(r.json, "reaper_slots"), 2);
  EXPECT_EQ(Int(r.json, "app_connection_limit"), 3);
  EXPECT_EQ(Int(r.json, "fleet_slots"), 3);
  // The database filled (the role's limit refused a connect) ...
  EXPECT_GE(Int(r.json, "refused_connections"), 1) << r.progress;
  ASSERT_TRUE(r.summary.full_at_ms.has_value()) << r.progress;
  // ... and the emergency path freed it: every invocation answered ok, the
  // zombies were reaped by emergency passes (the only passes there are).
  EXPECT_EQ(Int(r.json, "ok"), 8) << r.progress;
  EXPECT_EQ(Int(r.json, "failed"), 0) << r.progress;
  EXPECT_GE(r.summary.reaper_passes["emergency"], 1) << r.progress;
  EXPECT_GE(r.summary.reaper_kills["emergency"], 1) << r.progress;
  EXPECT_EQ(r.summary.reaper_kills.count("connect"), 0u) << r.progress;
  EXPECT_GE(Int(r.json, "zombies_reaped"), 1) << r.progress;
  EXPECT_LE(Int(r.json, "zombies_reaped"), r.summary.reaper_kills["emergency"]) << r.progress;
  EXPECT_EQ(Int(r.json, "false_kills"), 0) << r.progress;
  EXPECT_TRUE(r.summary.full_recovery_ms.has_value()) << r.progress;
  // The fleet's role never exceeds its limit (the reaper role's sessions are
  // the only others).
  EXPECT_LE(Int(r.json, "peak_connections"), 3 + 2) << r.progress;
  EXPECT_TRUE(
      absl::StrContains(r.progress, "reaper role: ALTER ROLE aequor_app CONNECTION LIMIT 3"))
      << r.progress;
  // The reaper role's password is never printed.
  EXPECT_FALSE(absl::StrContains(r.progress, "aequor_reaper-pw")) << r.progress;
  EXPECT_FALSE(absl::StrContains(StormSummaryToJson(r.summary), "aequor_reaper-pw"));
}

// The same storm without the reaper role: nobody can log in to reap, so the
// fleet stays locked out once the database is full.
TEST(StormReaperRoleTest, WithoutTheReaperRoleAFullDatabaseStaysFull) {
  StormOptions o = FullDatabaseStorm();
  o.timeout_ms = 3000;  // the manager would retry for its connect_budget
  Ran r = RunOrFail(o);

  EXPECT_FALSE(Bool(r.json, "reaper_role"));
  EXPECT_TRUE(IsNull(r.json, "app_connection_limit"));
  EXPECT_EQ(Int(r.json, "ok"), 5) << r.progress;
  EXPECT_EQ(Int(r.json, "failed"), 3) << r.progress;
  EXPECT_GE(Int(r.json, "refused_connections"), 3) << r.progress;
  EXPECT_TRUE(r.summary.full_at_ms.has_value()) << r.progress;
  EXPECT_FALSE(r.summary.full_recovery_ms.has_value()) << r.progress;
  EXPECT_EQ(r.summary.reaper_passes.count("emergency"), 0u) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_reaped"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_left"), 5) << r.progress;
}

}  // namespace
}  // namespace storm
}  // namespace aequor
