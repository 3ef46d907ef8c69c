#include "bench/storm/signals.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace aequor {
namespace storm {
namespace {

// The handler only writes one byte to a pipe and records the signal; both
// are plain ints (trivially destructible, async-signal-safe).
volatile sig_atomic_t g_signal = 0;
int g_wake_fd = -1;

void OnSignal(int sig) {
  if (g_signal == 0) g_signal = sig;
  if (g_wake_fd >= 0) {
    const char byte = 1;
    ssize_t ignored = write(g_wake_fd, &byte, 1);
    (void)ignored;
  }
}

}  // namespace

SignalScope::SignalScope() {
  if (pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) fds_[0] = fds_[1] = -1;
  g_signal = 0;
  g_wake_fd = fds_[1];
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &old_[i]);
  struct sigaction ignore;
  std::memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &old_pipe_);
}

SignalScope::~SignalScope() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &old_[i], nullptr);
  sigaction(SIGPIPE, &old_pipe_, nullptr);
  g_wake_fd = -1;
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

int SignalScope::signal() const { return g_signal; }

void SignalScope::Drain() const {
  char buf[64];
  while (fds_[0] >= 0 && read(fds_[0], buf, sizeof(buf)) > 0) {
  }
}

}  // namespace storm
}  // namespace aequor
