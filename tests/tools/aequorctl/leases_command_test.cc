// `aequorctl leases` against a real server (tests/tools/aequorctl/
// ops_fixture.h): what each lease state looks like, sessions of other roles,
// no secret, and the service from $AEQUOR_SERVICE with the PG* variables.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/lease.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/aequorctl/ops_fixture.h"

namespace aequor {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
  std::vector<Json> lines = ParseJsonLines(run.out);
  ASSERT_GE(lines.size(), 4u) << run.out;
  for (Json& line : lines) {
    EXPECT_EQ(line.size(), kLeaseKeys.size()) << run.out;
    for (const std::string& key : kLeaseKeys) EXPECT_TRUE(line.contains(key)) << key;
    EXPECT_NE(Text(line["application_name"]), "aequorctl") << "its own session is not listed";
  }

  Json l = LineOf(lines, live->backend_pid());
  EXPECT_EQ(Text(l["lease"]), "valid");
  EXPECT_EQ(Text(l["service"]), "svc_l");
  EXPECT_EQ(Text(l["instance"]), "liveliv1");
  EXPECT_EQ(Text(l["role"]), "aequor_app");
  EXPECT_EQ(Text(l["state"]), "idle");
  EXPECT_FALSE(Bool(l["would_kill"]));
  EXPECT_EQ(Text(l["reason"]), "not_expired");
  EXPECT_GT(Num(l["expires_in_ms"]), 500000);
  EXPECT_TRUE(l["expired_for_ms"].is_null());

  Json e = LineOf(lines, expired->backend_pid());
  EXPECT_EQ(Text(e["lease"]), "expired");
  EXPECT_EQ(Text(e["state"]), "idle");
  EXPECT_TRUE(e["idle_s"].is_number());
  EXPECT_GE(Num(e["expired_for_ms"]), 60000);
  EXPECT_TRUE(e["expires_in_ms"].is_null());
  EXPECT_TRUE(Bool(e["would_kill"]));
  EXPECT_TRUE(e["reason"].is_null());

  Json f = LineOf(lines, foreign->backend_pid());
  EXPECT_EQ(Text(f["lease"]), "bad_tag");
  EXPECT_EQ(Text(f["service"]), "svc_l");
  EXPECT_FALSE(Bool(f["would_kill"]));
  EXPECT_EQ(Text(f["reason"]), "bad_tag");

  Json p = LineOf(lines, plain->backend_pid());
  EXPECT_EQ(Text(p["lease"]), "not_a_lease");
  EXPECT_EQ(Text(p["application_name"]), "psql-ops-test");
  EXPECT_TRUE(p["service"].is_null());
  EXPECT_TRUE(p["expires_ms"].is_null());
  EXPECT_FALSE(Bool(p["would_kill"]));
  EXPECT_EQ(Text(p["reason"]), "bad_lease");

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
  Json e180 = LineOf(ParseJsonLines(patient.out), expired->backend_pid());
  EXPECT_FALSE(Bool(e180["would_kill"]));
  EXPECT_EQ(Text(e180["reason"]), "idle_too_short");
}

TEST_F(AequorctlOpsTest, LeasesWithoutSecretAreUnverifiedAndNeverWouldKill) {
  auto expired = Freeze(Expired("svc_n", "expired2"));
  ASSERT_TRUE(expired);
  RunResult run = Run("leases", {"--json", "--service", "svc_n", "--min-idle-s", "0"},
                      ThrowawayPostgres::kReaperRole, /*with_secret=*/false);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  Json e = LineOf(ParseJsonLines(run.out), expired->backend_pid());
  EXPECT_EQ(Text(e["lease"]), "unverified");
  EXPECT_GE(Num(e["expired_for_ms"]), 60000);
  EXPECT_FALSE(Bool(e["would_kill"]));
  EXPECT_EQ(Text(e["reason"]), "no_secret");
  EXPECT_THAT(run.err, HasSubstr("no coordination secret"));
  EXPECT_THAT(run.err, HasSubstr("unverified"));
}

TEST_F(AequorctlOpsTest, LeasesShowsOtherRolesAsNotVisibleWithoutTheGrant) {
  auto other = Freeze(Expired("svc_v", "otherro1"), ThrowawayPostgres::kApp2Role);
  ASSERT_TRUE(other);
  RunResult run = Run("leases", {"--json", "--service", "svc_v", "--min-idle-s", "0"},
                      ThrowawayPostgres::kAppRole);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  Json o = LineOf(ParseJsonLines(run.out), other->backend_pid());
  EXPECT_EQ(Text(o["role"]), "aequor_app2");
  EXPECT_EQ(Text(o["lease"]), "expired") << "application_name is visible to every role";
  EXPECT_TRUE(o["state"].is_null());
  EXPECT_TRUE(o["idle_s"].is_null());
  EXPECT_FALSE(Bool(o["would_kill"]));
  EXPECT_EQ(Text(o["reason"]), "not_visible");
  EXPECT_THAT(run.err, HasSubstr("GRANT pg_read_all_stats TO aequor_app;"));
}

TEST_F(AequorctlOpsTest, ServiceComesFromAequorServiceNormalisedAndPgVariablesConnect) {
  const std::string normalized = NormalizeService("svc.env");
  ASSERT_NE(normalized, "svc.env");
  auto expired = Freeze(Expired(normalized, "envserv1"));
  ASSERT_TRUE(expired);
  RunResult run =
      Aequorctl({"leases", "--json", "--min-idle-s", "0"},
                {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kOpsSecret), "AEQUOR_SERVICE=svc.env",
                 "PGHOST=127.0.0.1", absl::StrCat("PGPORT=", server_->port()), "PGDATABASE=aequor",
                 "PGUSER=aequor_reaper",
                 absl::StrCat("PGPASSWORD=", ThrowawayPostgres::PasswordFor("aequor_reaper"))});
  ExpectNothingSecret(run);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  Json e = LineOf(ParseJsonLines(run.out), expired->backend_pid());
  EXPECT_EQ(Text(e["service"]), normalized);
  EXPECT_TRUE(Bool(e["would_kill"])) << "judged for the normalised $AEQUOR_SERVICE";
  // --service wins over $AEQUOR_SERVICE.
  RunResult other = Aequorctl(
      {"leases", "--json", "--min-idle-s", "0", "--service", "another", "--dsn",
       Dsn(ThrowawayPostgres::kReaperRole)},
      {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kOpsSecret), "AEQUOR_SERVICE=svc.env"});
  ASSERT_EQ(other.exit_code, 0) << Describe(other);
  EXPECT_EQ(Text(LineOf(ParseJsonLines(other.out), expired->backend_pid())["reason"]),
            "other_service");
}

}  // namespace
}  // namespace testing
}  // namespace aequor
