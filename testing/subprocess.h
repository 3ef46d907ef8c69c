// testing/subprocess.h: starting a program as a child process (fork + exec),
// optionally as another user, and waiting for it; shared by the throwaway
// PostgreSQL server and the storm benchmark.
//
//   SpawnSpec spec;
//   spec.argv = {"/usr/lib/postgresql/15/bin/initdb", "-D", dir};
//   spec.out = Stream::File(dir + ".log");
//   spec.err = Stream::SameAsStdout();
//   spec.run_as = *RunAs::User("postgres");      // when root
//   spec.parent_death_signal = SIGQUIT;          // only if IsMainThread()
//   absl::Status s = RunToCompletion(spec, "initdb");
//
//   absl::StatusOr<SpawnedProcess> child = Spawn(spec);   // or in the background
//   ...
//   (void)SendSignal(child->pid, SIGINT);
//   std::optional<ExitStatus> done = WaitForExit(child->pid, absl::Seconds(30));
//
// Spawn() allocates everything before fork(); the child makes only
// async-signal-safe calls: its session or process group, setgroups/setgid/
// setuid, PR_SET_PDEATHSIG (after the credentials change, which would clear
// it), chdir, its standard streams, closing every other descriptor, default
// signal dispositions and an empty signal mask, then execve. If a step fails,
// the child sends the step and errno to the parent through a close-on-exec
// pipe, and Spawn() returns an error naming them.
//
// PR_SET_PDEATHSIG fires when the *thread* that forked exits, not the
// process: set parent_death_signal only when spawning from a thread that
// lives as long as the child should (the main thread; see IsMainThread()).
//
// Thread-safety: every function is thread-safe. Spawning from a
// multithreaded process is safe (nothing in the child allocates or locks);
// descriptors opened concurrently without O_CLOEXEC by other threads are
// closed in the child (SpawnSpec::close_other_fds).
#ifndef AEQUOR_TESTING_SUBPROCESS_H_
#define AEQUOR_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "testing/run_as.h"

namespace aequor {
namespace testing {

// Where one standard stream of the child goes.
struct Stream {
  enum class Kind {
    kNull,          // /dev/null.
    kInherit,       // This process's descriptor of the same number.
    kFile,          // `path`: read for stdin; appended to (created 0600) for stdout/stderr.
    kPipe,          // A pipe; the parent's end is in SpawnedProcess.
    kSameAsStdout,  // stderr only: wherever stdout goes.
  };
  static Stream Null() { return {Kind::kNull, ""}; }
  static Stream Inherit() { return {Kind::kInherit, ""}; }
  static Stream File(std::string path) { return {Kind::kFile, std::move(path)}; }
  static Stream Pipe() { return {Kind::kPipe, ""}; }
  static Stream SameAsStdout() { return {Kind::kSameAsStdout, ""}; }

  Kind kind = Kind::kNull;
  std::string path;
};

// Which process group and session the child is in.
enum class ProcessGroup {
  kInherit,     // Ours.
  kNewGroup,    // setpgid(0, 0): a group of its own (signal it with SignalTarget::kGroup).
  kNewSession,  // setsid(): a session and group of its own, no controlling terminal.
};

struct SpawnSpec {
  // The program and its arguments. REQUIRES: non-empty; argv[0] an absolute
  // path (there is no PATH search).
  std::vector<std::string> argv;
  // The complete environment, "NAME=value" each. Default (nullopt): this
  // process's environment at the time of Spawn().
  std::optional<std::vector<std::string>> env;
  // The working directory. Default "": this process's.
  std::string cwd;
  // Standard streams. Default: stdin from /dev/null, stdout and stderr inherited.
  Stream in = Stream::Null();
  Stream out = Stream::Inherit();
  Stream err = Stream::Inherit();
  // When kPipe streams are given: make the parent's ends O_NONBLOCK. Default false.
  bool nonblocking_pipes = false;
  // Default kInherit.
  ProcessGroup group = ProcessGroup::kInherit;
  // PR_SET_PDEATHSIG: the signal the child gets when the spawning thread
  // exits. Default 0: none. See the file comment.
  int parent_death_signal = 0;
  // Close every descriptor but 0, 1 and 2 in the child. Default true.
  bool close_other_fds = true;
  // Whom the child runs as. Default: this process's user, unchanged.
  RunAs run_as = RunAs::Current();
};

// A started child. The descriptors are the parent's ends of the kPipe
// streams (-1 otherwise), close-on-exec; the caller closes them.
struct SpawnedProcess {
  pid_t pid = -1;
  int in_fd = -1;   // Write end of the child's stdin.
  int out_fd = -1;  // Read end of its stdout.
  int err_fd = -1;  // Read end of its stderr.
};

// Starts spec.argv[0]. Returns once the child has exec'ed (or failed to).
// Errors: Internal naming the program, the user and the step that failed
// ("starting /bin/x as postgres: execve failed: No such file or directory
// (errno 2)"); the failed child has been reaped and no descriptor is left open.
absl::StatusOr<SpawnedProcess> Spawn(const SpawnSpec& spec);

// How a child ended: its waitpid() status, or unknown when something else
// reaped it (e.g. SIGCHLD is ignored).
struct ExitStatus {
  static constexpr int kUnknown = -1;
  int wait_status = kUnknown;

  bool known() const { return wait_status != kUnknown; }
  // Exited with status 0.
  bool success() const;
  // "exited with status 1", "was killed by signal 9 (Killed)", or "exited"
  // when unknown.
  std::string Describe() const;
};

// Reaps `pid` (our child) if it has exited, without blocking; nullopt while
// it runs.
std::optional<ExitStatus> ReapIfExited(pid_t pid);

// Polls ReapIfExited() until the child exits or `timeout` passes (nullopt).
std::optional<ExitStatus> WaitForExit(pid_t pid, absl::Duration timeout);

// Spawn(), then waits (without a timeout) for the child to exit. OK when it
// exits with status 0 (or was reaped elsewhere); otherwise Internal:
// "<what> exited with status 1", followed, when spec.out is a file, by
// the tail of what the child wrote to it.
absl::Status RunToCompletion(const SpawnSpec& spec, absl::string_view what);

// RunToCompletion() of argv (argv[0] absolute) in `cwd` ("" for ours), with
// this process's environment plus `extra_env` ("NAME=value", later ones
// win), stdout and stderr appended to the file `log`: a failure names the
// command line and ends with the log's tail. For tests that drive builds
// (CMake, a Bazel of their own) and the programs they make.
absl::Status RunLogged(std::vector<std::string> argv, const std::string& log,
                       const std::vector<std::string>& extra_env = {},
                       const std::string& cwd = "");

enum class SignalTarget {
  kProcess,  // kill(pid, sig).
  kGroup,    // kill(-pid, sig): the process group whose id is `pid`.
};

// Sends `sig`. NotFound when there is no such process or group (it exited
// and was reaped); Internal on any other failure (e.g. EPERM).
absl::Status SendSignal(pid_t pid, int sig, SignalTarget target = SignalTarget::kProcess);

// Whether the calling thread is the process's main thread (see the note on
// PR_SET_PDEATHSIG above).
bool IsMainThread();

// Whether `pid` is a running process: it exists and is not a zombie. A
// process that is reaped while this looks at it counts as gone.
bool ProcessAlive(pid_t pid);

// The part of ProcessAlive() that reads the first line of /proc/<pid>/stat,
// for tests: false for a zombie ("Z") and for an empty or unreadable line
// (the process was reaped between kill(pid, 0) and the read).
bool StatLineSaysAlive(absl::string_view line);

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_SUBPROCESS_H_
