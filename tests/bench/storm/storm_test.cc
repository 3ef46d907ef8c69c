// The storm harness (bench/storm) against real PostgreSQL 15 servers it
// starts itself, and its binary (exit statuses, --help, SIGTERM). The parts
// that need no server have their own tests beside this one.
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/storm/options.h"
#include "bench/storm/run.h"
#include "gtest/gtest.h"
#include "tests/bench/storm/storm_testing.h"

namespace aequor {
namespace storm {
namespace {

using namespace ::aequor::storm::storm_testing;  // NOLINT: the shared helpers

// Occurrences of `needle` in `text`.
int CountOf(absl::string_view text, absl::string_view needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------
// Storms against real servers.

TEST(StormTest, LibpqFleetFillsTheAppSlotsThenFailsWith53300AndNothingIsReaped) {
  StormOptions o;
  o.client = ClientKind::kLibpq;
  o.instance_binary = InstanceBinary();
  o.invocations = 12;
  o.max_connections = 8;  // 3 reserved for superusers: 5 for the fleet
  o.interval_ms = 100;
  o.seed = 7;
  o.series_out = TmpDir() + "/series.csv";
  Ran r = RunOrFail(o);

  EXPECT_EQ(Int(r.json, "invocations"), 12);
  EXPECT_EQ(Int(r.json, "ok"), 5) << r.progress;
  EXPECT_EQ(Int(r.json, "failed"), 7) << r.progress;
  EXPECT_EQ(r.summary.failures["53300"], 7) << r.progress;
  EXPECT_EQ(Int(r.json, "peak_connections"), 5) << r.progress;
  EXPECT_EQ(Int(r.json, "fleet_slots"), 5);
  EXPECT_EQ(Int(r.json, "zombies_reaped"), 0);
  EXPECT_EQ(Int(r.json, "false_kills"), 0);
  EXPECT_EQ(Int(r.json, "zombies_left"), 5);
  EXPECT_EQ(Int(r.json, "unattributed_backends"), 0);
  EXPECT_EQ(String(r.json, "client"), "libpq");
  EXPECT_EQ(String(r.json, "kill_evidence"), "server_log");
  EXPECT_EQ(String(r.json, "series_out"), o.series_out);
  // Which 7 fail depends on when each instance reaches the server (under
  // ThreadSanitizer on a slow day #3 failed and #12 got in): the counts
  // above say how many; every failure is printed as 53300.
  EXPECT_EQ(CountOf(r.progress, " fail 53300 "), 7) << r.progress;

  const std::string csv = ReadFile(o.series_out);
  ASSERT_TRUE(absl::StartsWith(csv, "t_ms,connections\n")) << csv;
  std::vector<absl::string_view> rows = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  EXPECT_GE(rows.size(), 10u);
  int max_seen = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> cols = absl::StrSplit(rows[i], ',');
    int t = -1, n = -1;
    ASSERT_TRUE(absl::SimpleAtoi(cols.first, &t) && absl::SimpleAtoi(cols.second, &n)) << rows[i];
    max_seen = std::max(max_seen, n);
  }
  EXPECT_EQ(max_seen, 5);
}

TEST(StormTest, ClientCmdGetsTheConnectionAndLeaseEnvironment) {
  const std::string dir = TmpDir() + "/env";
  ASSERT_EQ(std::system(absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'").c_str()), 0);
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd =
      absl::StrCat("env > '", dir, "'/env.$AEQUOR_STORM_INVOCATION; echo '# hello'; echo ok");
  o.invocations = 3;
  o.interval_ms = 50;
  o.max_connections = 8;
  o.lease_ttl_ms = 3000;
  o.min_idle_s = 2;
  o.service = "env-check";
  o.seed = 100;
  Ran r = RunOrFail(o);
  EXPECT_EQ(Int(r.json, "ok"), 3) << r.progress;
  EXPECT_EQ(String(r.json, "client"), "cmd");
  EXPECT_EQ(String(r.json, "client_cmd"), o.client_cmd);
  EXPECT_EQ(Int(r.json, "peak_connections"), 0);

  std::string secret;
  for (int n = 1; n <= 3; ++n) {
    std::map<std::string, std::string> env = ReadEnvFile(absl::StrCat(dir, "/env.", n));
    EXPECT_EQ(env["PGHOST"], "127.0.0.1");
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(env["PGPORT"], &port) && port > 0) << env["PGPORT"];
    EXPECT_EQ(env["PGUSER"], "aequor_app");
    EXPECT_EQ(env["PGPASSWORD"], "aequor_app-pw");
    EXPECT_EQ(env["PGDATABASE"], "aequor");
    EXPECT_GE(env["AEQUOR_COORDINATION_SECRET"].size(), 16u);
    if (n == 1) secret = env["AEQUOR_COORDINATION_SECRET"];
    EXPECT_EQ(env["AEQUOR_COORDINATION_SECRET"], secret) << "one secret for the whole fleet";
    EXPECT_EQ(env["AEQUOR_SERVICE"], "env-check");
    EXPECT_EQ(env["AEQUOR_LEASE_TTL_MS"], "3000");
    EXPECT_EQ(env["AEQUOR_MIN_IDLE_S"], "2");
    EXPECT_EQ(env["AEQUOR_STORM_INVOCATION"], absl::StrCat(n));
    EXPECT_EQ(env["AEQUOR_STORM_SEED"], absl::StrCat(100 + n));
    EXPECT_EQ(env.count("AEQUOR_REAPER_SCHEDULER"), 0u);
  }
}

// Only libpq's own PG* variables are kept from the fleet: a PG-prefixed name
// libpq does not read (a PG_AEQUOR_DIR a Node.js instance needs, PGDATA)
// passes through; libpq's (PGAPPNAME, PGTZ, ...) do not, so that the fleet
// connects as the harness says. (Only variables that leave the harness's own
// connections working are set: PGHOSTADDR would redirect its monitor.)
TEST(StormTest, ClientCmdKeepsPgPrefixedVariablesThatLibpqDoesNotRead) {
  const std::string dir = TmpDir() + "/pgenv";
  ASSERT_EQ(std::system(absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'").c_str()), 0);
  const std::map<std::string, std::string> set = {
      {"PG_AEQUOR_DIR", "/opt/pg-aequor"}, {"PGDATA", "/nowhere"},     {"PGSSLMODE", "disable"},
      {"PGAPPNAME", "not-the-lease"},      {"PGCONNECT_TIMEOUT", "9"}, {"PGTZ", "Asia/Tokyo"},
      {"PGDATESTYLE", "German"},
  };
  for (const auto& [k, v] : set) ASSERT_EQ(setenv(k.c_str(), v.c_str(), 1), 0);
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd = absl::StrCat("env > '", dir, "'/env; echo ok");
  o.invocations = 1;
  o.max_connections = 8;
  Ran r = RunOrFail(o);
  for (const auto& [k, v] : set) unsetenv(k.c_str());
  EXPECT_EQ(Int(r.json, "ok"), 1) << r.progress;
  std::map<std::string, std::string> env = ReadEnvFile(dir + "/env");
  EXPECT_EQ(env["PG_AEQUOR_DIR"], "/opt/pg-aequor");
  EXPECT_EQ(env["PGDATA"], "/nowhere");
  for (const char* dropped :
       {"PGSSLMODE", "PGAPPNAME", "PGCONNECT_TIMEOUT", "PGTZ", "PGDATESTYLE"}) {
    EXPECT_EQ(env.count(dropped), 0u) << dropped;
  }
  EXPECT_EQ(env["PGHOST"], "127.0.0.1");
  EXPECT_EQ(env["PGUSER"], "aequor_app");
}

// A backend killed while its invocation is in flight, found gone only after
// the instance answered and was frozen, is a false kill "in flight" (the
// phase at the logged kill time), not "answered, not frozen yet" (the phase
// when the harness noticed). The pipeline holds the answer back until well
// after the server's idle_session_timeout has killed the session (2.5 s
// after the connect; the answer comes at 3.2 s), and polls every 2 s: the
// backend is seen at 2 s, and found gone at 4 s, after the freeze.
TEST(StormTest, FalseKillIsLabelledWithThePhaseAtTheKillNotWhenItIsSeen) {
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd = absl::StrCat("PGOPTIONS='-c idle_session_timeout=2500' '", InstanceBinary(),
                              "' --client=libpq | { read pid; read ok; sleep 3.2; "
                              "echo \"$pid\"; echo \"$ok\"; }");
  o.invocations = 1;
  o.max_connections = 8;
  o.poll_ms = 2000;
  o.tail_ms = 2500;  // frozen, then polled again
  Ran r = RunOrFail(o);
  EXPECT_EQ(Int(r.json, "ok"), 1) << r.progress;
  EXPECT_EQ(Int(r.json, "false_kills"), 1) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_reaped"), 0) << r.progress;
  EXPECT_EQ(r.summary.false_kills_by["in_flight"], 1) << r.progress;
  EXPECT_EQ(r.summary.false_kills_by.count("answered_not_frozen"), 0u) << r.progress;
  EXPECT_TRUE(
      absl::StrContains(r.progress, "instance alive (invocation in flight; idle-session timeout)"))
      << r.progress;
}

// The instance's backend is cut off by the server's idle_session_timeout
// (set by the instance itself through PGOPTIONS) after it was frozen. The
// pipeline drops the "# pid" lines, so attribution must go by client port.
// The timeout leaves 1.5 s for the freeze: 400 ms was not enough under
// AddressSanitizer on a busy machine (the session timed out before the
// instance was frozen and counted as a false kill).
TEST(StormTest, ServerTimeoutOfAFrozenInstanceCountsAsZombieReapedAttributedByPort) {
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd = absl::StrCat("PGOPTIONS='-c idle_session_timeout=1500' '", InstanceBinary(),
                              "' --client=libpq | grep --line-buffered -v '^# pid'");
  o.invocations = 3;
  o.interval_ms = 150;
  o.max_connections = 8;
  o.tail_ms = 2500;
  Ran r = RunOrFail(o);
  EXPECT_EQ(Int(r.json, "ok"), 3) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_reaped"), 3) << r.progress;
  EXPECT_EQ(r.summary.reaped_by["idle-session timeout"], 3) << r.progress;
  EXPECT_EQ(Int(r.json, "false_kills"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "unattributed_backends"), 0) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_left"), 0);
  EXPECT_EQ(Int(r.json, "final_connections"), 0);
}

// Same timeout, but the instances stay alive 1.5 s after answering: the
// server kills live sessions, which the storm must call false kills.
TEST(StormTest, KillBeforeTheFreezeCountsAsFalseKill) {
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd = absl::StrCat("PGOPTIONS='-c idle_session_timeout=300' exec '", InstanceBinary(),
                              "' --client=libpq");
  o.invocations = 2;
  o.interval_ms = 100;
  o.max_connections = 8;
  o.freeze_delay_ms = 1500;
  Ran r = RunOrFail(o);
  EXPECT_EQ(Int(r.json, "ok"), 2) << r.progress;
  EXPECT_EQ(Int(r.json, "false_kills"), 2) << r.progress;
  EXPECT_EQ(r.summary.false_kills_by["answered_not_frozen"], 2) << r.progress;
  EXPECT_EQ(Int(r.json, "zombies_reaped"), 0) << r.progress;
  EXPECT_TRUE(absl::StrContains(r.progress, "FALSE KILL")) << r.progress;
  EXPECT_TRUE(absl::StrContains(r.progress, "instance alive (answered, not frozen yet;"))
      << r.progress;
}

TEST(StormTest, InstanceThatNeverAnswersTimesOutAndIsKilled) {
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd = "sleep 30";
  o.invocations = 1;
  o.max_connections = 8;
  o.timeout_ms = 300;
  const auto start = std::chrono::steady_clock::now();
  Ran r = RunOrFail(o);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_EQ(Int(r.json, "failed"), 1);
  EXPECT_EQ(r.summary.failures["timeout"], 1) << r.progress;
  EXPECT_NEAR(*r.summary.p50_ms, 300, 1);
}

TEST(StormTest, InstanceThatExitsWithoutAnsweringFailsWithItsExitStatus) {
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd = "echo 'no such thing'; exit 3";
  o.invocations = 1;
  o.max_connections = 8;
  Ran r = RunOrFail(o);
  EXPECT_EQ(r.summary.failures["exited 3"], 1) << r.progress;
  EXPECT_TRUE(absl::StrContains(r.progress, "(no such thing)")) << r.progress;
}

// A warm --client-cmd instance gets "invoke <id>" on its stdin after each
// thaw, and AEQUOR_STORM_INSTANCE / AEQUOR_STORM_INVOCATION at its start.
TEST(StormTest, WarmClientCmdIsResumedWithInvokeAndItsInvocationId) {
  const std::string dir = TmpDir() + "/warm";
  ASSERT_EQ(std::system(absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'").c_str()), 0);
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd =
      absl::StrCat("f='", dir,
                   "'/i.$AEQUOR_STORM_INSTANCE; echo \"start $AEQUOR_STORM_INVOCATION\" > $f; "
                   "echo ok; while read c id; do echo \"$c $id\" >> $f; echo ok; done");
  o.invocations = 5;
  o.invocations_per_instance = 3;
  o.thaw_after_ms = 100;
  o.interval_ms = 50;
  o.max_connections = 8;
  o.seed = 5;
  Ran r = RunOrFail(o);
  EXPECT_EQ(Int(r.json, "ok"), 5) << r.progress;
  EXPECT_EQ(Int(r.json, "instances"), 2) << r.progress;
  EXPECT_EQ(Int(r.json, "warm_invocations"), 3) << r.progress;
  EXPECT_EQ(Int(r.json, "invocations_per_instance"), 3);
  EXPECT_EQ(Int(r.json, "thaw_after_ms"), 100);
  // Slot 1 runs invocations 1, 3, 4 or 1, 3, 5 ... in start order: ids are
  // given as invocations start, so read them back rather than guess.
  const std::string one = ReadFile(dir + "/i.1");
  const std::string two = ReadFile(dir + "/i.2");
  EXPECT_TRUE(absl::StartsWith(one, "start 1\ninvoke ")) << one;
  EXPECT_TRUE(absl::StartsWith(two, "start 2\ninvoke ")) << two;
  EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 3) << one;  // 3 invocations
  EXPECT_EQ(std::count(two.begin(), two.end(), '\n'), 2) << two;  // the last slot: 2
  EXPECT_TRUE(absl::StrContains(r.progress, "(instance 1, warm 3)")) << r.progress;
}

// A warm instance killed after a timeout cannot be resumed: its slot's next
// invocation runs on a new, cold instance (as a runtime resets a timed-out
// environment).
TEST(StormTest, TimedOutWarmInstanceIsReplacedByAColdOne) {
  StormOptions o;
  o.client = ClientKind::kCommand;
  o.client_cmd = "echo ok; read c id; exec sleep 30";  // answers its cold invocation only
  o.invocations = 3;
  o.invocations_per_instance = 3;
  o.thaw_after_ms = 50;
  o.timeout_ms = 300;
  o.max_connections = 8;
  Ran r = RunOrFail(o);
  EXPECT_EQ(Int(r.json, "ok"), 2) << r.progress;
  EXPECT_EQ(r.summary.failures["timeout"], 1) << r.progress;
  EXPECT_EQ(Int(r.json, "instances"), 2) << r.progress;
  EXPECT_EQ(Int(r.json, "warm_invocations"), 1) << r.progress;
  EXPECT_TRUE(absl::StrContains(r.progress, "#2 fail timeout")) << r.progress;
  EXPECT_TRUE(absl::StrContains(r.progress, "#3 ok")) << r.progress;
}

// ---------------------------------------------------------------------------
// The binary: exit codes, and nothing left behind after SIGTERM.

TEST(StormBinaryTest, BadOptionExitsWithStatus2AndNamesTheOption) {
  Exec e = RunBinary({"--invocations=0"});
  ASSERT_TRUE(WIFEXITED(e.status));
  EXPECT_EQ(WEXITSTATUS(e.status), 2);
  EXPECT_EQ(e.err, "storm: --invocations: must be an integer in [1, 10000], got '0'\n");
  EXPECT_EQ(e.out, "");
}

TEST(StormBinaryTest, BadNewFlagExitsWithStatus2AndNamesTheFlag) {
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--fault=restart-at:soon"},
            "storm: --fault: restart-at: must be a number of seconds in [0, 86400], got 'soon'\n"},
           {{"--workload=delete"}, "storm: --workload: must be 'read' or 'write', got 'delete'\n"},
           {{"--invocations-per-instance=2"},
            "storm: --invocations-per-instance: needs --thaw-after-ms (when a frozen instance is "
            "resumed for its next invocation)\n"}}) {
    Exec e = RunBinary(args);
    ASSERT_TRUE(WIFEXITED(e.status));
    EXPECT_EQ(WEXITSTATUS(e.status), 2);
    EXPECT_EQ(e.err, message);
    EXPECT_EQ(e.out, "");
  }
}

// A scheduler that parses but cannot be built used to fail every invocation
// while the run exited 0 (issue 12, item 6): now nothing starts.
TEST(StormBinaryTest, SchedulerThatCannotBeBuiltExitsWithStatus2BeforeAnyInstance) {
  Exec e = RunBinary({"--reaper-scheduler=aequor.reaper.probability(p=2)"});
  ASSERT_TRUE(WIFEXITED(e.status));
  EXPECT_EQ(WEXITSTATUS(e.status), 2);
  EXPECT_EQ(e.err,
            "storm: --reaper-scheduler: aequor.reaper.probability: option 'p' must be a number "
            "in [0, 1], got '2'\n");
  EXPECT_EQ(e.out, "");
}

TEST(StormTest, RunStormRefusesASchedulerThatCannotBeBuiltBeforeAnyInstance) {
  StormOptions o;
  o.invocations = 1;
  o.reaper_scheduler = "aequor.reaper.nope";
  std::ostringstream progress;
  absl::StatusOr<StormSummary> s = RunStorm(o, &progress);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "--reaper-scheduler: "))
      << s.status().message();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "'aequor.reaper.nope'"))
      << s.status().message();
  EXPECT_EQ(progress.str(), "") << "nothing started";
}

TEST(StormBinaryTest, HelpListsEveryContractOption) {
  Exec e = RunBinary({"--help"});
  ASSERT_TRUE(WIFEXITED(e.status));
  EXPECT_EQ(WEXITSTATUS(e.status), 0);
  for (const char* flag : {"--invocations",
                           "--interval-ms",
                           "--max-connections",
                           "--lease-ttl-ms",
                           "--min-idle-s",
                           "--freeze-delay-ms",
                           "--dsn",
                           "--client=aequor|libpq",
                           "--client-cmd",
                           "--timeout-ms",
                           "--seed",
                           "--json-only",
                           "--series-out",
                           "--help",
                           "--instance-binary",
                           "--invocations-per-instance",
                           "--thaw-after-ms",
                           "--workload=read|write",
                           "--fault=terminate-idle:P",
                           "--fault=terminate-active:P",
                           "--fault=restart-at:S",
                           "unknown_outcome",
                           "duplicated_invocations",
                           "ok_without_row",
                           "fault_kills",
                           "rows",
                           "--reaper-role",
                           "--reaper-slots",
                           "AEQUOR_REAPER_CONNINFO",
                           "full_recovery_ms",
                           "reaper_kills",
                           "false_kills_by",
                           "--frozen-leader",
                           "frozen_leader",
                           "within_ttl_plus_1s",
                           "--fault=restart-after-backends:N"}) {
    EXPECT_TRUE(absl::StrContains(e.out, flag)) << flag;
  }
}

bool AnyProcessHasEnv(absl::string_view needle) {
  bool found = false;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return false;
  while (struct dirent* entry = readdir(dir)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::string env = ReadFile(absl::StrCat("/proc/", pid, "/environ"));
    for (absl::string_view var : absl::StrSplit(env, '\0')) {
      if (var == needle) found = true;
    }
  }
  closedir(dir);
  return found;
}

TEST(StormBinaryTest, SigtermKillsEveryInstanceStopsTheServerAndStillPrintsTheJson) {
  // Instance #n carries AEQUOR_STORM_SEED=seed+n: a marker to look for, unique
  // to this test process (runs of this test may overlap).
  const uint64_t seed = static_cast<uint64_t>(getpid()) * 100000;
  // SIGTERM once the 6th invocation has answered (a condition, not a time:
  // starting the server may take seconds on a loaded machine), with 94 of
  // the 100 invocations (10 s) still to come.
  Exec e = RunBinaryUntil(
      {"--client=libpq", "--invocations=100", "--interval-ms=100", absl::StrCat("--seed=", seed),
       "--max-connections=6", "--instance-binary=" + InstanceBinary()},
      [](const std::string& out) {
        return absl::StrContains(out, "\n#6 ok ") || absl::StrContains(out, "\n#6 fail ");
      });
  ASSERT_TRUE(WIFEXITED(e.status)) << e.err;
  EXPECT_EQ(WEXITSTATUS(e.status), 128 + SIGTERM) << e.err;
  std::vector<absl::string_view> lines = absl::StrSplit(e.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  Json j = ParseJsonOrDie(std::string(lines.back()));
  ExpectContractFields(j);
  EXPECT_TRUE(Bool(j, "interrupted"));
  EXPECT_GE(Int(j, "invocations"), 6);
  EXPECT_LT(Int(j, "invocations"), 100);
  // The 3 fleet slots: under ThreadSanitizer in clean-clone CI runs the
  // monitor saw at most 2 of them taken (peak 2, both at the 6th answer and
  // over a whole 100-invocation run), so the peak is bounded, not pinned.
  EXPECT_GE(Int(j, "peak_connections"), 1);
  EXPECT_LE(Int(j, "peak_connections"), 3);
  for (int n = 1; n <= 100; ++n) {
    EXPECT_FALSE(AnyProcessHasEnv(absl::StrCat("AEQUOR_STORM_SEED=", seed + n)))
        << "instance #" << n << " outlived the harness";
  }
  // The server's directory, from "server: ... log /tmp/aequor-pg-XXXXXX/server.log".
  size_t at = e.out.find("log /tmp/aequor-pg-");
  ASSERT_NE(at, std::string::npos) << e.out;
  std::string dir = e.out.substr(at + 4, e.out.find("/server.log", at) - at - 4);
  EXPECT_NE(access(dir.c_str(), F_OK), 0) << dir << " was not removed";
}

}  // namespace
}  // namespace storm
}  // namespace aequor
