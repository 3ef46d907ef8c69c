// Tests of testing/throwaway_postgres.h against a real PostgreSQL 15 server.
#include "testing/throwaway_postgres.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testing/libpq_helpers.h"
#include "testing/postgres_test_base.h"
#include "testing/subprocess.h"

namespace aequor {
namespace testing {
namespace {

using Server = std::unique_ptr<ThrowawayPostgres>;

using Conn = pg::Conn;
using Result = pg::Result;

Server StartOrDie(const ThrowawayPostgresOptions& options = {}) {
  absl::StatusOr<Server> pg = ThrowawayPostgres::Start(options);
  EXPECT_TRUE(pg.ok()) << pg.status();
  return pg.ok() ? *std::move(pg) : nullptr;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Whether a TCP connection to 127.0.0.1:port is refused (ECONNREFUSED).
bool TcpRefused(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int rc = connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(fd);
  return rc != 0 && err == ECONNREFUSED;
}

// Alive and not a zombie.
const char* const kLoginRoles[] = {ThrowawayPostgres::kAppRole, ThrowawayPostgres::kApp2Role,
                                   ThrowawayPostgres::kReaperRole, ThrowawayPostgres::kSuperRole,
                                   ThrowawayPostgres::kAdminRole};

// One server of its own for the tests that only read.
class SharedServerTest : public PostgresTest<SharedServerTest> {
 public:
  static SuiteServer Server() { return SuiteServer::Own(); }
  static void SetUpTestSuite() {
    absl::Time start = absl::Now();
    PostgresTest::SetUpTestSuite();
    std::printf("ThrowawayPostgres::Start() took %s\n",
                absl::FormatDuration(absl::Now() - start).c_str());
  }

 protected:
  void SetUp() override { ASSERT_NE(server_, nullptr) << "the server did not start"; }
};

TEST_F(SharedServerTest, StartsPostgres15InAPrivateTmpDirectory) {
  EXPECT_TRUE(absl::StartsWith(server_->base_dir(), "/tmp/aequor-pg-")) << server_->base_dir();
  EXPECT_EQ(server_->data_dir(), server_->base_dir() + "/data");
  EXPECT_EQ(server_->socket_dir(), server_->base_dir() + "/socket");
  EXPECT_TRUE(PathExists(server_->data_dir() + "/PG_VERSION"));
  EXPECT_TRUE(PathExists(server_->log_path()));
  EXPECT_GT(server_->port(), 0);
  EXPECT_TRUE(server_->running());

  absl::StatusOr<std::string> version = server_->AdminQuery("SHOW server_version_num");
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_TRUE(absl::StartsWith(*version, "15")) << *version;

  struct stat st;
  ASSERT_EQ(stat(server_->base_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(SharedServerTest, ServerRunsAsPostgresUserWhenRoot) {
  struct stat st;
  ASSERT_EQ(stat(absl::StrCat("/proc/", server_->server_pid()).c_str(), &st), 0);
  if (geteuid() == 0) {
    EXPECT_NE(st.st_uid, 0u) << "the postmaster runs as root";
    EXPECT_EQ(server_->AdminQuery("SELECT current_setting('data_directory')").value_or(""),
              server_->data_dir());
  } else {
    EXPECT_EQ(st.st_uid, geteuid());
  }
}

TEST_F(SharedServerTest, EachRoleConnectsOverTcpAndSocket) {
  for (const char* role : kLoginRoles) {
    for (const std::string& conninfo :
         {server_->ConninfoFor(role), server_->SocketConninfoFor(role)}) {
      SCOPED_TRACE(conninfo);
      Conn conn = Connect(conninfo);
      ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
      EXPECT_EQ(QueryValue(conn.get(), "SELECT current_user"), role);
      EXPECT_EQ(QueryValue(conn.get(), "SELECT current_database()"), "aequor");
    }
  }
}

TEST_F(SharedServerTest, ConninfoHasTheDocumentedShape) {
  EXPECT_EQ(server_->ConninfoFor("aequor_app"),
            absl::StrCat("host=127.0.0.1 port=", server_->port(),
                         " dbname=aequor user=aequor_app password=aequor_app-pw"));
  EXPECT_EQ(server_->SocketConninfoFor("aequor_app"),
            absl::StrCat("host=", server_->socket_dir(), " port=", server_->port(),
                         " dbname=aequor user=aequor_app password=aequor_app-pw"));
  EXPECT_EQ(ThrowawayPostgres::PasswordFor("aequor_reaper"), "aequor_reaper-pw");
}

TEST_F(SharedServerTest, TcpConnectionReallyUsesTcp) {
  Conn conn = Connect(server_->ConninfoFor(ThrowawayPostgres::kAppRole));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(QueryValue(conn.get(), "SELECT host(inet_client_addr())"), "127.0.0.1");
  Conn local = Connect(server_->SocketConninfoFor(ThrowawayPostgres::kAppRole));
  ASSERT_EQ(PQstatus(local.get()), CONNECTION_OK) << PQerrorMessage(local.get());
  EXPECT_EQ(QueryValue(local.get(), "SELECT inet_client_addr() IS NULL"), "t");
}

TEST_F(SharedServerTest, WrongPasswordFailsAuthentication) {
  for (const std::string& conninfo :
       {server_->ConninfoFor(ThrowawayPostgres::kAppRole) + " password=wrong",
        server_->SocketConninfoFor(ThrowawayPostgres::kAppRole) + " password=wrong",
        server_->ConninfoFor(ThrowawayPostgres::kSuperRole) + " password=wrong",
        server_->ConninfoFor(ThrowawayPostgres::kAdminRole) + " password=wrong"}) {
    SCOPED_TRACE(conninfo);
    Conn conn = Connect(conninfo);
    EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD);
    EXPECT_TRUE(absl::StrContains(PQerrorMessage(conn.get()), "password authentication failed"))
        << PQerrorMessage(conn.get());
  }
}

TEST_F(SharedServerTest, MissingPasswordIsRefusedButAdminSocketIsTrusted) {
  std::string no_password = absl::StrCat("host=", server_->socket_dir(), " port=", server_->port(),
                                         " dbname=aequor user=aequor_app password=");
  Conn app = Connect(no_password);
  EXPECT_EQ(PQstatus(app.get()), CONNECTION_BAD);

  std::string admin = absl::StrCat("host=", server_->socket_dir(), " port=", server_->port(),
                                   " dbname=aequor user=postgres");
  Conn conn = Connect(admin);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(QueryValue(conn.get(), "SELECT current_user"), "postgres");
}

TEST_F(SharedServerTest, HbaAndPasswordsUseScram) {
  EXPECT_EQ(server_->AdminQuery("SHOW password_encryption").value_or(""), "scram-sha-256");
  EXPECT_EQ(server_
                ->AdminQuery("SELECT count(*) FROM pg_authid WHERE rolname LIKE 'aequor%' "
                             "AND rolpassword LIKE 'SCRAM-SHA-256$%'")
                .value_or(""),
            "4");
  absl::StatusOr<std::vector<std::vector<std::string>>> rules = server_->AdminQueryRows(
      "SELECT type, user_name::text, coalesce(address, ''), auth_method FROM pg_hba_file_rules "
      "ORDER BY line_number");
  ASSERT_TRUE(rules.ok()) << rules.status();
  std::vector<std::vector<std::string>> expected = {
      {"local", "{postgres}", "", "trust"},
      {"local", "{all}", "", "scram-sha-256"},
      {"host", "{all}", "127.0.0.1", "scram-sha-256"},
      {"host", "{all}", "::1", "scram-sha-256"},
  };
  EXPECT_EQ(*rules, expected);
}

TEST_F(SharedServerTest, ReaperHoldsReadAllStatsAndSignalBackend) {
  EXPECT_EQ(server_
                ->AdminQuery("SELECT pg_has_role('aequor_reaper', 'pg_read_all_stats', "
                             "'MEMBER') AND pg_has_role('aequor_reaper', "
                             "'pg_signal_backend', 'MEMBER')")
                .value_or(""),
            "t");
  EXPECT_EQ(server_
                ->AdminQuery("SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) "
                             "FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                             "JOIN pg_roles u ON u.oid = m.member "
                             "WHERE u.rolname = 'aequor_reaper'")
                .value_or(""),
            "pg_read_all_stats,pg_signal_backend");
  // The app roles hold neither; only aequor_super is a superuser.
  EXPECT_EQ(server_
                ->AdminQuery("SELECT count(*) FROM pg_auth_members m JOIN pg_roles u "
                             "ON u.oid = m.member WHERE u.rolname IN ('aequor_app', "
                             "'aequor_app2')")
                .value_or(""),
            "0");
  EXPECT_EQ(server_
                ->AdminQuery("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles "
                             "WHERE rolsuper")
                .value_or(""),
            "aequor_super,postgres");
}

TEST_F(SharedServerTest, ReaperSeesOtherRolesSessions) {
  Conn app = Connect(server_->ConninfoFor(ThrowawayPostgres::kAppRole) +
                     " application_name=reaper-visibility");
  ASSERT_EQ(PQstatus(app.get()), CONNECTION_OK) << PQerrorMessage(app.get());
  Conn reaper = Connect(server_->SocketConninfoFor(ThrowawayPostgres::kReaperRole));
  ASSERT_EQ(PQstatus(reaper.get()), CONNECTION_OK) << PQerrorMessage(reaper.get());
  EXPECT_EQ(QueryValue(reaper.get(),
                       "SELECT state FROM pg_stat_activity "
                       "WHERE application_name = 'reaper-visibility'"),
            "idle");
}

TEST_F(SharedServerTest, AppRolesCanCreateTables) {
  for (const char* role : {ThrowawayPostgres::kAppRole, ThrowawayPostgres::kApp2Role}) {
    SCOPED_TRACE(role);
    Conn conn = Connect(server_->ConninfoFor(role));
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    std::string table = absl::StrCat(role, "_table");
    Result created(PQexec(conn.get(), absl::StrCat("CREATE TABLE ", table,
                                                   " (id int); "
                                                   "INSERT INTO ",
                                                   table, " VALUES (7)")
                                          .c_str()));
    ASSERT_EQ(PQresultStatus(created.get()), PGRES_COMMAND_OK)
        << PQresultErrorMessage(created.get());
    EXPECT_EQ(QueryValue(conn.get(), absl::StrCat("SELECT id FROM public.", table).c_str()), "7");
    Result dropped(PQexec(conn.get(), absl::StrCat("DROP TABLE ", table).c_str()));
    EXPECT_EQ(PQresultStatus(dropped.get()), PGRES_COMMAND_OK);
  }
  EXPECT_EQ(server_
                ->AdminQuery("SELECT pg_get_userbyid(datdba) FROM pg_database "
                             "WHERE datname = 'aequor'")
                .value_or(""),
            "aequor_app");
}

TEST_F(SharedServerTest, SpeedSettingsAreApplied) {
  EXPECT_EQ(server_->AdminQuery("SHOW fsync").value_or(""), "off");
  EXPECT_EQ(server_->AdminQuery("SHOW synchronous_commit").value_or(""), "off");
  EXPECT_EQ(server_->AdminQuery("SHOW full_page_writes").value_or(""), "off");
  EXPECT_EQ(server_->AdminQuery("SHOW listen_addresses").value_or(""), "127.0.0.1");
  EXPECT_EQ(server_->AdminQuery("SHOW max_connections").value_or(""), "100");
  EXPECT_EQ(server_->AdminQuery("SHOW superuser_reserved_connections").value_or(""), "3");
  EXPECT_EQ(server_->AdminQuery("SHOW unix_socket_directories").value_or(""),
            server_->socket_dir());
}

TEST_F(SharedServerTest, AdminQueryReturnsFirstValueOrEmptyOrServerError) {
  EXPECT_EQ(server_->AdminQuery("SELECT 'a', 'b' UNION ALL SELECT 'c', 'd'").value_or("?"), "a");
  EXPECT_EQ(server_->AdminQuery("SELECT 1 WHERE false").value_or("?"), "");
  EXPECT_EQ(server_->AdminQuery("SELECT NULL").value_or("?"), "");
  EXPECT_EQ(server_->AdminQuery("CREATE TEMP TABLE t (x int); SELECT 42").value_or("?"), "42");
  EXPECT_EQ(server_->AdminQuery("SELECT current_user").value_or("?"), "postgres");

  absl::StatusOr<std::string> bad = server_->AdminQuery("SELECT * FROM no_such_table");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(
      absl::StrContains(bad.status().message(), "relation \"no_such_table\" does not exist"))
      << bad.status();
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "42P01")) << bad.status();
}

TEST_F(SharedServerTest, BackendPidsFindsSessionsByApplicationName) {
  std::string conninfo = server_->SocketConninfoFor(ThrowawayPostgres::kAppRole) +
                         " application_name='backend pids test'";
  Conn a = Connect(conninfo);
  Conn b = Connect(conninfo);
  ASSERT_EQ(PQstatus(a.get()), CONNECTION_OK) << PQerrorMessage(a.get());
  ASSERT_EQ(PQstatus(b.get()), CONNECTION_OK) << PQerrorMessage(b.get());
  std::vector<int> expected = {PQbackendPID(a.get()), PQbackendPID(b.get())};
  std::sort(expected.begin(), expected.end());
  absl::StatusOr<std::vector<int>> pids = server_->BackendPids("backend pids test");
  ASSERT_TRUE(pids.ok()) << pids.status();
  EXPECT_EQ(*pids, expected);
  EXPECT_TRUE(server_->BackendPids("nobody").value_or(std::vector<int>{1}).empty());
}

TEST_F(SharedServerTest, LogTailReadsTheServerLog) {
  ASSERT_TRUE(server_->AdminQuery("DO $$ BEGIN RAISE LOG 'marker-for-log-tail'; END $$").ok());
  // The log is written asynchronously to the query's reply only in theory:
  // postgres writes stderr before answering.
  EXPECT_TRUE(absl::StrContains(server_->LogTail(), "marker-for-log-tail")) << server_->LogTail();
}

// Tests that start servers of their own.

TEST(ThrowawayPostgresTest, MaxConnectionsAndExtraSettingsAreApplied) {
  ThrowawayPostgresOptions options;
  options.max_connections = 17;
  options.superuser_reserved_connections = 2;
  options.extra_settings = {{"work_mem", "8MB"}, {"application_name", "it's \\ quoted"}};
  Server pg = StartOrDie(options);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->AdminQuery("SHOW max_connections").value_or(""), "17");
  EXPECT_EQ(pg->AdminQuery("SHOW superuser_reserved_connections").value_or(""), "2");
  EXPECT_EQ(pg->AdminQuery("SHOW work_mem").value_or(""), "8MB");
  EXPECT_EQ(pg->AdminQuery("SELECT setting FROM pg_file_settings "
                           "WHERE name = 'application_name' ORDER BY seqno DESC LIMIT 1")
                .value_or(""),
            "it's \\ quoted");
}

TEST(ThrowawayPostgresTest, ExtraSettingsOverrideBuiltInOnes) {
  ThrowawayPostgresOptions options;
  options.extra_settings = {{"synchronous_commit", "on"}};
  Server pg = StartOrDie(options);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->AdminQuery("SHOW synchronous_commit").value_or(""), "on");
}

TEST(ThrowawayPostgresTest, SuperuserReservedSlotsStayFreeForAdmin) {
  ThrowawayPostgresOptions options;
  options.max_connections = 5;
  options.superuser_reserved_connections = 2;
  Server pg = StartOrDie(options);
  ASSERT_NE(pg, nullptr);
  std::vector<Conn> app;
  for (int i = 0; i < 3; ++i) {
    app.push_back(Connect(pg->SocketConninfoFor(ThrowawayPostgres::kAppRole)));
    ASSERT_EQ(PQstatus(app.back().get()), CONNECTION_OK) << PQerrorMessage(app.back().get());
  }
  Conn refused = Connect(pg->SocketConninfoFor(ThrowawayPostgres::kApp2Role));
  EXPECT_EQ(PQstatus(refused.get()), CONNECTION_BAD);
  EXPECT_TRUE(absl::StrContains(PQerrorMessage(refused.get()), "reserved"))
      << PQerrorMessage(refused.get());
  EXPECT_EQ(pg->AdminQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = 'aequor_app'")
                .value_or(""),
            "3");
}

TEST(ThrowawayPostgresTest, RestartCutsSessionsAndAcceptsNewConnections) {
  Server pg = StartOrDie();
  ASSERT_NE(pg, nullptr);
  Conn before = Connect(pg->ConninfoFor(ThrowawayPostgres::kAppRole));
  ASSERT_EQ(PQstatus(before.get()), CONNECTION_OK) << PQerrorMessage(before.get());
  ASSERT_TRUE(pg->AdminQuery("CREATE TABLE kept (x int); INSERT INTO kept VALUES (5)").ok());
  const pid_t old_pid = pg->server_pid();
  const int port = pg->port();

  absl::Time start = absl::Now();
  ASSERT_TRUE(pg->Restart().ok());
  std::printf("Restart() took %s\n", absl::FormatDuration(absl::Now() - start).c_str());
  EXPECT_TRUE(pg->running());
  EXPECT_NE(pg->server_pid(), old_pid);
  EXPECT_FALSE(ProcessAlive(old_pid));
  EXPECT_EQ(pg->port(), port);

  EXPECT_TRUE(absl::StartsWith(QueryValue(before.get(), "SELECT 1"), "ERROR"));
  EXPECT_EQ(PQstatus(before.get()), CONNECTION_BAD);

  for (const std::string& conninfo : {pg->ConninfoFor(ThrowawayPostgres::kAppRole),
                                      pg->SocketConninfoFor(ThrowawayPostgres::kReaperRole)}) {
    Conn after = Connect(conninfo);
    ASSERT_EQ(PQstatus(after.get()), CONNECTION_OK) << PQerrorMessage(after.get());
    EXPECT_EQ(QueryValue(after.get(), "SELECT 1"), "1");
  }
  EXPECT_EQ(pg->AdminQuery("SELECT x FROM kept").value_or(""), "5");
}

TEST(ThrowawayPostgresTest, StopThenRestartStartsAgain) {
  Server pg = StartOrDie();
  ASSERT_NE(pg, nullptr);
  const pid_t pid = pg->server_pid();
  ASSERT_TRUE(pg->Stop().ok());
  EXPECT_FALSE(pg->running());
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_TRUE(TcpRefused(pg->port()));
  EXPECT_TRUE(PathExists(pg->data_dir())) << "Stop() keeps the directory";
  absl::StatusOr<std::string> down = pg->AdminQuery("SELECT 1");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_TRUE(pg->Stop().ok()) << "stopping twice is fine";

  ASSERT_TRUE(pg->Restart().ok());
  EXPECT_EQ(pg->AdminQuery("SELECT 1").value_or(""), "1");
}

TEST(ThrowawayPostgresTest, DestructionRemovesDirectoryAndClosesPort) {
  Server pg = StartOrDie();
  ASSERT_NE(pg, nullptr);
  const std::string dir = pg->base_dir();
  const std::string conninfo = pg->ConninfoFor(ThrowawayPostgres::kAppRole);
  const int port = pg->port();
  const pid_t pid = pg->server_pid();
  ASSERT_TRUE(PathExists(dir));
  ASSERT_FALSE(TcpRefused(port));

  absl::Time start = absl::Now();
  pg.reset();
  std::printf("~ThrowawayPostgres() took %s\n", absl::FormatDuration(absl::Now() - start).c_str());
  EXPECT_FALSE(PathExists(dir));
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_TRUE(TcpRefused(port));
  Conn conn = Connect(conninfo);
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD);
  EXPECT_TRUE(absl::StrContains(PQerrorMessage(conn.get()), "Connection refused"))
      << PQerrorMessage(conn.get());
}

TEST(ThrowawayPostgresTest, DestructionWithOpenSessionsIsFast) {
  Server pg = StartOrDie();
  ASSERT_NE(pg, nullptr);
  std::vector<Conn> sessions;
  for (int i = 0; i < 5; ++i) {
    sessions.push_back(Connect(pg->SocketConninfoFor(ThrowawayPostgres::kAppRole)));
  }
  // One session stays in an open transaction, holding a lock.
  Result begun(PQexec(sessions[0].get(), "CREATE TABLE locked (x int); BEGIN; LOCK TABLE locked"));
  ASSERT_EQ(PQresultStatus(begun.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(begun.get());
  absl::Time start = absl::Now();
  pg.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(ThrowawayPostgresTest, WithoutRolesOnlyPostgresExists) {
  ThrowawayPostgresOptions options;
  options.create_roles = false;
  Server pg = StartOrDie(options);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(
      pg->AdminQuery("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'aequor%'").value_or(""),
      "0");
  Conn conn = Connect(pg->ConninfoFor(ThrowawayPostgres::kAdminRole));
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(QueryValue(conn.get(), "SELECT current_database()"), "aequor");
}

TEST(ThrowawayPostgresTest, InvalidOptionsAreRejected) {
  ThrowawayPostgresOptions options;
  options.max_connections = 3;
  options.superuser_reserved_connections = 3;
  EXPECT_EQ(ThrowawayPostgres::Start(options).status().code(), absl::StatusCode::kInvalidArgument);

  ThrowawayPostgresOptions bad_name;
  bad_name.extra_settings = {{"work_mem=1MB", "x"}};
  EXPECT_EQ(ThrowawayPostgres::Start(bad_name).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ThrowawayPostgresTest, FailedStartReportsServerLogAndLeavesNothing) {
  ThrowawayPostgresOptions options;
  options.extra_settings = {{"shared_buffers", "lots"}};
  absl::StatusOr<Server> pg = ThrowawayPostgres::Start(options);
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(pg.status().message(), "during start-up")) << pg.status();
  EXPECT_TRUE(absl::StrContains(pg.status().message(), "shared_buffers")) << pg.status();
  EXPECT_TRUE(absl::StrContains(pg.status().message(), "tail of /tmp/aequor-pg-")) << pg.status();
  // The directory named in the message is gone.
  std::string message(pg.status().message());
  size_t at = message.find("/tmp/aequor-pg-");
  ASSERT_NE(at, std::string::npos);
  std::string dir = message.substr(at, std::string("/tmp/aequor-pg-XXXXXX").size());
  EXPECT_FALSE(PathExists(dir)) << dir;
}

TEST(ThrowawayPostgresTest, StartsWithoutTemplate) {
  ThrowawayPostgresOptions options;
  options.reuse_initdb = false;
  absl::Time start = absl::Now();
  Server pg = StartOrDie(options);
  std::printf("Start() with initdb took %s\n", absl::FormatDuration(absl::Now() - start).c_str());
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->AdminQuery("SELECT current_user").value_or(""), "postgres");
}

TEST(ThrowawayPostgresTest, LaterStartsCopyTheTemplateCluster) {
  // Whatever ran before, the second of two servers is a copy.
  Server first = StartOrDie();
  absl::Time start = absl::Now();
  Server second = StartOrDie();
  std::printf("Start() of a copy took %s\n", absl::FormatDuration(absl::Now() - start).c_str());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_FALSE(PathExists(second->base_dir() + "/initdb.log"));
  EXPECT_TRUE(PathExists(second->base_dir() + "/copy.log"));
  // A copy is a complete, independent cluster.
  ASSERT_TRUE(first->AdminQuery("CREATE TABLE only_in_first (x int)").ok());
  EXPECT_EQ(second->AdminQuery("SELECT to_regclass('only_in_first') IS NULL").value_or(""), "t");
  Conn conn = Connect(second->ConninfoFor(ThrowawayPostgres::kReaperRole));
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
}

TEST(ThrowawayPostgresTest, ConcurrentStartsGetDistinctServers) {
  Server a, b;
  std::thread ta([&] { a = StartOrDie(); });
  std::thread tb([&] { b = StartOrDie(); });
  ta.join();
  tb.join();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->base_dir(), b->base_dir());
  // Started off the main thread: no crash guard, but still a working server
  // after the starting thread is gone.
  EXPECT_EQ(a->AdminQuery("SELECT 1").value_or(""), "1");
  EXPECT_EQ(b->AdminQuery("SELECT 1").value_or(""), "1");
}

// The crash guard: a process that dies without running the destructor takes
// its server down with it.
TEST(ThrowawayPostgresTest, ServerDiesWithACrashedProcess) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    absl::StatusOr<Server> pg = ThrowawayPostgres::Start();
    int pid = pg.ok() ? (*pg)->server_pid() : -1;
    char dir[64] = {};
    if (pg.ok()) std::snprintf(dir, sizeof(dir), "%s", (*pg)->base_dir().c_str());
    (void)!write(fds[1], &pid, sizeof(pid));
    (void)!write(fds[1], dir, sizeof(dir));
    kill(getpid(), SIGKILL);  // No destructor, no atexit.
  }
  close(fds[1]);
  int server_pid = -1;
  char dir[64] = {};
  ASSERT_EQ(read(fds[0], &server_pid, sizeof(server_pid)), static_cast<ssize_t>(sizeof(int)));
  ASSERT_EQ(read(fds[0], dir, sizeof(dir)), static_cast<ssize_t>(sizeof(dir)));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_GT(server_pid, 0) << "the child could not start a server";
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ProcessAlive(server_pid) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(ProcessAlive(server_pid));
  // The directory is left behind by a crash; clean it up here.
  std::string leftover(dir);
  ASSERT_TRUE(absl::StartsWith(leftover, "/tmp/aequor-pg-")) << leftover;
  EXPECT_EQ(std::system(absl::StrCat("rm -rf -- '", leftover, "'").c_str()), 0);
}

}  // namespace
}  // namespace testing
}  // namespace aequor
