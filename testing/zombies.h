// testing/zombies.h: frozen serverless instances for tests.
//
// A Zombie runs the `zombie` binary (zombie_main.cc): it connects with the
// given application_name, leaves its session idle (or active, or in a
// transaction, or holding the reaper lock) and stops itself with SIGSTOP, as
// a runtime freezes a container after its handler returned. The destructor
// kills it (SIGKILL) and reaps the process.
//
// Thread-safety: not thread-safe.
#ifndef AEQUOR_TESTING_ZOMBIES_H_
#define AEQUOR_TESTING_ZOMBIES_H_

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace aequor {
namespace testing {

class Zombie {
 public:
  // Starts a zombie and waits until it has stopped itself. Its backend pid is
  // backend_pid().
  static absl::StatusOr<std::unique_ptr<Zombie>> Start(const std::string& conninfo,
                                                       const std::string& application_name,
                                                       const std::string& mode) {
    int out[2];
    if (pipe(out) != 0) return absl::InternalError("pipe");
    const std::string binary = Binary();
    pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork");
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execl(binary.c_str(), binary.c_str(), conninfo.c_str(), application_name.c_str(),
            mode.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    std::unique_ptr<Zombie> z(new Zombie(pid, out[0]));
    const std::string line = z->ReadLine();
    absl::string_view rest = line;
    int backend = 0;
    if (!absl::ConsumePrefix(&rest, "pid ") || !absl::SimpleAtoi(rest, &backend)) {
      return absl::InternalError(absl::StrCat("zombie (", mode, ") said: ", line));
    }
    z->backend_pid_ = backend;
    int status = 0;
    if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
      return absl::InternalError("zombie did not stop");
    }
    return z;
  }

  ~Zombie() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    if (out_ != nullptr) fclose(out_);
  }

  int backend_pid() const { return backend_pid_; }

  // Resumes the frozen process (a warm invocation); it reports whether its
  // connection survived ("alive" or "dead") and exits.
  std::string Thaw() {
    kill(pid_, SIGCONT);
    return ReadLine();
  }

 private:
  Zombie(pid_t pid, int fd) : pid_(pid), out_(fdopen(fd, "r")) {}

  static std::string Binary() {
    const char* srcdir = std::getenv("TEST_SRCDIR");
    const char* workspace = std::getenv("TEST_WORKSPACE");
    return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/",
                        workspace != nullptr ? workspace : "aequor", "/testing/zombie");
  }

  std::string ReadLine() {
    char buf[1024];
    if (out_ == nullptr || fgets(buf, sizeof buf, out_) == nullptr) return "";
    return std::string(absl::StripTrailingAsciiWhitespace(buf));
  }

  pid_t pid_;
  FILE* out_;
  int backend_pid_ = 0;
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_ZOMBIES_H_
