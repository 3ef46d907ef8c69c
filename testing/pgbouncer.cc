// testing/pgbouncer.cc: see pgbouncer.h.
#include "testing/pgbouncer.h"

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
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "testing/file_util.h"
#include "testing/posix_error.h"
#include "testing/server_net.h"
#include "testing/subprocess.h"
#include "util/pg.h"

namespace aequor {
namespace testing {
namespace {

constexpr char kDefaultProgram[] = "/usr/sbin/pgbouncer";
constexpr int kPortAttempts = 10;

// Letters, digits and '_' (and nothing else), non-empty.
bool PlainName(absl::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

absl::Status ValidateOptions(const PgBouncerOptions& options) {
  if (options.default_pool_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("default_pool_size must be >= 1, got ", options.default_pool_size));
  }
  if (options.timeout_seconds <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout_seconds must be > 0, got ", options.timeout_seconds));
  }
  if (options.roles.empty()) return absl::InvalidArgumentError("roles must not be empty");
  for (const std::string& role : options.roles) {
    if (role.empty() || absl::StrContains(role, '"') ||
        std::any_of(role.begin(), role.end(),
                    [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); })) {
      return absl::InvalidArgumentError(
          absl::StrCat("roles: invalid role name '", role, "' (no '\"' or white space)"));
    }
  }
  for (const std::string& parameter : options.ignore_startup_parameters) {
    if (!PlainName(parameter)) {
      return absl::InvalidArgumentError(absl::StrCat("ignore_startup_parameters: invalid name '",
                                                     parameter, "' (letters, digits, '_')"));
    }
  }
  for (const auto& [name, value] : options.extra_settings) {
    if (!PlainName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("extra_settings: invalid setting name '", name,
                                                     "' (letters, digits and '_' only)"));
    }
    if (absl::StrContains(value, '\n') || absl::StrContains(value, '\r')) {
      return absl::InvalidArgumentError(
          absl::StrCat("extra_settings: the value of ", name, " spans several lines"));
    }
  }
  return absl::OkStatus();
}

// $AEQUOR_PGBOUNCER or the default, checked to be executable.
absl::StatusOr<std::string> Program() {
  const char* env = getenv("AEQUOR_PGBOUNCER");
  std::string program = env != nullptr && env[0] != '\0' ? env : kDefaultProgram;
  if (access(program.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("PgBouncer program ", program, " is missing or not executable (",
                     ErrnoText(errno), "); install Debian's pgbouncer or set AEQUOR_PGBOUNCER"));
  }
  return program;
}

// pgbouncer refuses to run as root: as root it runs as `postgres`.
absl::StatusOr<RunAs> BouncerUser() {
  if (geteuid() != 0) return RunAs::Current();
  absl::StatusOr<RunAs> who = RunAs::User("postgres");
  if (absl::IsNotFound(who.status())) {
    return absl::FailedPreconditionError(
        "running as root, and there is no `postgres` user to run pgbouncer as (pgbouncer "
        "refuses root); install Debian's postgresql-15");
  }
  return who;
}

std::string TempParent() {
  const char* env = getenv("AEQUOR_PG_TMPDIR");
  std::string parent = env != nullptr && env[0] != '\0' ? env : "/tmp";
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  return parent;
}

const char* PoolModeName(PoolMode mode) {
  return mode == PoolMode::kSession ? "session" : "transaction";
}

// pgbouncer.ini.
std::string Config(const PgBouncerOptions& options, const std::string& server_socket_dir,
                   int server_port, int port, const std::string& auth_file) {
  std::string ini = absl::StrCat(
      "[databases]\n"
      "* = host=",
      server_socket_dir, " port=", server_port,
      "\n\n"
      "[pgbouncer]\n"
      "listen_addr = 127.0.0.1\n"
      "listen_port = ",
      port,
      "\n"
      "unix_socket_dir =\n"
      "auth_type = scram-sha-256\n"
      "auth_file = ",
      auth_file,
      "\n"
      "pool_mode = ",
      PoolModeName(options.pool_mode),
      "\n"
      "default_pool_size = ",
      options.default_pool_size,
      "\n"
      "syslog = 0\n");
  if (!options.ignore_startup_parameters.empty()) {
    absl::StrAppend(&ini, "ignore_startup_parameters = ",
                    absl::StrJoin(options.ignore_startup_parameters, ", "), "\n");
  }
  for (const auto& [name, value] : options.extra_settings) {
    absl::StrAppend(&ini, name, " = ", value, "\n");
  }
  return ini;
}

// userlist.txt: each role with its test password, in plain text, so that
// PgBouncer can check a client's SCRAM exchange and do its own with the
// server.
std::string UserList(const std::vector<std::string>& roles) {
  std::string list;
  for (const std::string& role : roles) {
    absl::StrAppend(&list, "\"", role, "\" \"", ThrowawayPostgres::PasswordFor(role), "\"\n");
  }
  return list;
}

// Whether a query passes through the bouncer now: connected and SELECT 1
// answered.
bool QueryPasses(const std::string& conninfo) {
  pg::Conn conn(PQconnectdb(conninfo.c_str()));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) return false;
  return pg::Exec(conn.get(), "SELECT 1").ok();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgBouncer>> PgBouncer::Start(const ThrowawayPostgres& server,
                                                            const PgBouncerOptions& options) {
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) return valid;
  if (!server.running()) {
    return absl::FailedPreconditionError("the server behind the PgBouncer is not running");
  }
  absl::StatusOr<std::string> program = Program();
  if (!program.ok()) return program.status();
  absl::StatusOr<RunAs> run_as = BouncerUser();
  if (!run_as.ok()) return run_as.status();

  // From here on the destructor cleans up whatever was made.
  std::unique_ptr<PgBouncer> bouncer(new PgBouncer());
  bouncer->options_ = options;
  bouncer->run_as_ = *std::move(run_as);
  bouncer->program_ = *std::move(program);
  bouncer->server_socket_dir_ = server.socket_dir();
  bouncer->server_port_ = server.port();
  const RunAs& who = bouncer->run_as_;

  absl::StatusOr<std::string> base = MakeTempDir(TempParent(), "aequor-pg-bouncer-", who);
  if (!base.ok()) return base.status();
  bouncer->base_dir_ = *base;
  bouncer->config_path_ = bouncer->base_dir_ + "/pgbouncer.ini";
  bouncer->log_path_ = bouncer->base_dir_ + "/pgbouncer.log";
  const std::string auth_file = bouncer->base_dir_ + "/userlist.txt";
  if (absl::Status s = WriteFile(auth_file, UserList(options.roles), WriteMode::kTruncate, who);
      !s.ok()) {
    return s;
  }

  // Start on a free port; retry on another if someone took it meanwhile.
  absl::Status started;
  for (int attempt = 1; attempt <= kPortAttempts; ++attempt) {
    absl::StatusOr<int> port = FreeLoopbackPort();
    if (!port.ok()) return port.status();
    bouncer->port_ = *port;
    if (absl::Status s = WriteFile(bouncer->config_path_,
                                   Config(options, bouncer->server_socket_dir_,
                                          bouncer->server_port_, bouncer->port_, auth_file),
                                   WriteMode::kTruncate, who);
        !s.ok()) {
      return s;
    }
    bool port_in_use = false;
    started = bouncer->Launch(&port_in_use);
    if (started.ok() || !port_in_use) break;
  }
  if (!started.ok()) return started;
  return bouncer;
}

absl::Status PgBouncer::Launch(bool* port_in_use) {
  *port_in_use = false;
  const off_t log_offset = FileSize(log_path_);
  SpawnSpec spec;
  spec.argv = {program_, config_path_};
  spec.cwd = base_dir_;
  spec.out = Stream::File(log_path_);
  spec.err = Stream::SameAsStdout();
  spec.run_as = run_as_;
  spec.group = ProcessGroup::kNewSession;  // Ctrl-C in a terminal stops the test, not pgbouncer.
  // SIGTERM is pgbouncer's immediate shutdown.
  spec.parent_death_signal = IsMainThread() ? SIGTERM : 0;
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  if (!child.ok()) return child.status();
  const pid_t pid = child->pid;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pid_ = pid;
  }

  const std::string ping = absl::StrCat(ConninfoFor(options_.roles.front()),
                                        " connect_timeout=5 application_name=aequor-testing-ping");
  const absl::Duration timeout = absl::Seconds(options_.timeout_seconds);
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    if (std::optional<ExitStatus> exited = ReapIfExited(pid); exited.has_value()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        pid_ = -1;
      }
      const std::string log = ReadFileTail(log_path_, 1 << 20, log_offset);
      *port_in_use = absl::StrContains(log, "Address already in use");
      const std::string tail = log.size() > 4096 ? log.substr(log.size() - 4096) : log;
      return absl::InternalError(absl::StrCat("pgbouncer (port ", port_, ") ", exited->Describe(),
                                              " during start-up", TailSuffix(tail, log_path_)));
    }
    if (QueryPasses(ping)) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      const std::string tail = ReadFileTail(log_path_, 4096, log_offset);
      std::lock_guard<std::mutex> lock(mu_);
      (void)StopLocked();
      return absl::DeadlineExceededError(
          absl::StrCat("no query passed through pgbouncer (port ", port_, ") within ",
                       absl::FormatDuration(timeout), TailSuffix(tail, log_path_)));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(20));
  }
}

absl::Status PgBouncer::StopLocked() {
  if (pid_ <= 0) return absl::OkStatus();
  const pid_t pid = pid_;
  const absl::Duration timeout = absl::Seconds(options_.timeout_seconds);
  for (int sig : {SIGTERM, SIGKILL}) {
    if (absl::IsNotFound(SendSignal(pid, sig))) {
      (void)ReapIfExited(pid);
      pid_ = -1;
      return absl::OkStatus();
    }
    if (WaitForExit(pid, timeout).has_value()) {
      pid_ = -1;
      if (sig != SIGTERM) {
        return absl::InternalError(absl::StrCat("pgbouncer (pid ", pid,
                                                ") ignored SIGTERM; stopped with SIGKILL",
                                                TailSuffix(LogTail(), log_path_)));
      }
      return absl::OkStatus();
    }
  }
  return absl::InternalError(absl::StrCat("pgbouncer (pid ", pid, ") survived SIGKILL"));
}

absl::Status PgBouncer::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  return StopLocked();
}

PgBouncer::~PgBouncer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    (void)StopLocked();
  }
  RemoveTree(base_dir_);
}

pid_t PgBouncer::pid() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pid_;
}

std::string PgBouncer::ConninfoFor(absl::string_view role) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " dbname=", ThrowawayPostgres::kDatabase,
                      " user=", ConninfoValue(role),
                      " password=", ConninfoValue(ThrowawayPostgres::PasswordFor(role)));
}

std::string PgBouncer::LogTail(size_t max_bytes) const {
  return ReadFileTail(log_path_, max_bytes);
}

}  // namespace testing
}  // namespace aequor
