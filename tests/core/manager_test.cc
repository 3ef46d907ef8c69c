// The connection manager against a real PostgreSQL 15 that the test starts.
#include <signal.h>

#include <cerrno>

#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/lease.h"
#include "gtest/gtest.h"
#include "signers/hmac_sha256_botan.h"
#include "testing/fake_clock.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "integration-secret-0123456789";

// One server for the whole binary (testing/postgres_test_base.h).
class ManagerTest : public testing::PostgresTest<ManagerTest> {
 protected:
  // No reaper passes here (tests/core/reaper_test.cc has them).
  ConnectionManagerBuilder Builder(absl::string_view role = "aequor_app") {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, "orders-api", kSecret, role);
    b.SetClock(&clock_).SetRandom(std::make_unique<SeededRandom>(1));
    return b;
  }

  std::unique_ptr<ConnectionManager> Make(ConnectionManagerBuilder b) {
    return testing::MakeManager(std::move(b));
  }

  std::string Admin(absl::string_view sql) {
    absl::StatusOr<std::string> r = server_->AdminQuery(sql);
    EXPECT_TRUE(r.ok()) << r.status() << " for " << sql;
    return r.ok() ? *r : "";
  }

  testing::FakeClock clock_{absl::Now()};
};

TEST_F(ManagerTest, LeaseIsInApplicationNameAndVerifies) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Connect().ok());
  absl::StatusOr<QueryResult> r =
      m->Query("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()");
  ASSERT_TRUE(r.ok()) << r.status();
  std::string seen(r->Get(0, 0));
  EXPECT_EQ(seen, m->application_name());

  absl::StatusOr<ParsedLease> lease = ParseLease(seen);
  ASSERT_TRUE(lease.ok()) << lease.status() << " " << seen;
  EXPECT_EQ(lease->service, "orders-api");
  EXPECT_EQ(lease->instance, m->instance());
  EXPECT_EQ(lease->expires_ms, absl::ToUnixMillis(clock_.Now() + absl::Seconds(90)));
  std::vector<Secret> keys{Secret(kSecret)};
  absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = NewHmacSha256BotanSigner(Secret(kSecret));
  ASSERT_TRUE(signer.ok());
  EXPECT_TRUE(VerifyLeaseTag(**signer, *lease));
}

// The lease the server holds is the one the manager thinks it holds, even
// when the statement a renewal was pipelined with fails, or when the renewal
// would fall inside a transaction the caller rolls back. (With one sync
// point, the failing statement's implicit transaction took the renewal's
// set_config with it: the server kept the old lease, due to expire, while
// the manager counted the new one.)
TEST_F(ManagerTest, ARenewalIsNeverUndoneByAFailedStatementOrARolledBackTransaction) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_TRUE(m->Connect().ok());
  auto server_lease = [&] {
    absl::StatusOr<QueryResult> r = m->Query("SELECT current_setting('application_name')");
    return r.ok() ? std::string(r->Get(0, 0)) : r.status().ToString();
  };
  // Due for renewal (60 s of 90), not yet for a blocking one.
  clock_.Advance(absl::Seconds(61));
  const std::string before = m->application_name();
  absl::StatusOr<QueryResult> failed = m->Query("SELECT 1/0");
  ASSERT_EQ(SqlState(failed.status()), "22012");
  EXPECT_NE(m->application_name(), before) << "renewed with the statement";
  EXPECT_EQ(server_lease(), m->application_name());

  clock_.Advance(absl::Seconds(61));
  ASSERT_TRUE(m->Query("BEGIN").ok());
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Query("ROLLBACK").ok());
  EXPECT_EQ(server_lease(), m->application_name());
  absl::StatusOr<ParsedLease> lease = ParseLease(m->application_name());
  ASSERT_TRUE(lease.ok());
  EXPECT_GT(lease->expires_ms, absl::ToUnixMillis(clock_.Now())) << "and it is not expired";
}

TEST_F(ManagerTest, ConnectingSendsNoSql) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_TRUE(m->Connect().ok());
  // A backend that has run nothing shows an empty query and state idle.
  std::string row = Admin(
      absl::StrCat("SELECT state || '|' || query FROM pg_stat_activity WHERE application_name = '",
                   m->application_name(), "'"));
  EXPECT_EQ(row, "idle|");
}

TEST_F(ManagerTest, LeaseReplacesTheUsersApplicationName) {
  ConnectionManagerBuilder b = Builder();
  b.SetConninfo(server_->ConninfoFor("aequor_app") + " application_name=mine");
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  absl::StatusOr<QueryResult> r = m->Query("SHOW application_name");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(absl::StartsWith(r->Get(0, 0), "s=orders-api;i=")) << r->Get(0, 0);
}

TEST_F(ManagerTest, OptionalModeWithoutSecretSendsNoLease) {
  ConnectionManagerBuilder b;
  b.SetConninfo(server_->ConninfoFor("aequor_app") + " application_name=plain")
      .SetLeaseMode(LeaseMode::kOptional);
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  absl::StatusOr<QueryResult> r = m->Query("SHOW application_name");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "plain");
  EXPECT_FALSE(m->leases_enabled());
  EXPECT_EQ(m->application_name(), "");
}

// Issue 14, item 1: bytes with a NUL were sent as a C string and cut at the
// NUL (3 bytes in, 1 stored).
TEST_F(ManagerTest, BytesGoInBinaryAndArriveWholeNulsIncluded) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_TRUE(m->Query("CREATE TEMP TABLE blobs (id int, b bytea)").ok());
  const std::string bytes("\x00\xff\x00" "A", 4);  // NUL, 0xff, NUL, A
  absl::StatusOr<QueryResult> ins =
      m->Query("INSERT INTO blobs VALUES ($1, $2)", {1, Param::Bytes(bytes)});
  ASSERT_TRUE(ins.ok()) << ins.status();
  absl::StatusOr<QueryResult> r =
      m->Query("SELECT length(b), encode(b, 'hex'), b = $2 FROM blobs WHERE id = $1",
               {1, Param::Bytes(bytes)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "4");
  EXPECT_EQ(r->Get(0, 1), "00ff0041");
  EXPECT_EQ(r->Get(0, 2), "t");
  // Inside a transaction too, and an empty byte string is not NULL.
  absl::Status tx = m->RunTransaction([&](Transaction& t) -> absl::Status {
    absl::StatusOr<QueryResult> in = t.Query("INSERT INTO blobs VALUES (2, $1), (3, $2)",
                                             {Param::Bytes(bytes), Param::Bytes("")});
    return in.status();
  });
  ASSERT_TRUE(tx.ok()) << tx;
  absl::StatusOr<QueryResult> lengths =
      m->Query("SELECT length(b) FROM blobs WHERE id IN (2, 3) ORDER BY id");
  ASSERT_TRUE(lengths.ok()) << lengths.status();
  ASSERT_EQ(lengths->rows(), 2);
  EXPECT_EQ(lengths->Get(0, 0), "4");
  EXPECT_EQ(lengths->Get(1, 0), "0");
  EXPECT_FALSE(lengths->IsNull(1, 0));
}

// Text cannot carry a NUL: libpq would send the text up to it, silently cut.
TEST_F(ManagerTest, ATextParameterWithANulIsRefusedNamingItAndNothingIsSent) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_TRUE(m->Query("CREATE TEMP TABLE notes (n text)").ok());
  const std::string secretish("ab\0cd", 5);
  absl::StatusOr<QueryResult> r =
      m->Query("INSERT INTO notes VALUES ($1), ($2)", {"fine", secretish});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "parameter $2 holds a NUL byte at offset 2"))
      << r.status();
  EXPECT_FALSE(absl::StrContains(r.status().message(), "cd")) << "the value is never quoted";
  absl::Status tx = m->RunTransaction([&](Transaction& t) -> absl::Status {
    return t.Query("INSERT INTO notes VALUES ($1)", {secretish}).status();
  });
  EXPECT_EQ(tx.code(), absl::StatusCode::kInvalidArgument) << tx;
  absl::StatusOr<QueryResult> count = m->Query("SELECT count(*) FROM notes");
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->Get(0, 0), "0");
}

TEST_F(ManagerTest, ParametersNullsAndResults) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  absl::StatusOr<QueryResult> r =
      m->Query("SELECT $1::int + 1 AS n, $2::text AS t, $3::text AS missing, $4::bool AS b",
               {41, "héllo", Param::Null(), true});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 1);
  ASSERT_EQ(r->columns(), 4);
  EXPECT_EQ(r->column_name(0), "n");
  EXPECT_EQ(r->Get(0, 0), "42");
  EXPECT_EQ(r->Get(0, 1), "héllo");
  EXPECT_TRUE(r->IsNull(0, 2));
  EXPECT_FALSE(r->GetOptional(0, 2).has_value());
  EXPECT_EQ(r->Get(0, 3), "t");
  EXPECT_TRUE(r->IsNull(5, 0)) << "out of range reads as NULL, not a crash";

  // NULL in every spelling, and a double that comes back as itself
  // (PostgreSQL reads "inf" and "nan" as float8 too).
  absl::StatusOr<QueryResult> nulls = m->Query(
      "SELECT $1::text IS NULL, $2::int IS NULL, $3::float8 = 3.141592653589793::float8, "
      "$4::float8 = 'Infinity'::float8, $5::float8 = 'NaN'::float8",
      {nullptr, std::optional<int64_t>(), 3.141592653589793,
       std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()});
  ASSERT_TRUE(nulls.ok()) << nulls.status();
  for (int column = 0; column < 5; ++column) EXPECT_EQ(nulls->Get(0, column), "t") << column;

  ASSERT_TRUE(m->Query("CREATE TEMP TABLE t (id int)").ok());
  absl::StatusOr<QueryResult> ins = m->Query("INSERT INTO t SELECT generate_series(1, 5)");
  ASSERT_TRUE(ins.ok()) << ins.status();
  EXPECT_EQ(ins->affected_rows(), 5);
  EXPECT_EQ(ins->command_tag(), "INSERT 0 5");
}

TEST_F(ManagerTest, ServerErrorsCarryTheirSqlState) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  absl::StatusOr<QueryResult> r = m->Query("SELECT 1/0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(SqlState(r.status()), "22012");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "division by zero")) << r.status();

  r = m->Query("SELEC 1");
  EXPECT_EQ(SqlState(r.status()), "42601");

  ASSERT_TRUE(m->Query("CREATE TEMP TABLE u (id int primary key)").ok());
  ASSERT_TRUE(m->Query("INSERT INTO u VALUES (1)").ok());
  r = m->Query("INSERT INTO u VALUES (1)");
  EXPECT_EQ(SqlState(r.status()), "23505");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);

  r = m->Query("SELECT * FROM no_such_table");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);

  // The connection survives statement errors.
  EXPECT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_TRUE(m->connected());
}

TEST_F(ManagerTest, HooksSeeConnectAndQueriesAndAThrowingHookBreaksNothing) {
  std::mutex mu;
  std::vector<std::string> seen;
  auto record = [&](const Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(absl::StrCat(EventKindName(e.kind), ":", e.sql, ":", e.sqlstate));
  };
  CallbackHooks hooks;
  hooks.on_connect = record;
  hooks.on_query_start = [&](const Event& e) {
    record(e);
    throw std::runtime_error("a hook that throws");
  };
  hooks.on_query_end = [&](const Event& e) {
    record(e);
    throw 42;  // not even an exception type
  };
  hooks.on_query_error = record;
  ConnectionManagerBuilder b = Builder();
  b.SetHooks(std::move(hooks));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));

  absl::StatusOr<QueryResult> ok = m->Query("SELECT 7");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->Get(0, 0), "7");
  EXPECT_FALSE(m->Query("SELECT 1/0").ok());

  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"connect::", "query_start:SELECT 7:", "query_end:SELECT 7:",
                                      "query_start:SELECT 1/0:", "query_error:SELECT 1/0:22012"}));
}

// Waits (bounded) until backend `pid` has left pg_stat_activity and its
// process has exited. Leaving pg_stat_activity comes first; the process (and
// with it the socket, and possibly the last of its FATAL message) goes a
// moment later, and a client checking its socket in between sees nothing yet.
void WaitUntilGone(testing::ThrowawayPostgres& server, absl::string_view pid) {
  int n_pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(pid, &n_pid));
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<std::string> n =
        server.AdminQuery(absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE pid = ", pid));
    if (n.ok() && *n == "0" && kill(n_pid, 0) != 0 && errno == ESRCH) return;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ADD_FAILURE() << "backend " << pid << " still there after 5 s";
}

// A thread that terminates backend `pid` as soon as it is running a
// statement (bounded: gives up after 2.5 s and terminates it anyway).
std::thread KillWhenActive(testing::ThrowawayPostgres& server, std::string pid) {
  return std::thread([&server, pid] {
    for (int i = 0; i < 500; ++i) {
      absl::StatusOr<std::string> n = server.AdminQuery(absl::StrCat(
          "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid = ", pid));
      if (n.ok() && *n == "1") break;
      absl::SleepFor(absl::Milliseconds(5));
    }
    (void)server.AdminQuery(absl::StrCat("SELECT pg_terminate_backend(", pid, ")"));
  });
}

TEST_F(ManagerTest, AThawedInstanceWhoseConnectionWasKilledReconnectsSilently) {
  std::vector<Event> events;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) { events.push_back(e); };
  ConnectionManagerBuilder b = Builder();
  b.SetHooks(std::move(hooks));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  absl::StatusOr<QueryResult> pid = m->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  std::string first_pid(pid->Get(0, 0));
  std::string first_lease = m->application_name();

  // Frozen for 10 s; meanwhile something terminates the idle connection.
  EXPECT_EQ(Admin(absl::StrCat("SELECT pg_terminate_backend(", first_pid, ")")), "t");
  WaitUntilGone(*server_, first_pid);
  clock_.Advance(absl::Seconds(10));

  // Nothing was sent on the dead connection: the caller sees no error.
  absl::StatusOr<QueryResult> after = m->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->Get(0, 0), first_pid);
  EXPECT_NE(m->application_name(), first_lease) << "a reconnect signs a fresh lease";
  std::vector<std::string> kinds;
  for (const Event& e : events) {
    kinds.push_back(absl::StrCat(EventKindName(e.kind), e.source == EventSource::kNone ? "" : ":",
                                 EventSourceName(e.source)));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"connect", "query_start", "query_end",
                                             "client_dead:thaw_check", "reconnect", "query_start",
                                             "query_end"}));
}

// Found by the storm: a warm container thawed 500 ms after its connection
// was killed failed, because the thaw check only ran after invocation_gap (1 s).
TEST_F(ManagerTest, AShortThawAfterTheConnectionWasKilledStillReconnectsSilently) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  absl::StatusOr<QueryResult> pid = m->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  EXPECT_EQ(Admin(absl::StrCat("SELECT pg_terminate_backend(", pid->Get(0, 0), ")")), "t");
  WaitUntilGone(*server_, pid->Get(0, 0));
  clock_.Advance(absl::Milliseconds(200));  // far below invocation_gap
  absl::StatusOr<QueryResult> after = m->Query("SELECT 1");
  ASSERT_TRUE(after.ok()) << after.status();
}

TEST_F(ManagerTest, AConnectionLostDuringANonIdempotentStatementIsOutcomeUnknown) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  absl::StatusOr<QueryResult> pid = m->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  // Terminate the backend while it runs the statement.
  std::thread killer = KillWhenActive(*server_, std::string(pid->Get(0, 0)));
  absl::StatusOr<QueryResult> r = m->Query("SELECT pg_sleep(5)");
  killer.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnknown) << r.status();
  EXPECT_TRUE(IsOutcomeUnknown(r.status())) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "may or may not have taken effect"));
  // The next call works on a new connection.
  absl::StatusOr<QueryResult> next = m->Query("SELECT 1");
  ASSERT_TRUE(next.ok()) << next.status();
}

TEST_F(ManagerTest, AnIdempotentStatementIsRetriedOnANewConnection) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  absl::StatusOr<QueryResult> pid = m->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  std::string first(pid->Get(0, 0));
  std::thread killer = KillWhenActive(*server_, first);
  QueryOptions idempotent;
  idempotent.idempotent = true;
  absl::StatusOr<QueryResult> r =
      m->Query("SELECT pg_backend_pid() FROM pg_sleep(1)", {}, idempotent);
  killer.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->Get(0, 0), first);
}

TEST_F(ManagerTest, AThawedInstanceWhoseSessionTimedOutReconnectsSilently) {
  std::vector<std::string> kinds;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    kinds.push_back(absl::StrCat(EventKindName(e.kind), e.source == EventSource::kNone ? "" : ":",
                                 EventSourceName(e.source)));
  };
  ConnectionManagerBuilder b = Builder();
  b.SetHooks(std::move(hooks));
  b.mutable_options().idle_session_timeout = absl::Milliseconds(300);  // server backstop
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  absl::StatusOr<QueryResult> pid = m->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok()) << pid.status();
  // The server closes the idle session by itself (a real wait on the server).
  WaitUntilGone(*server_, pid->Get(0, 0));
  clock_.Advance(absl::Seconds(5));
  absl::StatusOr<QueryResult> after = m->Query("SELECT 1");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(kinds, (std::vector<std::string>{"connect", "query_start", "query_end",
                                             "client_dead:thaw_check", "reconnect", "query_start",
                                             "query_end"}));
}

TEST_F(ManagerTest, AuthenticationFailureIsNotRetried) {
  int connect_errors = 0;
  int retries = 0;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    connect_errors += e.kind == EventKind::kConnectError;
    retries += e.kind == EventKind::kRetry;
  };
  ConnectionManagerBuilder b = Builder();
  b.SetConninfo(absl::StrCat(server_->ConninfoFor("aequor_app"), " password=wrong"))
      .SetHooks(std::move(hooks))
      .UseRetryPolicy(PluginSpec("aequor.retry.decorrelated_jitter", {{"retries", "5"}}));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  absl::StatusOr<QueryResult> r = m->Query("SELECT 1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
  EXPECT_EQ(connect_errors, 1);
  EXPECT_EQ(retries, 0);
  EXPECT_TRUE(clock_.sleeps().empty()) << "no backoff for a bad password";
}

TEST_F(ManagerTest, ARefusedServerIsRetriedWithBackoffUntilTheConnectBudget) {
  int connect_errors = 0;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) { connect_errors += e.kind == EventKind::kConnectError; };
  ConnectionManagerBuilder b = Builder();
  ManagerOptions o;
  o.connect_budget = absl::Seconds(15);
  b.SetConninfo("host=127.0.0.1 port=1 dbname=x user=x")
      .SetConnectBudget(o.connect_budget)
      .SetHooks(std::move(hooks))
      .UseRetryPolicy(PluginSpec("aequor.retry.decorrelated_jitter",
                                 {{"retries", "3"}, {"base_ms", "100"}, {"cap_ms", "2000"}}));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  EXPECT_EQ(m->Connect().code(), absl::StatusCode::kUnavailable);
  // A failover takes longer than the policy's 3 retries (about 0.7 s): the
  // manager goes on, with the policy's backoff, until the budget.
  EXPECT_GT(connect_errors, 4) << "beyond 1 attempt + 3 retries";
  std::vector<absl::Duration> sleeps = clock_.sleeps();
  ASSERT_EQ(sleeps.size() + 1, static_cast<size_t>(connect_errors)) << "a sleep between attempts";
  absl::Duration total;
  for (absl::Duration d : sleeps) {
    EXPECT_GE(d, absl::Milliseconds(100));
    EXPECT_LE(d, absl::Milliseconds(2000));
    total += d;
  }
  EXPECT_LE(total, o.connect_budget);
  EXPECT_GT(total + absl::Milliseconds(2000), o.connect_budget) << "it used the budget";
}

TEST_F(ManagerTest, ANoRetryPolicyConnectsOnce) {
  int connect_errors = 0;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) { connect_errors += e.kind == EventKind::kConnectError; };
  ConnectionManagerBuilder b = Builder();
  b.SetConninfo("host=127.0.0.1 port=1 dbname=x user=x")
      .SetHooks(std::move(hooks))
      .UseRetryPolicy(PluginSpec("aequor.retry.none"));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  EXPECT_EQ(m->Connect().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(connect_errors, 1);
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(ManagerTest, AQueryThatMustConnectFirstKeepsToTheConnectBudget) {
  ConnectionManagerBuilder b = Builder();
  b.SetConninfo("host=127.0.0.1 port=1 dbname=x user=x")
      .SetConnectTimeout(absl::Seconds(2))
      .SetConnectBudget(absl::Seconds(3))
      .SetQueryBudget(absl::Seconds(20))
      .UseRetryPolicy(PluginSpec("aequor.retry.decorrelated_jitter",
                                 {{"retries", "3"}, {"base_ms", "100"}, {"cap_ms", "1000"}}));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  const absl::Time start = clock_.MonotonicNow();
  absl::StatusOr<QueryResult> r = m->Query("SELECT 1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_LE(clock_.MonotonicNow() - start, absl::Seconds(3)) << "connect_budget, not query_budget";
  EXPECT_GT(clock_.sleeps().size(), 3u) << "retried until the connect budget";
}

TEST_F(ManagerTest, WritingToAConnectionTheServerClosedRaisesNoSigpipe) {
  signal(SIGPIPE, SIG_DFL);  // the default action would kill this process
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  absl::StatusOr<QueryResult> pid = m->Query("SELECT pg_backend_pid()");
  ASSERT_TRUE(pid.ok());
  ASSERT_EQ(Admin(absl::StrCat("SELECT pg_terminate_backend(", pid->Get(0, 0), ")")), "t");
  WaitUntilGone(*server_, pid->Get(0, 0));
  // No thaw check (the clock has not moved): the statement goes to a closed
  // socket. A large parameter makes libpq write more than one packet.
  std::string big(256 * 1024, 'x');
  absl::StatusOr<QueryResult> r = m->Query("SELECT length($1)", {big});
  EXPECT_FALSE(r.ok());
  // Still alive; the next call reconnects.
  absl::StatusOr<QueryResult> next = m->Query("SELECT 1");
  EXPECT_TRUE(next.ok()) << next.status();
}

TEST_F(ManagerTest, ConnectFailuresAreClassified) {
  {
    ConnectionManagerBuilder b = Builder();
    b.SetConninfo(absl::StrCat(server_->ConninfoFor("aequor_app"), " password=wrong"));
    std::unique_ptr<ConnectionManager> m = Make(std::move(b));
    absl::Status s = m->Connect();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
    EXPECT_EQ(SqlState(s), "28P01") << s;
  }
  {
    ConnectionManagerBuilder b = Builder();
    b.SetConninfo(absl::StrCat(server_->ConninfoFor("aequor_app"), " dbname=no_such_db"));
    std::unique_ptr<ConnectionManager> m = Make(std::move(b));
    absl::Status s = m->Connect();
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_EQ(SqlState(s), "3D000") << s;
  }
  {
    ConnectionManagerBuilder b = Builder();
    b.SetConninfo("host=127.0.0.1 port=1 dbname=x user=x");
    std::unique_ptr<ConnectionManager> m = Make(std::move(b));
    absl::Status s = m->Connect();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "connect failed")) << s;
  }
}

TEST_F(ManagerTest, CallsFromManyThreadsAreSerialisedAndAllSucceed) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        absl::StatusOr<QueryResult> r = m->Query("SELECT $1::int * 2", {t * 1000 + i});
        if (r.ok() && r->Get(0, 0) == absl::StrCat((t * 1000 + i) * 2)) ++ok;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(ManagerTest, TheSecretAppearsInNoMessageOrEvent) {
  std::vector<Event> events;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) { events.push_back(e); };
  ConnectionManagerBuilder b = Builder();
  b.SetHooks(std::move(hooks));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  std::vector<std::string> texts;
  texts.push_back(m->Query("SELECT 1").status().ToString());
  texts.push_back(m->Query("SELECT 1/0").status().ToString());
  texts.push_back(m->application_name());
  m->Close();
  for (const Event& e : events) {
    texts.push_back(absl::StrCat(e.service, e.instance, e.sql, e.sqlstate, e.message,
                                 EventSourceName(e.source)));
  }
  ASSERT_GT(events.size(), 3u);
  for (const std::string& t : texts) EXPECT_FALSE(absl::StrContains(t, kSecret)) << t;
}

TEST(ManagerRestart, AThawedInstanceAfterAServerRestartReconnectsSilently) {
  auto started = testing::ThrowawayPostgres::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  testing::FakeClock clock{absl::Now()};
  auto m = ConnectionManagerBuilder()
               .SetConninfo((*started)->ConninfoFor("aequor_app"))
               .SetService("restart")
               .SetCoordinationSecret(kSecret)
               .SetClock(&clock)
               .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}))
               .Build();
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE((*m)->Query("SELECT 1").ok());
  ASSERT_TRUE((*started)->Restart().ok());
  clock.Advance(absl::Seconds(30));
  absl::StatusOr<QueryResult> after = (*m)->Query("SELECT 2");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->Get(0, 0), "2");
}

}  // namespace
}  // namespace aequor
