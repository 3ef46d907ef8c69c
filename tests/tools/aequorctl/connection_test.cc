// How leases, reap and doctor fail to connect (tools/aequorctl/connection.h),
// through the real binary against a real server: a bad password, a DSN that
// does not parse, a refused connection: exit 2, a clear message, and never
// the password or the DSN.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/aequorctl/ops_fixture.h"

namespace aequor {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
      RunResult run = Aequorctl(args, {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kOpsSecret)});
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
                                {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kOpsSecret)});
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
        {absl::StrCat("AEQUOR_COORDINATION_SECRET=", kOpsSecret)});
    ExpectNothingSecret(run);
    EXPECT_EQ(run.exit_code, 2) << command << " " << Describe(run);
    EXPECT_THAT(run.err, HasSubstr("cannot connect to the server"));
    EXPECT_THAT(run.err, HasSubstr("Connection refused"));
  }
}

}  // namespace
}  // namespace testing
}  // namespace aequor
