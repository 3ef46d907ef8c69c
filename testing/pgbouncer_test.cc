// Tests of testing/pgbouncer.h against Debian's PgBouncer 1.18 in front of
// the binary's shared PostgreSQL 15 server, and the PgBouncer behaviour
// docs/POSTGRES_FACTS.md ("PgBouncer") records.
#include "testing/pgbouncer.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testing/libpq_helpers.h"
#include "testing/postgres_test_base.h"
#include "testing/subprocess.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {
namespace {

using Bouncer = std::unique_ptr<PgBouncer>;

class PgBouncerTest : public PostgresTest<PgBouncerTest> {
 protected:
  static Bouncer StartOrFail(const PgBouncerOptions& options = {}) {
    absl::StatusOr<Bouncer> bouncer = PgBouncer::Start(*server_, options);
    EXPECT_TRUE(bouncer.ok()) << bouncer.status();
    return bouncer.ok() ? *std::move(bouncer) : nullptr;
  }

  static PgBouncerOptions SessionMode() {
    PgBouncerOptions options;
    options.pool_mode = PoolMode::kSession;
    return options;
  }

  // A client of `bouncer` as aequor_app with `application_name`.
  static pg::Conn Client(const PgBouncer& bouncer, const std::string& application_name) {
    pg::Conn conn = Connect(absl::StrCat(bouncer.ConninfoFor(ThrowawayPostgres::kAppRole),
                                         " application_name=", application_name));
    EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << pg::ErrorMessage(conn.get());
    return conn;
  }

  static int ServerPid(PGconn* conn) {
    int pid = 0;
    EXPECT_TRUE(absl::SimpleAtoi(QueryValue(conn, "SELECT pg_backend_pid()"), &pid));
    return pid;
  }

  // pg_stat_activity's application_name and query of server backend `pid`
  // ({} when there is no such backend).
  static std::vector<std::string> Backend(int pid) {
    absl::StatusOr<std::vector<std::vector<std::string>>> rows = server_->AdminQueryRows(
        absl::StrCat("SELECT application_name, query FROM pg_stat_activity WHERE pid = ", pid));
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok() || rows->empty()) return {};
    return rows->front();
  }

  // Closes `conn` and waits until PgBouncer has logged that it closed that
  // client (log_disconnections is on by default).
  static void CloseAndAwaitLogged(const PgBouncer& bouncer, pg::Conn conn) {
    struct sockaddr_in addr = {};
    socklen_t len = sizeof(addr);
    ASSERT_EQ(getsockname(PQsocket(conn.get()), reinterpret_cast<struct sockaddr*>(&addr), &len),
              0);
    const std::string line =
        absl::StrCat("@127.0.0.1:", ntohs(addr.sin_port), " closing because: client close request");
    conn.reset();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!absl::StrContains(bouncer.LogTail(1 << 16), line)) {
      ASSERT_LT(absl::Now(), deadline) << "not logged: " << line << "\n" << bouncer.LogTail();
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Running, and not a zombie waiting for its parent to reap it.
TEST_F(PgBouncerTest, TransactionModeByDefaultWithTheDocumentedConfiguration) {
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  EXPECT_GT(bouncer->pid(), 0);
  EXPECT_TRUE(absl::StartsWith(bouncer->base_dir(), "/tmp/aequor-pg-bouncer-") ||
              getenv("AEQUOR_PG_TMPDIR") != nullptr)
      << bouncer->base_dir();
  const std::string ini = ReadAll(bouncer->config_path());
  EXPECT_TRUE(absl::StrContains(ini, "pool_mode = transaction\n")) << ini;
  EXPECT_TRUE(absl::StrContains(ini, "auth_type = scram-sha-256\n")) << ini;
  EXPECT_TRUE(absl::StrContains(ini, absl::StrCat("listen_port = ", bouncer->port(), "\n")));
  EXPECT_FALSE(absl::StrContains(ini, "ignore_startup_parameters")) << ini;
  EXPECT_EQ(bouncer->ConninfoFor(ThrowawayPostgres::kAppRole),
            absl::StrCat("host=127.0.0.1 port=", bouncer->port(),
                         " dbname=aequor user=aequor_app password=aequor_app-pw"));
}

TEST_F(PgBouncerTest, ThroughTransactionModeTheStartupPidIsNotTheServerBackends) {
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  pg::Conn conn = Client(*bouncer, "pgb-fake-pid");
  const int server_pid = ServerPid(conn.get());
  EXPECT_NE(PQbackendPID(conn.get()), server_pid);
  // pg_backend_pid() is a real backend of the role; the startup's pid is no
  // backend at all.
  EXPECT_EQ(*server_->AdminQuery(
                absl::StrCat("SELECT usename FROM pg_stat_activity WHERE pid = ", server_pid)),
            "aequor_app");
  EXPECT_EQ(*server_->AdminQuery(absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE pid = ",
                                              PQbackendPID(conn.get()))),
            "0");
}

TEST_F(PgBouncerTest, ThroughTransactionModeTwoConnectedClientsShareOneServerSession) {
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  pg::Conn a = Client(*bouncer, "pgb-share-a");
  pg::Conn b = Client(*bouncer, "pgb-share-b");
  const int pid_a = ServerPid(a.get());
  EXPECT_EQ(ServerPid(b.get()), pid_a);
  EXPECT_EQ(ServerPid(a.get()), pid_a);
}

TEST_F(PgBouncerTest, ThroughSessionModeEachClientHasItsOwnServerSession) {
  Bouncer bouncer = StartOrFail(SessionMode());
  ASSERT_NE(bouncer, nullptr);
  EXPECT_TRUE(absl::StrContains(ReadAll(bouncer->config_path()), "pool_mode = session\n"));
  pg::Conn a = Client(*bouncer, "pgb-own-a");
  pg::Conn b = Client(*bouncer, "pgb-own-b");
  const int pid_a = ServerPid(a.get());
  EXPECT_NE(ServerPid(b.get()), pid_a);
  EXPECT_EQ(ServerPid(a.get()), pid_a);
  // Session mode answers the startup itself too.
  EXPECT_NE(PQbackendPID(a.get()), pid_a);
}

TEST_F(PgBouncerTest, TheDefaultConfigurationRefusesTheStartupOptionsParameter) {
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  pg::Conn conn = Connect(absl::StrCat(bouncer->ConninfoFor(ThrowawayPostgres::kAppRole),
                                       " options='-c idle_in_transaction_session_timeout=60000'"));
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD);
  EXPECT_TRUE(absl::StrContains(pg::ErrorMessage(conn.get()),
                                "FATAL:  unsupported startup parameter: options"))
      << pg::ErrorMessage(conn.get());
}

TEST_F(PgBouncerTest, IgnoringOptionsLetsTheConnectThroughButDropsItsSettings) {
  PgBouncerOptions options;
  options.ignore_startup_parameters = {"options"};
  Bouncer bouncer = StartOrFail(options);
  ASSERT_NE(bouncer, nullptr);
  EXPECT_TRUE(
      absl::StrContains(ReadAll(bouncer->config_path()), "ignore_startup_parameters = options\n"));
  pg::Conn conn = Connect(absl::StrCat(bouncer->ConninfoFor(ThrowawayPostgres::kAppRole),
                                       " options='-c idle_in_transaction_session_timeout=60000'"));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << pg::ErrorMessage(conn.get());
  // The setting never reaches the server session.
  EXPECT_EQ(QueryValue(conn.get(),
                       "SELECT setting FROM pg_settings "
                       "WHERE name = 'idle_in_transaction_session_timeout'"),
            "0");
}

TEST_F(PgBouncerTest, ClientsLogInWithTheRolesTestPasswordOnly) {
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  for (const char* role : {ThrowawayPostgres::kAppRole, ThrowawayPostgres::kApp2Role,
                           ThrowawayPostgres::kReaperRole, ThrowawayPostgres::kSuperRole}) {
    pg::Conn conn = Connect(bouncer->ConninfoFor(role));
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << role << ": " << pg::ErrorMessage(conn.get());
    EXPECT_EQ(QueryValue(conn.get(), "SELECT current_user"), role);
  }
  pg::Conn wrong = Connect(absl::StrCat("host=127.0.0.1 port=", bouncer->port(),
                                        " dbname=aequor user=aequor_app password=nope"));
  EXPECT_EQ(PQstatus(wrong.get()), CONNECTION_BAD);
  // PgBouncer's own wording, not the server's "password authentication failed".
  EXPECT_TRUE(
      absl::StrContains(pg::ErrorMessage(wrong.get()), "FATAL:  SASL authentication failed"))
      << pg::ErrorMessage(wrong.get());
}

// How application_name travels through transaction mode: PgBouncer keeps
// what the server reported for the client and SETs it on every server
// session the client's next transactions run on.
TEST_F(PgBouncerTest, ThroughTransactionModeASetConfigApplicationNameFollowsTheClient) {
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  pg::Conn a = Client(*bouncer, "pgb-travel-a");
  pg::Conn b = Client(*bouncer, "pgb-travel-b");
  EXPECT_EQ(QueryValue(a.get(), "SELECT set_config('application_name', 'lease-a', false)"),
            "lease-a");
  const int first = ServerPid(a.get());
  // b holds that server session in a transaction, so a's next statement
  // runs on another one.
  ASSERT_EQ(QueryValue(b.get(), "BEGIN"), "");
  ASSERT_EQ(ServerPid(b.get()), first);
  EXPECT_EQ(Backend(first).at(0), "pgb-travel-b");
  const int second = ServerPid(a.get());
  EXPECT_NE(second, first);
  EXPECT_EQ(QueryValue(a.get(), "SELECT current_setting('application_name')"), "lease-a");
  EXPECT_EQ(Backend(second).at(0), "lease-a");
  ASSERT_EQ(QueryValue(b.get(), "COMMIT"), "");
}

// After its client leaves, a transaction-mode server session keeps the
// client's application_name (no reset query runs) and waits in the pool.
TEST_F(PgBouncerTest, ThroughTransactionModeAServerSessionKeepsTheLastClientsName) {
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  pg::Conn a = Client(*bouncer, "pgb-keep-a");
  EXPECT_EQ(QueryValue(a.get(), "SELECT set_config('application_name', 'lease-keep', false)"),
            "lease-keep");
  const int pid = ServerPid(a.get());
  CloseAndAwaitLogged(*bouncer, std::move(a));
  const std::vector<std::string> backend = Backend(pid);
  ASSERT_EQ(backend.size(), 2u) << "server session " << pid << " is gone";
  EXPECT_EQ(backend[0], "lease-keep");
  EXPECT_EQ(backend[1], "SELECT pg_backend_pid()");
}

// Session mode runs its reset query (DISCARD ALL) when the client leaves,
// which takes application_name back to the server session's own ('').
TEST_F(PgBouncerTest, ThroughSessionModeAServerSessionIsResetWhenItsClientLeaves) {
  Bouncer bouncer = StartOrFail(SessionMode());
  ASSERT_NE(bouncer, nullptr);
  pg::Conn a = Client(*bouncer, "pgb-reset-a");
  EXPECT_EQ(QueryValue(a.get(), "SELECT set_config('application_name', 'lease-reset', false)"),
            "lease-reset");
  const int pid = ServerPid(a.get());
  EXPECT_EQ(Backend(pid).at(0), "lease-reset");
  CloseAndAwaitLogged(*bouncer, std::move(a));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::vector<std::string> backend = Backend(pid);
  while (backend.size() == 2 && backend[1] != "DISCARD ALL" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
    backend = Backend(pid);
  }
  ASSERT_EQ(backend.size(), 2u) << "server session " << pid << " is gone";
  EXPECT_EQ(backend[1], "DISCARD ALL");
  EXPECT_EQ(backend[0], "");
}

TEST_F(PgBouncerTest, RunsAsPostgresWhenRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "not root";
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  struct stat st;
  ASSERT_EQ(stat(absl::StrCat("/proc/", bouncer->pid()).c_str(), &st), 0);
  absl::StatusOr<RunAs> postgres = RunAs::User("postgres");
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  EXPECT_EQ(st.st_uid, postgres->uid);
}

TEST_F(PgBouncerTest, StopEndsItAndClosesThePortAndDestructionRemovesTheDirectory) {
  Bouncer bouncer = StartOrFail();
  ASSERT_NE(bouncer, nullptr);
  pg::Conn client = Client(*bouncer, "pgb-stop");
  const pid_t pid = bouncer->pid();
  const std::string dir = bouncer->base_dir();
  const std::string conninfo =
      absl::StrCat(bouncer->ConninfoFor(ThrowawayPostgres::kAppRole), " connect_timeout=5");
  ASSERT_TRUE(bouncer->Stop().ok());
  EXPECT_EQ(bouncer->pid(), -1);
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_TRUE(absl::StartsWith(QueryValue(client.get(), "SELECT 1"), "ERROR: "));
  EXPECT_EQ(PQstatus(Connect(conninfo).get()), CONNECTION_BAD);
  EXPECT_TRUE(bouncer->Stop().ok());  // Already stopped.
  bouncer.reset();
  struct stat st;
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " was left behind";
}

TEST_F(PgBouncerTest, InvalidOptionsAreRejected) {
  auto rejected = [](const PgBouncerOptions& options) {
    return PgBouncer::Start(*server_, options).status().code();
  };
  PgBouncerOptions no_roles;
  no_roles.roles.clear();
  EXPECT_EQ(rejected(no_roles), absl::StatusCode::kInvalidArgument);
  PgBouncerOptions pool;
  pool.default_pool_size = 0;
  EXPECT_EQ(rejected(pool), absl::StatusCode::kInvalidArgument);
  PgBouncerOptions ignore;
  ignore.ignore_startup_parameters = {"options, x"};
  EXPECT_EQ(rejected(ignore), absl::StatusCode::kInvalidArgument);
  PgBouncerOptions setting;
  setting.extra_settings = {{"client_idle_timeout", "5\npool_mode = session"}};
  EXPECT_EQ(rejected(setting), absl::StatusCode::kInvalidArgument);
  PgBouncerOptions role;
  role.roles = {"a\" b"};
  EXPECT_EQ(rejected(role), absl::StatusCode::kInvalidArgument);
}

TEST_F(PgBouncerTest, ExtraSettingsReachTheConfiguration) {
  PgBouncerOptions options;
  options.default_pool_size = 3;
  options.extra_settings = {{"client_idle_timeout", "600"}};
  Bouncer bouncer = StartOrFail(options);
  ASSERT_NE(bouncer, nullptr);
  const std::string ini = ReadAll(bouncer->config_path());
  EXPECT_TRUE(absl::StrContains(ini, "default_pool_size = 3\n")) << ini;
  EXPECT_TRUE(absl::StrContains(ini, "client_idle_timeout = 600\n")) << ini;
}

// The crash guard: a process that dies without running the destructor takes
// its PgBouncer down with it.
TEST_F(PgBouncerTest, PgBouncerDiesWithACrashedProcess) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    absl::StatusOr<Bouncer> bouncer = PgBouncer::Start(*server_);
    int pid = bouncer.ok() ? (*bouncer)->pid() : -1;
    char dir[96] = {};
    if (bouncer.ok()) std::snprintf(dir, sizeof(dir), "%s", (*bouncer)->base_dir().c_str());
    (void)!write(fds[1], &pid, sizeof(pid));
    (void)!write(fds[1], dir, sizeof(dir));
    kill(getpid(), SIGKILL);  // No destructor, no atexit.
  }
  close(fds[1]);
  int bouncer_pid = -1;
  char dir[96] = {};
  ASSERT_EQ(read(fds[0], &bouncer_pid, sizeof(bouncer_pid)), static_cast<ssize_t>(sizeof(int)));
  ASSERT_EQ(read(fds[0], dir, sizeof(dir)), static_cast<ssize_t>(sizeof(dir)));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_GT(bouncer_pid, 0) << "the child could not start a PgBouncer";
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ProcessAlive(bouncer_pid) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE(ProcessAlive(bouncer_pid));
  // The directory is left behind by a crash; clean it up here.
  const std::string leftover(dir);
  ASSERT_TRUE(absl::StrContains(leftover, "/aequor-pg-bouncer-")) << leftover;
  EXPECT_EQ(std::system(absl::StrCat("rm -rf -- '", leftover, "'").c_str()), 0);
}

}  // namespace
}  // namespace testing
}  // namespace aequor
