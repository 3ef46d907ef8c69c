// bench/storm/environment.h: what an instance's environment holds.
#include "bench/storm/environment.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "bench/storm/options.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

TEST(StormEnvironmentTest, OnlyLibpqsOwnVariablesCountAsLibpqs) {
  for (const char* name : {"PGHOST",
                           "PGHOSTADDR",
                           "PGPORT",
                           "PGDATABASE",
                           "PGUSER",
                           "PGPASSWORD",
                           "PGPASSFILE",
                           "PGCHANNELBINDING",
                           "PGSERVICE",
                           "PGSERVICEFILE",
                           "PGOPTIONS",
                           "PGAPPNAME",
                           "PGSSLMODE",
                           "PGREQUIRESSL",
                           "PGSSLCOMPRESSION",
                           "PGSSLCERT",
                           "PGSSLKEY",
                           "PGSSLROOTCERT",
                           "PGSSLCRL",
                           "PGSSLCRLDIR",
                           "PGSSLSNI",
                           "PGREQUIREPEER",
                           "PGSSLMINPROTOCOLVERSION",
                           "PGSSLMAXPROTOCOLVERSION",
                           "PGGSSENCMODE",
                           "PGKRBSRVNAME",
                           "PGGSSLIB",
                           "PGCONNECT_TIMEOUT",
                           "PGCLIENTENCODING",
                           "PGTARGETSESSIONATTRS",
                           "PGDATESTYLE",
                           "PGTZ",
                           "PGGEQO",
                           "PGSYSCONFDIR",
                           "PGLOCALEDIR"}) {
    EXPECT_TRUE(IsLibpqEnvironmentVariable(name)) << name;
  }
  for (const char* name :
       {"PG_AEQUOR_DIR", "PGDATA", "PGX", "PG", "PGHOST_", "pghost", "HOME", "AEQUOR_SERVICE"}) {
    EXPECT_FALSE(IsLibpqEnvironmentVariable(name)) << name;
  }
}

TEST(StormEnvironmentTest, AnInstanceGetsTheHarnesssEnvironmentMinusLibpqsPlusTheContract) {
  const char* const base[] = {"HOME=/root",
                              "PG_AEQUOR_DIR=/opt/pg-aequor",
                              "PGAPPNAME=not-it",
                              "PGHOST=db.example.com",
                              "AEQUOR_SERVICE=other",
                              "NOVALUE",
                              nullptr};
  StormOptions o;
  o.service = "orders";
  o.lease_ttl_ms = 3000;
  o.min_idle_s = 2;
  std::vector<std::string> env = InstanceEnvironment(
      base, {{"PGHOST", "127.0.0.1"}, {"PGPORT", "5433"}}, o, "0123456789abcdef", 100, 3, 7);
  EXPECT_TRUE(std::is_sorted(env.begin(), env.end()));
  EXPECT_EQ(env,
            (std::vector<std::string>{
                "AEQUOR_COORDINATION_SECRET=0123456789abcdef", "AEQUOR_LEASE_TTL_MS=3000",
                "AEQUOR_MIN_IDLE_S=2", "AEQUOR_SERVICE=orders", "AEQUOR_STORM_INSTANCE=3",
                "AEQUOR_STORM_INVOCATION=7", "AEQUOR_STORM_SEED=103", "AEQUOR_STORM_WORKLOAD=read",
                "HOME=/root", "PGHOST=127.0.0.1", "PGPORT=5433", "PG_AEQUOR_DIR=/opt/pg-aequor"}));
}

TEST(StormEnvironmentTest, TheSchedulerAndTheWriteDelayOnlyWhenTheyApply) {
  const char* const base[] = {nullptr};
  StormOptions o;
  o.reaper_scheduler = "aequor.reaper.probability(p=1)";
  o.workload = Workload::kWrite;
  o.faults.terminate_active = 0.5;
  std::vector<std::string> env = InstanceEnvironment(base, {}, o, "s", 0, 1, 1);
  auto has = [&](const std::string& kv) { return std::count(env.begin(), env.end(), kv) == 1; };
  EXPECT_TRUE(has("AEQUOR_REAPER_SCHEDULER=aequor.reaper.probability(p=1)"));
  EXPECT_TRUE(has("AEQUOR_STORM_WORKLOAD=write"));
  EXPECT_TRUE(has("AEQUOR_STORM_WRITE_DELAY_S=0.2"));
  o.faults.terminate_active.reset();
  o.reaper_scheduler.clear();
  env = InstanceEnvironment(base, {}, o, "s", 0, 1, 1);
  for (const std::string& kv : env) {
    EXPECT_FALSE(absl::StartsWith(kv, "AEQUOR_STORM_WRITE_DELAY_S=")) << kv;
    EXPECT_FALSE(absl::StartsWith(kv, "AEQUOR_REAPER_SCHEDULER=")) << kv;
  }
}

TEST(StormEnvironmentTest, AServiceInstanceGetsItsPoolTrafficAndRenewalSettings) {
  const char* const base[] = {nullptr};
  StormOptions o;
  o.client = ClientKind::kAequorPool;
  o.pool_size = 5;
  o.workers = 3;
  o.request_interval_ms = 15;
  o.lease_ttl_ms = 4000;
  std::vector<std::string> env = InstanceEnvironment(base, {}, o, "s", 0, 1, 1);
  auto has = [&](const std::string& kv) { return std::count(env.begin(), env.end(), kv) == 1; };
  EXPECT_TRUE(has("AEQUOR_STORM_POOL_SIZE=5"));
  EXPECT_TRUE(has("AEQUOR_STORM_WORKERS=3"));
  EXPECT_TRUE(has("AEQUOR_STORM_REQUEST_INTERVAL_MS=15"));
  EXPECT_TRUE(has("AEQUOR_LEASE_RENEW_BEFORE_MS=3000"));
  EXPECT_TRUE(has("AEQUOR_LEASE_BLOCK_BEFORE_MS=1000"));
  EXPECT_TRUE(has("AEQUOR_REAPER_SCHEDULER=aequor.reaper.periodic(interval_ms=1000)"));
  o.reaper_scheduler = "aequor.reaper.probability(p=1)";
  env = InstanceEnvironment(base, {}, o, "s", 0, 1, 1);
  EXPECT_TRUE(has("AEQUOR_REAPER_SCHEDULER=aequor.reaper.probability(p=1)"));
  o.client = ClientKind::kAequor;
  env = InstanceEnvironment(base, {}, o, "s", 0, 1, 1);
  for (const std::string& kv : env) EXPECT_FALSE(absl::StartsWith(kv, "AEQUOR_STORM_POOL")) << kv;
}

}  // namespace
}  // namespace storm
}  // namespace aequor
