// testing/subprocess.cc: see subprocess.h.
#include "testing/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "testing/file_util.h"
#include "testing/posix_error.h"

extern char** environ;

namespace aequor {
namespace testing {
namespace {

// The steps of the child, in order; what it reports when one fails.
enum ChildStep : int {
  kSetsid,
  kSetpgid,
  kSetgroups,
  kSetgid,
  kSetuid,
  kPrctl,
  kChdir,
  kOpenInput,
  kOpenOutput,
  kOpenErrorOutput,
  kDup2,
  kExecve,
  kStepCount,
};
constexpr const char* kChildSteps[kStepCount] = {
    "setsid",     "setpgid",     "setgroups",         "setgid", "setuid", "prctl", "chdir",
    "open input", "open output", "open error output", "dup2",   "execve"};

struct ChildError {
  int step;
  int err;
};

// In the child: reports `step` and errno to the parent, then exits.
[[noreturn]] void ChildFail(int pipe_fd, int step) {
  ChildError e{step, errno};
  ssize_t ignored = write(pipe_fd, &e, sizeof(e));
  (void)ignored;
  _exit(127);
}

// In the child: closes every descriptor from 3 up, except `keep`.
void CloseFdsExcept(int keep) {
  if (keep > 3) {
    if (close_range(3U, static_cast<unsigned>(keep - 1), 0) != 0) {
      for (int fd = 3; fd < keep; ++fd) close(fd);
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

// In the child: a descriptor above 2, so that putting the streams in place
// (dup2 onto 0, 1, 2) cannot overwrite one that is still to be placed.
int AboveStdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

// The pipes of the kPipe streams: [0] read end, [1] write end.
struct Pipes {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};

  void CloseAll() {
    for (int* p : {in, out, err}) {
      for (int i = 0; i < 2; ++i) {
        if (p[i] >= 0) close(p[i]);
        p[i] = -1;
      }
    }
  }
};

absl::Status MakePipe(const Stream& stream, int fds[2]) {
  if (stream.kind != Stream::Kind::kPipe) return absl::OkStatus();
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  return absl::OkStatus();
}

void SetNonBlocking(int fd) {
  if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

absl::StatusOr<SpawnedProcess> Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return absl::InvalidArgumentError("Spawn: argv[0] must be an absolute path");
  }
  if (spec.in.kind == Stream::Kind::kSameAsStdout || spec.out.kind == Stream::Kind::kSameAsStdout) {
    return absl::InvalidArgumentError("Spawn: only stderr can be SameAsStdout");
  }
  // Everything the child needs, prepared before fork().
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (spec.env.has_value()) {
    for (const std::string& e : *spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  } else {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  const char* path = spec.argv[0].c_str();
  const char* cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  const Stream::Kind in_kind = spec.in.kind;
  const Stream::Kind out_kind = spec.out.kind;
  const Stream::Kind err_kind = spec.err.kind;
  auto file_of = [](const Stream& s) {
    return s.kind == Stream::Kind::kFile ? s.path.c_str() : "/dev/null";
  };
  const char* in_path = file_of(spec.in);
  const char* out_path = file_of(spec.out);
  const char* err_path = file_of(spec.err);
  const RunAs& who = spec.run_as;
  const int death_signal = spec.parent_death_signal;
  const ProcessGroup group = spec.group;
  const bool close_other_fds = spec.close_other_fds;
  const pid_t parent = getpid();

  Pipes pipes;
  for (auto [stream, fds] : {std::pair<const Stream*, int*>{&spec.in, pipes.in},
                             {&spec.out, pipes.out},
                             {&spec.err, pipes.err}}) {
    if (absl::Status s = MakePipe(*stream, fds); !s.ok()) {
      pipes.CloseAll();
      return s;
    }
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    pipes.CloseAll();
    return ErrnoStatus("pipe2", errno);
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    pipes.CloseAll();
    close(report[0]);
    close(report[1]);
    return ErrnoStatus(absl::StrCat("fork for ", spec.argv[0]), err);
  }
  if (pid == 0) {
    // The child: async-signal-safe calls only.
    const int err_fd = report[1];
    if (group == ProcessGroup::kNewSession && setsid() < 0) ChildFail(err_fd, kSetsid);
    if (group == ProcessGroup::kNewGroup && setpgid(0, 0) != 0) ChildFail(err_fd, kSetpgid);
    if (who.switch_user) {
      if (setgroups(who.groups.size(), who.groups.data()) != 0) ChildFail(err_fd, kSetgroups);
      if (setgid(who.gid) != 0) ChildFail(err_fd, kSetgid);
      if (setuid(who.uid) != 0) ChildFail(err_fd, kSetuid);
    }
    // After setuid: a change of credentials clears the parent-death signal.
    if (death_signal != 0) {
      if (prctl(PR_SET_PDEATHSIG, death_signal) != 0) ChildFail(err_fd, kPrctl);
      if (getppid() != parent) _exit(127);  // The parent is already gone.
    }
    if (cwd != nullptr && chdir(cwd) != 0) ChildFail(err_fd, kChdir);
    // The descriptor each of 0, 1, 2 becomes; -1 keeps it (kInherit).
    int in = -1;
    int out = -1;
    int err = -1;
    if (in_kind == Stream::Kind::kPipe) {
      in = pipes.in[0];
    } else if (in_kind != Stream::Kind::kInherit) {
      in = open(in_path, O_RDONLY | O_CLOEXEC);
      if (in < 0) ChildFail(err_fd, kOpenInput);
    }
    if (out_kind == Stream::Kind::kPipe) {
      out = pipes.out[1];
    } else if (out_kind != Stream::Kind::kInherit) {
      out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (out < 0) ChildFail(err_fd, kOpenOutput);
    }
    if (err_kind == Stream::Kind::kPipe) {
      err = pipes.err[1];
    } else if (err_kind == Stream::Kind::kNull || err_kind == Stream::Kind::kFile) {
      err = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (err < 0) ChildFail(err_fd, kOpenErrorOutput);
    }
    if (in >= 0 && (in = AboveStdio(in)) < 0) ChildFail(err_fd, kDup2);
    if (out >= 0 && (out = AboveStdio(out)) < 0) ChildFail(err_fd, kDup2);
    if (err >= 0 && (err = AboveStdio(err)) < 0) ChildFail(err_fd, kDup2);
    if (in >= 0 && dup2(in, 0) < 0) ChildFail(err_fd, kDup2);
    if (out >= 0 && dup2(out, 1) < 0) ChildFail(err_fd, kDup2);
    if (err_kind == Stream::Kind::kSameAsStdout) {
      if (dup2(1, 2) < 0) ChildFail(err_fd, kDup2);
    } else if (err >= 0 && dup2(err, 2) < 0) {
      ChildFail(err_fd, kDup2);
    }
    // Everything else is close-on-exec (our pipes and files) or, for
    // descriptors other threads opened without O_CLOEXEC, closed here.
    if (close_other_fds) CloseFdsExcept(err_fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    // Fails harmlessly for SIGKILL, SIGSTOP and glibc's internal signals.
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    execve(path, argv.data(), envp.data());
    ChildFail(err_fd, kExecve);
  }

  // The parent.
  // Also here, so that the group exists before the caller signals it.
  if (group == ProcessGroup::kNewGroup) setpgid(pid, pid);
  close(report[1]);
  for (int* fd : {&pipes.in[0], &pipes.out[1], &pipes.err[1]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  ChildError e{0, 0};
  ssize_t n;
  do {
    n = read(report[0], &e, sizeof(e));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == 0) {  // exec succeeded: the pipe was closed by O_CLOEXEC.
    SpawnedProcess child;
    child.pid = pid;
    child.in_fd = pipes.in[1];
    child.out_fd = pipes.out[0];
    child.err_fd = pipes.err[0];
    if (spec.nonblocking_pipes) {
      for (int fd : {child.in_fd, child.out_fd, child.err_fd}) SetNonBlocking(fd);
    }
    return child;
  }
  pipes.CloseAll();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(e)) || e.step < 0 || e.step >= kStepCount) {
    return absl::InternalError(absl::StrCat("starting ", spec.argv[0], ": the child failed"));
  }
  return absl::InternalError(absl::StrCat("starting ", spec.argv[0], " as ",
                                          who.switch_user ? who.name : "the current user", ": ",
                                          kChildSteps[e.step], " failed: ", ErrnoText(e.err)));
}

bool ExitStatus::success() const {
  return !known() || (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
}

std::string ExitStatus::Describe() const {
  if (!known()) return "exited";
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return absl::StrCat("was killed by signal ", sig, " (", sigdescr_np(sig), ")");
  }
  return absl::StrCat("ended with wait status ", wait_status);
}

std::optional<ExitStatus> ReapIfExited(pid_t pid) {
  int st = 0;
  pid_t r;
  do {
    r = waitpid(pid, &st, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return ExitStatus{st};
  // Not (or no longer) our child: reaped elsewhere, e.g. with SIGCHLD ignored.
  if (r < 0 && errno == ECHILD) return ExitStatus{};
  return std::nullopt;
}

std::optional<ExitStatus> WaitForExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    if (std::optional<ExitStatus> done = ReapIfExited(pid); done.has_value()) return done;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(20));
  }
}

absl::Status RunToCompletion(const SpawnSpec& spec, absl::string_view what) {
  const bool to_file = spec.out.kind == Stream::Kind::kFile;
  const off_t offset = to_file ? FileSize(spec.out.path) : 0;
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  if (!child.ok()) return child.status();
  for (int fd : {child->in_fd, child->out_fd, child->err_fd}) {
    if (fd >= 0) close(fd);
  }
  int st = 0;
  pid_t r;
  do {
    r = waitpid(child->pid, &st, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return absl::OkStatus();  // Reaped elsewhere (SIGCHLD ignored); later steps will tell.
  const ExitStatus status{st};
  if (status.success()) return absl::OkStatus();
  std::string message = absl::StrCat(what, " ", status.Describe());
  if (to_file) {
    absl::StrAppend(&message, TailSuffix(ReadFileTail(spec.out.path, 4096, offset), spec.out.path));
  }
  return absl::InternalError(message);
}

absl::Status RunLogged(std::vector<std::string> argv, const std::string& log,
                       const std::vector<std::string>& extra_env, const std::string& cwd) {
  SpawnSpec spec;
  const std::string what = absl::StrJoin(argv, " ");
  spec.argv = std::move(argv);
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  spec.env = std::move(env);
  spec.cwd = cwd;
  spec.out = Stream::File(log);
  spec.err = Stream::SameAsStdout();
  return RunToCompletion(spec, what);
}

absl::Status SendSignal(pid_t pid, int sig, SignalTarget target) {
  if (pid <= 0) return absl::InvalidArgumentError(absl::StrCat("SendSignal: bad pid ", pid));
  if (kill(target == SignalTarget::kGroup ? -pid : pid, sig) == 0) return absl::OkStatus();
  const int err = errno;
  const std::string what =
      absl::StrCat("kill(", target == SignalTarget::kGroup ? "-" : "", pid, ", ", sig, ")");
  if (err == ESRCH) return absl::NotFoundError(absl::StrCat(what, ": no such process"));
  return ErrnoStatus(what, err);
}

bool IsMainThread() { return static_cast<pid_t>(syscall(SYS_gettid)) == getpid(); }

bool StatLineSaysAlive(absl::string_view line) {
  // "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses.
  const size_t paren = line.rfind(')');
  if (paren == absl::string_view::npos || paren + 2 >= line.size()) return false;
  return line[paren + 2] != 'Z';
}

bool ProcessAlive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  return StatLineSaysAlive(line);
}

}  // namespace testing
}  // namespace aequor
