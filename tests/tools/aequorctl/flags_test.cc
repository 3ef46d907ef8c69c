// aequorctl's flag reader (tools/aequorctl/flags.h, CLI11 underneath) and
// its help (tools/aequorctl/help.h), in-process: the grammar aequorctl has
// always had, each error message exactly, and that no message repeats a
// value.
#include "tools/aequorctl/flags.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/aequorctl/help.h"

namespace aequor {
namespace cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<FlagDef> kSpec = {
    {"service", "S", "the service"},
    {"dry-run", "", "kill nothing"},
};

// The message of the InvalidArgument ParseFlags() gives for `args`.
std::string Error(const std::vector<std::string>& args) {
  absl::StatusOr<Flags> flags = ParseFlags(args, kSpec);
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(flags.status().message());
}

TEST(CliFlagsTest, ParsesBothFormsAndBooleans) {
  auto flags = ParseFlags({"--service", "a=b", "--dry-run"}, kSpec);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->Get("service"), "a=b");
  EXPECT_TRUE(flags->Has("dry-run"));
  auto eq = ParseFlags({"--service=x=y"}, kSpec);
  ASSERT_TRUE(eq.ok());
  EXPECT_EQ(eq->Get("service"), "x=y");
  auto empty = ParseFlags({"--service="}, kSpec);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Get("service"), "");
  EXPECT_FALSE(ParseFlags({"--dry-run=yes"}, kSpec).ok());
  EXPECT_TRUE(ParseFlags({"-h"}, kSpec)->help);
}

TEST(CliFlagsTest, ErrorsNeverRepeatValues) {
  auto unknown = ParseFlags({"--token=abcdef-value"}, kSpec);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown flag --token"));
  EXPECT_THAT(unknown.status().message(), Not(HasSubstr("abcdef-value")));
  auto positional = ParseFlags({"--service", "a", "abcdef-value"}, kSpec);
  EXPECT_THAT(positional.status().message(), HasSubstr("argument #3"));
  EXPECT_THAT(positional.status().message(), Not(HasSubstr("abcdef-value")));
}

TEST(CliFlagsTest, AValueIsTakenAsItIsEvenWhenItLooksLikeAFlag) {
  for (const char* value : {"-AbCd", "--help", "-h", "--dry-run", "", "--"}) {
    auto flags = ParseFlags({"--service", value, "--dry-run"}, kSpec);
    ASSERT_TRUE(flags.ok()) << value << ": " << flags.status();
    EXPECT_EQ(flags->Get("service"), value);
    EXPECT_FALSE(flags->help) << value;
  }
  auto equals = ParseFlags({"--service=-h"}, kSpec);
  ASSERT_TRUE(equals.ok());
  EXPECT_EQ(equals->Get("service"), "-h");
}

TEST(CliFlagsTest, NothingGivenIsNoFlagAndNoHelp) {
  auto flags = ParseFlags({}, kSpec);
  ASSERT_TRUE(flags.ok());
  EXPECT_FALSE(flags->help);
  EXPECT_TRUE(flags->values.empty());
  EXPECT_EQ(flags->Get("service"), std::nullopt);
}

TEST(CliFlagsTest, HelpMayStandWhereverAFlagMay) {
  EXPECT_TRUE(ParseFlags({"--service", "a", "--help"}, kSpec)->help);
  EXPECT_TRUE(ParseFlags({"-h", "--dry-run"}, kSpec)->help);
  EXPECT_TRUE(ParseFlags({"--help", "--help"}, kSpec)->help);
}

TEST(CliFlagsTest, EachMistakeHasItsMessage) {
  EXPECT_EQ(Error({"--service"}), "--service needs a value");
  EXPECT_EQ(Error({"--service", "a", "--service", "b"}), "--service given twice");
  EXPECT_EQ(Error({"--service=a", "--service", "b"}), "--service given twice");
  EXPECT_EQ(Error({"--dry-run", "--dry-run"}), "--dry-run given twice");
  EXPECT_EQ(Error({"--dry-run=yes"}), "--dry-run takes no value");
  EXPECT_EQ(Error({"--dry-run=true"}), "--dry-run takes no value");
  EXPECT_EQ(Error({"--dry-run="}), "--dry-run takes no value");
  EXPECT_EQ(Error({"--colour", "red"}), "unknown flag --colour");
  EXPECT_EQ(Error({"--help=x"}), "unknown flag --help");
  EXPECT_EQ(Error({"---x"}), "unknown flag ---x");
  EXPECT_EQ(Error({"stray"}), "unexpected argument #1 (this command takes flags only)");
  EXPECT_EQ(Error({"--dry-run", ""}), "unexpected argument #2 (this command takes flags only)");
  for (const char* dash : {"-x", "-", "--", "-hx", "-5"}) {
    EXPECT_EQ(Error({"--dry-run", dash}), "argument #2 is not a flag of the form --name") << dash;
  }
}

TEST(CliFlagsTest, TheFirstWrongArgumentIsTheOneNamed) {
  EXPECT_EQ(Error({"stray", "--colour"}), "unexpected argument #1 (this command takes flags only)");
  EXPECT_EQ(Error({"--colour", "stray"}), "unknown flag --colour");
  EXPECT_EQ(Error({"--dry-run=1", "stray"}), "--dry-run takes no value");
  EXPECT_EQ(Error({"stray", "--dry-run=1"}),
            "unexpected argument #1 (this command takes flags only)");
  // The empty value of `--service=` counts as one argument.
  EXPECT_EQ(Error({"--service=", "x"}), "unexpected argument #2 (this command takes flags only)");
  EXPECT_EQ(Error({"--service", "x", "x"}),
            "unexpected argument #3 (this command takes flags only)");
}

TEST(CliFlagsTest, ASecretFlagIsRefusedWithWhereTheSecretComesFrom) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--secret", "s3cr3t-value"},
        std::vector<std::string>{"--secret=s3cr3t-value"},
        std::vector<std::string>{"--secret-file=s3cr3t-value"},
        std::vector<std::string>{"--coordination-secret", "s3cr3t-value"}}) {
    const std::string message = Error(args);
    EXPECT_THAT(message, HasSubstr(" is not accepted: a secret on the command line is visible"));
    EXPECT_THAT(message, HasSubstr("AEQUOR_COORDINATION_SECRET or "
                                   "AEQUOR_COORDINATION_SECRET_FILE"));
    EXPECT_THAT(message, Not(HasSubstr("s3cr3t-value")));
  }
  EXPECT_THAT(Error({"--secret-file=x"}), HasSubstr("--secret-file is not accepted"));
}

TEST(CliHelpTest, ListsEveryFlagWithItsValueNameAndHelp) {
  const std::string help =
      HelpText({"Usage: aequorctl thing [--service S]",
                "Does the thing.",
                {{"service", "S", "the service\nover two lines"}, {"dry-run", "", "kill nothing"}},
                "Exit status: 0."});
  EXPECT_EQ(help.rfind("Usage: aequorctl thing [--service S]\n\nDoes the thing.\n", 0), 0u) << help;
  EXPECT_THAT(help, HasSubstr("  -h,--help        print this help and exit\n"));
  EXPECT_THAT(help, HasSubstr("  --service S      the service\n"
                              "                   over two lines\n"));
  EXPECT_THAT(help, HasSubstr("  --dry-run        kill nothing\n"));
  EXPECT_THAT(help, HasSubstr("\nExit status: 0.\n"));
}

TEST(CliHelpTest, ACommandListNamesEachCommandWithItsSummary) {
  const std::string help =
      CommandListText("Usage: x <command>", "What x is.",
                      {{"lease", "sign leases"}, {"doctor", "check"}}, "Run 'x <command> --help'.");
  EXPECT_EQ(help,
            "Usage: x <command>\n\nWhat x is.\n\nCommands:\n"
            "  lease      sign leases\n"
            "  doctor     check\n\nRun 'x <command> --help'.\n");
}

}  // namespace
}  // namespace cli
}  // namespace aequor
