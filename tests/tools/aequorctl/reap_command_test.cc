// `aequorctl reap` against a real server (tests/tools/aequorctl/
// ops_fixture.h): a dry run kills nothing and a pass kills the zombie, busy is
// exit 0, no secret and contradicting settings are exit 2.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/aequorctl/ops_fixture.h"

namespace aequor {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---- reap -----------------------------------------------------------------

TEST_F(AequorctlOpsTest, ReapDryRunKillsNothingThenReapKillsTheZombie) {
  auto zombie = Freeze(Expired("svc_r", "zombier1"));
  auto live = Freeze(Live("svc_r", "liveliv2"));
  ASSERT_TRUE(zombie && live);

  RunResult dry = Run("reap", {"--dry-run", "--json", "--service", "svc_r", "--min-idle-s", "0"},
                      ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(dry.exit_code, 0) << Describe(dry);
  Json d = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(dry.out));
  for (const char* key : {"outcome", "service", "dry_run", "scanned", "candidates", "killed",
                          "skipped", "frozen_leader_killed", "duration_ms", "message"}) {
    EXPECT_TRUE(d.contains(key)) << key;
  }
  EXPECT_EQ(Text(d["outcome"]), "completed");
  EXPECT_EQ(Text(d["service"]), "svc_r");
  EXPECT_TRUE(Bool(d["dry_run"]));
  EXPECT_EQ(Num(d["scanned"]), 2);
  EXPECT_EQ(Num(d["candidates"]), 1);
  EXPECT_EQ(Num(d["killed"]), 0);
  EXPECT_EQ(Num(d["skipped"]["dry_run"]), 1);
  EXPECT_EQ(Num(d["skipped"]["not_expired"]), 1);
  EXPECT_FALSE(Bool(d["frozen_leader_killed"]));
  EXPECT_TRUE(d["message"].is_null());
  // A kill does not wait for the backend to exit: the check after the second
  // dry run below, a whole command later, is the one with time to see it.
  EXPECT_TRUE(Alive(zombie->backend_pid())) << "a dry run kills nothing";

  RunResult human = Run("reap", {"--dry-run", "--service", "svc_r", "--min-idle-s", "0"},
                        ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(human.exit_code, 0) << Describe(human);
  EXPECT_THAT(human.out, HasSubstr("completed"));
  EXPECT_THAT(human.out, HasSubstr("1 session(s) would have been"));
  EXPECT_TRUE(Alive(zombie->backend_pid())) << "neither dry run killed it";

  RunResult reap = Run("reap", {"--json", "--service", "svc_r", "--min-idle-s", "0"},
                       ThrowawayPostgres::kReaperRole);
  ASSERT_EQ(reap.exit_code, 0) << Describe(reap);
  Json r = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(reap.out));
  EXPECT_EQ(Text(r["outcome"]), "completed");
  EXPECT_FALSE(Bool(r["dry_run"]));
  EXPECT_EQ(Num(r["candidates"]), 1);
  EXPECT_EQ(Num(r["killed"]), 1);
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
  Json j = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(json.out));
  EXPECT_EQ(Text(j["outcome"]), "busy");
  EXPECT_EQ(Num(j["killed"]), 0);
  EXPECT_THAT(Text(j["message"]), HasSubstr("reaper lock"));
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

// A role that sees other roles' sessions but may not signal them skips them
// as not_permitted; the output says which GRANT lets it (issue 12, item 7).
TEST_F(AequorctlOpsTest, ReapWithoutPgSignalBackendHintsTheGrant) {
  ASSERT_TRUE(server_
                  ->AdminQuery(absl::StrCat(
                      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                      "'aequor_seer') THEN CREATE ROLE aequor_seer LOGIN PASSWORD '",
                      ThrowawayPostgres::PasswordFor("aequor_seer"),
                      "' IN ROLE pg_read_all_stats; END IF; END $$"))
                  .ok());
  auto zombie = Freeze(Expired("svc_p", "zombiep1"), ThrowawayPostgres::kApp2Role);
  ASSERT_TRUE(zombie);
  for (bool json : {false, true}) {
    std::vector<std::string> args = {"--service", "svc_p", "--min-idle-s", "0"};
    if (json) args.push_back("--json");
    RunResult run = Run("reap", args, "aequor_seer");
    EXPECT_EQ(run.exit_code, 0) << Describe(run);
    if (json) {
      Json doc = ParseJsonOrFail(absl::StripTrailingAsciiWhitespace(run.out));
      EXPECT_EQ(Num(doc["skipped"]["not_permitted"]), 1) << run.out;
    } else {
      EXPECT_THAT(run.out, HasSubstr("not_permitted 1"));
    }
    EXPECT_THAT(run.err, HasSubstr("not_permitted"));
    EXPECT_THAT(run.err, HasSubstr("GRANT pg_signal_backend TO aequor_seer;")) << run.err;
  }
  EXPECT_TRUE(Alive(zombie->backend_pid()));
}

}  // namespace
}  // namespace testing
}  // namespace aequor
