// core/pooler.h against a real PostgreSQL 15 and a real PgBouncer 1.18 in
// front of it (testing/pgbouncer.h), in transaction and in session mode, and
// the wordings of the poolers this machine does not run.
#include "core/pooler.h"

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/pgbouncer.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"
#include "util/pg.h"

namespace aequor {
namespace {

using testing::PgBouncer;
using testing::PgBouncerOptions;
using testing::PoolMode;
using testing::ThrowawayPostgres;

class PoolerTest : public testing::PostgresTest<PoolerTest> {
 protected:
  static std::unique_ptr<PgBouncer> Bouncer(PoolMode mode = PoolMode::kTransaction) {
    PgBouncerOptions options;
    options.pool_mode = mode;
    absl::StatusOr<std::unique_ptr<PgBouncer>> bouncer = PgBouncer::Start(*server_, options);
    EXPECT_TRUE(bouncer.ok()) << bouncer.status();
    return bouncer.ok() ? *std::move(bouncer) : nullptr;
  }

  static pg::Conn Open(const std::string& conninfo) {
    pg::Conn conn(PQconnectdb(conninfo.c_str()));
    EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << pg::ErrorMessage(conn.get());
    return conn;
  }

  // PQerrorMessage of a connect that must fail.
  static std::string FailedConnect(const std::string& conninfo) {
    pg::Conn conn(PQconnectdb(conninfo.c_str()));
    EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD) << conninfo;
    return PQerrorMessage(conn.get());
  }

  static std::string App(const std::string& conninfo) {
    return absl::StrCat(conninfo, " application_name=pooler-test");
  }
};

constexpr char kManagerOptions[] = " options='-c idle_in_transaction_session_timeout=60000'";

// ---- RefusesStartupOptions ---------------------------------------------------

TEST_F(PoolerTest, RefusesStartupOptionsRecognisesPgBouncersRefusal) {
  std::unique_ptr<PgBouncer> bouncer = Bouncer();
  ASSERT_NE(bouncer, nullptr);
  const std::string message =
      FailedConnect(bouncer->ConninfoFor(ThrowawayPostgres::kAppRole) + kManagerOptions);
  EXPECT_TRUE(RefusesStartupOptions(message)) << message;
}

TEST_F(PoolerTest, RefusesStartupOptionsRecognisesTheWordingsOfOtherPoolers) {
  for (const char* message : {
           // PgBouncer 1.20+ (and Neon's proxy, which passes them on).
           "connection to server at \"h\" (10.0.0.1), port 6432 failed: FATAL:  unsupported "
           "startup parameter in options: idle_in_transaction_session_timeout\n",
           "FATAL:  unsupported options startup parameter: only '-c config=val' and "
           "'--config=val' are allowed\n",
           "ERROR: unsupported startup parameter in options: search_path. Please use unpooled "
           "connection or remove this parameter from the startup package.",
           // RDS Proxy, with either apostrophe.
           "FATAL:  Feature not supported: RDS Proxy currently doesn't support command-line "
           "options.\n",
           "FATAL:  Feature not supported: RDS Proxy currently doesn\u2019t support command-line "
           "options.\n",
           // PgBouncer 1.18, as its log words it, upper case, or after another host's failure.
           "unsupported startup parameter: options=-c client_encoding=utf8",
           "FATAL:  UNSUPPORTED STARTUP PARAMETER: OPTIONS",
           "connection to server at \"a\" (10.0.0.1), port 5432 failed: Connection refused\n"
           "connection to server at \"b\" (10.0.0.2), port 6432 failed: FATAL:  unsupported "
           "startup parameter: options\n",
       }) {
    EXPECT_TRUE(RefusesStartupOptions(message)) << message;
  }
}

TEST_F(PoolerTest, RefusesStartupOptionsIsFalseForEveryOtherFailure) {
  std::unique_ptr<PgBouncer> bouncer = Bouncer();
  ASSERT_NE(bouncer, nullptr);
  // Real failures: a wrong password at PgBouncer, a setting the server does
  // not know (the server takes `options`, it refuses what is in it).
  const std::string wrong_password = FailedConnect(absl::StrCat(
      "host=127.0.0.1 port=", bouncer->port(), " dbname=aequor user=aequor_app password=nope"));
  EXPECT_FALSE(RefusesStartupOptions(wrong_password)) << wrong_password;
  const std::string unknown_setting = FailedConnect(
      server_->ConninfoFor(ThrowawayPostgres::kAppRole) + " options='-c aequor_nosuch=1'");
  EXPECT_FALSE(RefusesStartupOptions(unknown_setting)) << unknown_setting;
  for (const char* message : {
           "",
           "FATAL:  unsupported startup parameter: extra_float_digits",
           "FATAL:  unsupported startup parameter: optionsx",
           "FATAL:  too many connections for role \"aequor_app\"",
           "connection to server at \"127.0.0.1\", port 1 failed: Connection refused",
           "FATAL:  Feature not supported: RDS Proxy currently doesn't support the option "
           "statement_timeout.",
       }) {
    EXPECT_FALSE(RefusesStartupOptions(message)) << message;
  }
}

// ---- DetectPooler ------------------------------------------------------------

TEST_F(PoolerTest, DetectPoolerSeesNoPoolerOnADirectConnection) {
  pg::Conn conn = Open(App(server_->ConninfoFor(ThrowawayPostgres::kAppRole)));
  absl::StatusOr<PoolerSighting> seen = DetectPooler(conn.get());
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_FALSE(seen->pooler_in_between());
  EXPECT_GT(seen->server_pid, 0);
  EXPECT_EQ(seen->startup_pid, PQbackendPID(conn.get()));
  EXPECT_EQ(seen->server_pid, seen->startup_pid);
}

TEST_F(PoolerTest, DetectPoolerSeesPgBouncerInTransactionAndInSessionMode) {
  for (PoolMode mode : {PoolMode::kTransaction, PoolMode::kSession}) {
    std::unique_ptr<PgBouncer> bouncer = Bouncer(mode);
    ASSERT_NE(bouncer, nullptr);
    pg::Conn conn = Open(App(bouncer->ConninfoFor(ThrowawayPostgres::kAppRole)));
    absl::StatusOr<PoolerSighting> seen = DetectPooler(conn.get());
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_TRUE(seen->pooler_in_between());
    EXPECT_EQ(seen->startup_pid, PQbackendPID(conn.get()));
    // The server pid is a real backend of the role.
    EXPECT_EQ(*server_->AdminQuery(absl::StrCat("SELECT usename FROM pg_stat_activity WHERE pid = ",
                                                seen->server_pid)),
              "aequor_app");
  }
}

TEST_F(PoolerTest, DetectPoolerFailsWithoutAUsableConnection) {
  EXPECT_EQ(DetectPooler(nullptr).status().code(), absl::StatusCode::kInvalidArgument);

  std::unique_ptr<PgBouncer> bouncer = Bouncer();
  ASSERT_NE(bouncer, nullptr);
  pg::Conn conn = Open(App(bouncer->ConninfoFor(ThrowawayPostgres::kAppRole)));
  ASSERT_TRUE(bouncer->Stop().ok());
  absl::StatusOr<PoolerSighting> cut = DetectPooler(conn.get());
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kUnavailable) << cut.status();
  // Once libpq knows the connection is gone, before sending anything.
  EXPECT_EQ(DetectPooler(conn.get()).status().code(), absl::StatusCode::kUnavailable);

  pg::Conn aborted = Open(App(server_->ConninfoFor(ThrowawayPostgres::kAppRole)));
  ASSERT_FALSE(pg::Exec(aborted.get(), "BEGIN; SELECT 1/0").ok());
  absl::StatusOr<PoolerSighting> in_failed = DetectPooler(aborted.get());
  EXPECT_EQ(in_failed.status().code(), absl::StatusCode::kInternal) << in_failed.status();
  EXPECT_NE(in_failed.status().message().find("25P02"), std::string::npos) << in_failed.status();
}

// ---- SharesServerSession -------------------------------------------------------

TEST_F(PoolerTest, OnlyATransactionPoolerSharesAServerSessionBetweenConnectedClients) {
  struct Case {
    const char* name;
    PoolMode mode;
    bool direct;
    bool shared;
  };
  for (const Case& c : {Case{"transaction", PoolMode::kTransaction, false, true},
                        Case{"session", PoolMode::kSession, false, false},
                        Case{"direct", PoolMode::kSession, true, false}}) {
    std::unique_ptr<PgBouncer> bouncer = c.direct ? nullptr : Bouncer(c.mode);
    const std::string conninfo = App(c.direct ? server_->ConninfoFor(ThrowawayPostgres::kAppRole)
                                              : bouncer->ConninfoFor(ThrowawayPostgres::kAppRole));
    pg::Conn first = Open(conninfo);
    absl::StatusOr<PoolerSighting> first_seen = DetectPooler(first.get());
    ASSERT_TRUE(first_seen.ok()) << first_seen.status();
    pg::Conn second = Open(conninfo);
    absl::StatusOr<PoolerSighting> second_seen = DetectPooler(second.get());
    ASSERT_TRUE(second_seen.ok()) << second_seen.status();
    EXPECT_EQ(SharesServerSession(*first_seen, *second_seen), c.shared) << c.name;
  }
}

}  // namespace
}  // namespace aequor
