// `aequorctl doctor` behind a real PgBouncer 1.18 (testing/pgbouncer.h) in
// front of the binary's PostgreSQL 15, in transaction and in session mode,
// with PgBouncer's default ignore_startup_parameters (the startup `options`
// refused) and with `options` ignored; and connected directly, for contrast.
// The checks alone are tested in doctor_checks_test.cc.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/pgbouncer.h"
#include "tests/tools/aequorctl/ops_fixture.h"

namespace aequor {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class DoctorPoolerTest : public AequorctlOpsTest {
 protected:
  static std::unique_ptr<PgBouncer> Bouncer(PoolMode mode, bool ignore_options) {
    PgBouncerOptions options;
    options.pool_mode = mode;
    if (ignore_options) options.ignore_startup_parameters = {"options"};
    absl::StatusOr<std::unique_ptr<PgBouncer>> bouncer = PgBouncer::Start(*server_, options);
    EXPECT_TRUE(bouncer.ok()) << bouncer.status();
    return bouncer.ok() ? *std::move(bouncer) : nullptr;
  }

  // `doctor --service svc_pool [--json]` as the reaper role (both grants)
  // with the secret, through `dsn`.
  static RunResult Doctor(const std::string& dsn, bool json) {
    std::vector<std::string> args = {"doctor", "--service", "svc_pool", "--dsn", dsn};
    if (json) args.push_back("--json");
    RunResult run = Aequorctl(args, {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kOpsSecret)});
    ExpectNothingSecret(run);
    return run;
  }

  static Json Report(const RunResult& run) {
    return ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(run.out));
  }

  // The one finding of `check`.
  static Json Only(Json& report, const std::string& check) {
    std::vector<Json> found = Findings(report, check);
    EXPECT_EQ(found.size(), 1u) << check;
    return found.empty() ? Json() : found[0];
  }

  // The checks of `report` with severity fix.
  static std::vector<std::string> Fixes(Json& report) {
    std::vector<std::string> fixes;
    for (Json& f : report["findings"]) {
      if (Text(f["severity"]) == "fix") fixes.push_back(Text(f["check"]));
    }
    return fixes;
  }
};

TEST_F(DoctorPoolerTest, BehindPgBouncerInTransactionModeItExitsOneWithBothFixes) {
  std::unique_ptr<PgBouncer> bouncer = Bouncer(PoolMode::kTransaction, /*ignore_options=*/false);
  ASSERT_NE(bouncer, nullptr);
  const std::string dsn = bouncer->ConninfoFor(ThrowawayPostgres::kReaperRole);
  RunResult json = Doctor(dsn, /*json=*/true);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  Json report = Report(json);
  EXPECT_EQ(Text(report["status"]), "fix");
  EXPECT_THAT(Fixes(report), ::testing::ElementsAre("pooler", "startup_options")) << json.out;

  Json pooler = Only(report, "pooler");
  EXPECT_THAT(Text(pooler["message"]),
              HasSubstr("a transaction-mode pooler seems to be in between: a second client "
                        "connected meanwhile ran on the server session this one had just used"));
  EXPECT_THAT(Text(pooler["fix"]), HasSubstr("to PostgreSQL directly or through a session-mode "
                                             "pooler"));
  EXPECT_THAT(Text(pooler["fix"]), HasSubstr("run no reaper pass through it"));
  EXPECT_THAT(Text(pooler["fix"]), HasSubstr("PgBouncer's client_idle_timeout"));

  Json options = Only(report, "startup_options");
  EXPECT_THAT(Text(options["message"]),
              HasSubstr("refuses the startup parameter options (connection to server at "
                        "\"127.0.0.1\", port "));
  EXPECT_THAT(Text(options["message"]),
              HasSubstr("FATAL:  unsupported startup parameter: options)"));
  EXPECT_THAT(Text(options["fix"]), HasSubstr("connect the instances to PostgreSQL directly"));
  EXPECT_THAT(Text(options["fix"]),
              HasSubstr("ALTER ROLE aequor_reaper SET idle_in_transaction_session_timeout = "
                        "'60s';"));

  RunResult human = Doctor(dsn, /*json=*/false);
  EXPECT_EQ(human.exit_code, 1) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("[fix]  pooler: a transaction-mode pooler"));
  EXPECT_THAT(human.out, HasSubstr("[fix]  startup_options: the server, or a pooler in between, "
                                   "refuses the startup parameter options"));
  EXPECT_THAT(human.out, HasSubstr("2 to fix"));
}

TEST_F(DoctorPoolerTest, BehindPgBouncerIgnoringOptionsItWarnsThatTheyAreDropped) {
  std::unique_ptr<PgBouncer> bouncer = Bouncer(PoolMode::kTransaction, /*ignore_options=*/true);
  ASSERT_NE(bouncer, nullptr);
  RunResult json = Doctor(bouncer->ConninfoFor(ThrowawayPostgres::kReaperRole), /*json=*/true);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  Json report = Report(json);
  EXPECT_THAT(Fixes(report), ::testing::ElementsAre("pooler")) << json.out;
  Json options = Only(report, "startup_options");
  EXPECT_EQ(Text(options["severity"]), "warn");
  EXPECT_THAT(Text(options["message"]),
              HasSubstr("the startup parameter options is accepted but does not reach the server "
                        "session (sent '-c idle_in_transaction_session_timeout=60000')"));
}

TEST_F(DoctorPoolerTest, BehindSessionModePgBouncerIgnoringOptionsItOnlyWarns) {
  std::unique_ptr<PgBouncer> bouncer = Bouncer(PoolMode::kSession, /*ignore_options=*/true);
  ASSERT_NE(bouncer, nullptr);
  RunResult json = Doctor(bouncer->ConninfoFor(ThrowawayPostgres::kReaperRole), /*json=*/true);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  Json report = Report(json);
  EXPECT_EQ(Text(report["status"]), "warn");
  Json pooler = Only(report, "pooler");
  EXPECT_EQ(Text(pooler["severity"]), "warn");
  EXPECT_THAT(Text(pooler["message"]), HasSubstr("the startup reported backend pid "));
  EXPECT_THAT(Text(pooler["message"]), Not(HasSubstr("second client")));
  EXPECT_EQ(Text(Only(report, "startup_options")["severity"]), "warn");
}

TEST_F(DoctorPoolerTest, BehindSessionModePgBouncerRefusingOptionsItExitsOne) {
  std::unique_ptr<PgBouncer> bouncer = Bouncer(PoolMode::kSession, /*ignore_options=*/false);
  ASSERT_NE(bouncer, nullptr);
  RunResult json = Doctor(bouncer->ConninfoFor(ThrowawayPostgres::kReaperRole), /*json=*/true);
  EXPECT_EQ(json.exit_code, 1) << Describe(json);
  Json report = Report(json);
  EXPECT_THAT(Fixes(report), ::testing::ElementsAre("startup_options")) << json.out;
  EXPECT_EQ(Text(Only(report, "pooler")["severity"]), "warn");
}

TEST_F(DoctorPoolerTest, ConnectedDirectlyTheStartupOptionsArriveAndNoPoolerIsSeen) {
  RunResult json = Doctor(Dsn(ThrowawayPostgres::kReaperRole), /*json=*/true);
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  Json report = Report(json);
  Json pooler = Only(report, "pooler");
  EXPECT_EQ(Text(pooler["severity"]), "ok");
  EXPECT_THAT(Text(pooler["message"]),
              HasSubstr("a second client connected meanwhile got a server session of its own"));
  Json options = Only(report, "startup_options");
  EXPECT_EQ(Text(options["severity"]), "ok");
  EXPECT_EQ(Text(options["message"]),
            "the startup parameter options reaches the server session (sent "
            "'-c idle_in_transaction_session_timeout=60000')");
  EXPECT_TRUE(options["fix"].is_null());
}

}  // namespace
}  // namespace testing
}  // namespace aequor
