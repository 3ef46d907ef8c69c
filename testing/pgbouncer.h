// testing/pgbouncer.h: a real PgBouncer (Debian's `pgbouncer`, 1.18) in
// front of a throwaway PostgreSQL server, for the tests of what a pooler in
// between does to leases, the reaper and the startup `options`.
//
// Start() makes a directory <tmpdir>/aequor-pg-bouncer-XXXXXX, writes
// pgbouncer.ini and userlist.txt into it and starts `pgbouncer` (in the
// foreground, as the server's user: it refuses root) on a free 127.0.0.1
// port. Every database name maps to the same-named database of the server,
// reached over the server's unix socket. The destructor stops it and removes
// the directory, also when a test failed.
//
//   absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> pg = ThrowawayPostgres::Start();
//   absl::StatusOr<std::unique_ptr<PgBouncer>> bouncer = PgBouncer::Start(**pg);
//   ASSERT_TRUE(bouncer.ok()) << bouncer.status();
//   PGconn* c = PQconnectdb((*bouncer)->ConninfoFor(ThrowawayPostgres::kAppRole).c_str());
//   // PQbackendPID(c) is PgBouncer's made-up pid; SELECT pg_backend_pid() the server's.
//
// Configuration: pool_mode (transaction by default, or session),
// ignore_startup_parameters (by default none, PgBouncer's default: a client
// that sends the startup parameter `options` is refused with "unsupported
// startup parameter: options"), default_pool_size, and any other
// `name = value` of the [pgbouncer] section. Clients authenticate with
// scram-sha-256 against userlist.txt, which holds the test password
// (ThrowawayPostgres::PasswordFor) of each role in options.roles; PgBouncer
// logs in to the server with the same password. No unix socket, no admin
// console, logging to pgbouncer.log in the directory.
//
// Readiness: Start() returns once a client connection as the first role of
// options.roles has run `SELECT 1` through it, so the pool of that role
// holds one idle server connection afterwards.
//
// As root, pgbouncer runs as the `postgres` system user. When Start() is
// called on the main thread, pgbouncer gets SIGTERM (its immediate shutdown)
// if this process dies without running the destructor (PR_SET_PDEATHSIG, as
// the server gets SIGQUIT).
//
// Environment: <tmpdir> is $AEQUOR_PG_TMPDIR if set, else /tmp (as for the
// server). The program is $AEQUOR_PGBOUNCER, else /usr/sbin/pgbouncer.
//
// Thread-safety: Start() is thread-safe (bouncers started concurrently get
// distinct directories and ports); the accessors and ConninfoFor() are
// thread-safe. Stop() is serialised with itself; the destructor must not
// race with any other call.
#ifndef AEQUOR_TESTING_PGBOUNCER_H_
#define AEQUOR_TESTING_PGBOUNCER_H_

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
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {

enum class PoolMode {
  kSession,      // One server connection per client, for the client's whole session.
  kTransaction,  // A server connection per transaction, shared by the clients in turn.
};

struct PgBouncerOptions {
  // pool_mode. Default kTransaction.
  PoolMode pool_mode = PoolMode::kTransaction;
  // ignore_startup_parameters: startup parameters PgBouncer accepts and drops
  // ("options", "extra_float_digits", ...). Default none, PgBouncer's
  // default. REQUIRES: each non-empty, letters, digits and '_' only.
  std::vector<std::string> ignore_startup_parameters;
  // default_pool_size: server connections per database and role. Default 20
  // (PgBouncer's default). REQUIRES: >= 1.
  int default_pool_size = 20;
  // The roles that may connect (userlist.txt), each with its test password.
  // Default: the four roles of ThrowawayPostgres (not `postgres`, which has
  // no password). REQUIRES: non-empty; names without '"' or whitespace.
  std::vector<std::string> roles = {ThrowawayPostgres::kAppRole, ThrowawayPostgres::kApp2Role,
                                    ThrowawayPostgres::kReaperRole, ThrowawayPostgres::kSuperRole};
  // More `name = value` lines of the [pgbouncer] section, after (and so
  // overriding) the built-in ones: e.g. {"client_idle_timeout", "5"}.
  // Default none. REQUIRES: names of letters, digits and '_'; values on
  // one line.
  std::vector<std::pair<std::string, std::string>> extra_settings;
  // How long Start() waits for the first query to pass, and Stop() for
  // pgbouncer to exit after SIGTERM. Default 30 s. REQUIRES: > 0.
  int timeout_seconds = 30;
};

class PgBouncer {
 public:
  // Writes the configuration and starts pgbouncer in front of `server`
  // (which must outlive the PgBouncer for its clients to get anywhere).
  // On failure nothing is left behind and the status names the step; when
  // pgbouncer did not come up, it ends with the tail of its log. Codes:
  // InvalidArgument (bad options), FailedPrecondition (the program or the
  // postgres user missing, the server stopped), Internal (a system call or
  // pgbouncer failed), DeadlineExceeded (no query passed in time).
  static absl::StatusOr<std::unique_ptr<PgBouncer>> Start(const ThrowawayPostgres& server,
                                                          const PgBouncerOptions& options = {});

  // Stops pgbouncer (SIGTERM, then SIGKILL) and removes the directory.
  ~PgBouncer();

  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;

  // libpq keyword/value conninfo through PgBouncer over TCP loopback:
  //   host=127.0.0.1 port=N dbname=aequor user=ROLE password=PasswordFor(ROLE)
  // Append " keyword=value" for more.
  std::string ConninfoFor(absl::string_view role) const;

  int port() const { return port_; }
  const PgBouncerOptions& options() const { return options_; }
  // The directory that holds pgbouncer.ini, userlist.txt and pgbouncer.log.
  const std::string& base_dir() const { return base_dir_; }
  const std::string& config_path() const { return config_path_; }
  // pgbouncer's own log (its stdout and stderr).
  const std::string& log_path() const { return log_path_; }
  // The last `max_bytes` of the log ("" if unreadable).
  std::string LogTail(size_t max_bytes = 4096) const;

  // pgbouncer's pid; -1 after Stop().
  pid_t pid() const;

  // SIGTERM (immediate shutdown: every client and server connection is
  // closed), SIGKILL when it is still there after the timeout. The directory
  // stays until destruction. OK if already stopped.
  absl::Status Stop();

 private:
  PgBouncer() = default;

  // Spawns pgbouncer on port_ and waits until a query passes through it. On
  // failure pgbouncer is stopped; `*port_in_use` tells whether its log said
  // the port was taken.
  absl::Status Launch(bool* port_in_use);
  absl::Status StopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  PgBouncerOptions options_;
  RunAs run_as_;
  std::string program_;
  std::string server_socket_dir_;
  int server_port_ = 0;
  std::string base_dir_;
  std::string config_path_;
  std::string log_path_;
  int port_ = 0;

  mutable std::mutex mu_;
  pid_t pid_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_PGBOUNCER_H_
