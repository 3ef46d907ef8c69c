// `aequorctl doctor` end to end against a real server (tests/tools/aequorctl/
// ops_fixture.h): the grants it asks for, headroom, leased zombies, no
// secret, contradicting options, this machine's clock offset, connection
// limits and the reaper role's SQL, a reaper conninfo from the flag or the
// environment. Each check alone is tested in doctor_checks_test.cc.
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "api/options.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/aequorctl/ops_fixture.h"

namespace aequor {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---- doctor ---------------------------------------------------------------

TEST_F(AequorctlOpsTest, DoctorAsTheAppRoleAsksForBothGrantsAndExitsOne) {
  RunResult human = Run("doctor", {"--service", "svc_d"}, ThrowawayPostgres::kAppRole);
  EXPECT_EQ(human.exit_code, 1) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("GRANT pg_read_all_stats TO aequor_app;"));
  EXPECT_THAT(human.out, HasSubstr("GRANT pg_signal_backend TO aequor_app;"));
  EXPECT_THAT(human.out, HasSubstr("[fix]"));

  RunResult json = Run("doctor", {"--json", "--service", "svc_d"}, ThrowawayPostgres::kAppRole);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_EQ(Text(report["status"]), "fix");
  EXPECT_EQ(Text(report["role"]), "aequor_app");
  EXPECT_EQ(Text(report["service"]), "svc_d");
  for (Json& f : report["findings"]) {
    for (const char* key : {"check", "severity", "message", "fix"}) EXPECT_TRUE(f.contains(key));
    EXPECT_THAT(Text(f["severity"]), ::testing::AnyOf("ok", "warn", "fix"));
  }
  std::vector<Json> stats = Findings(report, "pg_read_all_stats");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(Text(stats[0]["severity"]), "fix");
  EXPECT_EQ(Text(stats[0]["fix"]), "GRANT pg_read_all_stats TO aequor_app;");
  std::vector<Json> signal = Findings(report, "pg_signal_backend");
  ASSERT_EQ(signal.size(), 1u);
  EXPECT_EQ(Text(signal[0]["severity"]), "fix");
  EXPECT_EQ(Text(signal[0]["fix"]), "GRANT pg_signal_backend TO aequor_app;");
}

TEST_F(AequorctlOpsTest, DoctorAsTheReaperRoleFindsTheGrantsHeadroomAndZombies) {
  auto zombie = Freeze(Expired("svc_d", "zombied1"));
  auto hidden = Freeze(Live("svc_d", "liveliv3"), ThrowawayPostgres::kApp2Role);
  ASSERT_TRUE(zombie && hidden);
  RunResult json = Run("doctor", {"--json", "--service", "svc_d", "--min-idle-s", "0"},
                       ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_NE(Text(report["status"]), "fix") << json.out;
  for (const char* grant : {"pg_read_all_stats", "pg_signal_backend"}) {
    std::vector<Json> found = Findings(report, grant);
    ASSERT_EQ(found.size(), 1u) << grant;
    EXPECT_EQ(Text(found[0]["severity"]), "ok") << grant;
    EXPECT_TRUE(found[0]["fix"].is_null()) << grant;
  }
  std::vector<Json> headroom = Findings(report, "headroom");
  ASSERT_EQ(headroom.size(), 1u);
  EXPECT_EQ(Text(headroom[0]["severity"]), "ok");
  EXPECT_THAT(Text(headroom[0]["message"]), HasSubstr("max_connections 100"));
  EXPECT_THAT(Text(headroom[0]["message"]), HasSubstr("superuser_reserved_connections 3"));
  EXPECT_THAT(Text(headroom[0]["message"]), HasSubstr("in use"));
  EXPECT_THAT(Text(headroom[0]["message"]), HasSubstr("leased zombies of service svc_d now: 1"));
  std::vector<Json> zombies = Findings(report, "leased_zombies");
  ASSERT_EQ(zombies.size(), 1u);
  EXPECT_EQ(Text(zombies[0]["severity"]), "warn");
  EXPECT_THAT(Text(zombies[0]["fix"]), HasSubstr("aequorctl reap --service svc_d"));
  EXPECT_EQ(Text(Findings(report, "visibility").at(0)["severity"]), "ok");
  EXPECT_EQ(Text(Findings(report, "server_version").at(0)["severity"]), "ok");
  EXPECT_EQ(Text(Findings(report, "pooler").at(0)["severity"]), "ok");
  EXPECT_EQ(Text(Findings(report, "secret").at(0)["severity"]), "ok");
  // The app roles own leased sessions and have no connection limit.
  bool app_limit_warned = false;
  for (Json& f : Findings(report, "role_connection_limit")) {
    if (absl::StrContains(Text(f["message"]), "app role aequor_app:")) {
      app_limit_warned =
          Text(f["severity"]) == "warn" &&
          absl::StrContains(Text(f["fix"]), "ALTER ROLE aequor_app CONNECTION LIMIT");
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
  Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_EQ(Text(Findings(report, "secret").at(0)["severity"]), "warn");
  EXPECT_EQ(Text(Findings(report, "leased_zombies").at(0)["severity"]), "warn");
  EXPECT_THAT(Text(Findings(report, "headroom").at(0)["message"]),
              HasSubstr("unknown without the coordination secret"));
}

TEST_F(AequorctlOpsTest, DoctorReportsContradictingOptions) {
  RunResult refused = Run("doctor",
                          {"--json", "--service", "svc_d", "--min-idle-s", "180",
                           "--reap-idle-in-transaction-after-s", "60"},
                          ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
  Json r = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(refused.out));
  ASSERT_EQ(Findings(r, "options").size(), 1u);
  EXPECT_EQ(Text(Findings(r, "options")[0]["severity"]), "fix");

  RunResult ttl =
      Run("doctor", {"--json", "--service", "svc_d", "--min-idle-s", "30", "--lease-ttl-s", "90"},
          ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(ttl.exit_code, 0) << Describe(ttl);
  Json t = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(ttl.out));
  std::vector<Json> options = Findings(t, "options");
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(Text(options[0]["severity"]), "warn");
  EXPECT_THAT(Text(options[0]["message"]), HasSubstr("below the lease TTL"));

  RunResult bad_ttl = Run("doctor", {"--lease-ttl-s", "0"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(bad_ttl.exit_code, 2) << Describe(bad_ttl);
}

// ---- doctor: clock offset and reaper headroom ------------------------------

TEST_F(AequorctlOpsTest, DoctorMeasuresThisMachinesClockOffsetWithinTheDefaultMargin) {
  RunResult json = Run("doctor", {"--json", "--service", "svc_c"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  Json& clock = report["clock_offset"];
  ASSERT_TRUE(clock.is_object()) << json.out;
  // Same machine, same clock: within a few ms, measured to within a few ms.
  EXPECT_LT(std::abs(Num(clock["offset_us"])), 5000) << json.out;
  EXPECT_GE(Num(clock["uncertainty_us"]), 0);
  EXPECT_LT(Num(clock["uncertainty_us"]), 5000);
  EXPECT_EQ(Num(clock["samples"]), 5);
  // The margin a manager built with defaults uses, read from the library.
  EXPECT_EQ(Num(clock["margin_us"]), absl::ToInt64Microseconds(ManagerOptions().reap_clock_skew));
  std::vector<Json> found = Findings(report, "clock_offset");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Text(found[0]["severity"]), "ok");
  EXPECT_THAT(Text(found[0]["message"]), HasSubstr("within the reaper's clock-skew margin"));
  EXPECT_TRUE(found[0]["fix"].is_null());

  RunResult human = Run("doctor", {"--service", "svc_c"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(human.exit_code, 0) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("[ok]   clock_offset: this machine's clock"));
}

TEST_F(AequorctlOpsTest, DoctorWithAMarginBelowWhatIsMeasurableAsksForNtpAndExitsOne) {
  RunResult json = Run("doctor", {"--json", "--service", "svc_c", "--clock-skew-s", "0"},
                       ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_EQ(Text(report["status"]), "fix");
  EXPECT_EQ(Num(report["clock_offset"]["margin_us"]), 0);
  std::vector<Json> found = Findings(report, "clock_offset");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Text(found[0]["severity"]), "fix");
  EXPECT_THAT(Text(found[0]["fix"]), HasSubstr("synchronise this machine's clock with NTP/chrony"));
  EXPECT_THAT(Text(found[0]["fix"]), HasSubstr("or raise reap_clock_skew to at least "));
}

TEST_F(AequorctlOpsTest, DoctorPrintsTheConnectionLimitAndReaperRoleSqlForAnUncappedAppRole) {
  auto zombie = Freeze(Live("svc_u", "uncappd1"));
  ASSERT_TRUE(zombie);
  RunResult json = Run("doctor", {"--json", "--service", "svc_u"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  Json& headroom = report["headroom"];
  ASSERT_TRUE(headroom.is_object()) << json.out;
  EXPECT_EQ(Num(headroom["max_connections"]), 100);
  EXPECT_EQ(Num(headroom["superuser_reserved_connections"]), 3);
  EXPECT_EQ(Num(headroom["available"]), 97);
  EXPECT_EQ(Num(headroom["free"]), 97 - Num(headroom["client_connections"]));
  ASSERT_EQ(headroom["app_roles"].size(), 1u) << json.out;
  Json& app = headroom["app_roles"][0];
  EXPECT_EQ(Text(app["role"]), "aequor_app");
  EXPECT_TRUE(app["connection_limit"].is_null());
  EXPECT_TRUE(app["free"].is_null());
  EXPECT_GE(Num(app["sessions"]), 1);
  EXPECT_TRUE(headroom["room_when_full"].is_null());
  EXPECT_EQ(Num(headroom["reserved_for_reaper"]), 3);
  EXPECT_FALSE(Bool(headroom["reaper_conninfo"]));
  const int n = static_cast<int>(Num(headroom["suggested_connection_limit"]));
  EXPECT_EQ(n, 97 - 3 - static_cast<int>(Num(headroom["other_sessions"])));
  // Connected as aequor_reaper, which has both grants: it is the reaper role
  // the advice names, and nothing is granted or created.
  const std::string cap = absl::StrCat("ALTER ROLE aequor_app CONNECTION LIMIT ", n, ";");
  ASSERT_EQ(headroom["sql"].size(), 1u) << json.out;
  EXPECT_EQ(Text(headroom["sql"][0]), cap);
  std::vector<Json> found = Findings(report, "reaper_headroom");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Text(found[0]["severity"]), "warn");
  EXPECT_THAT(Text(found[0]["message"]), HasSubstr("no reaper conninfo is given"));
  EXPECT_THAT(Text(found[0]["message"]), HasSubstr("role aequor_reaper (connected now)"));
  EXPECT_THAT(Text(found[0]["fix"]), HasSubstr(cap + "\nthen give the fleet"));
  EXPECT_THAT(Text(found[0]["fix"]), HasSubstr("SetReaperConninfo(\"host=<db host> dbname=<db> "
                                               "user=aequor_reaper\")"));
  // The existing role_connection_limit advice suggests the same limit.
  bool same = false;
  for (Json& f : Findings(report, "role_connection_limit")) {
    same = same || absl::StrContains(Text(f["fix"]), cap);
  }
  EXPECT_TRUE(same) << json.out;

  // Connected as the app role: the reaper role is to be set up. It exists on
  // the test server, so it is adjusted rather than created.
  RunResult as_app = Run("doctor", {"--service", "svc_u"}, ThrowawayPostgres::kAppRole);
  EXPECT_EQ(as_app.exit_code, 1) << Describe(as_app);  // the app role lacks the grants
  EXPECT_THAT(as_app.out, HasSubstr("[warn] reaper_headroom: server: 97 slots"));
  EXPECT_THAT(as_app.out, HasSubstr("       fix: ALTER ROLE aequor_app CONNECTION LIMIT "));
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
                      ThrowawayPostgres::PasswordFor(role), "' CONNECTION LIMIT 5; END IF; END$$"))
                  .ok());
  auto first = Freeze(Live("svc_cap", "capped01"), role.c_str());
  auto second = Freeze(Live("svc_cap", "capped02"), role.c_str());
  ASSERT_TRUE(first && second);
  RunResult json =
      Run("doctor", {"--json", "--service", "svc_cap"}, ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  Json& headroom = report["headroom"];
  ASSERT_EQ(headroom["app_roles"].size(), 1u) << json.out;
  Json& app = headroom["app_roles"][0];
  EXPECT_EQ(Text(app["role"]), role);
  EXPECT_EQ(Num(app["connection_limit"]), 5);
  EXPECT_EQ(Num(app["sessions"]), 2);
  EXPECT_EQ(Num(app["free"]), 3);
  EXPECT_EQ(Num(app["fleet_free"]), 3);
  EXPECT_EQ(Num(headroom["room_when_full"]), 97 - 5 - Num(headroom["other_sessions"]));
  EXPECT_TRUE(headroom["sql"].empty()) << json.out;
  std::vector<Json> found = Findings(report, "reaper_headroom");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Text(found[0]["severity"]), "ok");
  EXPECT_THAT(Text(found[0]["message"]),
              HasSubstr("app role aequor_capped: connection limit 5, 2 session(s), 3 slot(s)"));
  EXPECT_THAT(Text(found[0]["message"]), HasSubstr("--reaper-conninfo"));

  // With the reaper role's conninfo, from the flag or the environment.
  RunResult flag = Run(
      "doctor",
      {"--json", "--service", "svc_cap", "--reaper-conninfo", Dsn(ThrowawayPostgres::kReaperRole)},
      ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(flag.exit_code, 0) << Describe(flag);
  Json with_flag = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(flag.out));
  EXPECT_TRUE(Bool(with_flag["headroom"]["reaper_conninfo"])) << flag.out;
  EXPECT_EQ(Text(with_flag["headroom"]["reaper_role"]), "aequor_reaper");
  EXPECT_EQ(Text(Findings(with_flag, "reaper_headroom").at(0)["severity"]), "ok") << flag.out;
  EXPECT_THAT(Text(Findings(with_flag, "reaper_headroom").at(0)["message"]),
              HasSubstr("reaper role aequor_reaper logs in"));

  RunResult from_env = Aequorctl(
      {"doctor", "--json", "--service", "svc_cap", "--dsn", Dsn(ThrowawayPostgres::kReaperRole)},
      {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kOpsSecret),
       absl::StrCat("AEQUOR_REAPER_CONNINFO=", Dsn(ThrowawayPostgres::kReaperRole))});
  ExpectNothingSecret(from_env);
  EXPECT_EQ(from_env.exit_code, 0) << Describe(from_env);
  Json with_env = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(from_env.out));
  EXPECT_EQ(Text(with_env["headroom"]["reaper_role"]), "aequor_reaper") << from_env.out;
}

TEST_F(AequorctlOpsTest, DoctorWithAReaperConninfoThatCannotLogInIsAFixAndShowsNoPassword) {
  const std::string right = ThrowawayPostgres::PasswordFor(ThrowawayPostgres::kReaperRole);
  const std::string wrong =
      absl::StrReplaceAll(Dsn(ThrowawayPostgres::kReaperRole), {{right, kWrongPassword}});
  RunResult json = Run("doctor", {"--json", "--service", "svc_c", "--reaper-conninfo", wrong},
                       ThrowawayPostgres::kReaperRole);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  Json report = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  std::vector<Json> found = Findings(report, "reaper_headroom");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(Text(found[0]["severity"]), "fix");
  EXPECT_THAT(Text(found[0]["message"]), HasSubstr("The reaper conninfo cannot log in"));
  EXPECT_THAT(Text(found[0]["message"]), HasSubstr("authentication failed"));
  EXPECT_TRUE(Bool(report["headroom"]["reaper_conninfo"]));
  EXPECT_TRUE(report["headroom"]["reaper_role"].is_null());
}

}  // namespace
}  // namespace testing
}  // namespace aequor
