// testing/throwaway_postgres.cc: see throwaway_postgres.h. The server's
// lifecycle and queries; the cluster is made in postgres_cluster.cc.
#include "testing/throwaway_postgres.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "testing/file_util.h"
#include "testing/posix_error.h"
#include "testing/server_net.h"
#include "testing/postgres_cluster.h"
#include "testing/subprocess.h"
#include "util/pg.h"

namespace aequor {
namespace testing {
namespace {

constexpr char kDefaultBindir[] = "/usr/lib/postgresql/15/bin";
constexpr int kPortAttempts = 10;

bool ValidSettingName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  }
  return true;
}

absl::Status ValidateOptions(const ThrowawayPostgresOptions& options) {
  if (options.superuser_reserved_connections < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("superuser_reserved_connections must be >= 0, got ",
                     options.superuser_reserved_connections));
  }
  if (options.max_connections <= options.superuser_reserved_connections) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_connections (", options.max_connections,
                     ") must be greater than superuser_reserved_connections (",
                     options.superuser_reserved_connections, ")"));
  }
  if (options.timeout_seconds <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout_seconds must be > 0, got ", options.timeout_seconds));
  }
  for (const auto& [name, value] : options.extra_settings) {
    if (!ValidSettingName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("extra_settings: invalid setting name '", name,
                                                     "' (letters, digits, '_' and '.' only)"));
    }
  }
  return absl::OkStatus();
}

// $AEQUOR_PG_BINDIR or the default, checked to hold initdb and postgres.
absl::StatusOr<std::string> ServerBindir() {
  const char* bindir_env = getenv("AEQUOR_PG_BINDIR");
  std::string bindir = bindir_env != nullptr && bindir_env[0] != '\0' ? bindir_env : kDefaultBindir;
  for (const char* program : {"initdb", "postgres"}) {
    std::string path = absl::StrCat(bindir, "/", program);
    if (access(path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "PostgreSQL server program ", path, " is missing or not executable (", ErrnoText(errno),
          "); install Debian's postgresql-15 or set AEQUOR_PG_BINDIR"));
    }
  }
  return bindir;
}

// Runs `sql` (the simple protocol, or the extended one when params are
// given) and returns all rows, NULL as "".
absl::StatusOr<std::vector<std::vector<std::string>>> RunQuery(
    const std::string& conninfo, absl::string_view sql, const std::vector<std::string>& params) {
  pg::Conn conn(PQconnectdb(conninfo.c_str()));
  if (conn == nullptr) return absl::ResourceExhaustedError("PQconnectdb: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("connecting as postgres: ", pg::ErrorMessage(conn.get())));
  }
  pg::Outcome out = pg::Exec(conn.get(), std::string(sql), params);
  if (!out.ok()) {
    const std::string& sqlstate = out.sqlstate();
    return absl::InternalError(absl::StrCat("query failed", sqlstate.empty() ? "" : " (SQLSTATE ",
                                            sqlstate, sqlstate.empty() ? "" : ")", ": ",
                                            out.message(), " [sql: ", sql, "]"));
  }
  std::vector<std::vector<std::string>> rows;
  const PGresult* result = out.get();
  if (PQresultStatus(result) == PGRES_TUPLES_OK) {
    const int n = PQntuples(result);
    const int cols = PQnfields(result);
    rows.reserve(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      std::vector<std::string>& row = rows.emplace_back();
      for (int c = 0; c < cols; ++c) {
        row.emplace_back(PQgetisnull(result, r, c) ? "" : PQgetvalue(result, r, c));
      }
    }
  }
  return rows;
}

// A new cluster (cluster::MakeCluster), or a copy of a running server made
// with pg_basebackup -R (options.standby_of); then, when asked, the
// replication line in pg_hba.conf.
absl::Status MakeDataDir(const std::string& bindir, const RunAs& who, const std::string& data_dir,
                         const std::string& work_dir, const ThrowawayPostgresOptions& options) {
  if (options.standby_of == nullptr) {
    if (absl::Status s = cluster::MakeCluster(bindir, who, data_dir, work_dir, options); !s.ok()) {
      return s;
    }
  } else {
    const ThrowawayPostgres& primary = *options.standby_of;
    SpawnSpec backup = cluster::ServerProgram(
        {bindir + "/pg_basebackup", "-D", data_dir, "-h", primary.socket_dir(), "-p",
         absl::StrCat(primary.port()), "-U", ThrowawayPostgres::kAdminRole, "-w", "-R", "-X",
         "stream", "-c", "fast", "--no-sync"},
        work_dir, work_dir + "/basebackup.log", who);
    if (absl::Status s = RunToCompletion(backup, "pg_basebackup"); !s.ok()) return s;
  }
  if (!options.allow_replication) return absl::OkStatus();
  return WriteFile(data_dir + "/pg_hba.conf", "local   replication  postgres  trust\n",
                   WriteMode::kAppend, who);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> ThrowawayPostgres::Start(
    const ThrowawayPostgresOptions& options) {
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) return valid;
  absl::StatusOr<std::string> bindir = ServerBindir();
  if (!bindir.ok()) return bindir.status();
  absl::StatusOr<RunAs> run_as = cluster::ServerUser();
  if (!run_as.ok()) return run_as.status();

  // From here on the destructor cleans up whatever was made.
  std::unique_ptr<ThrowawayPostgres> pg(new ThrowawayPostgres());
  pg->options_ = options;
  pg->run_as_ = *std::move(run_as);
  pg->bindir_ = *std::move(bindir);
  const RunAs& who = pg->run_as_;

  absl::StatusOr<std::string> base = MakeTempDir(cluster::TempParent(), "aequor-pg-", who);
  if (!base.ok()) return base.status();
  pg->base_dir_ = *base;
  pg->data_dir_ = pg->base_dir_ + "/data";
  pg->socket_dir_ = pg->base_dir_ + "/socket";
  pg->log_path_ = pg->base_dir_ + "/server.log";
  if (absl::Status s = MakeDir(pg->socket_dir_, who); !s.ok()) return s;
  // sockaddr_un.sun_path holds 107 characters.
  if (pg->socket_dir_.size() + std::strlen("/.s.PGSQL.65535") > 107) {
    return absl::InvalidArgumentError(absl::StrCat("the socket path under ", pg->socket_dir_,
                                                   " is too long; set a shorter AEQUOR_PG_TMPDIR"));
  }
  if (absl::Status s = MakeDataDir(pg->bindir_, who, pg->data_dir_, pg->base_dir_, options);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          WriteFile(pg->data_dir_ + "/postgresql.conf",
                    cluster::ServerSettings(options, pg->socket_dir_), WriteMode::kAppend, who);
      !s.ok()) {
    return s;
  }

  // Start on a free port; retry on another if someone took it meanwhile.
  absl::Status started;
  for (int attempt = 1; attempt <= kPortAttempts; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    pg->port_ = *port;
    bool port_in_use = false;
    {
      std::lock_guard<std::mutex> lock(pg->mu_);
      started = pg->LaunchLocked(&port_in_use);
    }
    if (started.ok() || !port_in_use) break;
  }
  if (!started.ok()) return started;
  return pg;
}

absl::Status ThrowawayPostgres::LaunchLocked(bool* port_in_use) {
  *port_in_use = false;
  if (pid_ > 0) return absl::OkStatus();
  if (base_dir_.empty() || access(data_dir_.c_str(), F_OK) != 0) {
    return absl::FailedPreconditionError("the server's directory was removed");
  }
  const off_t log_offset = FileSize(log_path_);
  SpawnSpec spec =
      cluster::ServerProgram({bindir_ + "/postgres", "-D", data_dir_, "-p", absl::StrCat(port_)},
                             base_dir_, log_path_, run_as_);
  spec.group = ProcessGroup::kNewSession;  // Ctrl-C in a terminal stops the test, not the server.
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  if (!child.ok()) return child.status();
  pid_ = child->pid;

  const std::string ping = absl::StrCat("host=", ConninfoValue(socket_dir_), " port=", port_,
                                        " dbname=postgres user=postgres connect_timeout=5");
  const absl::Duration timeout = absl::Seconds(options_.timeout_seconds);
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Microseconds(500);
  while (true) {
    if (std::optional<ExitStatus> exited = ReapIfExited(pid_); exited.has_value()) {
      pid_ = -1;
      std::string log = ReadFileTail(log_path_, 1 << 20, log_offset);
      *port_in_use = absl::StrContains(log, "Address already in use");
      std::string tail = log.size() > 4096 ? log.substr(log.size() - 4096) : log;
      return absl::InternalError(absl::StrCat("postgres (port ", port_, ") ", exited->Describe(),
                                              " during start-up", TailSuffix(tail, log_path_)));
    }
    if (PQping(ping.c_str()) == PQPING_OK) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      std::string tail = ReadFileTail(log_path_, 4096, log_offset);
      (void)StopLocked();
      return absl::DeadlineExceededError(
          absl::StrCat("postgres (port ", port_, ") did not accept connections within ",
                       absl::FormatDuration(timeout), TailSuffix(tail, log_path_)));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(10));
  }
}

absl::Status ThrowawayPostgres::StopLocked(bool immediate) {
  if (pid_ <= 0) return absl::OkStatus();
  const pid_t pid = pid_;
  const absl::Duration timeout = absl::Seconds(options_.timeout_seconds);
  // Fast shutdown (unless immediate), then immediate shutdown, then SIGKILL.
  struct Step {
    int sig;
    absl::Duration wait;
  };
  const Step steps[] = {{SIGINT, timeout}, {SIGQUIT, absl::Seconds(10)}, {SIGKILL, timeout}};
  const int first_sig = immediate ? SIGQUIT : SIGINT;
  for (const Step& step : steps) {
    if (step.sig == SIGINT && immediate) continue;
    if (absl::IsNotFound(SendSignal(pid, step.sig))) {
      (void)ReapIfExited(pid);
      pid_ = -1;
      return absl::OkStatus();
    }
    if (WaitForExit(pid, step.wait).has_value()) {
      pid_ = -1;
      if (step.sig != first_sig) {
        return absl::InternalError(absl::StrCat(
            "postgres (pid ", pid, ") ignored ", immediate ? "immediate" : "fast",
            " shutdown; stopped with signal ", step.sig, TailSuffix(LogTail(), log_path_)));
      }
      return absl::OkStatus();
    }
  }
  return absl::InternalError(absl::StrCat("postgres (pid ", pid, ") survived SIGKILL"));
}

absl::Status ThrowawayPostgres::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  return StopLocked();
}

absl::Status ThrowawayPostgres::StopImmediately() {
  std::lock_guard<std::mutex> lock(mu_);
  return StopLocked(/*immediate=*/true);
}

absl::Status ThrowawayPostgres::Restart() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = StopLocked(); !s.ok()) return s;
  bool port_in_use = false;
  absl::Status s = LaunchLocked(&port_in_use);
  if (!s.ok() && port_in_use) {
    return absl::Status(s.code(),
                        absl::StrCat("restart: port ", port_,
                                     " was taken while the server was down: ", s.message()));
  }
  return s;
}

ThrowawayPostgres::~ThrowawayPostgres() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    (void)StopLocked();
  }
  RemoveTree(base_dir_);
}

pid_t ThrowawayPostgres::server_pid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pid_;
}

std::string ThrowawayPostgres::PasswordFor(absl::string_view role) {
  return absl::StrCat(role, "-pw");
}

std::string ThrowawayPostgres::ConninfoFor(absl::string_view role) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " dbname=", kDatabase,
                      " user=", ConninfoValue(role),
                      " password=", ConninfoValue(PasswordFor(role)));
}

std::string ThrowawayPostgres::SocketConninfoFor(absl::string_view role) const {
  return absl::StrCat("host=", ConninfoValue(socket_dir_), " port=", port_, " dbname=", kDatabase,
                      " user=", ConninfoValue(role),
                      " password=", ConninfoValue(PasswordFor(role)));
}

std::string ThrowawayPostgres::LogTail(size_t max_bytes) const {
  return ReadFileTail(log_path_, max_bytes);
}

std::string ThrowawayPostgres::AdminConninfo() const {
  return absl::StrCat("host=", ConninfoValue(socket_dir_), " port=", port_, " dbname=", kDatabase,
                      " user=postgres connect_timeout=10"
                      " application_name=aequor-testing-admin");
}

absl::StatusOr<std::vector<std::vector<std::string>>> ThrowawayPostgres::AdminQueryRows(
    absl::string_view sql) const {
  return RunQuery(AdminConninfo(), sql, {});
}

absl::StatusOr<std::string> ThrowawayPostgres::AdminQuery(absl::string_view sql) const {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows = AdminQueryRows(sql);
  if (!rows.ok()) return rows.status();
  if (rows->empty() || rows->front().empty()) return std::string();
  return std::move(rows->front().front());
}

absl::StatusOr<std::vector<int>> ThrowawayPostgres::BackendPids(
    absl::string_view application_name) const {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows =
      RunQuery(AdminConninfo(),
               "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
               "AND application_name = $1 ORDER BY pid",
               {std::string(application_name)});
  if (!rows.ok()) return rows.status();
  std::vector<int> pids;
  for (const std::vector<std::string>& row : *rows) {
    int pid = 0;
    if (row.empty() || !absl::SimpleAtoi(row[0], &pid)) {
      return absl::InternalError(
          absl::StrCat("BackendPids: unexpected pid value '", row.empty() ? "" : row[0], "'"));
    }
    pids.push_back(pid);
  }
  return pids;
}

}  // namespace testing
}  // namespace aequor
