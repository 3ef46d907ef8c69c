// Runs the real aequorctl binary (a data dependency, found in the runfiles)
// for `lease sign` and `lease verify`: round trip, wrong secret, expiry against
// --now-ms, the secret from a file, a missing secret, rejected --secret, and
// that no output ever contains the secret. The flag reader itself is tested
// in-process in flags_test.cc.
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/aequorctl/aequorctl_runner.h"

namespace aequor {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kSecret[] = "ctl-test-secret-0123456789";
constexpr char kOtherSecret[] = "ctl-other-secret-9876543210";

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

using testing::Aequorctl;
using testing::RunResult;

std::vector<std::string> SecretEnv(absl::string_view secret = kSecret) {
  return {absl::StrCat("AEQUOR_COORDINATION_SECRET=", secret)};
}

// Every run's output must be free of every secret the test uses.
void ExpectNoSecret(const RunResult& run) {
  for (const char* secret : {kSecret, kOtherSecret}) {
    EXPECT_THAT(run.out, Not(HasSubstr(secret)));
    EXPECT_THAT(run.err, Not(HasSubstr(secret)));
  }
}

std::string Sign(const std::vector<std::string>& flags,
                 const std::vector<std::string>& env = SecretEnv()) {
  std::vector<std::string> args = {"lease", "sign"};
  args.insert(args.end(), flags.begin(), flags.end());
  RunResult run = Aequorctl(args, env);
  ExpectNoSecret(run);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_FALSE(run.out.empty());
  if (!run.out.empty() && run.out.back() == '\n') run.out.pop_back();
  return run.out;
}

RunResult Verify(const std::string& application_name, const std::vector<std::string>& extra = {},
                 const std::vector<std::string>& env = SecretEnv()) {
  std::vector<std::string> args = {"lease", "verify", "--application-name", application_name};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult run = Aequorctl(args, env);
  ExpectNoSecret(run);
  return run;
}

TEST(AequorctlLeaseTest, SignThenVerifyRoundTrip) {
  std::string lease =
      Sign({"--service", "orders", "--instance", "AbCdEfGh", "--expires-ms", "1767225600000"});
  EXPECT_THAT(lease, MatchesRegex("s=orders;i=AbCdEfGh;e=1767225600000;g=[A-Za-z0-9_-]{11}"));
  RunResult run = Verify(lease, {"--now-ms", "1767225599999"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "{\"valid\":true,\"service\":\"orders\",\"instance\":\"AbCdEfGh\","
            "\"expires_ms\":1767225600000,\"expired\":false}\n");
}

TEST(AequorctlLeaseTest, ReproducesPgAequorsVectorWithEqualsSignFlags) {
  std::string lease =
      Sign({"--service=my-service", "--instance=AbCdEfGh", "--expires-ms=1767225600000"},
           SecretEnv("coord-secret-0123456789"));
  EXPECT_EQ(lease, "s=my-service;i=AbCdEfGh;e=1767225600000;g=jqYuPhbNIxo");
}

TEST(AequorctlLeaseTest, SignNormalisesTheServiceAndDefaultsInstanceAndExpiry) {
  std::string lease = Sign({"--service", "svc.v2"});
  // svc.v2 -> svc_v2-03bcb824 (a pg-aequor vector); random 8-char instance.
  EXPECT_THAT(lease, MatchesRegex("s=svc_v2-03bcb824;i=[A-Za-z0-9_-]{8};e=[0-9]{13};g=.{11}"));
  RunResult run = Verify(lease);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"valid\":true"));
  EXPECT_THAT(run.out, HasSubstr("\"expired\":false"));  // now + 90 s
  // Expires 90 s after now: it is expired 91 s from now.
  size_t at = lease.find(";e=");
  long long expires = std::stoll(lease.substr(at + 3, 13));
  RunResult later = Verify(lease, {"--now-ms", std::to_string(expires + 1)});
  EXPECT_THAT(later.out, HasSubstr("\"expired\":true"));
  EXPECT_NE(Sign({"--service", "svc.v2"}).substr(0, 28), lease.substr(0, 28))
      << "two runs should draw different instance ids";
}

TEST(AequorctlLeaseTest, WrongSecretIsInvalidWithReason) {
  std::string lease = Sign({"--service", "orders", "--expires-ms", "1767225600000"});
  RunResult run = Verify(lease, {"--now-ms", "0"}, SecretEnv(kOtherSecret));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out,
              MatchesRegex("\\{\"valid\":false,\"service\":\"orders\",\"instance\":\"[^\"]{8}\","
                           "\"expires_ms\":1767225600000,\"expired\":false,"
                           "\"reason\":\"tag does not verify with the coordination secret\"\\}\n"));
}

// Issue 14, item 8: aequorctl builds its signer from the registry, as a
// manager does. A key ring (AEQUOR_SIGNER) with the previous secrets of
// AEQUOR_COORDINATION_PREVIOUS_SECRETS_FILE verifies a lease signed with a
// rotated-out secret, which the default signer does not.
TEST(AequorctlLeaseTest, AKeyRingFromTheEnvironmentVerifiesLeasesOfPreviousSecrets) {
  const std::string old_lease =
      Sign({"--service", "orders", "--expires-ms", "1767225600000"}, SecretEnv(kOtherSecret));
  const std::string previous = absl::StrCat(TempDir(), "/previous_secrets");
  {
    std::ofstream f(previous);
    f << "\n" << kOtherSecret << "\n";
  }
  std::vector<std::string> ring = SecretEnv();
  ring.push_back("AEQUOR_SIGNER=aequor.signer.key_ring");
  ring.push_back(absl::StrCat("AEQUOR_COORDINATION_PREVIOUS_SECRETS_FILE=", previous));
  RunResult with_ring = Verify(old_lease, {"--now-ms", "0"}, ring);
  EXPECT_EQ(with_ring.exit_code, 0) << with_ring.out << with_ring.err;
  EXPECT_THAT(with_ring.out, HasSubstr("\"valid\":true"));
  // The default signer with the new secret alone: invalid.
  RunResult plain = Verify(old_lease, {"--now-ms", "0"});
  EXPECT_EQ(plain.exit_code, 1) << plain.out;
  // A lease the ring signs carries the new secret's tag.
  const std::string new_lease =
      Sign({"--service", "orders", "--expires-ms", "1767225600000"}, ring);
  EXPECT_EQ(Verify(new_lease, {"--now-ms", "0"}).exit_code, 0);

  // An unknown signer, and a short previous secret: usage errors naming the
  // variable, never echoing a secret.
  std::vector<std::string> unknown = SecretEnv();
  unknown.push_back("AEQUOR_SIGNER=acme.signer.nope");
  RunResult nope = Verify(old_lease, {}, unknown);
  EXPECT_EQ(nope.exit_code, 2);
  EXPECT_THAT(nope.err, HasSubstr("AEQUOR_SIGNER: "));
  EXPECT_THAT(nope.err, HasSubstr("acme.signer.nope"));
  {
    std::ofstream f(previous);
    f << kOtherSecret << "\nxq7-tiny\n";
  }
  RunResult short_line = Verify(old_lease, {}, ring);
  EXPECT_EQ(short_line.exit_code, 2);
  EXPECT_THAT(short_line.err, HasSubstr("AEQUOR_COORDINATION_PREVIOUS_SECRETS_FILE: line 2"));
  EXPECT_THAT(short_line.err, Not(HasSubstr("xq7-tiny")));
}

TEST(AequorctlLeaseTest, ExpiredIsJudgedAgainstNowMs) {
  std::string lease = Sign({"--service", "orders", "--expires-ms", "1000"});
  RunResult before = Verify(lease, {"--now-ms", "1000"});
  EXPECT_EQ(before.exit_code, 0);
  EXPECT_THAT(before.out, HasSubstr("\"expired\":false"));
  RunResult after = Verify(lease, {"--now-ms=1001"});
  EXPECT_EQ(after.exit_code, 0) << "an expired but genuine lease is still valid";
  EXPECT_THAT(after.out, HasSubstr("\"valid\":true"));
  EXPECT_THAT(after.out, HasSubstr("\"expired\":true"));
}

TEST(AequorctlLeaseTest, UnparsableLeasePrintsReasonOnly) {
  RunResult run = Verify("s=a;i=b;e=12x;g=AAAAAAAAAAA");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "{\"valid\":false,\"reason\":\"expiry 'e' is not a decimal number\"}\n");
  RunResult quoted = Verify("a\"b\\c");
  EXPECT_EQ(quoted.exit_code, 1);
  EXPECT_EQ(quoted.out, "{\"valid\":false,\"reason\":\"field 1 is not key=value\"}\n");
}

TEST(AequorctlLeaseTest, SecretFromFileWithTrailingNewline) {
  const std::string path = TempDir() + "/coordination_secret";
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << kSecret << "\n";
  }
  const std::vector<std::string> file_env = {
      absl::StrCat("AEQUOR_COORDINATION_SECRET_FILE=", path)};
  // Signed with the secret from the file, verified with it from the variable:
  // the same key, so the newline was stripped.
  std::string lease = Sign({"--service", "orders", "--expires-ms", "5"}, file_env);
  RunResult run = Verify(lease, {"--now-ms", "0"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  RunResult back = Verify(lease, {"--now-ms", "0"}, file_env);
  EXPECT_EQ(back.exit_code, 0) << back.out << back.err;

  RunResult missing_file =
      Verify(lease, {}, {"AEQUOR_COORDINATION_SECRET_FILE=/nonexistent/secret"});
  EXPECT_EQ(missing_file.exit_code, 2);
  EXPECT_THAT(missing_file.err, HasSubstr("AEQUOR_COORDINATION_SECRET_FILE"));
  EXPECT_EQ(missing_file.out, "");
}

TEST(AequorctlLeaseTest, MissingSecretIsExitTwoWithAMessage) {
  for (const char* command : {"sign", "verify"}) {
    std::vector<std::string> args = {"lease", command};
    if (absl::string_view(command) == "sign") {
      args.insert(args.end(), {"--service", "orders"});
    } else {
      args.insert(args.end(), {"--application-name", "s=a;i=b;e=1;g=AAAAAAAAAAA"});
    }
    RunResult run = Aequorctl(args, {});
    EXPECT_EQ(run.exit_code, 2) << command;
    EXPECT_EQ(run.out, "") << command;
    EXPECT_THAT(run.err, HasSubstr("no coordination secret")) << command;
    EXPECT_THAT(run.err, HasSubstr("AEQUOR_COORDINATION_SECRET")) << command;
  }
}

TEST(AequorctlLeaseTest, ShortSecretIsExitTwoAndNotEchoed) {
  RunResult run = Aequorctl({"lease", "sign", "--service", "orders"},
                            {"AEQUOR_COORDINATION_SECRET=tiny-secret"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("at least 16"));
  EXPECT_THAT(run.err, Not(HasSubstr("tiny-secret")));
  EXPECT_EQ(run.out, "");
}

TEST(AequorctlLeaseTest, SecretFlagIsRejectedWithoutEchoingIt) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"lease", "sign", "--service", "x", "--secret", kSecret},
        std::vector<std::string>{"lease", "verify", "--secret=" + std::string(kSecret),
                                 "--application-name", "x"}}) {
    RunResult run = Aequorctl(args, SecretEnv());
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_THAT(run.err, HasSubstr("--secret is not accepted"));
    EXPECT_THAT(run.err, HasSubstr("AEQUOR_COORDINATION_SECRET_FILE"));
    EXPECT_EQ(run.out, "");
    ExpectNoSecret(run);
  }
  // Nor is a stray positional argument (a secret pasted in the wrong place).
  RunResult stray = Aequorctl({"lease", "sign", "--service", "x", kOtherSecret}, SecretEnv());
  EXPECT_EQ(stray.exit_code, 2);
  ExpectNoSecret(stray);
  RunResult stray_command = Aequorctl({kOtherSecret}, SecretEnv());
  EXPECT_EQ(stray_command.exit_code, 2);
  ExpectNoSecret(stray_command);
}

TEST(AequorctlLeaseTest, UsageErrorsAreExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"nope"},
      {"lease"},
      {"lease", "forge"},
      {"lease", "sign"},                                                        // --service missing
      {"lease", "sign", "--service"},                                           // no value
      {"lease", "sign", "--service", "a", "--service", "b"},                    // twice
      {"lease", "sign", "--service", "a", "--expires-ms", "-5"},                // negative
      {"lease", "sign", "--service", "a", "--expires-ms", "soon"},              // not a number
      {"lease", "sign", "--service", "a", "--instance", "bad;id"},              // forbidden char
      {"lease", "sign", "--service", "a", "--instance", std::string(40, 'i')},  // > 63 bytes
      {"lease", "sign", "--service", "a", "--colour", "red"},                   // unknown flag
      {"lease", "verify"},                                                      // no lease
      {"lease", "verify", "--application-name", "x", "--now-ms", "later"},
  };
  for (const std::vector<std::string>& args : cases) {
    RunResult run = Aequorctl(args, SecretEnv());
    EXPECT_EQ(run.exit_code, 2) << absl::StrJoin(args, " ");
    EXPECT_FALSE(run.err.empty()) << absl::StrJoin(args, " ");
    EXPECT_EQ(run.out, "") << absl::StrJoin(args, " ");
    ExpectNoSecret(run);
  }
}

TEST(AequorctlLeaseTest, HelpOnEveryCommand) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, std::vector<std::string>{"lease", "--help"},
        std::vector<std::string>{"lease", "sign", "--help"},
        std::vector<std::string>{"lease", "verify", "-h"}}) {
    RunResult run = Aequorctl(args, {});  // help needs no secret
    EXPECT_EQ(run.exit_code, 0) << absl::StrJoin(args, " ");
    EXPECT_THAT(run.out, HasSubstr("Usage: aequorctl")) << absl::StrJoin(args, " ");
  }
  RunResult sign_help = Aequorctl({"lease", "sign", "--help"}, {});
  EXPECT_THAT(sign_help.out, HasSubstr("--expires-ms"));
  RunResult verify_help = Aequorctl({"lease", "verify", "--help"}, {});
  EXPECT_THAT(verify_help.out, HasSubstr("--now-ms"));
}

// A lease longer than application_name holds says what is too long, by how
// much, and which input to shorten, not a C++ function (issue 12, item 7).
TEST(AequorctlLeaseTest, TooLongLeaseNamesTheLimitAndTheInputToShorten) {
  RunResult instance = Aequorctl({"lease", "sign", "--service", "a", "--instance",
                                  std::string(40, 'i'), "--expires-ms", "1700000000000"},
                                 SecretEnv());
  EXPECT_EQ(instance.exit_code, 2);
  EXPECT_EQ(instance.out, "");
  EXPECT_THAT(instance.err, HasSubstr("the lease would be 76 bytes, more than the 63"));
  EXPECT_THAT(instance.err, HasSubstr("NAMEDATALEN"));
  EXPECT_THAT(instance.err, HasSubstr("--instance is 40 bytes"));
  EXPECT_THAT(instance.err, HasSubstr("shorten --instance"));
  EXPECT_THAT(instance.err, Not(HasSubstr("NormalizeService")));
  ExpectNoSecret(instance);

  RunResult expiry = Aequorctl({"lease", "sign", "--service", std::string(30, 's'), "--instance",
                                "abc", "--expires-ms", "999999999999999999"},
                               SecretEnv());
  EXPECT_EQ(expiry.exit_code, 2);
  EXPECT_EQ(expiry.out, "");
  EXPECT_THAT(expiry.err, HasSubstr("the lease would be 68 bytes, more than the 63"));
  EXPECT_THAT(expiry.err, HasSubstr("--expires-ms is 18 digits"));
  EXPECT_THAT(expiry.err, HasSubstr("--expires-ms"));
  EXPECT_THAT(expiry.err, Not(HasSubstr("--instance is")));
  EXPECT_THAT(expiry.err, Not(HasSubstr("NormalizeService")));
  ExpectNoSecret(expiry);
}

}  // namespace
}  // namespace aequor
