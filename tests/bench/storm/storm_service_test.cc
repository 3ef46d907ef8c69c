// The storm's service mode (--client=aequor-pool): long-running services on
// pools under live traffic against a real server. Living instances' idle
// connections are never reaped, even those of an instance frozen for less
// than its leases have left; every connection of an instance frozen for good
// is. The control run freezes an instance for longer than its leases last:
// the harness must then see false kills, so that a 0 above means something.
//
// No timing is guessed: the harness judges each backend by the server log's
// termination time against the instance's freeze history.
#include "bench/storm/options.h"
#include "bench/storm/summary.h"
#include "gtest/gtest.h"
#include "tests/bench/storm/storm_testing.h"

namespace aequor {
namespace storm {
namespace {

using namespace ::aequor::storm::storm_testing;  // NOLINT: the shared helpers

StormOptions Service() {
  StormOptions o;
  o.client = ClientKind::kAequorPool;
  o.instance_binary = InstanceBinary();
  o.service_instances = 4;
  o.pool_size = 3;
  o.workers = 1;
  o.request_interval_ms = 20;
  o.duration_s = 12;
  o.freeze_for_good = 1;
  o.short_freeze_ms = 1000;  // TTL 2 s: idle leases are renewed with 1.5 s left
  o.short_freeze_every_ms = 2500;
  o.seed = 41;
  return o;
}

TEST(StormServiceTest, LivingPoolsKeepTheirIdleConnectionsAndFrozenOnesAreReaped) {
  Ran r = RunOrFail(Service());
  ASSERT_TRUE(r.summary.service.has_value()) << r.progress;
  const ServiceReport& s = *r.summary.service;
  EXPECT_EQ(Int(r.json, "false_kills"), 0) << r.progress;
  EXPECT_GE(s.short_freezes, 3) << r.progress;
  EXPECT_GT(s.idle_renewals, 0) << "idle connections were kept alive by renewal";
  EXPECT_EQ(s.frozen_backends, 3) << r.progress;
  EXPECT_EQ(s.frozen_backends_reaped, 3) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_left"), 0) << r.progress;
  EXPECT_EQ(s.requests_failed, 0) << r.progress;
  EXPECT_GT(s.requests, 1000) << r.progress;
  EXPECT_EQ(s.acquire_timeouts, 0);
  EXPECT_EQ(Int(r.json, "unattributed_backends"), 0) << r.progress;
  // Nothing recycles within the run (max_lifetime 30 min, idle_timeout
  // 10 min) and nothing dies: the pools closed none of their connections
  // before the end.
  EXPECT_EQ(s.closed_by_pools, 0) << r.progress;
  EXPECT_EQ(String(r.json, "client"), "aequor-pool");
}

// The control: a "brief" freeze longer than the leases (the command line
// refuses it; RunStorm takes it) lets them run out, and the harness reports
// the living instance's connections reaped as false kills.
TEST(StormServiceTest, AFreezeLongerThanTheLeasesShowsAsFalseKills) {
  StormOptions o = Service();
  o.freeze_for_good = 0;
  o.duration_s = 10;
  o.short_freeze_ms = 5000;
  o.short_freeze_every_ms = 1000;
  Ran r = RunOrFail(o);
  EXPECT_GT(Int(r.json, "false_kills"), 0) << r.progress;
  EXPECT_GT(r.summary.false_kills_by["briefly_frozen"], 0) << r.progress;
}

}  // namespace
}  // namespace storm
}  // namespace aequor
