// ConnectionManagerBuilder::Build(): every bad option is refused with a status
// naming it, before anything connects; the secret never appears in a message.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "api/connection_manager.h"
#include "api/lease.h"
#include "api/secret.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "coord-secret-0123456789";

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("AEQUOR_COORDINATION_SECRET");
    unsetenv("AEQUOR_COORDINATION_SECRET_FILE");
    unsetenv("AWS_LAMBDA_FUNCTION_NAME");
  }
  void TearDown() override { SetUp(); }

  static ConnectionManagerBuilder Good() {
    ConnectionManagerBuilder b;
    b.SetConninfo("host=127.0.0.1 port=1 dbname=x").SetCoordinationSecret(kSecret);
    return b;
  }

  static void ExpectInvalid(ConnectionManagerBuilder b, absl::string_view option,
                            absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
    absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
    ASSERT_FALSE(m.ok()) << "built despite a bad " << option;
    EXPECT_EQ(m.status().code(), code) << m.status();
    EXPECT_TRUE(absl::StartsWith(m.status().message(), option))
        << "message should start with '" << option << "': " << m.status();
    EXPECT_FALSE(absl::StrContains(m.status().message(), kSecret)) << m.status();
  }
};

TEST_F(BuilderTest, GoodOptionsBuildWithoutConnecting) {
  // Port 1 refuses connections; Build() must not try.
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = Good().Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE((*m)->connected());
  EXPECT_TRUE((*m)->leases_enabled());
  EXPECT_EQ((*m)->instance().size(), kInstanceIdLength);
}

// Issue 12: libpq's conninfo parser quotes the text it chokes on, and
// `password=correct horse battery` gave `missing "=" after "horse"`.
TEST_F(BuilderTest, AMalformedConninfoNeverEchoesAnyPartOfItsPassword) {
  const std::vector<std::string> bad = {
      "host=localhost password=correct horse battery",
      "host=localhost password='correct horse battery",
      "host=localhost password=correct horse=battery",
      "password=correct\\ horse battery host=localhost",
      "postgresql://app:correct%zzhorse@localhost/db",
      "postgresql://app:correct horse battery@localhost:notaport/db",
      "postgres://app:correcthorsebattery@localhost:99999999/db",
      "host=localhost user=app password = correct horse battery dbname",
      // A quote inside ended the redaction early (the conninfo fuzz target).
      "host=localhost password=correct hor\"sebattery",
      "postgresql://app:correct%zz\"horsebattery@localhost/db",
  };
  for (const std::string& conninfo : bad) {
    for (bool reaper : {false, true}) {
      ConnectionManagerBuilder b = Good();
      if (reaper) {
        b.SetReaperConninfo(conninfo);
      } else {
        b.SetConninfo(conninfo);
      }
      absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
      if (m.ok()) continue;  // libpq accepted it: nothing was echoed
      EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << conninfo;
      const std::string message(m.status().message());
      EXPECT_TRUE(absl::StartsWith(message, reaper ? "reaper_conninfo: " : "conninfo: "))
          << message;
      for (const char* fragment : {"correct", "horse", "battery"}) {
        EXPECT_FALSE(absl::StrContains(message, fragment)) << conninfo << " -> " << message;
      }
    }
  }
  // Without a password, libpq's message keeps the option it did not know.
  ConnectionManagerBuilder b = Good();
  b.SetConninfo("host=localhost passwd=x");
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(absl::StrContains(m.status().message(), "invalid connection option \"passwd\""))
      << m.status();
}

TEST_F(BuilderTest, MissingSecretInRequiredModeNamesTheOptionAndTheVariables) {
  ConnectionManagerBuilder b;
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(m.status().message(), "coordination_secret: required"));
  EXPECT_TRUE(absl::StrContains(m.status().message(), "AEQUOR_COORDINATION_SECRET"));
}

TEST_F(BuilderTest, OptionalModeWithoutSecretTurnsLeasesOff) {
  ConnectionManagerBuilder b;
  b.SetLeaseMode(LeaseMode::kOptional);
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE((*m)->leases_enabled());
}

TEST_F(BuilderTest, ShortSecretIsRefusedWithoutQuotingIt) {
  ConnectionManagerBuilder b = Good();
  b.SetCoordinationSecret("fifteen-bytes!!");
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), "coordination_secret: must be at least 16 bytes");
  ConnectionManagerBuilder old = Good();
  old.AddPreviousSecret("short");
  ExpectInvalid(std::move(old), "previous_secrets[0]");
}

TEST_F(BuilderTest, UnknownPluginNamesAreNotFoundListingKnownNames) {
  ConnectionManagerBuilder b = Good();
  b.UseSigner("aequor.signer.hmac_md5");
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(m.status().message(), "signer: unknown lease signer"));
  EXPECT_TRUE(absl::StrContains(m.status().message(), "aequor.signer.hmac_sha256"));
  EXPECT_TRUE(absl::StrContains(m.status().message(), "aequor.signer.key_ring"));

  ConnectionManagerBuilder r = Good();
  r.UseRetryPolicy("aequor.retry.yolo");
  ExpectInvalid(std::move(r), "retry_policy: unknown retry policy", absl::StatusCode::kNotFound);
  ConnectionManagerBuilder s = Good();
  s.UseReaperScheduler("nope");
  ExpectInvalid(std::move(s), "reaper_scheduler: unknown", absl::StatusCode::kNotFound);
  ConnectionManagerBuilder e = Good();
  e.AddExporter("aequor.exporter.fax");
  ExpectInvalid(std::move(e), "exporters[0]: unknown", absl::StatusCode::kNotFound);
}

// Issue 14, item 6: the README's own line compiled and then failed with
// NOT_FOUND: unknown hook exporter 'aequor.exporter.emf(namespace=orders)'.
TEST_F(BuilderTest, PluginSpecTextWithOptionsIsParsed) {
  ConnectionManagerBuilder b = Good();
  b.AddExporter("aequor.exporter.emf(namespace=orders)")
      .UseReaperScheduler("aequor.reaper.probability(p=0)")
      .UseRetryPolicy(std::string("aequor.retry.decorrelated_jitter(retries=2)"));
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  EXPECT_TRUE(m.ok()) << m.status();

  // Options are checked as the plugin reads them.
  ConnectionManagerBuilder p = Good();
  p.UseReaperScheduler("aequor.reaper.probability(p=2)");
  ExpectInvalid(std::move(p), "reaper_scheduler: aequor.reaper.probability: option 'p'");
  // Text that does not parse says why and where, not "unknown".
  ConnectionManagerBuilder broken = Good();
  broken.AddExporter("aequor.exporter.emf(namespace=orders");
  absl::StatusOr<std::unique_ptr<ConnectionManager>> e = broken.Build();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << e.status();
  EXPECT_TRUE(absl::StartsWith(e.status().message(),
                               "exporters[0]: 'aequor.exporter.emf(namespace=orders' is not a hook "
                               "exporter spec: "))
      << e.status();
}

TEST_F(BuilderTest, BadPluginOptionsNameThePluginAndOption) {
  ConnectionManagerBuilder b = Good();
  b.UseRetryPolicy(PluginSpec("aequor.retry.decorrelated_jitter", {{"retries", "-1"}}));
  ExpectInvalid(std::move(b), "retry_policy: aequor.retry.decorrelated_jitter: option 'retries'");
  ConnectionManagerBuilder p = Good();
  p.UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "2"}}));
  ExpectInvalid(std::move(p), "reaper_scheduler: aequor.reaper.probability: option 'p'");
}

TEST_F(BuilderTest, ValuesOutOfRangeAndContradictionsNameTheOption) {
  {
    ConnectionManagerBuilder b = Good();
    b.SetLeaseTtl(absl::Seconds(20));  // renew_before is 30 s
    ExpectInvalid(std::move(b), "lease_renew_before");
  }
  {
    ConnectionManagerBuilder b = Good();
    b.SetLeaseTtl(absl::ZeroDuration());
    ExpectInvalid(std::move(b), "lease_ttl");
  }
  {
    ConnectionManagerBuilder b = Good();
    b.SetConnectTimeout(absl::Milliseconds(500));
    ExpectInvalid(std::move(b), "connect_timeout");
  }
  {
    ConnectionManagerBuilder b = Good();
    b.SetConnectTimeout(absl::Seconds(20));  // budget is 15 s
    ExpectInvalid(std::move(b), "connect_timeout");
  }
  {
    ConnectionManagerBuilder b = Good();
    b.SetQueryBudget(-absl::Seconds(1));
    ExpectInvalid(std::move(b), "query_budget");
  }
  {
    ManagerOptions o;
    o.conninfo = "dbname=x";
    o.coordination_secret = Secret(kSecret);
    o.lease_block_before = absl::Seconds(40);
    ConnectionManagerBuilder b;
    b.SetOptions(o);
    ExpectInvalid(std::move(b), "lease_block_before");
  }
  {
    ManagerOptions o;
    o.coordination_secret = Secret(kSecret);
    o.reap_max_kills = 0;
    ConnectionManagerBuilder b;
    b.SetOptions(o);
    ExpectInvalid(std::move(b), "reap_max_kills");
  }
}

// The server refuses a startup option above INT_MAX, so every connect would
// fail (found by the conninfo fuzz target).
TEST_F(BuilderTest, AnIdleInTransactionTimeoutOverIntMaxMillisecondsIsRefused) {
  ConnectionManagerBuilder b = Good();
  b.mutable_options().idle_in_transaction_timeout = absl::Milliseconds(2147483648LL);
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  EXPECT_EQ(m.status(), absl::InvalidArgumentError(
                            "idle_in_transaction_timeout: must be 0 (the server's setting) or in "
                            "[1ms, 2147483647ms], got 596h31m23.648s"));

  ConnectionManagerBuilder largest = Good();
  largest.mutable_options().idle_in_transaction_timeout = absl::Milliseconds(2147483647);
  EXPECT_TRUE(largest.Build().ok()) << "INT_MAX ms itself is PostgreSQL's largest";
  ConnectionManagerBuilder session = Good();
  session.mutable_options().idle_session_timeout = absl::Milliseconds(2147483648LL);
  ExpectInvalid(std::move(session), "idle_session_timeout");
}

TEST_F(BuilderTest, AnInfiniteIdleInTransactionTimeoutIsRefused) {
  ConnectionManagerBuilder b = Good();
  b.mutable_options().idle_in_transaction_timeout = absl::InfiniteDuration();
  ExpectInvalid(std::move(b), "idle_in_transaction_timeout");
  ConnectionManagerBuilder reaper = Good();
  reaper.mutable_options().reap_statement_timeout = absl::InfiniteDuration();
  ExpectInvalid(std::move(reaper), "reap_statement_timeout");
}

// libpq reads keepalives_idle as an int, and Linux refuses TCP_KEEPIDLE
// above 32767 s: libpq then fails every TCP connect.
TEST_F(BuilderTest, AKeepalivesIdleOverIntMaxSecondsIsRefused) {
  ConnectionManagerBuilder b = Good();
  b.mutable_options().keepalives_idle = absl::Seconds(2199023256LL);
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  EXPECT_EQ(m.status(), absl::InvalidArgumentError(
                            "keepalives_idle: must be in [1s, 32767s] when server_keepalives or "
                            "client_keepalives is on (Linux's limit), got 610839h47m36s"));

  ConnectionManagerBuilder over_linux = Good();
  over_linux.mutable_options().keepalives_interval = absl::Seconds(32768);
  ExpectInvalid(std::move(over_linux), "keepalives_interval");
  ConnectionManagerBuilder largest = Good();
  largest.mutable_options().keepalives_idle = absl::Seconds(32767);
  largest.mutable_options().keepalives_interval = absl::Seconds(32767);
  EXPECT_TRUE(largest.Build().ok());
  ConnectionManagerBuilder off = Good();
  off.mutable_options().client_keepalives = false;
  off.mutable_options().keepalives_idle = absl::Seconds(2199023256LL);
  EXPECT_TRUE(off.Build().ok()) << "not converted while both sides are off";
}

TEST_F(BuilderTest, AnInfiniteKeepalivesIdleIsRefused) {
  ConnectionManagerBuilder b = Good();
  b.mutable_options().keepalives_idle = absl::InfiniteDuration();
  ExpectInvalid(std::move(b), "keepalives_idle");
}

// An infinite connect_budget is allowed (no deadline of its own; each
// attempt still ends after connect_timeout), an infinite connect_timeout not.
TEST_F(BuilderTest, AnInfiniteConnectTimeoutIsRefusedEvenWithAnInfiniteBudget) {
  ConnectionManagerBuilder b = Good();
  b.SetConnectBudget(absl::InfiniteDuration()).SetConnectTimeout(absl::InfiniteDuration());
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  EXPECT_EQ(m.status(), absl::InvalidArgumentError("connect_timeout: must be in [2s, 2147483647s] "
                                                   "(libpq's whole seconds), got inf"));

  ConnectionManagerBuilder over_int = Good();
  over_int.SetConnectBudget(absl::InfiniteDuration())
      .SetConnectTimeout(absl::Seconds(2147483647) + absl::Milliseconds(1));
  ExpectInvalid(std::move(over_int), "connect_timeout");
  ConnectionManagerBuilder budget = Good();
  budget.SetConnectBudget(absl::InfiniteDuration()).SetQueryBudget(absl::InfiniteDuration());
  EXPECT_TRUE(budget.Build().ok()) << "infinite budgets are allowed";
}

// Added to every expiry in the reaper's SQL: an infinite margin overflowed
// the bigint and failed every pass.
TEST_F(BuilderTest, AClockMarginOverADayIsRefused) {
  ConnectionManagerBuilder b = Good();
  b.mutable_options().reap_clock_skew = absl::InfiniteDuration();
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  EXPECT_EQ(m.status(), absl::InvalidArgumentError(
                            "reap_clock_skew: must be at most 24h (the longest lease), got inf"));
  ConnectionManagerBuilder day = Good();
  day.mutable_options().reap_clock_skew = absl::Hours(24);
  EXPECT_TRUE(day.Build().ok());
}

TEST_F(BuilderTest, MalformedConninfoIsRefused) {
  ConnectionManagerBuilder b = Good();
  b.SetConninfo("host=localhost bogus_option=1");
  ExpectInvalid(std::move(b), "conninfo: ");
  ConnectionManagerBuilder u = Good();
  u.SetConninfo("postgresql://host/db?bogus_parameter=1");
  ExpectInvalid(std::move(u), "conninfo: ");
}

TEST_F(BuilderTest, ServiceDefaultsToLambdaFunctionNameThenSlsPg) {
  {
    absl::StatusOr<std::unique_ptr<ConnectionManager>> m = Good().Build();
    ASSERT_TRUE(m.ok());
    EXPECT_EQ((*m)->service(), "sls_pg");
  }
  setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-api", 1);
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = Good().Build();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->service(), "orders-api");
  ConnectionManagerBuilder explicit_service = Good();
  explicit_service.SetService("svc.v2");
  m = explicit_service.Build();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->service(), NormalizeService("svc.v2"));
}

TEST_F(BuilderTest, SecretFromEnvironmentVariableAndFile) {
  setenv("AEQUOR_COORDINATION_SECRET", kSecret, 1);
  ConnectionManagerBuilder b;
  b.SetCoordinationSecretFromEnv();
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE((*m)->leases_enabled());
  unsetenv("AEQUOR_COORDINATION_SECRET");

  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/secret";
  std::ofstream(path) << kSecret << "\n";
  setenv("AEQUOR_COORDINATION_SECRET_FILE", path.c_str(), 1);
  ConnectionManagerBuilder f;
  f.SetCoordinationSecretFromEnv();
  m = f.Build();
  ASSERT_TRUE(m.ok()) << m.status();

  setenv("AEQUOR_COORDINATION_SECRET_FILE", "/nonexistent/secret", 1);
  ConnectionManagerBuilder missing;
  missing.SetCoordinationSecretFromEnv();
  m = missing.Build();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(m.status().message(), "AEQUOR_COORDINATION_SECRET_FILE"));
  EXPECT_TRUE(absl::StrContains(m.status().message(), "/nonexistent/secret"));

  // Issue 12: /dev/zero grew the process without bound, a FIFO blocked
  // forever, a directory was reported as "empty".
  const std::string fifo = std::string(std::getenv("TEST_TMPDIR")) + "/secret.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string big = std::string(std::getenv("TEST_TMPDIR")) + "/secret.big";
  std::ofstream(big) << std::string(kMaxSecretFileBytes + 1, 'x');
  for (const auto& [file, says] :
       std::vector<std::pair<std::string, std::string>>{{"/dev/zero", "not a regular file"},
                                                        {fifo, "not a regular file"},
                                                        {std::getenv("TEST_TMPDIR"), "a directory"},
                                                        {big, "larger than 4096 bytes"}}) {
    setenv("AEQUOR_COORDINATION_SECRET_FILE", file.c_str(), 1);
    ConnectionManagerBuilder odd;
    odd.SetCoordinationSecretFromEnv();
    m = odd.Build();
    ASSERT_FALSE(m.ok()) << file;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition) << file;
    EXPECT_TRUE(absl::StrContains(m.status().message(), says)) << m.status();
    EXPECT_TRUE(absl::StrContains(m.status().message(), file)) << m.status();
  }
  std::ofstream(big, std::ios::trunc) << std::string(kMaxSecretFileBytes, 'y');
  setenv("AEQUOR_COORDINATION_SECRET_FILE", big.c_str(), 1);
  ConnectionManagerBuilder largest;
  largest.SetCoordinationSecretFromEnv();
  EXPECT_TRUE(largest.Build().ok()) << "exactly the limit is read";

  setenv("AEQUOR_COORDINATION_SECRET", kSecret, 1);
  ConnectionManagerBuilder both;
  both.SetCoordinationSecretFromEnv();
  ExpectInvalid(std::move(both), "coordination_secret: both");
}

TEST_F(BuilderTest, InstanceIdMustBeBase64Url) {
  ConnectionManagerBuilder b = Good();
  b.SetInstanceId("not;valid");
  ExpectInvalid(std::move(b), "instance_id");
  ConnectionManagerBuilder ok = Good();
  ok.SetInstanceId("AbCdEfGh");
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = ok.Build();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->instance(), "AbCdEfGh");
}

TEST_F(BuilderTest, CallbackExporterByNameWithoutHooksIsAnError) {
  ConnectionManagerBuilder b = Good();
  b.AddExporter("aequor.exporter.callback");
  ExpectInvalid(std::move(b), "exporters[0]: aequor.exporter.callback: no hooks",
                absl::StatusCode::kFailedPrecondition);
}

TEST_F(BuilderTest, TheDefaultSchedulerBuildsFromTheRegistry) {
  // The default spec names built-in plugins with valid options.
  ConnectionManagerBuilder b = Good();
  b.UseReaperScheduler(*ParsePluginSpec(kDefaultReaperScheduler));
  EXPECT_TRUE(b.Build().ok());
  EXPECT_TRUE(ManagerOptions().reaper_scheduler == DefaultReaperSchedulerSpec());
  // pg-aequor's default stays available by name.
  ConnectionManagerBuilder pg = Good();
  pg.UseReaperScheduler(*ParsePluginSpec(kPgAequorReaperScheduler));
  EXPECT_TRUE(pg.Build().ok());
}

TEST_F(BuilderTest, AReapPressureThresholdOutsideZeroToOneIsRefusedByName) {
  for (double bad : {0.0, -0.5, 1.5}) {
    ConnectionManagerBuilder b = Good();
    b.mutable_options().reap_pressure_threshold = bad;
    absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(m.status().message().find("reap_pressure_threshold"), absl::string_view::npos)
        << m.status();
  }
  ConnectionManagerBuilder one = Good();
  one.mutable_options().reap_pressure_threshold = 1.0;
  EXPECT_TRUE(one.Build().ok());
}

TEST_F(BuilderTest, InstanceIdsAreRandomPerManagerAndSeedable) {
  auto a = Good().Build();
  auto b = Good().Build();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->instance(), (*b)->instance());
  ConnectionManagerBuilder s1 = Good();
  s1.SetRandom(std::make_unique<SeededRandom>(5));
  ConnectionManagerBuilder s2 = Good();
  s2.SetRandom(std::make_unique<SeededRandom>(5));
  EXPECT_EQ((*s1.Build())->instance(), (*s2.Build())->instance());
}

}  // namespace
}  // namespace aequor
