// bench/storm/flags.h: the storm's command line, parsed with CLI11. Every
// flag's spelling (--name=value, --name value), default, range and message
// is a contract that tests, docs and tools/storm_matrix rely on.
#include "bench/storm/flags.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "api/reaper_scheduler.h"
#include "bench/storm/options.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

std::string ParseError(const std::vector<std::string>& args) {
  absl::StatusOr<StormArgs> a = ParseStormArgs(args);
  EXPECT_FALSE(a.ok());
  if (a.ok()) return "";
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(a.status().message());
}

TEST(StormOptionsTest, DefaultsAreTheDocumentedOnes) {
  absl::StatusOr<StormArgs> a = ParseStormArgs({});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(a->help);
  const StormOptions& o = a->options;
  EXPECT_EQ(o.invocations, 40);
  EXPECT_EQ(o.interval_ms, 400);
  EXPECT_EQ(o.max_connections, 30);
  EXPECT_EQ(o.lease_ttl_ms, 2000);
  EXPECT_EQ(o.min_idle_s, 1);
  EXPECT_EQ(o.freeze_delay_ms, 0);
  EXPECT_EQ(o.timeout_ms, 10000);
  EXPECT_EQ(o.client, ClientKind::kAequor);
  EXPECT_FALSE(o.json_only);
  EXPECT_FALSE(o.seed.has_value());
  EXPECT_EQ(o.invocations_per_instance, 1);
  EXPECT_EQ(o.thaw_after_ms, 0);
  EXPECT_EQ(o.workload, Workload::kRead);
  EXPECT_FALSE(o.faults.any());
}

TEST(StormOptionsTest, WarmWorkloadAndRepeatedFaultsParse) {
  absl::StatusOr<StormArgs> a = ParseStormArgs(
      {"--invocations-per-instance=4", "--thaw-after-ms", "1500", "--workload=write",
       "--fault=terminate-idle:1.0", "--fault", "terminate-active:0.3", "--fault=restart-at:2.5"});
  ASSERT_TRUE(a.ok()) << a.status();
  const StormOptions& o = a->options;
  EXPECT_EQ(o.invocations_per_instance, 4);
  EXPECT_EQ(o.thaw_after_ms, 1500);
  EXPECT_EQ(o.workload, Workload::kWrite);
  EXPECT_EQ(*o.faults.terminate_idle, 1.0);
  EXPECT_EQ(*o.faults.terminate_active, 0.3);
  EXPECT_EQ(*o.faults.restart_at_s, 2.5);
  EXPECT_EQ(o.faults.ToString(), "terminate-idle:1,terminate-active:0.3,restart-at:2.5");
  EXPECT_EQ(ParseStormArgs({"--workload=read"})->options.workload, Workload::kRead);
}

TEST(StormOptionsTest, NewFlagsAreValidatedNamingTheFlag) {
  EXPECT_EQ(ParseError({"--invocations-per-instance=0"}),
            "--invocations-per-instance: must be an integer in [1, 10000], got '0'");
  EXPECT_EQ(ParseError({"--thaw-after-ms=0", "--invocations-per-instance=2"}),
            "--thaw-after-ms: must be an integer in [1, 600000], got '0'");
  EXPECT_EQ(ParseError({"--invocations-per-instance=3"}),
            "--invocations-per-instance: needs --thaw-after-ms (when a frozen instance is resumed "
            "for its next invocation)");
  EXPECT_EQ(ParseError({"--thaw-after-ms=100"}),
            "--thaw-after-ms: has no effect with --invocations-per-instance=1 (each instance runs "
            "once and is never resumed); give --invocations-per-instance=K with K >= 2");
  EXPECT_EQ(ParseError({"--workload=update"}),
            "--workload: must be 'read' or 'write', got 'update'");
  EXPECT_EQ(ParseError({"--workload=write", "--workload=read"}), "--workload: given twice");
  EXPECT_EQ(ParseError({"--fault=chaos"}),
            "--fault: must be terminate-idle:P, terminate-active:P, restart-at:S or "
            "restart-after-backends:N, got 'chaos'");
  EXPECT_EQ(ParseError({"--fault=kill-all:1"}),
            "--fault: unknown fault 'kill-all' (terminate-idle:P, terminate-active:P, restart-at:S "
            "or restart-after-backends:N)");
  EXPECT_EQ(ParseError({"--fault=terminate-active:1.5", "--workload=write"}),
            "--fault: terminate-active: probability must be a number in [0, 1], got '1.5'");
  EXPECT_EQ(ParseError({"--fault=terminate-idle:often"}),
            "--fault: terminate-idle: probability must be a number in [0, 1], got 'often'");
  EXPECT_EQ(ParseError({"--fault=restart-at:-1"}),
            "--fault: restart-at: must be a number of seconds in [0, 86400], got '-1'");
  EXPECT_EQ(ParseError({"--fault=restart-at:1", "--fault=restart-at:2"}),
            "--fault: restart-at given twice");
  EXPECT_EQ(ParseError({"--fault"}), "--fault: missing value");
  EXPECT_EQ(ParseError({"--fault=terminate-idle:1"}),
            "--fault: terminate-idle needs warm instances (--invocations-per-instance >= 2 and "
            "--thaw-after-ms): it kills a frozen instance's backend before its thaw");
  EXPECT_EQ(ParseError({"--fault=terminate-active:0.3"}),
            "--fault: terminate-active needs --workload=write (it kills the write in flight)");
  EXPECT_EQ(ParseError({"--dsn=host=127.0.0.1", "--fault=restart-at:3"}),
            "--fault: restart-at needs the throwaway server: the harness does not restart a --dsn "
            "server");
}

TEST(StormOptionsTest, RestartAfterBackendsParsesAndExcludesRestartAt) {
  absl::StatusOr<StormArgs> a = ParseStormArgs({"--fault=restart-after-backends:3"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a->options.faults.restart_after_backends, 3);
  EXPECT_FALSE(a->options.faults.restart_at_s.has_value());
  EXPECT_TRUE(a->options.faults.restart());
  EXPECT_EQ(a->options.faults.ToString(), "restart-after-backends:3");
  EXPECT_EQ(
      ParseError({"--fault=restart-after-backends:0"}),
      "--fault: restart-after-backends: must be a number of backends in [1, 1000000], got '0'");
  EXPECT_EQ(ParseError({"--fault=restart-after-backends:2.5"}),
            "--fault: restart-after-backends: must be a number of backends in [1, 1000000], got "
            "'2.5'");
  EXPECT_EQ(ParseError({"--fault=restart-after-backends:2", "--fault=restart-after-backends:3"}),
            "--fault: restart-after-backends given twice");
  EXPECT_EQ(ParseError({"--fault=restart-after-backends:2", "--fault=restart-at:1"}),
            "--fault: restart-at and restart-after-backends cannot be combined (one restart)");
  EXPECT_EQ(ParseError({"--dsn=host=127.0.0.1", "--fault=restart-after-backends:2"}),
            "--fault: restart-after-backends needs the throwaway server: the harness does not "
            "restart a --dsn server");
}

TEST(StormOptionsTest, FrozenLeaderParsesAndExcludesRestartsAndLibpq) {
  absl::StatusOr<StormArgs> a = ParseStormArgs({"--frozen-leader"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->options.frozen_leader);
  EXPECT_FALSE(ParseStormArgs({})->options.frozen_leader);
  EXPECT_FALSE(ParseStormArgs({"--frozen-leader=false"})->options.frozen_leader);
  EXPECT_TRUE(ParseStormArgs({"--frozen-leader", "--client-cmd=node handler.js"}).ok());
  EXPECT_EQ(ParseError({"--frozen-leader=soon"}),
            "--frozen-leader: takes no value (or true/false), got 'soon'");
  EXPECT_EQ(ParseError({"--frozen-leader", "--frozen-leader"}), "--frozen-leader: given twice");
  for (const char* fault : {"--fault=restart-at:2", "--fault=restart-after-backends:2"}) {
    EXPECT_EQ(ParseError({"--frozen-leader", fault}),
              "--frozen-leader: cannot be combined with a restart fault (the restart would end the "
              "leader's session, and with it the lock)");
  }
  EXPECT_EQ(ParseError({"--frozen-leader", "--client=libpq"}),
            "--frozen-leader: has no effect with --client=libpq (no reaper to free it)");
}

TEST(StormOptionsTest, TheServiceModesFlagsParseAndStayInTheirMode) {
  absl::StatusOr<StormArgs> a = ParseStormArgs(
      {"--client=aequor-pool", "--pool-size=8", "--service-instances=5", "--workers=3",
       "--duration-s=90", "--freeze-for-good=1", "--short-freeze-ms=800",
       "--short-freeze-every-ms=2000", "--request-interval-ms=10"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->options.client, ClientKind::kAequorPool);
  EXPECT_EQ(a->options.pool_size, 8);
  EXPECT_EQ(a->options.service_instances, 5);
  EXPECT_EQ(a->options.workers, 3);
  EXPECT_EQ(a->options.duration_s, 90);
  EXPECT_EQ(a->options.freeze_for_good, 1);
  EXPECT_EQ(a->options.short_freeze_ms, 800);
  EXPECT_EQ(a->options.short_freeze_every_ms, 2000);
  EXPECT_EQ(a->options.request_interval_ms, 10);

  EXPECT_EQ(ParseError({"--pool-size=4"}),
            "--pool-size: only in the service mode (--client=aequor-pool)");
  EXPECT_EQ(ParseError({"--client=aequor-pool", "--invocations=5"}),
            "--invocations: not in the service mode (--client=aequor-pool); see --help");
  EXPECT_EQ(ParseError({"--client=aequor-pool", "--short-freeze-ms=1300"}),
            "--short-freeze-ms: must be at most 1250 (--lease-ttl-ms * 3/4 - 250: an idle lease "
            "is renewed with 3/4 of its TTL left), got 1300");
  EXPECT_TRUE(ParseStormArgs({"--client=aequor-pool", "--lease-ttl-ms=4000",
                              "--short-freeze-ms=2700"})
                  .ok());
  EXPECT_EQ(ParseError({"--client=aequor-pool", "--freeze-for-good=6"}),
            "--freeze-for-good: must leave at least one living instance of the 6 "
            "(--service-instances), got 6");
  EXPECT_EQ(ParseError({"--client=aequor-pool", "--dsn=host=127.0.0.1"}),
            "--dsn: not in the service mode (--client=aequor-pool): it judges kills by the "
            "throwaway server's log");
}

TEST(StormOptionsTest, BothValueFormsAndFlagsParse) {
  absl::StatusOr<StormArgs> a =
      ParseStormArgs({"--invocations", "12", "--interval-ms=100", "--client=libpq", "--json-only",
                      "--seed=18446744073709551615", "--series-out=/tmp/x.csv"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->options.invocations, 12);
  EXPECT_EQ(a->options.interval_ms, 100);
  EXPECT_EQ(a->options.client, ClientKind::kLibpq);
  EXPECT_TRUE(a->options.json_only);
  EXPECT_EQ(*a->options.seed, 18446744073709551615ull);
  EXPECT_EQ(a->options.series_out, "/tmp/x.csv");

  absl::StatusOr<StormArgs> cmd = ParseStormArgs({"--client-cmd=echo ok"});
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->options.client, ClientKind::kCommand);
  EXPECT_TRUE(ParseStormArgs({"--help"})->help);
}

TEST(StormOptionsTest, EveryBadValueIsRejectedNamingItsOption) {
  EXPECT_EQ(ParseError({"--invocations=0"}),
            "--invocations: must be an integer in [1, 10000], got '0'");
  EXPECT_EQ(ParseError({"--interval-ms=fast"}),
            "--interval-ms: must be an integer in [0, 600000], got 'fast'");
  EXPECT_EQ(ParseError({"--max-connections=3"}),
            "--max-connections: must be an integer in [4, 10000], got '3'");
  EXPECT_EQ(ParseError({"--lease-ttl-ms=500"}),
            "--lease-ttl-ms: must be an integer in [1000, 86400000], got '500'");
  EXPECT_EQ(ParseError({"--min-idle-s=-1"}),
            "--min-idle-s: must be an integer in [0, 86400], got '-1'");
  EXPECT_EQ(ParseError({"--freeze-delay-ms=1.5"}),
            "--freeze-delay-ms: must be an integer in [0, 600000], got '1.5'");
  EXPECT_EQ(ParseError({"--timeout-ms=0"}),
            "--timeout-ms: must be an integer in [1, 3600000], got '0'");
  EXPECT_EQ(ParseError({"--seed=-3"}), "--seed: must be an unsigned 64-bit integer, got '-3'");
  EXPECT_EQ(ParseError({"--client=pgbouncer"}),
            "--client: must be 'aequor', 'aequor-pool' or 'libpq' (or use --client-cmd), got "
            "'pgbouncer'");
  EXPECT_EQ(ParseError({"--client-cmd="}), "--client-cmd: must not be empty");
  EXPECT_EQ(ParseError({"--client=libpq", "--client-cmd=echo ok"}),
            "--client-cmd: cannot be combined with --client (it replaces the built-in client)");
  EXPECT_EQ(ParseError({"--json-only=maybe"}),
            "--json-only: takes no value (or true/false), got 'maybe'");
  EXPECT_EQ(ParseError({"--timeout-ms"}), "--timeout-ms: missing value");
  EXPECT_EQ(ParseError({"--invocations=3", "--invocations=4"}), "--invocations: given twice");
  EXPECT_EQ(ParseError({"--frobnicate=1"}), "unknown option --frobnicate (see --help)");
  EXPECT_EQ(ParseError({"libpq"}),
            "unexpected argument 'libpq' (options look like --name=value; see --help)");
  EXPECT_TRUE(absl::StartsWith(ParseError({"--reaper-scheduler=aequor.reaper.probability(p="}),
                               "--reaper-scheduler: "));
  EXPECT_EQ(ParseError({"--client=libpq", "--reaper-scheduler=aequor.reaper.probability"}),
            "--reaper-scheduler: has no effect with --client=libpq (no reaper)");
}

// A spec that parses but that the library cannot build would fail every
// invocation of the run (issue 12, item 6): it is refused up front, with the
// reason the library's registry gives.
TEST(StormOptionsTest, ReaperSchedulerThatParsesButCannotBeBuiltIsRefusedWithTheLibrarysReason) {
  for (const auto& [spec, reason] : std::vector<std::pair<std::string, std::string>>{
           {"aequor.reaper.nope", "'aequor.reaper.nope'"},
           {"aequor.reaper.probability(p=2)",
            "aequor.reaper.probability: option 'p' must be a number in [0, 1], got '2'"},
           {"aequor.reaper.probability(p=1, colour=red)",
            "aequor.reaper.probability: unknown option 'colour'"},
           {"aequor.reaper.all_of(aequor.reaper.nope)", "'aequor.reaper.nope'"}}) {
    absl::StatusOr<StormArgs> a = ParseStormArgs({"--reaper-scheduler=" + spec});
    ASSERT_FALSE(a.ok()) << spec;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_TRUE(absl::StartsWith(a.status().message(), "--reaper-scheduler: "))
        << a.status().message();
    EXPECT_TRUE(absl::StrContains(a.status().message(), reason)) << a.status().message();
  }
  EXPECT_TRUE(ParseStormArgs({"--reaper-scheduler=aequor.reaper.probability(p=1)"}).ok());
}

TEST(StormOptionsTest, ReaperSchedulerIsRefusedOnlyWhereTheLibraryWouldRefuseIt) {
  for (const std::string& spec :
       {std::string(kDefaultReaperScheduler), std::string(kPgAequorReaperScheduler),
        std::string("aequor.reaper.cooldown(base_ms=1000)")}) {
    absl::StatusOr<StormArgs> a = ParseStormArgs({"--reaper-scheduler=" + spec});
    EXPECT_TRUE(a.ok()) << spec << ": " << a.status();
  }
}

TEST(StormOptionsTest, ReaperRoleParsesAndLeavesTheFleetASlot) {
  absl::StatusOr<StormArgs> a = ParseStormArgs({"--reaper-role"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->options.reaper_role);
  EXPECT_EQ(a->options.reaper_slots, 2);
  EXPECT_FALSE(ParseStormArgs({})->options.reaper_role);
  a = ParseStormArgs({"--reaper-role=true", "--reaper-slots=5", "--max-connections=9"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->options.reaper_slots, 5);
  EXPECT_EQ(ParseError({"--reaper-slots=3"}), "--reaper-slots: only with --reaper-role");
  EXPECT_EQ(ParseError({"--reaper-role", "--reaper-slots=0"}),
            "--reaper-slots: must be an integer in [1, 10000], got '0'");
  EXPECT_EQ(ParseError({"--reaper-role", "--reaper-slots=5", "--max-connections=8"}),
            "--reaper-slots: must leave the fleet at least one of its 5 slots (--max-connections "
            "- 3), got 5");
  EXPECT_EQ(ParseError({"--reaper-role=maybe"}),
            "--reaper-role: takes no value (or true/false), got 'maybe'");
  EXPECT_EQ(ParseError({"--reaper-role", "--dsn=host=127.0.0.1"}),
            "--reaper-role: needs the throwaway server: the harness does not alter roles on a "
            "--dsn server (give the fleet's role a CONNECTION LIMIT and set up a reaper role "
            "yourself)");
}

TEST(StormOptionsTest, DsnMustBeLoopbackAndExcludesMaxConnections) {
  EXPECT_TRUE(ParseStormArgs({"--dsn=host=127.0.0.1 port=5432 user=app"}).ok());
  EXPECT_TRUE(ParseStormArgs({"--dsn=postgresql://app@localhost:5432/db"}).ok());
  EXPECT_EQ(ParseError({"--dsn=host=10.1.2.3 user=app"}),
            "--dsn: host '10.1.2.3' is not loopback; the storm exhausts and kills connections, so "
            "it only runs against 127.0.0.1, localhost or ::1");
  EXPECT_TRUE(
      absl::StartsWith(ParseError({"--dsn=host=/var/run/postgresql"}), "--dsn: host '/var/run"));
  EXPECT_TRUE(
      absl::StartsWith(ParseError({"--dsn=nonsense"}), "--dsn: not a valid conninfo or URI: "));
  EXPECT_EQ(ParseError({"--dsn=host=127.0.0.1", "--max-connections=10"}),
            "--max-connections: cannot be used with --dsn: the harness does not start that server, "
            "so it cannot set max_connections (it reports the server's own value)");
  EXPECT_EQ(ParseError({"--monitor-dsn=host=127.0.0.1"}),
            "--monitor-dsn: only with --dsn (the throwaway server is watched as aequor_super)");
}

// What CLI11 does differently by default, pinned to the old parser's ways.

TEST(StormOptionsTest, EveryKindOfFlagTakesItsValueInBothForms) {
  absl::StatusOr<StormArgs> a = ParseStormArgs(
      {"--timeout-ms", "500", "--service", "orders", "--client", "libpq", "--workload", "write",
       "--seed", "42", "--fault", "terminate-active:0.5", "--poll-ms=25", "--dsn",
       "host=127.0.0.1 port=5433", "--monitor-dsn=host=127.0.0.1 user=postgres"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->options.timeout_ms, 500);
  EXPECT_EQ(a->options.service, "orders");
  EXPECT_EQ(a->options.client, ClientKind::kLibpq);
  EXPECT_EQ(a->options.workload, Workload::kWrite);
  EXPECT_EQ(*a->options.seed, 42u);
  EXPECT_EQ(*a->options.faults.terminate_active, 0.5);
  EXPECT_EQ(a->options.poll_ms, 25);
  EXPECT_EQ(a->options.dsn, "host=127.0.0.1 port=5433");
  EXPECT_EQ(a->options.monitor_dsn, "host=127.0.0.1 user=postgres");
}

TEST(StormOptionsTest, AValueMayStartWithOneDashAndContainEqualSigns) {
  EXPECT_EQ(ParseError({"--min-idle-s", "-1"}),
            "--min-idle-s: must be an integer in [0, 86400], got '-1'");
  absl::StatusOr<StormArgs> a = ParseStormArgs({"--client-cmd", "FOO=1 node -e 'x=1' handler.js"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->options.client_cmd, "FOO=1 node -e 'x=1' handler.js");
  a = ParseStormArgs({"--client-cmd=a=b"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->options.client_cmd, "a=b");
}

TEST(StormOptionsTest, AFlagIsNeverTakenAsTheValueOfTheOneBefore) {
  EXPECT_EQ(ParseError({"--timeout-ms", "--json-only"}), "--timeout-ms: missing value");
  EXPECT_EQ(ParseError({"--client-cmd", "--invocations=3"}), "--client-cmd: missing value");
}

TEST(StormOptionsTest, AnEmptyValueIsEmptyNotMissingNorTheNextArgument) {
  EXPECT_EQ(ParseError({"--client-cmd=", "--json-only"}), "--client-cmd: must not be empty");
  EXPECT_EQ(ParseError({"--service", ""}), "--service: must not be empty");
  EXPECT_EQ(ParseError({"--invocations="}),
            "--invocations: must be an integer in [1, 10000], got ''");
  EXPECT_EQ(ParseError({"--json-only="}), "--json-only: takes no value (or true/false), got ''");
  EXPECT_EQ(ParseError({"--fault="}),
            "--fault: must be terminate-idle:P, terminate-active:P, restart-at:S or "
            "restart-after-backends:N, got ''");
}

TEST(StormOptionsTest, SwitchesTakeNoSeparateValue) {
  EXPECT_EQ(ParseError({"--json-only", "true"}),
            "unexpected argument 'true' (options look like --name=value; see --help)");
  for (const char* on : {"--reaper-role=1", "--reaper-role=true", "--reaper-role"}) {
    absl::StatusOr<StormArgs> a = ParseStormArgs({on});
    ASSERT_TRUE(a.ok()) << on << ": " << a.status();
    EXPECT_TRUE(a->options.reaper_role) << on;
  }
  absl::StatusOr<StormArgs> off = ParseStormArgs({"--json-only=0"});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->options.json_only);
}

TEST(StormOptionsTest, HelpInEverySpellingSkipsTheChecksBetweenFlags) {
  for (const char* help : {"--help", "-h", "-help"}) {
    absl::StatusOr<StormArgs> a = ParseStormArgs({"--invocations-per-instance=2", help});
    ASSERT_TRUE(a.ok()) << help << ": " << a.status();
    EXPECT_TRUE(a->help) << help;
  }
  // Each value is still checked.
  EXPECT_EQ(ParseError({"--help", "--invocations=0"}),
            "--invocations: must be an integer in [1, 10000], got '0'");
}

TEST(StormOptionsTest, StrayArgumentsAndUnknownOptionsAreNamed) {
  EXPECT_EQ(ParseError({"--"}),
            "unexpected argument '--' (options look like --name=value; see --help)");
  EXPECT_EQ(ParseError({"-x"}),
            "unexpected argument '-x' (options look like --name=value; see --help)");
  EXPECT_EQ(ParseError({""}),
            "unexpected argument '' (options look like --name=value; see --help)");
  EXPECT_EQ(ParseError({"--frobnicate", "1"}), "unknown option --frobnicate (see --help)");
  EXPECT_EQ(ParseError({"--Invocations=3"}), "unknown option --Invocations (see --help)");
  EXPECT_EQ(ParseError({"--invocations_per_instance=3"}),
            "unknown option --invocations_per_instance (see --help)");
}

TEST(StormOptionsTest, FlagsAreCheckedInCommandLineOrder) {
  EXPECT_EQ(ParseError({"--workload=x", "--invocations=0"}),
            "--workload: must be 'read' or 'write', got 'x'");
  EXPECT_EQ(ParseError({"--invocations=0", "--workload=x"}),
            "--invocations: must be an integer in [1, 10000], got '0'");
}

// AEQUOR_COORDINATION_SECRET and AEQUOR_REAPER_SCHEDULER, as the binary reads them.
using Vars = std::map<std::string, std::string>;
class Environment {
 public:
  explicit Environment(Vars vars) : vars_(std::move(vars)) {}
  const char* operator()(const char* name) const {
    auto it = vars_.find(name);
    return it == vars_.end() ? nullptr : it->second.c_str();
  }

 private:
  Vars vars_;
};

TEST(StormEnvironmentVariablesTest, SecretAndSchedulerComeFromTheEnvironment) {
  StormOptions o;
  ASSERT_TRUE(ApplyStormEnvironment(
                  Environment(Vars{{"AEQUOR_COORDINATION_SECRET", "0123456789abcdef"},
                                   {"AEQUOR_REAPER_SCHEDULER", "aequor.reaper.probability(p=1)"}}),
                  &o)
                  .ok());
  EXPECT_EQ(o.coordination_secret, "0123456789abcdef");
  EXPECT_EQ(o.reaper_scheduler, "aequor.reaper.probability(p=1)");

  StormOptions none;
  ASSERT_TRUE(ApplyStormEnvironment(Environment(Vars{}), &none).ok());
  EXPECT_EQ(none.coordination_secret, "");
  EXPECT_EQ(none.reaper_scheduler, "");
}

TEST(StormEnvironmentVariablesTest, TheFlagAndLibpqWinOverTheSchedulerVariable) {
  StormOptions flag;
  flag.reaper_scheduler = "aequor.reaper.probability(p=0)";
  ASSERT_TRUE(
      ApplyStormEnvironment(
          Environment(Vars{{"AEQUOR_REAPER_SCHEDULER", "aequor.reaper.probability(p=1)"}}), &flag)
          .ok());
  EXPECT_EQ(flag.reaper_scheduler, "aequor.reaper.probability(p=0)");
  StormOptions libpq;
  libpq.client = ClientKind::kLibpq;
  ASSERT_TRUE(
      ApplyStormEnvironment(Environment(Vars{{"AEQUOR_REAPER_SCHEDULER", "not a spec("}}), &libpq)
          .ok());
  EXPECT_EQ(libpq.reaper_scheduler, "");
}

TEST(StormEnvironmentVariablesTest, BadValuesNameTheVariable) {
  StormOptions o;
  absl::Status s =
      ApplyStormEnvironment(Environment(Vars{{"AEQUOR_COORDINATION_SECRET", "short"}}), &o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "AEQUOR_COORDINATION_SECRET: must be at least 16 bytes");
  s = ApplyStormEnvironment(
      Environment(Vars{{"AEQUOR_REAPER_SCHEDULER", "aequor.reaper.probability(p="}}), &o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "AEQUOR_REAPER_SCHEDULER: --reaper-scheduler: "))
      << s.message();
}

TEST(StormEnvironmentVariablesTest, SchedulerVariableThatCannotBeBuiltIsRefused) {
  StormOptions o;
  absl::Status s = ApplyStormEnvironment(
      Environment(Vars{{"AEQUOR_REAPER_SCHEDULER", "aequor.reaper.probability(p=2)"}}), &o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "AEQUOR_REAPER_SCHEDULER: --reaper-scheduler: aequor.reaper.probability: option 'p' "
            "must be a number in [0, 1], got '2'");
  EXPECT_EQ(o.reaper_scheduler, "");
}

TEST(StormHelpTest, HelpNamesEveryFlag) {
  const std::string help = StormHelpText();
  for (const char* flag : {"--invocations=",
                           "--interval-ms=",
                           "--invocations-per-instance=",
                           "--thaw-after-ms=",
                           "--workload=read|write",
                           "--freeze-delay-ms=",
                           "--timeout-ms=",
                           "--lease-ttl-ms=",
                           "--min-idle-s=",
                           "--service=",
                           "--reaper-scheduler=",
                           "--reaper-role",
                           "--reaper-slots=",
                           "--frozen-leader",
                           "--instance-binary=",
                           "--fault=terminate-idle:P",
                           "--fault=terminate-active:P",
                           "--fault=restart-at:S",
                           "--fault=restart-after-backends:N",
                           "--max-connections=",
                           "--dsn=",
                           "--monitor-dsn=",
                           "--poll-ms=",
                           "--tail-ms=",
                           "--series-out=",
                           "--seed=",
                           "--json-only",
                           "--help",
                           "--client=aequor|libpq",
                           "--client-cmd="}) {
    EXPECT_TRUE(absl::StrContains(help, flag)) << flag;
  }
}

}  // namespace
}  // namespace storm
}  // namespace aequor
