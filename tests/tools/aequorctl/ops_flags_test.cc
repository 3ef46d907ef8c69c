// The flags leases, reap and doctor share (tools/aequorctl/ops_flags.h):
// every command's --help lists them, usage errors are exit 2 before
// connecting, and seconds are non-negative numbers (in-process).
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/aequorctl/aequorctl_runner.h"
#include "tools/aequorctl/ops_flags.h"

namespace aequor {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "ops-test-secret-0123456789";

// ---- Through the binary: help and usage -------------------------------------

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

// ---- In-process --------------------------------------------------------------

TEST(OpsFlagsTest, SecondsAreNonNegativeNumbers) {
  EXPECT_EQ(*cli::ParseSeconds("min-idle-s", "180"), absl::Seconds(180));
  EXPECT_EQ(*cli::ParseSeconds("min-idle-s", "0.5"), absl::Milliseconds(500));
  EXPECT_EQ(*cli::ParseSeconds("min-idle-s", "0"), absl::ZeroDuration());
  for (const char* bad : {"", "-1", "+1", "1e400", "nan", "inf", "3s", " 1"}) {
    absl::StatusOr<absl::Duration> d = cli::ParseSeconds("min-idle-s", bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace testing
}  // namespace aequor
