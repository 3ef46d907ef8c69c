// bench/storm/signals.h: SIGINT, SIGTERM and SIGHUP while a storm runs: they
// are recorded (the run stops, kills every instance and still reports), and
// wake the run's poll() through a pipe. SIGPIPE is ignored meanwhile (an
// instance that closed its stdin must not kill the harness).
//
//   SignalScope signals;                       // handlers installed
//   pollfd wake{signals.read_fd(), POLLIN, 0};
//   ... poll(...); signals.Drain();
//   if (signals.signal() != 0) { /* interrupted by that signal */ }
//                                              // old handlers back at scope exit
//
// Thread-safety: one SignalScope at a time per process (the handler's state
// is process-wide); create and destroy it on one thread.
#ifndef AEQUOR_BENCH_STORM_SIGNALS_H_
#define AEQUOR_BENCH_STORM_SIGNALS_H_

#include <signal.h>

namespace aequor {
namespace storm {

class SignalScope {
 public:
  SignalScope();
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

  // Readable after a signal; -1 if the pipe could not be made.
  int read_fd() const { return fds_[0]; }
  // The first signal received in this scope, 0 if none.
  int signal() const;
  // Empties the pipe (after poll() said it was readable).
  void Drain() const;

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  int fds_[2] = {-1, -1};
  struct sigaction old_[3];
  struct sigaction old_pipe_;
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_SIGNALS_H_
