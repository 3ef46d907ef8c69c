// testing/throwaway_postgres.cc: see throwaway_postgres.h.
#include "testing/throwaway_postgres.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace aequor {
namespace testing {

// Whom the server programs run as: the current user, or (when root) the
// `postgres` system user, looked up before any fork().
namespace internal {
struct RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name;
  std::string home;
};
}  // namespace internal

namespace {

using internal::RunAs;

constexpr char kDefaultBindir[] = "/usr/lib/postgresql/15/bin";
constexpr int kPortAttempts = 10;

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string ErrnoText(int err) { return absl::StrCat(strerror(err), " (errno ", err, ")"); }

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", ErrnoText(err)));
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("was killed by signal ", WTERMSIG(status), " (",
                        strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("ended with wait status ", status);
}

// Quotes a libpq conninfo value when needed.
std::string ConninfoValue(absl::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\') plain = false;
  }
  if (plain) return std::string(value);
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}), "'");
}

// Quotes a postgresql.conf string value.
std::string ConfValue(absl::string_view value) {
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "''"}}), "'");
}

// Quotes an SQL string literal (standard_conforming_strings is on).
std::string SqlLiteral(absl::string_view value) {
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"'", "''"}}), "'");
}

// The last `max_bytes` of a file, "" if it cannot be read. From `offset` on
// when offset >= 0.
std::string ReadFileTail(const std::string& path, size_t max_bytes, off_t offset = -1) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st;
  std::string out;
  if (fstat(fd, &st) == 0) {
    off_t start = st.st_size > static_cast<off_t>(max_bytes) ? st.st_size - max_bytes : 0;
    if (offset >= 0) start = std::max(start, offset);
    if (start < st.st_size) {
      out.resize(static_cast<size_t>(st.st_size - start));
      ssize_t n = pread(fd, out.data(), out.size(), start);
      out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
  }
  close(fd);
  return out;
}

off_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

std::string LogSuffix(absl::string_view log, absl::string_view path) {
  std::string trimmed(absl::StripTrailingAsciiWhitespace(log));
  if (trimmed.empty()) return absl::StrCat(" (", path, " is empty)");
  return absl::StrCat("; tail of ", path, ":\n", trimmed);
}

absl::StatusOr<RunAs> ResolveRunAs() {
  RunAs run_as;
  if (geteuid() != 0) {
    run_as.uid = geteuid();
    run_as.gid = getegid();
    return run_as;
  }
  run_as.switch_user = true;
  std::vector<char> buffer(16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  int err = getpwnam_r("postgres", &pw, buffer.data(), buffer.size(), &found);
  if (err != 0) return ErrnoStatus("looking up the 'postgres' user", err);
  if (found == nullptr) {
    return absl::FailedPreconditionError(
        "running as root, and initdb/postgres refuse root, but there is no 'postgres' system "
        "user to run them as (install Debian's postgresql-15, or run the tests as another user)");
  }
  run_as.uid = pw.pw_uid;
  run_as.gid = pw.pw_gid;
  run_as.name = pw.pw_name;
  run_as.home = pw.pw_dir != nullptr ? pw.pw_dir : "/";
  int count = 32;
  for (int attempt = 0; attempt < 4; ++attempt) {
    run_as.groups.assign(static_cast<size_t>(count), 0);
    int n = count;
    if (getgrouplist(pw.pw_name, pw.pw_gid, run_as.groups.data(), &n) >= 0) {
      run_as.groups.resize(static_cast<size_t>(n));
      return run_as;
    }
    count = std::max(n, count * 2);
  }
  run_as.groups.assign(1, pw.pw_gid);
  return run_as;
}

absl::Status ChownTo(const std::string& path, const RunAs& run_as) {
  if (!run_as.switch_user) return absl::OkStatus();
  if (chown(path.c_str(), run_as.uid, run_as.gid) != 0) {
    return ErrnoStatus(absl::StrCat("chown ", path, " to ", run_as.name), errno);
  }
  return absl::OkStatus();
}

absl::Status MakeDir(const std::string& path, const RunAs& run_as) {
  if (mkdir(path.c_str(), 0700) != 0) return ErrnoStatus(absl::StrCat("mkdir ", path), errno);
  return ChownTo(path, run_as);
}

// Where the directories go: $AEQUOR_PG_TMPDIR, else /tmp.
std::string ParentDir() {
  const char* dir = getenv("AEQUOR_PG_TMPDIR");
  std::string parent = dir != nullptr && dir[0] != '\0' ? dir : "/tmp";
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  return parent;
}

absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix, const RunAs& run_as) {
  std::string path = absl::StrCat(ParentDir(), "/", prefix, "XXXXXX");
  if (mkdtemp(path.data()) == nullptr) return ErrnoStatus(absl::StrCat("mkdtemp ", path), errno);
  absl::Status chowned = ChownTo(path, run_as);
  if (!chowned.ok()) {
    rmdir(path.c_str());
    return chowned;
  }
  return path;
}

void RemoveTree(const std::string& path) {
  if (path.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

// Writes (or, with append, adds to) a file owned by the server's user, mode 0600.
absl::Status WriteFile(const std::string& path, absl::string_view content, bool append,
                       const RunAs& run_as) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  int fd = open(path.c_str(), flags, 0600);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
  absl::Status status;
  while (!content.empty() && status.ok()) {
    ssize_t n = write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = ErrnoStatus(absl::StrCat("write ", path), n < 0 ? errno : EIO);
      break;
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  if (status.ok() && run_as.switch_user && fchown(fd, run_as.uid, run_as.gid) != 0) {
    status = ErrnoStatus(absl::StrCat("chown ", path), errno);
  }
  if (close(fd) != 0 && status.ok()) status = ErrnoStatus(absl::StrCat("close ", path), errno);
  return status;
}

// The environment of the server programs: ours without libpq/locale/time-zone
// variables, plus LC_ALL=C (English messages) and TZ=UTC (initdb skips its
// time-zone search).
std::vector<std::string> ChildEnvironment(const RunAs& run_as) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view var(*e);
    if (absl::StartsWith(var, "PG") || absl::StartsWith(var, "LC_") ||
        absl::StartsWith(var, "LANG=") || absl::StartsWith(var, "LANGUAGE=") ||
        absl::StartsWith(var, "TZ=") ||
        (run_as.switch_user && (absl::StartsWith(var, "HOME=") || absl::StartsWith(var, "USER=") ||
                                absl::StartsWith(var, "LOGNAME=")))) {
      continue;
    }
    env.emplace_back(var);
  }
  env.push_back("LC_ALL=C");
  env.push_back("TZ=UTC");
  if (run_as.switch_user) {
    env.push_back(absl::StrCat("HOME=", run_as.home));
    env.push_back(absl::StrCat("USER=", run_as.name));
    env.push_back(absl::StrCat("LOGNAME=", run_as.name));
  }
  return env;
}

bool OnMainThread() { return static_cast<pid_t>(syscall(SYS_gettid)) == getpid(); }

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path.
  std::string cwd;
  std::string input_path;   // stdin; "" means /dev/null.
  std::string output_path;  // stdout and stderr are appended here.
  bool new_session = false;
  bool die_with_parent = false;  // PR_SET_PDEATHSIG=SIGQUIT.
};

// What failed in the child before exec, sent back through a CLOEXEC pipe.
struct ChildError {
  int step;
  int err;
};
constexpr const char* kChildSteps[] = {"setsid", "setgroups",  "setgid",      "setuid", "prctl",
                                       "chdir",  "open input", "open output", "dup2",   "execve"};

[[noreturn]] void ChildFail(int pipe_fd, int step) {
  ChildError e{step, errno};
  ssize_t ignored = write(pipe_fd, &e, sizeof(e));
  (void)ignored;
  _exit(127);
}

void CloseFdsFrom(int lowest, int keep) {
  // Only async-signal-safe calls here (we are in the child of fork()).
  if (keep > lowest) {
    if (close_range(static_cast<unsigned>(lowest), static_cast<unsigned>(keep - 1), 0) != 0) {
      for (int fd = lowest; fd < keep; ++fd) close(fd);
    }
  }
  if (close_range(static_cast<unsigned>(keep + 1), ~0U, 0) != 0) {
    struct rlimit rl;
    int max_fd = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      max_fd = static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 20));
    }
    for (int fd = keep + 1; fd < max_fd; ++fd) close(fd);
  }
}

// fork + (setgroups, setgid, setuid when root) + exec. Everything that
// allocates happens before fork(); the child makes only async-signal-safe calls.
absl::StatusOr<pid_t> Spawn(const SpawnSpec& spec, const RunAs& run_as) {
  std::vector<std::string> env_strings = ChildEnvironment(run_as);
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* path = spec.argv[0].c_str();
  const char* cwd = spec.cwd.empty() ? "/" : spec.cwd.c_str();
  const char* input = spec.input_path.empty() ? "/dev/null" : spec.input_path.c_str();
  const char* output = spec.output_path.empty() ? "/dev/null" : spec.output_path.c_str();
  const bool die_with_parent = spec.die_with_parent;
  const pid_t parent = getpid();

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return ErrnoStatus(absl::StrCat("fork for ", spec.argv[0]), err);
  }
  if (pid == 0) {
    const int err_fd = pipe_fds[1];
    close(pipe_fds[0]);
    if (spec.new_session && setsid() < 0) ChildFail(err_fd, 0);
    if (run_as.switch_user) {
      if (setgroups(run_as.groups.size(), run_as.groups.data()) != 0) ChildFail(err_fd, 1);
      if (setgid(run_as.gid) != 0) ChildFail(err_fd, 2);
      if (setuid(run_as.uid) != 0) ChildFail(err_fd, 3);
    }
    // After setuid: a change of credentials clears the parent-death signal.
    if (die_with_parent) {
      if (prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0) ChildFail(err_fd, 4);
      if (getppid() != parent) _exit(127);  // The parent is already gone.
    }
    if (chdir(cwd) != 0) ChildFail(err_fd, 5);
    int in = open(input, O_RDONLY);
    if (in < 0) ChildFail(err_fd, 6);
    int out = open(output, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out < 0) ChildFail(err_fd, 7);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) ChildFail(err_fd, 8);
    CloseFdsFrom(3, err_fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    // Fails harmlessly for SIGKILL, SIGSTOP and glibc's internal signals.
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    execve(path, argv.data(), envp.data());
    ChildFail(err_fd, 9);
  }
  close(pipe_fds[1]);
  ChildError e{0, 0};
  ssize_t n;
  do {
    n = read(pipe_fds[0], &e, sizeof(e));
  } while (n < 0 && errno == EINTR);
  close(pipe_fds[0]);
  if (n == 0) return pid;  // exec succeeded: the pipe was closed by CLOEXEC.
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(e)) || e.step < 0 || e.step > 9) {
    return absl::InternalError(absl::StrCat("starting ", spec.argv[0], ": the child failed"));
  }
  return absl::InternalError(absl::StrCat(
      "starting ", spec.argv[0], " as ", run_as.switch_user ? run_as.name : "the current user",
      ": ", kChildSteps[e.step], " failed: ", ErrnoText(e.err)));
}

// Whether `pid` (our child) has exited; reaps it. *status is -1 when unknown
// (e.g. SIGCHLD ignored by the test, so the child was reaped for us).
bool ReapIfExited(pid_t pid, int* status) {
  int st = 0;
  pid_t r;
  do {
    r = waitpid(pid, &st, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) {
    *status = st;
    return true;
  }
  if (r < 0 && (kill(pid, 0) != 0 && errno == ESRCH)) {
    *status = -1;
    return true;
  }
  return false;
}

bool WaitForExit(pid_t pid, absl::Duration timeout, int* status) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    if (ReapIfExited(pid, status)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(20));
  }
}

// Runs a program to completion; its output goes to `output_path`.
absl::Status RunToCompletion(const SpawnSpec& spec, const RunAs& run_as, absl::string_view what) {
  off_t offset = FileSize(spec.output_path);
  absl::StatusOr<pid_t> pid = Spawn(spec, run_as);
  if (!pid.ok()) return pid.status();
  int status = 0;
  pid_t r;
  do {
    r = waitpid(*pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return absl::OkStatus();  // Reaped for us (SIGCHLD ignored); later steps will tell.
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(what, " ", DescribeWaitStatus(status),
                   LogSuffix(ReadFileTail(spec.output_path, 4096, offset), spec.output_path)));
}

absl::StatusOr<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  absl::StatusOr<int> port;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0) {
    port = ErrnoStatus("bind 127.0.0.1:0", errno);
  } else if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
    port = ErrnoStatus("getsockname", errno);
  } else {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string PgHbaConf() {
  return "# Written by aequor::testing::ThrowawayPostgres.\n"
         "# TYPE  DATABASE  USER      ADDRESS       METHOD\n"
         "local   all       postgres                trust\n"
         "local   all       all                     scram-sha-256\n"
         "host    all       all       127.0.0.1/32  scram-sha-256\n"
         "host    all       all       ::1/128       scram-sha-256\n";
}

// Runs `sql` (one statement per line) in single-user mode on `dbname`:
// no server, no socket, no port. exit_on_error makes any error fatal.
absl::Status RunSingleUser(const std::string& bindir, const RunAs& run_as,
                           const std::string& data_dir, const std::string& work_dir,
                           absl::string_view dbname, absl::string_view sql) {
  const std::string input = work_dir + "/setup.sql";
  if (absl::Status s = WriteFile(input, sql, /*append=*/false, run_as); !s.ok()) return s;
  SpawnSpec spec;
  spec.argv = {bindir + "/postgres",
               "--single",
               "-F",
               "-c",
               "exit_on_error=on",
               "-c",
               "password_encryption=scram-sha-256",
               "-c",
               "log_checkpoints=off",
               "-D",
               data_dir,
               std::string(dbname)};
  spec.cwd = work_dir;
  spec.input_path = input;
  spec.output_path = work_dir + "/setup.log";
  spec.die_with_parent = OnMainThread();
  absl::Status status = RunToCompletion(
      spec, run_as, absl::StrCat("setting up roles and database (postgres --single ", dbname, ")"));
  unlink(input.c_str());
  return status;
}

// Makes a complete cluster in `data_dir` (which must not exist): initdb,
// pg_hba.conf, the database `aequor` and, if asked, the roles.
absl::Status PrepareCluster(const std::string& bindir, const RunAs& run_as,
                            const std::string& data_dir, const std::string& work_dir,
                            bool create_roles) {
  SpawnSpec spec;
  spec.argv = {bindir + "/initdb",
               "-D",
               data_dir,
               "-U",
               "postgres",
               "-A",
               "trust",
               "-E",
               "UTF8",
               "--locale=C",
               "--no-sync",
               "--no-instructions"};
  spec.cwd = work_dir;
  spec.output_path = work_dir + "/initdb.log";
  spec.die_with_parent = OnMainThread();
  if (absl::Status s = RunToCompletion(spec, run_as, "initdb"); !s.ok()) return s;
  if (absl::Status s = WriteFile(data_dir + "/pg_hba.conf", PgHbaConf(), /*append=*/false, run_as);
      !s.ok()) {
    return s;
  }

  using T = ThrowawayPostgres;
  std::string sql = absl::StrCat("ALTER ROLE postgres PASSWORD ",
                                 SqlLiteral(T::PasswordFor(T::kAdminRole)), "\n");
  if (create_roles) {
    for (const char* role : {T::kAppRole, T::kApp2Role, T::kReaperRole}) {
      absl::StrAppend(&sql, "CREATE ROLE ", role, " LOGIN PASSWORD ",
                      SqlLiteral(T::PasswordFor(role)), "\n");
    }
    absl::StrAppend(&sql, "GRANT pg_read_all_stats, pg_signal_backend TO ", T::kReaperRole, "\n",
                    "CREATE ROLE ", T::kSuperRole, " SUPERUSER LOGIN PASSWORD ",
                    SqlLiteral(T::PasswordFor(T::kSuperRole)), "\n", "CREATE DATABASE ",
                    T::kDatabase, " OWNER ", T::kAppRole, " STRATEGY FILE_COPY\n",
                    "GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ", T::kDatabase, " TO ",
                    T::kAppRole, ", ", T::kApp2Role, "\n");
  } else {
    absl::StrAppend(&sql, "CREATE DATABASE ", T::kDatabase, " STRATEGY FILE_COPY\n");
  }
  if (absl::Status s = RunSingleUser(bindir, run_as, data_dir, work_dir, "postgres", sql);
      !s.ok()) {
    return s;
  }
  if (!create_roles) return absl::OkStatus();
  // Schema public belongs to pg_database_owner (aequor_app); since PG 15
  // nobody else may create in it unless granted.
  return RunSingleUser(bindir, run_as, data_dir, work_dir, T::kDatabase,
                       absl::StrCat("GRANT USAGE, CREATE ON SCHEMA public TO ", T::kAppRole, ", ",
                                    T::kApp2Role, "\n"));
}

// Template clusters, one per value of create_roles (see "Start-up cost" in
// the header).
struct Templates {
  std::mutex mu;
  // How many clusters were prepared without a template so far.
  int prepared[2] ABSL_GUARDED_BY(mu) = {0, 0};
  std::string dir[2] ABSL_GUARDED_BY(mu);  // ".../aequor-pg-tmpl-XXXXXX" once made.
  std::string bindir[2] ABSL_GUARDED_BY(mu);
};

Templates& TheTemplates() {
  static Templates* t = new Templates;  // Leaked on purpose.
  return *t;
}

void RemoveTemplatesAtExit() {
  Templates& t = TheTemplates();
  std::lock_guard<std::mutex> lock(t.mu);
  for (std::string& dir : t.dir) {
    RemoveTree(dir);
    dir.clear();
  }
}

// The data directory of the template to copy, made on first use; "" when the
// caller should prepare its own cluster: the first cluster of a process (many
// binaries start only one, and a copy would only add to initdb), or when the
// template was made with other binaries.
absl::StatusOr<std::string> TemplateDataDir(const std::string& bindir, const RunAs& run_as,
                                            bool create_roles) {
  Templates& t = TheTemplates();
  std::lock_guard<std::mutex> lock(t.mu);
  const int i = create_roles ? 1 : 0;
  if (!t.dir[i].empty()) return t.bindir[i] == bindir ? t.dir[i] + "/data" : "";
  if (t.prepared[i]++ == 0) return std::string();
  absl::StatusOr<std::string> dir = MakeTempDir("aequor-pg-tmpl-", run_as);
  if (!dir.ok()) return dir.status();
  absl::Status status = PrepareCluster(bindir, run_as, *dir + "/data", *dir, create_roles);
  if (!status.ok()) {
    RemoveTree(*dir);
    return status;
  }
  static const bool registered = (atexit(RemoveTemplatesAtExit), true);
  (void)registered;
  t.dir[i] = *dir;
  t.bindir[i] = bindir;
  return t.dir[i] + "/data";
}

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

std::string ServerSettings(const ThrowawayPostgresOptions& options, const std::string& socket_dir) {
  std::vector<std::pair<std::string, std::string>> settings = {
      {"listen_addresses", "127.0.0.1"},
      {"unix_socket_directories", socket_dir},
      {"fsync", "off"},
      {"synchronous_commit", "off"},
      {"full_page_writes", "off"},
      {"shared_buffers", "32MB"},
      {"huge_pages", "off"},
      {"max_connections", absl::StrCat(options.max_connections)},
      {"superuser_reserved_connections", absl::StrCat(options.superuser_reserved_connections)},
      {"password_encryption", "scram-sha-256"},
      {"log_line_prefix", "%m [%p] %q%u@%d app=%a "},
  };
  settings.insert(settings.end(), options.extra_settings.begin(), options.extra_settings.end());
  std::string conf =
      "\n# Added by aequor::testing::ThrowawayPostgres (the port is given with -p).\n";
  for (const auto& [name, value] : settings)
    absl::StrAppend(&conf, name, " = ", ConfValue(value), "\n");
  return conf;
}

// Runs `sql` (PQexec, or PQexecParams when params are given) and returns all rows.
absl::StatusOr<std::vector<std::vector<std::string>>> RunQuery(
    const std::string& conninfo, absl::string_view sql, const std::vector<std::string>& params) {
  Conn conn(PQconnectdb(conninfo.c_str()));
  if (conn == nullptr) return absl::ResourceExhaustedError("PQconnectdb: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("connecting as postgres: ",
                     absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn.get()))));
  }
  std::string query(sql);
  Result result;
  if (params.empty()) {
    result.reset(PQexec(conn.get(), query.c_str()));
  } else {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    result.reset(PQexecParams(conn.get(), query.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0));
  }
  ExecStatusType st = result != nullptr ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    const char* sqlstate =
        result != nullptr ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    std::string message(absl::StripTrailingAsciiWhitespace(
        result != nullptr ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn.get())));
    if (message.empty()) message = PQresStatus(st);
    return absl::InternalError(absl::StrCat("query failed", sqlstate ? " (SQLSTATE " : "",
                                            sqlstate ? sqlstate : "", sqlstate ? ")" : "", ": ",
                                            message, " [sql: ", sql, "]"));
  }
  std::vector<std::vector<std::string>> rows;
  if (st == PGRES_TUPLES_OK) {
    int n = PQntuples(result.get());
    int cols = PQnfields(result.get());
    rows.reserve(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      std::vector<std::string>& row = rows.emplace_back();
      for (int c = 0; c < cols; ++c) {
        row.emplace_back(PQgetisnull(result.get(), r, c) ? "" : PQgetvalue(result.get(), r, c));
      }
    }
  }
  return rows;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> ThrowawayPostgres::Start(
    const ThrowawayPostgresOptions& options) {
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;

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
  absl::StatusOr<RunAs> run_as = ResolveRunAs();
  if (!run_as.ok()) return run_as.status();

  // From here on the destructor cleans up whatever was made.
  std::unique_ptr<ThrowawayPostgres> pg(new ThrowawayPostgres());
  pg->options_ = options;
  pg->run_as_ = std::make_shared<const RunAs>(*std::move(run_as));
  pg->bindir_ = bindir;
  const RunAs& who = *pg->run_as_;

  absl::StatusOr<std::string> base = MakeTempDir("aequor-pg-", who);
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

  // The cluster: a copy of the template, or a fresh initdb.
  bool copied = false;
  if (options.reuse_initdb) {
    absl::StatusOr<std::string> tmpl = TemplateDataDir(bindir, who, options.create_roles);
    if (!tmpl.ok()) {
      return absl::Status(tmpl.status().code(),
                          absl::StrCat("making the template cluster: ", tmpl.status().message()));
    }
    if (!tmpl->empty()) {
      SpawnSpec cp;
      cp.argv = {"/bin/cp", "-a", *tmpl, pg->data_dir_};
      cp.cwd = pg->base_dir_;
      cp.output_path = pg->base_dir_ + "/copy.log";
      absl::Status s = RunToCompletion(cp, who, "copying the template cluster (cp -a)");
      if (!s.ok()) return s;
      copied = true;
    }
  }
  if (!copied) {
    absl::Status s =
        PrepareCluster(bindir, who, pg->data_dir_, pg->base_dir_, options.create_roles);
    if (!s.ok()) return s;
  }
  if (absl::Status s = WriteFile(pg->data_dir_ + "/postgresql.conf",
                                 ServerSettings(options, pg->socket_dir_), /*append=*/true, who);
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
  off_t log_offset = FileSize(log_path_);
  SpawnSpec spec;
  spec.argv = {bindir_ + "/postgres", "-D", data_dir_, "-p", absl::StrCat(port_)};
  spec.cwd = base_dir_;
  spec.output_path = log_path_;
  spec.new_session = true;  // Ctrl-C in a terminal stops the test, not the server.
  spec.die_with_parent = OnMainThread();
  absl::StatusOr<pid_t> pid = Spawn(spec, *run_as_);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;

  const std::string ping = absl::StrCat("host=", ConninfoValue(socket_dir_), " port=", port_,
                                        " dbname=postgres user=postgres connect_timeout=5");
  const absl::Duration timeout = absl::Seconds(options_.timeout_seconds);
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Microseconds(500);
  while (true) {
    int status = 0;
    if (ReapIfExited(pid_, &status)) {
      pid_ = -1;
      std::string log = ReadFileTail(log_path_, 1 << 20, log_offset);
      *port_in_use = absl::StrContains(log, "Address already in use");
      std::string tail = log.size() > 4096 ? log.substr(log.size() - 4096) : log;
      return absl::InternalError(
          absl::StrCat("postgres (port ", port_, ") ",
                       status == -1 ? std::string("exited") : DescribeWaitStatus(status),
                       " during start-up", LogSuffix(tail, log_path_)));
    }
    if (PQping(ping.c_str()) == PQPING_OK) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      std::string tail = ReadFileTail(log_path_, 4096, log_offset);
      (void)StopLocked();
      return absl::DeadlineExceededError(
          absl::StrCat("postgres (port ", port_, ") did not accept connections within ",
                       absl::FormatDuration(timeout), LogSuffix(tail, log_path_)));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(10));
  }
}

absl::Status ThrowawayPostgres::StopLocked() {
  if (pid_ <= 0) return absl::OkStatus();
  const pid_t pid = pid_;
  const absl::Duration timeout = absl::Seconds(options_.timeout_seconds);
  int status = 0;
  // Fast shutdown, then immediate shutdown, then SIGKILL.
  struct Step {
    int sig;
    absl::Duration wait;
  };
  const Step steps[] = {{SIGINT, timeout}, {SIGQUIT, absl::Seconds(10)}, {SIGKILL, timeout}};
  for (const Step& step : steps) {
    if (kill(pid, step.sig) != 0 && errno == ESRCH) {
      (void)ReapIfExited(pid, &status);
      pid_ = -1;
      return absl::OkStatus();
    }
    if (WaitForExit(pid, step.wait, &status)) {
      pid_ = -1;
      if (step.sig != SIGINT) {
        return absl::InternalError(absl::StrCat("postgres (pid ", pid,
                                                ") ignored fast shutdown; stopped with signal ",
                                                step.sig, LogSuffix(LogTail(), log_path_)));
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

absl::StatusOr<std::vector<std::vector<std::string>>> ThrowawayPostgres::AdminQueryRows(
    absl::string_view sql) const {
  const std::string admin =
      absl::StrCat("host=", ConninfoValue(socket_dir_), " port=", port_, " dbname=", kDatabase,
                   " user=postgres connect_timeout=10"
                   " application_name=aequor-testing-admin");
  return RunQuery(admin, sql, {});
}

absl::StatusOr<std::string> ThrowawayPostgres::AdminQuery(absl::string_view sql) const {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows = AdminQueryRows(sql);
  if (!rows.ok()) return rows.status();
  if (rows->empty() || rows->front().empty()) return std::string();
  return std::move(rows->front().front());
}

absl::StatusOr<std::vector<int>> ThrowawayPostgres::BackendPids(
    absl::string_view application_name) const {
  const std::string admin =
      absl::StrCat("host=", ConninfoValue(socket_dir_), " port=", port_, " dbname=", kDatabase,
                   " user=postgres connect_timeout=10"
                   " application_name=aequor-testing-admin");
  absl::StatusOr<std::vector<std::vector<std::string>>> rows =
      RunQuery(admin,
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
