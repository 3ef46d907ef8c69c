// tests/tools/aequorctl/ops_fixture.h: what the tests of `aequorctl leases`,
// `reap` and `doctor` share: a PostgreSQL 15 server (the binary's shared
// one), leases signed with the test's secret, frozen instances holding them
// (testing/zombies.h: real processes stopped with SIGSTOP after
// their query), runs of the real aequorctl binary, and its JSON read strictly.
//
//   TEST_F(AequorctlOpsTest, Example) {
//     auto zombie = Freeze(Expired("svc", "zombie01"));
//     RunResult run = Run("leases", {"--json", "--service", "svc"},
//     ThrowawayPostgres::kReaperRole); Json line = LineOf(ParseJsonLines(run.out),
//     zombie->backend_pid()); EXPECT_EQ(Text(line["lease"]), "expired");
//   }
//
// Thread-safety: for GoogleTest's single test thread.
#ifndef AEQUOR_TESTS_TOOLS_AEQUORCTL_OPS_FIXTURE_H_
#define AEQUOR_TESTS_TOOLS_AEQUORCTL_OPS_FIXTURE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/lease.h"
#include "api/secret.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "signers/hmac_sha256_botan.h"
#include "testing/postgres_test_base.h"
#include "testing/strict_json.h"
#include "testing/throwaway_postgres.h"
#include "testing/zombies.h"
#include "tests/tools/aequorctl/aequorctl_runner.h"

namespace aequor {
namespace testing {

inline constexpr char kOpsSecret[] = "ops-test-secret-0123456789";
inline constexpr char kOtherSecret[] = "ops-other-secret-9876543210";
inline constexpr char kWrongPassword[] = "wrong-password-7f3a9c";

using Json = nlohmann::ordered_json;

// ---- The JSON output, read with testing/strict_json.h ---------------------

// `text` as one JSON value that names no member twice: aequorctl never writes
// a repeated member, so one is a bug.
inline Json ParseJsonOrFail(absl::string_view text) {
  absl::StatusOr<Json> value = ParseStrictJson(text);
  EXPECT_TRUE(value.ok()) << value.status() << "\nnot JSON: " << text;
  if (!value.ok()) return Json();
  return *std::move(value);
}

// The tests read members from non-const documents, where a missing one reads
// as null, as the checks expect (operator[] of a const one asserts).

// A string member's text; "" for null or anything else.
inline std::string Text(const Json& value) {
  return value.is_string() ? value.get<std::string>() : "";
}

// A number member's value; 0 for null or anything else.
inline double Num(const Json& value) { return value.is_number() ? value.get<double>() : 0; }

// A boolean member's value; false for null or anything else.
inline bool Bool(const Json& value) { return value.is_boolean() && value.get<bool>(); }

// One JSON object per non-empty line.
inline std::vector<Json> ParseJsonLines(const std::string& text) {
  std::vector<Json> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    lines.push_back(ParseJsonOrFail(line));
    EXPECT_TRUE(lines.back().is_object()) << line;
  }
  return lines;
}

// ---- Leases -----------------------------------------------------------------

inline int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

inline std::string Lease(const std::string& service, int64_t expires_ms,
                         const std::string& instance, const char* secret = kOpsSecret) {
  auto signer = NewHmacSha256BotanSigner(Secret(secret));
  EXPECT_TRUE(signer.ok()) << signer.status();
  absl::StatusOr<std::string> lease = SignLease(**signer, service, instance, expires_ms);
  EXPECT_TRUE(lease.ok()) << lease.status();
  return lease.ok() ? *lease : "";
}

inline std::string Expired(const std::string& service, const std::string& instance) {
  return Lease(service, NowMs() - 60000, instance);
}

inline std::string Live(const std::string& service, const std::string& instance) {
  return Lease(service, NowMs() + 600000, instance);
}

// No output ever holds a secret, a password or the DSN.
inline void ExpectNothingSecret(const RunResult& run) {
  std::vector<std::string> secrets = {kOpsSecret, kOtherSecret, kWrongPassword};
  for (const char* role : {ThrowawayPostgres::kAppRole, ThrowawayPostgres::kApp2Role,
                           ThrowawayPostgres::kReaperRole, ThrowawayPostgres::kSuperRole}) {
    secrets.push_back(ThrowawayPostgres::PasswordFor(role));
  }
  for (const std::string& secret : secrets) {
    EXPECT_THAT(run.out, ::testing::Not(::testing::HasSubstr(secret)));
    EXPECT_THAT(run.err, ::testing::Not(::testing::HasSubstr(secret)));
  }
  EXPECT_THAT(run.out + run.err, ::testing::Not(::testing::HasSubstr("password=")));
}

// ---- The fixture --------------------------------------------------------------

class AequorctlOpsTest : public PostgresTest<AequorctlOpsTest> {
 protected:
  using FrozenInstance = Zombie;

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
    if (with_secret) env.push_back(absl::StrCat("AEQUOR_COORDINATION_SECRET=", kOpsSecret));
    RunResult run = Aequorctl(args, env);
    ExpectNothingSecret(run);
    return run;
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
  static Json LineOf(std::vector<Json> lines, int pid) {
    for (Json& line : lines) {
      if (line["pid"].is_number() && static_cast<int>(Num(line["pid"])) == pid) return line;
    }
    ADD_FAILURE() << "no line for pid " << pid;
    return Json();
  }

  // The findings of `doctor --json` named `check`.
  static std::vector<Json> Findings(Json& report, const std::string& check) {
    std::vector<Json> found;
    for (Json& f : report["findings"]) {
      if (Text(f["check"]) == check) found.push_back(f);
    }
    return found;
  }
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTS_TOOLS_AEQUORCTL_OPS_FIXTURE_H_
