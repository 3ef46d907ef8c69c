// Runs the real aequorctl binary (a data dependency, found in the runfiles)
// for `leases`, `reap` and `doctor` against a throwaway PostgreSQL 15, with
// zombies that are real processes frozen with SIGSTOP after their query:
// what each lease state looks like, that a dry run kills nothing and a pass
// kills the zombie, busy is exit 0, the grants doctor asks for, headroom,
// connection errors (exit 2, no password shown), DSN syntax errors and
// --help. Plus in-process tests of the redaction and number parsing the
// commands are built on.
//
// The zombies are tests/integration/zombie processes (tests/integration/zombies.h).
#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/lease.h"
#include "api/options.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/aequorctl_runner.h"
#include "tests/integration/zombies.h"
#include "signers/hmac_sha256_botan.h"
#include "testing/json.h"
#include "testing/throwaway_postgres.h"
#include "tools/aequorctl/ops_common.h"

namespace aequor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ThrowawayPostgres;

constexpr char kSecret[] = "ops-test-secret-0123456789";
constexpr char kOtherSecret[] = "ops-other-secret-9876543210";
constexpr char kWrongPassword[] = "wrong-password-7f3a9c";

using testing::Aequorctl;
using testing::Describe;
using testing::Json;
using testing::RunResult;

// ---- The JSON output, read with testing/json.h ----------------------------

// `text` as one JSON value that names no member twice: aequorctl never writes
// a repeated member, so one is a bug.
Json ParseJsonOrFail(absl::string_view text) {
  absl::StatusOr<Json> value = testing::ParseJson(text);
  EXPECT_TRUE(value.ok()) << value.status() << "\nnot JSON: " << text;
  if (!value.ok()) return Json();
  const absl::Status unique = testing::CheckUniqueKeys(*value);
  EXPECT_TRUE(unique.ok()) << unique << "\n" << text;
  return *std::move(value);
}

// One JSON object per non-empty line.
std::vector<Json> ParseJsonLines(const std::string& text) {
  std::vector<Json> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.push_back(ParseJsonOrFail(line));
    EXPECT_TRUE(lines.back().is_object()) << line;
  }
  return lines;
}

// ---- Frozen instances: tests/integration/zombies.h ----------------------

using FrozenInstance = testing::Zombie;

// ---- The fixture --------------------------------------------------------

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string Lease(const std::string& service, int64_t expires_ms, const std::string& instance,
                  const char* secret = kSecret) {
  auto signer = NewHmacSha256BotanSigner(Secret(secret));
  EXPECT_TRUE(signer.ok()) << signer.status();
  absl::StatusOr<std::string> lease = SignLease(**signer, service, instance, expires_ms);
  EXPECT_TRUE(lease.ok()) << lease.status();
  return lease.ok() ? *lease : "";
}

std::string Expired(const std::string& service, const std::string& instance) {
  return Lease(service, NowMs() - 60000, instance);
}

std::string Live(const std::string& service, const std::string& instance) {
  return Lease(service, NowMs() + 600000, instance);
}

class AequorctlOpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = ThrowawayPostgres::Start();
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = s->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static std::string Dsn(const char* role) { return server_->ConninfoFor(role); }

  std::unique_ptr<FrozenInstance> Freeze(const std::string& application_name,
                                         const char* role = ThrowawayPostgres::kAppRole,
                                         const std::string& mode = "idle") {
    auto z = FrozenInstance::Start(Dsn(role), application_name, mode);
    EXPECT_TRUE(z.ok()) << z.status();
    return z.ok() ? *std::move(z) : nullptr;
  }

  // Runs `command args... --dsn <role's DSN>` with the secret (or not).
  RunResult Run(const std::string& command, std::vector<std::string> args, const char* role,
                bool with_secret = true) {
    args.insert(args.begin(), command);
    args.push_back("--dsn");
    args.push_back(Dsn(role));
    std::vector<std::string> env;
    if (with_secret) env.push_back(absl::StrCat("AEQUOR_COORDINATION_SECRET=", kSecret));
    RunResult run = Aequorctl(args, env);
    ExpectNothingSecret(run);
    return run;
  }

  // No output ever holds a secret, a password or the DSN.
  static void ExpectNothingSecret(const RunResult& run) {
    std::vector<std::string> secrets = {kSecret, kOtherSecret, kWrongPassword};
    for (const char* role : {ThrowawayPostgres::kAppRole, ThrowawayPostgres::kApp2Role,
                             ThrowawayPostgres::kReaperRole, ThrowawayPostgres::kSuperRole}) {
      secrets.push_back(ThrowawayPostgres::PasswordFor(role));
    }
    for (const std::string& secret : secrets) {
      EXPECT_THAT(run.out, Not(HasSubstr(secret)));
      EXPECT_THAT(run.err, Not(HasSubstr(secret)));
    }
    EXPECT_THAT(run.out + run.err, Not(HasSubstr("password=")));
  }

  static bool Alive(int backend_pid) {
    absl::StatusOr<std::string> n = server_->AdminQuery(
        absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE pid = ", backend_pid));
    return n.ok() && *n == "1";
  }

  static bool GoneWithin(int backend_pid, absl::Duration limit) {
    const absl::Time end = absl::Now() + limit;
    while (absl::Now() < end) {
      if (!Alive(backend_pid)) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  // The `leases --json` line of `pid`.
  static Json LineOf(const std::vector<Json>& lines, int pid) {
    for (const Json& line : lines) {
      if (line["pid"].is_number() && static_cast<int>(line["pid"].number) == pid) return line;
    }
    ADD_FAILURE() << "no line for pid " << pid;
    return Json();
  }

  // The findings of `doctor --json` named `check`.
  static std::vector<Json> Findings(const Json& report, const std::string& check) {
    std::vector<Json> found;
    for (const Json& f : report["findings"].array) {
      if (f["check"].string == check) found.push_back(f);
    }
    return found;
  }

  static ThrowawayPostgres* server_;
};

ThrowawayPostgres* AequorctlOpsTest::server_ = nullptr;

const std::vector<std::string> kLeaseKeys = {
    "pid",        "role",          "application_name", "service", "instance", "lease",
    "expires_ms", "expires_in_ms", "expired_for_ms",   "state",   "idle_s",   "would_kill",
    "reason"};

// ---- leases ---------------------------------------------------------------

TEST_F(AequorctlOpsTest, LeasesShowsLiveExpiredForeignAndPlainSessions) {
  auto live = Freeze(Live("svc_l", "liveliv1"));
  auto expired = Freeze(Expired("svc_l", "expired1"));
  auto foreign = Freeze(Lease("svc_l", NowMs() - 60000, "foreign1", kOtherSecret));
  auto plain = Freeze("psql-ops-test");
  ASSERT_TRUE(live && expired && foreign && plain);

  RunResult run = Run("leases", {"--json", "--service", "svc_l", "--min-idle-s", "0"},
                      ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  const std::vector<Json> lines = ParseJsonLines(run.out);
  ASSERT_GE(lines.size(), 4u) << run.out;
  for (const Json& line : lines) {
    EXPECT_EQ(line.object.size(), kLeaseKeys.size()) << run.out;
    for (const std::string& key : kLeaseKeys) EXPECT_TRUE(line.has(key)) << key;
    EXPECT_NE(line["application_name"].string, "aequorctl") << "its own session is not listed";
  }

  const Json l = LineOf(lines, live->backend_pid());
  EXPECT_EQ(l["lease"].string, "valid");
  EXPECT_EQ(l["service"].string, "svc_l");
  EXPECT_EQ(l["instance"].string, "liveliv1");
  EXPECT_EQ(l["role"].string, "aequor_app");
  EXPECT_EQ(l["state"].string, "idle");
  EXPECT_FALSE(l["would_kill"].boolean);
  EXPECT_EQ(l["reason"].string, "not_expired");
  EXPECT_GT(l["expires_in_ms"].number, 500000);
  EXPECT_TRUE(l["expired_for_ms"].is_null());

  const Json e = LineOf(lines, expired->backend_pid());
  EXPECT_EQ(e["lease"].string, "expired");
  EXPECT_EQ(e["state"].string, "idle");
  EXPECT_TRUE(e["idle_s"].is_number());
  EXPECT_GE(e["expired_for_ms"].number, 60000);
  EXPECT_TRUE(e["expires_in_ms"].is_null());
  EXPECT_TRUE(e["would_kill"].boolean);
  EXPECT_TRUE(e["reason"].is_null());

  const Json f = LineOf(lines, foreign->backend_pid());
  EXPECT_EQ(f["lease"].string, "bad_tag");
  EXPECT_EQ(f["service"].string, "svc_l");
  EXPECT_FALSE(f["would_kill"].boolean);
  EXPECT_EQ(f["reason"].string, "bad_tag");

  const Json p = LineOf(lines, plain->backend_pid());
  EXPECT_EQ(p["lease"].string, "not_a_lease");
  EXPECT_EQ(p["application_name"].string, "psql-ops-test");
  EXPECT_TRUE(p["service"].is_null());
  EXPECT_TRUE(p["expires_ms"].is_null());
  EXPECT_FALSE(p["would_kill"].boolean);
  EXPECT_EQ(p["reason"].string, "bad_lease");

  // The same verdicts in the human table.
  RunResult table =
      Run("leases", {"--service", "svc_l", "--min-idle-s", "0"}, ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(table.exit_code, 0) << Describe(table);
  EXPECT_THAT(table.out, HasSubstr("PID"));
  EXPECT_THAT(table.out, HasSubstr("REASON"));
  EXPECT_THAT(table.out, HasSubstr(absl::StrCat(expired->backend_pid())));
  EXPECT_THAT(table.out, HasSubstr("not_expired"));
  EXPECT_THAT(table.out, HasSubstr("a reaper pass would kill 1 now"));

  // With the default minimum idle (180 s), a fresh zombie is spared.
  RunResult patient =
      Run("leases", {"--json", "--service", "svc_l"}, ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(patient.exit_code, 0) << Describe(patient);
  const Json e180 = LineOf(ParseJsonLines(patient.out), expired->backend_pid());
  EXPECT_FALSE(e180["would_kill"].boolean);
  EXPECT_EQ(e180["reason"].string, "idle_too_short");
}

TEST_F(AequorctlOpsTest, LeasesWithoutSecretAreUnverifiedAndNeverWouldKill) {
  auto expired = Freeze(Expired("svc_n", "expired2"));
  ASSERT_TRUE(expired);
  RunResult run = Run("leases", {"--json", "--service", "svc_n", "--min-idle-s", "0"},
                      ThrowawayPostgres::kReaperRole, /*with_secret=*/false);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  const Json e = LineOf(ParseJsonLines(run.out), expired->backend_pid());
  EXPECT_EQ(e["lease"].string, "unverified");
  EXPECT_GE(e["expired_for_ms"].number, 60000);
  EXPECT_FALSE(e["would_kill"].boolean);
  EXPECT_EQ(e["reason"].string, "no_secret");
  EXPECT_THAT(run.err, HasSubstr("no coordination secret"));
  EXPECT_THAT(run.err, HasSubstr("unverified"));
}

TEST_F(AequorctlOpsTest, LeasesShowsOtherRolesAsNotVisibleWithoutTheGrant) {
  auto other = Freeze(Expired("svc_v", "otherro1"), ThrowawayPostgres::kApp2Role);
  ASSERT_TRUE(other);
  RunResult run = Run("leases", {"--json", "--service", "svc_v", "--min-idle-s", "0"},
                      ThrowawayPostgres::kAppRole);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  const Json o = LineOf(ParseJsonLines(run.out), other->backend_pid());
  EXPECT_EQ(o["role"].string, "aequor_app2");
  EXPECT_EQ(o["lease"].string, "expired") << "application_name is visible to every role";
  EXPECT_TRUE(o["state"].is_null());
  EXPECT_TRUE(o["idle_s"].is_null());
  EXPECT_FALSE(o["would_kill"].boolean);
  EXPECT_EQ(o["reason"].string, "not_visible");
  EXPECT_THAT(run.err, HasSubstr("GRANT pg_read_all_stats TO aequor_app;"));
}

TEST_F(AequorctlOpsTest, ServiceComesFromAequorServiceNormalisedAndPgVariablesConnect) {
  const std::string normalized = NormalizeService("svc.env");
  ASSERT_NE(normalized, "svc.env");
  auto expired = Freeze(Expired(normalized, "envserv1"));
  ASSERT_TRUE(expired);
  RunResult run =
      Aequorctl({"leases", "--json", "--min-idle-s", "0"},
                {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kSecret), "AEQUOR_SERVICE=svc.env",
                 "PGHOST=127.0.0.1", absl::StrCat("PGPORT=", server_->port()), "PGDATABASE=aequor",
                 "PGUSER=aequor_reaper",
                 absl::StrCat("PGPASSWORD=", ThrowawayPostgres::PasswordFor("aequor_reaper"))});
  ExpectNothingSecret(run);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  const Json e = LineOf(ParseJsonLines(run.out), expired->backend_pid());
  EXPECT_EQ(e["service"].string, normalized);
  EXPECT_TRUE(e["would_kill"].boolean) << "judged for the normalised $AEQUOR_SERVICE";
  // --service wins over $AEQUOR_SERVICE.
  RunResult other =
      Aequorctl({"leases", "--json", "--min-idle-s", "0", "--service", "another", "--dsn",
                 Dsn(ThrowawayPostgres::kReaperRole)},
                {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kSecret), "AEQUOR_SERVICE=svc.env"});
  ASSERT_EQ(other.exit_code, 0) << Describe(other);
  EXPECT_EQ(LineOf(ParseJsonLines(other.out), expired->backend_pid())["reason"].string,
            "other_service");
}

// ---- reap -----------------------------------------------------------------

TEST_F(AequorctlOpsTest, ReapDryRunKillsNothingThenReapKillsTheZombie) {
  auto zombie = Freeze(Expired("svc_r", "zombier1"));
  auto live = Freeze(Live("svc_r", "liveliv2"));
  ASSERT_TRUE(zombie && live);

  RunResult dry = Run("reap", {"--dry-run", "--json", "--service", "svc_r", "--min-idle-s", "0"},
                      ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(dry.exit_code, 0) << Describe(dry);
  const Json d = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(dry.out));
  for (const char* key : {"outcome", "service", "dry_run", "scanned", "candidates", "killed",
                          "skipped", "frozen_leader_killed", "duration_ms", "message"}) {
    EXPECT_TRUE(d.has(key)) << key;
  }
  EXPECT_EQ(d["outcome"].string, "completed");
  EXPECT_EQ(d["service"].string, "svc_r");
  EXPECT_TRUE(d["dry_run"].boolean);
  EXPECT_EQ(d["scanned"].number, 2);
  EXPECT_EQ(d["candidates"].number, 1);
  EXPECT_EQ(d["killed"].number, 0);
  EXPECT_EQ(d["skipped"]["dry_run"].number, 1);
  EXPECT_EQ(d["skipped"]["not_expired"].number, 1);
  EXPECT_FALSE(d["frozen_leader_killed"].boolean);
  EXPECT_TRUE(d["message"].is_null());
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_TRUE(Alive(zombie->backend_pid())) << "a dry run kills nothing";

  RunResult human = Run("reap", {"--dry-run", "--service", "svc_r", "--min-idle-s", "0"},
                        ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(human.exit_code, 0) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("completed"));
  EXPECT_THAT(human.out, HasSubstr("1 session(s) would have been"));
  EXPECT_TRUE(Alive(zombie->backend_pid()));

  RunResult reap = Run("reap", {"--json", "--service", "svc_r", "--min-idle-s", "0"},
                       ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(reap.exit_code, 0) << Describe(reap);
  const Json r = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(reap.out));
  EXPECT_EQ(r["outcome"].string, "completed");
  EXPECT_FALSE(r["dry_run"].boolean);
  EXPECT_EQ(r["candidates"].number, 1);
  EXPECT_EQ(r["killed"].number, 1);
  EXPECT_TRUE(GoneWithin(zombie->backend_pid(), absl::Seconds(5)));
  EXPECT_EQ(zombie->Thaw(), "dead");
  EXPECT_TRUE(Alive(live->backend_pid())) << "a live lease is never killed";
}

TEST_F(AequorctlOpsTest, ReapIsBusyWhileALiveLeaderHoldsTheLockAndSaysSo) {
  auto leader =
      Freeze(Live("svc_b", "leader01"), ThrowawayPostgres::kAppRole, "session-lock:svc_b");
  auto zombie = Freeze(Expired("svc_b", "zombieb1"));
  ASSERT_TRUE(leader && zombie);
  RunResult human =
      Run("reap", {"--service", "svc_b", "--min-idle-s", "0"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(human.exit_code, 0) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("BUSY"));
  EXPECT_THAT(human.out, HasSubstr("Not an error"));
  RunResult json = Run("reap", {"--json", "--service", "svc_b", "--min-idle-s", "0"},
                       ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  const Json j = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_EQ(j["outcome"].string, "busy");
  EXPECT_EQ(j["killed"].number, 0);
  EXPECT_THAT(j["message"].string, HasSubstr("reaper lock"));
  EXPECT_TRUE(Alive(zombie->backend_pid()));
  EXPECT_TRUE(Alive(leader->backend_pid()));
}

TEST_F(AequorctlOpsTest, ReapWithoutTheSecretIsExitTwoAndKillsNothing) {
  auto zombie = Freeze(Expired("svc_s", "zombies1"));
  ASSERT_TRUE(zombie);
  RunResult run = Run("reap", {"--service", "svc_s", "--min-idle-s", "0"},
                      ThrowawayPostgres::kReaperRole, /*with_secret=*/false);
  EXPECT_EQ(run.exit_code, 2) << Describe(run);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err, HasSubstr("needs the coordination secret"));
  EXPECT_THAT(run.err, HasSubstr("AEQUOR_COORDINATION_SECRET_FILE"));
  EXPECT_TRUE(Alive(zombie->backend_pid()));
}

TEST_F(AequorctlOpsTest, ReapRefusesContradictingSettings) {
  RunResult run =
      Run("reap",
          {"--service", "svc_s", "--min-idle-s", "180", "--reap-idle-in-transaction-after-s", "60"},
          ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(run.exit_code, 2) << Describe(run);
  EXPECT_THAT(run.err, HasSubstr("--reap-idle-in-transaction-after-s"));
  RunResult kills =
      Run("reap", {"--service", "svc_s", "--max-kills", "0"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(kills.exit_code, 2) << Describe(kills);
  EXPECT_THAT(kills.err, HasSubstr("--max-kills"));
}

// ---- doctor ---------------------------------------------------------------

TEST_F(AequorctlOpsTest, DoctorAsTheAppRoleAsksForBothGrantsAndExitsOne) {
  RunResult human = Run("doctor", {"--service", "svc_d"}, ThrowawayPostgres::kAppRole);
  EXPECT_EQ(human.exit_code, 1) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("GRANT pg_read_all_stats TO aequor_app;"));
  EXPECT_THAT(human.out, HasSubstr("GRANT pg_signal_backend TO aequor_app;"));
  EXPECT_THAT(human.out, HasSubstr("[fix]"));

  RunResult json = Run("doctor", {"--json", "--service", "svc_d"}, ThrowawayPostgres::kAppRole);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  const Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_EQ(report["status"].string, "fix");
  EXPECT_EQ(report["role"].string, "aequor_app");
  EXPECT_EQ(report["service"].string, "svc_d");
  for (const Json& f : report["findings"].array) {
    for (const char* key : {"check", "severity", "message", "fix"}) EXPECT_TRUE(f.has(key));
    EXPECT_THAT(f["severity"].string, ::testing::AnyOf("ok", "warn", "fix"));
  }
  const std::vector<Json> stats = Findings(report, "pg_read_all_stats");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0]["severity"].string, "fix");
  EXPECT_EQ(stats[0]["fix"].string, "GRANT pg_read_all_stats TO aequor_app;");
  const std::vector<Json> signal = Findings(report, "pg_signal_backend");
  ASSERT_EQ(signal.size(), 1u);
  EXPECT_EQ(signal[0]["severity"].string, "fix");
  EXPECT_EQ(signal[0]["fix"].string, "GRANT pg_signal_backend TO aequor_app;");
}

TEST_F(AequorctlOpsTest, DoctorAsTheReaperRoleFindsTheGrantsHeadroomAndZombies) {
  auto zombie = Freeze(Expired("svc_d", "zombied1"));
  auto hidden = Freeze(Live("svc_d", "liveliv3"), ThrowawayPostgres::kApp2Role);
  ASSERT_TRUE(zombie && hidden);
  RunResult json = Run("doctor", {"--json", "--service", "svc_d", "--min-idle-s", "0"},
                       ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  const Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_NE(report["status"].string, "fix") << json.out;
  for (const char* grant : {"pg_read_all_stats", "pg_signal_backend"}) {
    const std::vector<Json> found = Findings(report, grant);
    ASSERT_EQ(found.size(), 1u) << grant;
    EXPECT_EQ(found[0]["severity"].string, "ok") << grant;
    EXPECT_TRUE(found[0]["fix"].is_null()) << grant;
  }
  const std::vector<Json> headroom = Findings(report, "headroom");
  ASSERT_EQ(headroom.size(), 1u);
  EXPECT_EQ(headroom[0]["severity"].string, "ok");
  EXPECT_THAT(headroom[0]["message"].string, HasSubstr("max_connections 100"));
  EXPECT_THAT(headroom[0]["message"].string, HasSubstr("superuser_reserved_connections 3"));
  EXPECT_THAT(headroom[0]["message"].string, HasSubstr("in use"));
  EXPECT_THAT(headroom[0]["message"].string, HasSubstr("leased zombies of service svc_d now: 1"));
  const std::vector<Json> zombies = Findings(report, "leased_zombies");
  ASSERT_EQ(zombies.size(), 1u);
  EXPECT_EQ(zombies[0]["severity"].string, "warn");
  EXPECT_THAT(zombies[0]["fix"].string, HasSubstr("aequorctl reap --service svc_d"));
  EXPECT_EQ(Findings(report, "visibility").at(0)["severity"].string, "ok");
  EXPECT_EQ(Findings(report, "server_version").at(0)["severity"].string, "ok");
  EXPECT_EQ(Findings(report, "pooler").at(0)["severity"].string, "ok");
  EXPECT_EQ(Findings(report, "secret").at(0)["severity"].string, "ok");
  // The app roles own leased sessions and have no connection limit.
  bool app_limit_warned = false;
  for (const Json& f : Findings(report, "role_connection_limit")) {
    if (absl::StrContains(f["message"].string, "app role aequor_app:")) {
      app_limit_warned =
          f["severity"].string == "warn" &&
          absl::StrContains(f["fix"].string, "ALTER ROLE aequor_app CONNECTION LIMIT");
    }
  }
  EXPECT_TRUE(app_limit_warned) << json.out;

  RunResult human =
      Run("doctor", {"--service", "svc_d", "--min-idle-s", "0"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(human.exit_code, 0) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("[ok]   pg_read_all_stats"));
  EXPECT_THAT(human.out, HasSubstr("[ok]   pg_signal_backend"));
  EXPECT_THAT(human.out, HasSubstr("headroom: max_connections 100"));
  EXPECT_THAT(human.out, Not(HasSubstr("GRANT")));
}

TEST_F(AequorctlOpsTest, DoctorWithoutTheSecretWarnsWhatIsLimited) {
  RunResult json = Run("doctor", {"--json", "--service", "svc_d"}, ThrowawayPostgres::kReaperRole,
                       /*with_secret=*/false);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  const Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_EQ(Findings(report, "secret").at(0)["severity"].string, "warn");
  EXPECT_EQ(Findings(report, "leased_zombies").at(0)["severity"].string, "warn");
  EXPECT_THAT(Findings(report, "headroom").at(0)["message"].string,
              HasSubstr("unknown without the coordination secret"));
}

TEST_F(AequorctlOpsTest, DoctorReportsContradictingOptions) {
  RunResult refused = Run("doctor",
                          {"--json", "--service", "svc_d", "--min-idle-s", "180",
                           "--reap-idle-in-transaction-after-s", "60"},
                          ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
  const Json r = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(refused.out));
  ASSERT_EQ(Findings(r, "options").size(), 1u);
  EXPECT_EQ(Findings(r, "options")[0]["severity"].string, "fix");

  RunResult ttl =
      Run("doctor", {"--json", "--service", "svc_d", "--min-idle-s", "30", "--lease-ttl-s", "90"},
          ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(ttl.exit_code, 0) << Describe(ttl);
  const Json t = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(ttl.out));
  const std::vector<Json> options = Findings(t, "options");
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0]["severity"].string, "warn");
  EXPECT_THAT(options[0]["message"].string, HasSubstr("below the lease TTL"));

  RunResult bad_ttl = Run("doctor", {"--lease-ttl-s", "0"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(bad_ttl.exit_code, 2) << Describe(bad_ttl);
}

// ---- doctor: clock offset and reaper headroom ------------------------------

TEST_F(AequorctlOpsTest, DoctorMeasuresThisMachinesClockOffsetWithinTheDefaultMargin) {
  RunResult json = Run("doctor", {"--json", "--service", "svc_c"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  const Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  const Json& clock = report["clock_offset"];
  ASSERT_TRUE(clock.is_object()) << json.out;
  // Same machine, same clock: within a few ms, measured to within a few ms.
  EXPECT_LT(std::abs(clock["offset_us"].number), 5000) << json.out;
  EXPECT_GE(clock["uncertainty_us"].number, 0);
  EXPECT_LT(clock["uncertainty_us"].number, 5000);
  EXPECT_EQ(clock["samples"].number, 5);
  // The margin a manager built with defaults uses, read from the library.
  EXPECT_EQ(clock["margin_us"].number,
            absl::ToInt64Microseconds(ManagerOptions().reap_clock_skew));
  const std::vector<Json> found = Findings(report, "clock_offset");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["severity"].string, "ok");
  EXPECT_THAT(found[0]["message"].string, HasSubstr("within the reaper's clock-skew margin"));
  EXPECT_TRUE(found[0]["fix"].is_null());

  RunResult human = Run("doctor", {"--service", "svc_c"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(human.exit_code, 0) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("[ok]   clock_offset: this machine's clock"));
}

TEST_F(AequorctlOpsTest, DoctorWithAMarginBelowWhatIsMeasurableAsksForNtpAndExitsOne) {
  RunResult json = Run("doctor", {"--json", "--service", "svc_c", "--clock-skew-s", "0"},
                       ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  const Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_EQ(report["status"].string, "fix");
  EXPECT_EQ(report["clock_offset"]["margin_us"].number, 0);
  const std::vector<Json> found = Findings(report, "clock_offset");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["severity"].string, "fix");
  EXPECT_THAT(found[0]["fix"].string,
              HasSubstr("synchronise this machine's clock with NTP/chrony"));
  EXPECT_THAT(found[0]["fix"].string, HasSubstr("or raise reap_clock_skew to at least "));
}

TEST_F(AequorctlOpsTest, DoctorPrintsTheConnectionLimitAndReaperRoleSqlForAnUncappedAppRole) {
  auto zombie = Freeze(Live("svc_u", "uncappd1"));
  ASSERT_TRUE(zombie);
  RunResult json = Run("doctor", {"--json", "--service", "svc_u"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  const Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  const Json& headroom = report["headroom"];
  ASSERT_TRUE(headroom.is_object()) << json.out;
  EXPECT_EQ(headroom["max_connections"].number, 100);
  EXPECT_EQ(headroom["superuser_reserved_connections"].number, 3);
  EXPECT_EQ(headroom["available"].number, 97);
  EXPECT_EQ(headroom["free"].number, 97 - headroom["client_connections"].number);
  ASSERT_EQ(headroom["app_roles"].array.size(), 1u) << json.out;
  const Json& app = headroom["app_roles"].array[0];
  EXPECT_EQ(app["role"].string, "aequor_app");
  EXPECT_TRUE(app["connection_limit"].is_null());
  EXPECT_TRUE(app["free"].is_null());
  EXPECT_GE(app["sessions"].number, 1);
  EXPECT_TRUE(headroom["room_when_full"].is_null());
  EXPECT_EQ(headroom["reserved_for_reaper"].number, 3);
  EXPECT_FALSE(headroom["reaper_conninfo"].boolean);
  const int n = static_cast<int>(headroom["suggested_connection_limit"].number);
  EXPECT_EQ(n, 97 - 3 - static_cast<int>(headroom["other_sessions"].number));
  // Connected as aequor_reaper, which has both grants: it is the reaper role
  // the advice names, and nothing is granted or created.
  const std::string cap = absl::StrCat("ALTER ROLE aequor_app CONNECTION LIMIT ", n, ";");
  ASSERT_EQ(headroom["sql"].array.size(), 1u) << json.out;
  EXPECT_EQ(headroom["sql"].array[0].string, cap);
  const std::vector<Json> found = Findings(report, "reaper_headroom");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["severity"].string, "warn");
  EXPECT_THAT(found[0]["message"].string, HasSubstr("no reaper conninfo is given"));
  EXPECT_THAT(found[0]["message"].string, HasSubstr("role aequor_reaper (connected now)"));
  EXPECT_THAT(found[0]["fix"].string, HasSubstr(cap + "\nthen give the fleet"));
  EXPECT_THAT(found[0]["fix"].string, HasSubstr("SetReaperConninfo(\"host=<db host> dbname=<db> "
                                                "user=aequor_reaper\")"));
  // The existing role_connection_limit advice suggests the same limit.
  bool same = false;
  for (const Json& f : Findings(report, "role_connection_limit")) {
    same = same || absl::StrContains(f["fix"].string, cap);
  }
  EXPECT_TRUE(same) << json.out;

  // Connected as the app role: the reaper role is to be set up. It exists on
  // the test server, so it is adjusted rather than created.
  RunResult as_app = Run("doctor", {"--service", "svc_u"}, ThrowawayPostgres::kAppRole);
  EXPECT_EQ(as_app.exit_code, 1) << Describe(as_app);  // the app role lacks the grants
  EXPECT_THAT(as_app.out, HasSubstr("[warn] reaper_headroom: server: 97 slots"));
  EXPECT_THAT(as_app.out,
              HasSubstr("       fix: ALTER ROLE aequor_app CONNECTION LIMIT "));
  EXPECT_THAT(as_app.out,
              HasSubstr(";\n            ALTER ROLE aequor_reaper LOGIN CONNECTION LIMIT 2;\n"
                        "            GRANT pg_read_all_stats, pg_signal_backend TO "
                        "aequor_reaper;\n            then give the fleet"));
}

TEST_F(AequorctlOpsTest, DoctorCountsTheHeadroomOfARoleWithAConnectionLimit) {
  const std::string role = "aequor_capped";
  ASSERT_TRUE(server_
                  ->AdminQuery(absl::StrCat(
                      "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '", role,
                      "') THEN CREATE ROLE ", role, " LOGIN PASSWORD '",
                      ThrowawayPostgres::PasswordFor(role),
                      "' CONNECTION LIMIT 5; END IF; END$$"))
                  .ok());
  auto first = Freeze(Live("svc_cap", "capped01"), role.c_str());
  auto second = Freeze(Live("svc_cap", "capped02"), role.c_str());
  ASSERT_TRUE(first && second);
  RunResult json =
      Run("doctor", {"--json", "--service", "svc_cap"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  const Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  const Json& headroom = report["headroom"];
  ASSERT_EQ(headroom["app_roles"].array.size(), 1u) << json.out;
  const Json& app = headroom["app_roles"].array[0];
  EXPECT_EQ(app["role"].string, role);
  EXPECT_EQ(app["connection_limit"].number, 5);
  EXPECT_EQ(app["sessions"].number, 2);
  EXPECT_EQ(app["free"].number, 3);
  EXPECT_EQ(app["fleet_free"].number, 3);
  EXPECT_EQ(headroom["room_when_full"].number, 97 - 5 - headroom["other_sessions"].number);
  EXPECT_TRUE(headroom["sql"].array.empty()) << json.out;
  const std::vector<Json> found = Findings(report, "reaper_headroom");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["severity"].string, "ok");
  EXPECT_THAT(found[0]["message"].string,
              HasSubstr("app role aequor_capped: connection limit 5, 2 session(s), 3 slot(s)"));
  EXPECT_THAT(found[0]["message"].string, HasSubstr("--reaper-conninfo"));

  // With the reaper role's conninfo, from the flag or the environment.
  RunResult flag = Run("doctor",
                       {"--json", "--service", "svc_cap", "--reaper-conninfo",
                        Dsn(ThrowawayPostgres::kReaperRole)},
                       ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(flag.exit_code, 0) << Describe(flag);
  const Json with_flag = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(flag.out));
  EXPECT_TRUE(with_flag["headroom"]["reaper_conninfo"].boolean) << flag.out;
  EXPECT_EQ(with_flag["headroom"]["reaper_role"].string, "aequor_reaper");
  EXPECT_EQ(Findings(with_flag, "reaper_headroom").at(0)["severity"].string, "ok") << flag.out;
  EXPECT_THAT(Findings(with_flag, "reaper_headroom").at(0)["message"].string,
              HasSubstr("reaper role aequor_reaper logs in"));

  RunResult from_env =
      Aequorctl({"doctor", "--json", "--service", "svc_cap", "--dsn",
                 Dsn(ThrowawayPostgres::kReaperRole)},
                {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kSecret),
                 absl::StrCat("AEQUOR_REAPER_CONNINFO=", Dsn(ThrowawayPostgres::kReaperRole))});
  ExpectNothingSecret(from_env);
  EXPECT_EQ(from_env.exit_code, 0) << Describe(from_env);
  const Json with_env = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(from_env.out));
  EXPECT_EQ(with_env["headroom"]["reaper_role"].string, "aequor_reaper") << from_env.out;
}

TEST_F(AequorctlOpsTest, DoctorWithAReaperConninfoThatCannotLogInIsAFixAndShowsNoPassword) {
  const std::string right = ThrowawayPostgres::PasswordFor(ThrowawayPostgres::kReaperRole);
  const std::string wrong =
      absl::StrReplaceAll(Dsn(ThrowawayPostgres::kReaperRole), {{right, kWrongPassword}});
  RunResult json = Run("doctor", {"--json", "--service", "svc_c", "--reaper-conninfo", wrong},
                       ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  const Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  const std::vector<Json> found = Findings(report, "reaper_headroom");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["severity"].string, "fix");
  EXPECT_THAT(found[0]["message"].string, HasSubstr("The reaper conninfo cannot log in"));
  EXPECT_THAT(found[0]["message"].string, HasSubstr("authentication failed"));
  EXPECT_TRUE(report["headroom"]["reaper_conninfo"].boolean);
  EXPECT_TRUE(report["headroom"]["reaper_role"].is_null());
}

// ---- Connection errors -----------------------------------------------------

TEST_F(AequorctlOpsTest, BadPasswordIsExitTwoWithAClearMessageAndNoPassword) {
  const std::string right = ThrowawayPostgres::PasswordFor(ThrowawayPostgres::kAppRole);
  const std::string dsn =
      absl::StrReplaceAll(Dsn(ThrowawayPostgres::kAppRole), {{right, kWrongPassword}});
  ASSERT_THAT(dsn, HasSubstr(kWrongPassword));
  for (const char* command : {"leases", "reap", "doctor"}) {
    for (bool json : {false, true}) {
      std::vector<std::string> args = {command, "--dsn", dsn};
      if (json) args.push_back("--json");
      RunResult run = Aequorctl(args, {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kSecret)});
      ExpectNothingSecret(run);
      EXPECT_EQ(run.exit_code, 2) << command << "\n" << Describe(run);
      EXPECT_EQ(run.out, "") << command;
      EXPECT_THAT(run.err, HasSubstr("authentication failed")) << command;
      EXPECT_THAT(run.err, HasSubstr("aequor_app")) << command;
      EXPECT_THAT(run.err, Not(HasSubstr("dbname="))) << "the DSN is never printed";
    }
  }
  // The same from $PGPASSWORD.
  RunResult env =
      Aequorctl({"doctor"},
                {"PGHOST=127.0.0.1", absl::StrCat("PGPORT=", server_->port()), "PGDATABASE=aequor",
                 "PGUSER=aequor_app", absl::StrCat("PGPASSWORD=", kWrongPassword)});
  ExpectNothingSecret(env);
  EXPECT_EQ(env.exit_code, 2) << Describe(env);
  EXPECT_THAT(env.err, HasSubstr("authentication failed"));
}

TEST_F(AequorctlOpsTest, WrongDsnSyntaxIsExitTwoWithoutEchoingIt) {
  const std::vector<std::string> bad = {
      "host=127.0.0.1 port",                                              // missing "="
      absl::StrCat("host=127.0.0.1 ", kWrongPassword),                    // a stray word
      absl::StrCat("postgresql://aequor_app:", kWrongPassword, "@[::1"),  // broken URI
      absl::StrCat("host=127.0.0.1 passwd=", kWrongPassword),             // unknown keyword
  };
  for (const char* command : {"leases", "reap", "doctor"}) {
    for (const std::string& dsn : bad) {
      RunResult run = Aequorctl({command, "--dsn", dsn},
                                {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kSecret)});
      ExpectNothingSecret(run);
      EXPECT_EQ(run.exit_code, 2) << command << " " << Describe(run);
      EXPECT_EQ(run.out, "");
      EXPECT_THAT(run.err, HasSubstr("--dsn is not a valid libpq connection string"));
    }
  }
  RunResult unknown = Aequorctl({"leases", "--dsn", "host=127.0.0.1 passwd=x"}, {});
  EXPECT_THAT(unknown.err, HasSubstr("invalid connection option \"passwd\""));
}

TEST_F(AequorctlOpsTest, RefusedConnectionIsExitTwo) {
  // A port nobody listens on: bind one, read it, close it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  close(fd);
  for (const char* command : {"leases", "reap", "doctor"}) {
    RunResult run = Aequorctl(
        {command, "--dsn",
         absl::StrCat("host=127.0.0.1 port=", port, " user=aequor_app password=", kWrongPassword)},
        {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kSecret)});
    ExpectNothingSecret(run);
    EXPECT_EQ(run.exit_code, 2) << command << " " << Describe(run);
    EXPECT_THAT(run.err, HasSubstr("cannot connect to the server"));
    EXPECT_THAT(run.err, HasSubstr("Connection refused"));
  }
}

// ---- Help and usage ---------------------------------------------------------

TEST(AequorctlOpsHelpTest, HelpOnEveryCommandExitsZero) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"leases",
       {"Usage: aequorctl leases", "--dsn", "--service", "--json", "--min-idle-s", "--clock-skew-s",
        "--reap-idle-in-transaction-after-s", "would_kill", "expired_for_ms", "no_secret"}},
      {"reap",
       {"Usage: aequorctl reap", "--dry-run", "--max-kills", "--min-idle-s", "busy",
        "frozen_leader_killed", "duration_ms"}},
      {"doctor",
       {"Usage: aequorctl doctor", "--lease-ttl-s", "pg_read_all_stats", "headroom", "pooler",
        "severity"}},
  };
  for (const auto& [command, words] : expected) {
    for (const char* flag : {"--help", "-h"}) {
      RunResult run = Aequorctl({command, flag}, {});
      EXPECT_EQ(run.exit_code, 0) << command;
      EXPECT_EQ(run.err, "") << command;
      for (const std::string& word : words) EXPECT_THAT(run.out, HasSubstr(word)) << command;
    }
  }
  RunResult top = Aequorctl({"--help"}, {});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* command : {"lease ", "leases", "reap", "doctor"}) {
    EXPECT_THAT(top.out, HasSubstr(command));
  }
}

TEST(AequorctlOpsHelpTest, UsageErrorsAreExitTwoBeforeConnecting) {
  const std::vector<std::vector<std::string>> cases = {
      {"leases", "--min-idle-s", "-1"},
      {"leases", "--min-idle-s", "soon"},
      {"leases", "--dry-run"},  // reap's flag
      {"leases", "stray"},
      {"reap", "--max-kills", "1001"},
      {"reap", "--secret", kSecret},
      {"doctor", "--service", ""},
      {"doctor", "--dsn", ""},
  };
  for (const std::vector<std::string>& args : cases) {
    RunResult run = Aequorctl(args, {});
    EXPECT_EQ(run.exit_code, 2) << absl::StrJoin(args, " ");
    EXPECT_EQ(run.out, "") << absl::StrJoin(args, " ");
    EXPECT_FALSE(run.err.empty());
    EXPECT_THAT(run.err, Not(HasSubstr(kSecret)));
  }
}

// ---- In-process: redaction and numbers ------------------------------------------

TEST(AequorctlRedactorTest, BlanksPasswordsSecretsAndUriUserInfo) {
  cli::Redactor r;
  r.AddSensitive("s3cr3t-value");
  r.AddSensitive("ab");  // too short to blank safely
  EXPECT_EQ(r.Apply("x s3cr3t-value y"), "x <redacted> y");
  EXPECT_EQ(r.Apply("host=h password=hunter2 user=u"), "host=h password=<redacted> user=u");
  EXPECT_EQ(r.Apply("PASSWORD = 'a b\\' c' user=u"), "PASSWORD = <redacted> user=u");
  EXPECT_EQ(r.Apply("postgresql://app:hunter2@db:5432/x?password=p2&sslmode=require"),
            "postgresql://app:<redacted>@db:5432/x?password=<redacted>&sslmode=require");
  EXPECT_EQ(r.Apply("postgresql://app@db/x"), "postgresql://app@db/x");
  EXPECT_EQ(r.Apply("password authentication failed for user \"ab\""),
            "password authentication failed for user \"ab\"");
}

TEST(AequorctlRedactorTest, SecondsAreNonNegativeNumbers) {
  EXPECT_EQ(*cli::ParseSeconds("min-idle-s", "180"), absl::Seconds(180));
  EXPECT_EQ(*cli::ParseSeconds("min-idle-s", "0.5"), absl::Milliseconds(500));
  EXPECT_EQ(*cli::ParseSeconds("min-idle-s", "0"), absl::ZeroDuration());
  for (const char* bad : {"", "-1", "+1", "1e400", "nan", "inf", "3s", " 1"}) {
    absl::StatusOr<absl::Duration> d = cli::ParseSeconds("min-idle-s", bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace aequor
