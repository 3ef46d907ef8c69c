// Tests of testing/subprocess.h with ordinary system programs.
#include "testing/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace aequor {
namespace testing {
namespace {

// Reads `fd` to its end and closes it.
std::string ReadAll(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string TempPath(const char* name) {
  const char* dir = getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

SpawnSpec Shell(const std::string& script) {
  SpawnSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  return spec;
}

// A process reaped between kill(pid, 0) and the read of its stat file
// leaves an empty line: that is a process gone, not one alive (the crash
// guard test of throwaway_postgres_test saw it alive under ASan).
TEST(ProcessAlive, ReadsTheStateFromTheStatLineAndAnEmptyLineIsGone) {
  EXPECT_TRUE(StatLineSaysAlive("123 (postgres) S 1 123 123 0 -1"));
  EXPECT_TRUE(StatLineSaysAlive("123 (a (b) c) R 1"));
  EXPECT_FALSE(StatLineSaysAlive("123 (postgres) Z 1 123 123 0 -1"));
  EXPECT_FALSE(StatLineSaysAlive("123 (a) Z) Z 1"));
  EXPECT_FALSE(StatLineSaysAlive(""));
  EXPECT_FALSE(StatLineSaysAlive("123 (postgres)"));
}

TEST(ProcessAlive, ARunningChildIsAliveAZombieAndAReapedOneAreNot) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[1]);
    char c;
    (void)!read(fds[0], &c, 1);  // until the parent closes its end
    _exit(0);
  }
  close(fds[0]);
  EXPECT_TRUE(ProcessAlive(child));
  close(fds[1]);
  // A zombie until waited for: wait for that state, not for a guessed delay.
  siginfo_t info = {};
  ASSERT_EQ(waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);
  EXPECT_FALSE(ProcessAlive(child));
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(ProcessAlive(child));
}

TEST(RunToCompletion, SucceedsWhenTheProgramExitsWithZero) {
  EXPECT_TRUE(RunToCompletion(Shell("exit 0"), "sh").ok());
}

TEST(RunToCompletion, NamesTheExitStatusAndShowsTheTailOfTheOutputFile) {
  const std::string log = TempPath("run_to_completion.log");
  unlink(log.c_str());
  SpawnSpec spec = Shell("echo on-stdout; echo on-stderr >&2; exit 3");
  spec.out = Stream::File(log);
  spec.err = Stream::SameAsStdout();
  absl::Status s = RunToCompletion(spec, "the script");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StartsWith(s.message(), "the script exited with status 3; tail of ")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "on-stdout\non-stderr")) << s;
  EXPECT_EQ(Slurp(log), "on-stdout\non-stderr\n");
}

TEST(RunToCompletion, NamesTheSignalThatKilledTheProgram) {
  absl::Status s = RunToCompletion(Shell("kill -9 $$"), "the script");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "the script was killed by signal 9 (Killed)");
}

TEST(Spawn, ReportsTheFailedStepAndErrnoOfAMissingProgram) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/program"};
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  EXPECT_EQ(child.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(child.status().message(),
            "starting /nonexistent/program as the current user: execve failed: No such file or "
            "directory (errno 2)");
}

TEST(Spawn, ReportsAWorkingDirectoryThatDoesNotExist) {
  SpawnSpec spec = Shell("exit 0");
  spec.cwd = "/nonexistent/dir";
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  EXPECT_EQ(child.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(child.status().message(), "chdir failed")) << child.status();
}

TEST(Spawn, RejectsARelativeProgramPath) {
  SpawnSpec spec;
  spec.argv = {"sh"};
  EXPECT_EQ(Spawn(spec).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Spawn, PipesStdinAndStdout) {
  SpawnSpec spec;
  spec.argv = {"/bin/cat"};
  spec.in = Stream::Pipe();
  spec.out = Stream::Pipe();
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_GE(child->in_fd, 0);
  ASSERT_GE(child->out_fd, 0);
  EXPECT_EQ(child->err_fd, -1);
  ASSERT_EQ(write(child->in_fd, "hello\n", 6), 6);
  close(child->in_fd);
  EXPECT_EQ(ReadAll(child->out_fd), "hello\n");
  std::optional<ExitStatus> done = WaitForExit(child->pid, absl::Seconds(30));
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->success()) << done->Describe();
}

TEST(Spawn, GivesTheChildExactlyTheEnvironmentAndDirectoryAsked) {
  SpawnSpec spec = Shell("echo \"$AEQUOR_X|${HOME-unset}|$(pwd)\"");
  spec.env = std::vector<std::string>{"AEQUOR_X=42"};
  spec.cwd = "/";
  spec.out = Stream::Pipe();
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(ReadAll(child->out_fd), "42|unset|/\n");
  ASSERT_TRUE(WaitForExit(child->pid, absl::Seconds(30)).has_value());
}

TEST(Spawn, InheritsThisProcessEnvironmentByDefault) {
  setenv("AEQUOR_SUBPROCESS_TEST", "inherited", 1);
  SpawnSpec spec = Shell("echo \"$AEQUOR_SUBPROCESS_TEST\"");
  spec.out = Stream::Pipe();
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(ReadAll(child->out_fd), "inherited\n");
  ASSERT_TRUE(WaitForExit(child->pid, absl::Seconds(30)).has_value());
}

TEST(Spawn, LeavesNoOtherDescriptorOpenInTheChild) {
  int leaked = open("/dev/null", O_RDONLY);  // Without O_CLOEXEC on purpose.
  ASSERT_GE(leaked, 3);
  SpawnSpec spec = Shell("ls /proc/self/fd");
  spec.out = Stream::Pipe();
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  close(leaked);
  ASSERT_TRUE(child.ok()) << child.status();
  // ls's own directory descriptor is 3; 0, 1 and 2 are the streams.
  EXPECT_EQ(ReadAll(child->out_fd), "0\n1\n2\n3\n");
  ASSERT_TRUE(WaitForExit(child->pid, absl::Seconds(30)).has_value());
}

TEST(Spawn, StartsANewProcessGroupThatCanBeSignalled) {
  SpawnSpec spec = Shell("echo ready; exec /bin/sleep 600");
  spec.out = Stream::Pipe();
  spec.group = ProcessGroup::kNewGroup;
  spec.parent_death_signal = SIGKILL;
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(getpgid(child->pid), child->pid);
  EXPECT_FALSE(ReapIfExited(child->pid).has_value());
  EXPECT_TRUE(SendSignal(child->pid, SIGTERM, SignalTarget::kGroup).ok());
  std::optional<ExitStatus> done = WaitForExit(child->pid, absl::Seconds(30));
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->success());
  EXPECT_TRUE(WIFSIGNALED(done->wait_status));
  EXPECT_EQ(WTERMSIG(done->wait_status), SIGTERM);
  close(child->out_fd);
  EXPECT_EQ(SendSignal(child->pid, SIGTERM).code(), absl::StatusCode::kNotFound);
}

TEST(Spawn, MakesTheParentsPipeEndsNonBlockingWhenAsked) {
  SpawnSpec spec = Shell("read line");
  spec.in = Stream::Pipe();
  spec.out = Stream::Pipe();
  spec.nonblocking_pipes = true;
  absl::StatusOr<SpawnedProcess> child = Spawn(spec);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_NE(fcntl(child->out_fd, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(fcntl(child->in_fd, F_GETFL) & O_NONBLOCK, 0);
  char c;
  EXPECT_EQ(read(child->out_fd, &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  ASSERT_EQ(write(child->in_fd, "x\n", 2), 2);
  close(child->in_fd);
  close(child->out_fd);
  std::optional<ExitStatus> done = WaitForExit(child->pid, absl::Seconds(30));
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->success()) << done->Describe();
}

TEST(ExitStatus, DescribesAnUnknownStatusAsExited) {
  EXPECT_FALSE(ExitStatus{}.known());
  EXPECT_EQ(ExitStatus{}.Describe(), "exited");
}

TEST(IsMainThread, IsTrueOnTheTestThread) { EXPECT_TRUE(IsMainThread()); }

}  // namespace
}  // namespace testing
}  // namespace aequor
