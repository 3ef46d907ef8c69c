// testing/throwaway_postgres.h: a real, throwaway PostgreSQL 15 server for
// tests, examples and benchmarks.
//
// Start() makes a fresh directory <tmpdir>/aequor-pg-XXXXXX, puts a cluster
// with the database `aequor` and (by default) the roles below in it, and
// starts `postgres` on a free 127.0.0.1 port and on a unix socket in that
// directory. The destructor stops the server and removes the directory, also
// when a test failed. It is the real server, tuned for speed (fsync=off,
// synchronous_commit=off, full_page_writes=off, small shared_buffers).
//
//   absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> pg = ThrowawayPostgres::Start();
//   ASSERT_TRUE(pg.ok()) << pg.status();
//   PGconn* c = PQconnectdb((*pg)->ConninfoFor(ThrowawayPostgres::kAppRole).c_str());
//   ...
//   (*pg)->AdminQuery("SELECT count(*) FROM pg_stat_activity");  // as superuser
//
// A GoogleTest suite that wants one server for all its tests derives its
// fixture from PostgresTest (testing/postgres_test_base.h); a binary that
// wants one for all its tests uses SharedPostgres()
// (testing/postgres_environment.h).
//
// Roles (when ThrowawayPostgresOptions::create_roles):
//   aequor_app, aequor_app2  LOGIN; aequor_app owns database `aequor`, both
//                            may CONNECT and CREATE in it and in schema public.
//   aequor_reaper            LOGIN, member of pg_read_all_stats and
//                            pg_signal_backend.
//   aequor_super             SUPERUSER LOGIN.
//   postgres                 the bootstrap superuser (always); AdminQuery uses it.
// Every password is PasswordFor(role), i.e. role + "-pw" (test-only secrets).
// A test that creates its own role should give it PasswordFor(its name), so
// that ConninfoFor(its name) works for it too.
//
// Authentication (pg_hba.conf): `local all postgres trust` for the admin, and
// scram-sha-256 for every other unix-socket and host (127.0.0.1/32, ::1/128)
// connection, so a wrong password fails with "password authentication failed".
//
// As root, the server programs run as the `postgres` system user (initdb and
// postgres refuse root); the directory belongs to the user the server runs
// as. When Start()/Restart() is called on the main thread, the postmaster
// gets SIGQUIT if this process dies without running the destructor; from
// other threads a crashed test leaves the server running (tools/test.sh
// stops such leftovers: their command line contains "aequor-pg-").
//
// From the second Start() in a process on, the cluster is a copy of a
// template made once per process (unless options.reuse_initdb is false).
//
// Environment: <tmpdir> is $AEQUOR_PG_TMPDIR if set (/dev/shm makes start-up
// several times faster), else /tmp; not $TEST_TMPDIR, which the postgres user
// may not be able to enter. The programs come from $AEQUOR_PG_BINDIR, else
// /usr/lib/postgresql/15/bin (Debian's postgresql-15).
//
// Thread-safety: Start() is thread-safe (servers started concurrently get
// distinct directories and ports). The accessors, ConninfoFor(),
// SocketConninfoFor(), AdminQuery(), AdminQueryRows() and BackendPids() are
// thread-safe (each query opens its own connection). Stop(), StopImmediately()
// and Restart() are serialised with each other; queries running meanwhile
// fail. The destructor must not race with any other call.
#ifndef AEQUOR_TESTING_THROWAWAY_POSTGRES_H_
#define AEQUOR_TESTING_THROWAWAY_POSTGRES_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "testing/run_as.h"

namespace aequor {
namespace testing {
class ThrowawayPostgres;

struct ThrowawayPostgresOptions {
  // postgres -c max_connections. Default 100. REQUIRES: greater than
  // superuser_reserved_connections.
  int max_connections = 100;
  // postgres -c superuser_reserved_connections. Default 3. REQUIRES: >= 0.
  int superuser_reserved_connections = 3;
  // More `-c name=value` settings, passed after (and so overriding) the
  // built-in ones. Default none. REQUIRES: names non-empty, without '='.
  std::vector<std::pair<std::string, std::string>> extra_settings;
  // Create the roles aequor_app, aequor_app2, aequor_reaper and aequor_super
  // (see the file comment). Default true. When false, database `aequor` is
  // owned by postgres and only postgres exists.
  bool create_roles = true;
  // From the second Start() in a process on, copy a template cluster instead
  // of running initdb. Default true.
  bool reuse_initdb = true;
  // How long Start()/Restart() wait for the server to accept connections, and
  // Stop() for each shutdown mode. Default 30 s.
  int timeout_seconds = 30;
  // Also let postgres connect for replication over the unix socket (the
  // pg_hba.conf line `local replication postgres trust`), so that a standby
  // can be made of this server (testing/standby.h). Default false.
  bool allow_replication = false;
  // When set: instead of a new cluster, the data directory is a copy of this
  // running server (started with allow_replication), made with
  // `pg_basebackup -R` as postgres over its unix socket, so the server starts
  // as its streaming standby (testing/standby.h); create_roles and
  // reuse_initdb do not apply. Default nullptr. REQUIRES: outlives Start().
  const ThrowawayPostgres* standby_of = nullptr;
};

class ThrowawayPostgres {
 public:
  static constexpr const char kAdminRole[] = "postgres";
  static constexpr const char kAppRole[] = "aequor_app";
  static constexpr const char kApp2Role[] = "aequor_app2";
  static constexpr const char kReaperRole[] = "aequor_reaper";
  static constexpr const char kSuperRole[] = "aequor_super";
  static constexpr const char kDatabase[] = "aequor";

  // Makes the directory, prepares (or copies) the cluster with its database
  // and roles, and starts the server. On failure nothing is left behind and the
  // status names the step that failed; when the server did not start, it ends
  // with the tail of the server log. Codes: InvalidArgument (bad options),
  // FailedPrecondition (binaries or the postgres user missing), Internal (a
  // system call or program failed), DeadlineExceeded (no answer in time).
  static absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> Start(
      const ThrowawayPostgresOptions& options = {});

  // Stops the server (fast shutdown, then immediate, then SIGKILL if needed)
  // and removes the directory. Never throws.
  ~ThrowawayPostgres();

  ThrowawayPostgres(const ThrowawayPostgres&) = delete;
  ThrowawayPostgres& operator=(const ThrowawayPostgres&) = delete;

  // The test password of `role`: role + "-pw".
  static std::string PasswordFor(absl::string_view role);

  // libpq keyword/value conninfo over TCP loopback:
  //   host=127.0.0.1 port=N dbname=aequor user=ROLE password=PasswordFor(ROLE)
  // Values are quoted when needed. Append " keyword=value" for more.
  std::string ConninfoFor(absl::string_view role) const;
  // The same over the unix socket: host=socket_dir() port=N ...
  std::string SocketConninfoFor(absl::string_view role) const;

  int port() const { return port_; }
  // The directory that holds everything: /tmp/aequor-pg-XXXXXX. Besides
  // data/, socket/ and server.log it may hold initdb.log and setup.log.
  const std::string& base_dir() const { return base_dir_; }
  // The unix socket directory (base_dir()/socket).
  const std::string& socket_dir() const { return socket_dir_; }
  // The data directory (base_dir()/data).
  const std::string& data_dir() const { return data_dir_; }
  // The server's log (stdout and stderr of postgres), base_dir()/server.log.
  const std::string& log_path() const { return log_path_; }
  // The last `max_bytes` of the server log ("" if unreadable).
  std::string LogTail(size_t max_bytes = 4096) const;

  // The postmaster's pid; -1 after Stop() (or a failed Restart()).
  pid_t server_pid() const;
  // Started and not stopped since (not a liveness probe: use AdminQuery()).
  bool running() const { return server_pid() > 0; }

  // Fast shutdown, then starts again on the same port and directories (the
  // effect of `pg_ctl restart -m fast`): every session is cut off. Also starts
  // a stopped server. FailedPrecondition after the directory was removed;
  // Internal/DeadlineExceeded (with the log tail) if the server does not come
  // back, e.g. because another process took the port meanwhile.
  absl::Status Restart();
  // Fast shutdown; immediate shutdown if that takes longer than the timeout,
  // SIGKILL as a last resort. The directory stays (for Restart() or to read the
  // log) until destruction. OK if already stopped.
  absl::Status Stop();
  // Immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`): every
  // backend exits at once, without a checkpoint, as in a crash; SIGKILL if
  // that takes longer than 10 s. Returns once the postmaster has exited.
  absl::Status StopImmediately();

  // Runs `sql` (one or more statements) as postgres in database aequor, over
  // the unix socket (a new connection each call), and
  // returns the first column of the first row of the last result, "" if it
  // has no rows or the value is NULL. On a server error: the status carries
  // the server's message and its SQLSTATE (Internal, or Unavailable when the
  // connection could not be made).
  absl::StatusOr<std::string> AdminQuery(absl::string_view sql) const;
  // Like AdminQuery() but returns every row, every column (NULL as "").
  absl::StatusOr<std::vector<std::vector<std::string>>> AdminQueryRows(absl::string_view sql) const;
  // The pids of the client backends whose application_name is exactly
  // `application_name`, ascending (none: empty).
  absl::StatusOr<std::vector<int>> BackendPids(absl::string_view application_name) const;

 private:
  ThrowawayPostgres() = default;

  // Launches the postmaster on port_ and waits until it accepts connections.
  // On failure the postmaster is stopped; `*port_in_use` tells whether the log
  // said the port was taken (so Start() can retry on another).
  absl::Status LaunchLocked(bool* port_in_use) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status StopLocked(bool immediate = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How AdminQuery() and BackendPids() connect: as postgres over the socket.
  std::string AdminConninfo() const;

  ThrowawayPostgresOptions options_;
  RunAs run_as_;
  std::string bindir_;
  std::string base_dir_;
  std::string data_dir_;
  std::string socket_dir_;
  std::string log_path_;
  int port_ = 0;

  mutable std::mutex mu_;
  pid_t pid_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_THROWAWAY_POSTGRES_H_
