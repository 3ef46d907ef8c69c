// tests/tools/aequorctl/aequorctl_runner.h: runs the real aequorctl binary from a test.
//
//   RunResult run = Aequorctl({"lease", "verify", "--application-name", a},
//                             {"AEQUOR_COORDINATION_SECRET=..."});
//   EXPECT_EQ(run.exit_code, 0) << Describe(run);
//
// The binary comes from the test's runfiles (data = ["//tools/aequorctl"]);
// it runs with exactly the environment given plus the sanitizers' option
// variables of the test's own environment (ASAN_OPTIONS, UBSAN_OPTIONS, ...,
// set by `--config=asan` and the like), and its stdout and stderr are
// captured separately. A sanitizer report on its stderr fails the calling
// test and is printed whole: a sanitized aequorctl stops with exit status 1,
// which is also its "invalid" status, and the report would otherwise stay in
// RunResult::err.
//
// Thread-safety: each call is independent.
#ifndef AEQUOR_TESTS_TOOLS_AEQUORCTL_AEQUORCTL_RUNNER_H_
#define AEQUOR_TESTS_TOOLS_AEQUORCTL_AEQUORCTL_RUNNER_H_

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aequor {
namespace testing {

// Sanitizer option variables passed on to the binary when the test has them.
inline constexpr const char* kSanitizerOptionVariables[] = {"ASAN_OPTIONS", "LSAN_OPTIONS",
                                                             "UBSAN_OPTIONS", "TSAN_OPTIONS"};

// Whether `err` holds a report of AddressSanitizer, LeakSanitizer,
// UndefinedBehaviorSanitizer or ThreadSanitizer.
inline bool HasSanitizerReport(const std::string& err) {
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ",
                             "WARNING: ThreadSanitizer"}) {
    if (err.find(marker) != std::string::npos) return true;
  }
  return false;
}

inline std::string BinaryPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return "bazel-bin/tools/aequorctl/aequorctl";
  return absl::StrCat(srcdir, "/", workspace != nullptr ? workspace : "aequor",
                      "/tools/aequorctl/aequorctl");
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs aequorctl with `args` and exactly the environment `env` ("K=V" items).
inline RunResult Aequorctl(const std::vector<std::string>& args,
                           const std::vector<std::string>& env) {
  RunResult run;
  int out_pipe[2];
  int err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return run;
  }
  const std::string binary = BinaryPath();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> full_env = env;
  for (const char* name : kSanitizerOptionVariables) {
    const char* value = std::getenv(name);
    if (value != nullptr) full_env.push_back(absl::StrCat(name, "=", value));
  }
  std::vector<char*> envp;
  for (const std::string& e : full_env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return run;
  }
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, 30000) <= 0) {
      ADD_FAILURE() << "aequorctl produced no output for 30 s";
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || fds[k].revents == 0) continue;
      char buffer[4096];
      ssize_t n = read(fds[k].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[k]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (HasSanitizerReport(run.err)) {
    ADD_FAILURE() << "a sanitizer reported on aequorctl (exit " << run.exit_code << ")\n"
                  << run.err;
  }
  return run;
}

inline std::string Describe(const RunResult& run) {
  return absl::StrCat("exit ", run.exit_code, "\n--- stdout\n", run.out, "--- stderr\n", run.err);
}

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTS_TOOLS_AEQUORCTL_AEQUORCTL_RUNNER_H_
