// util/deadline_watchdog.h: waits on a socket that end at a deadline,
// without arming a kernel timer per wait.
//
//   switch (aequor::WaitWatched(fd, POLLIN, deadline_ns)) {
//     case aequor::WatchedWait::kReady:       /* read */ break;
//     case aequor::WatchedWait::kDeadline:    /* give up: the read side is shut */ break;
//     case aequor::WatchedWait::kNoWatchdog:  /* poll() with a timeout instead */ break;
//   }
//
// Why: a poll() with a timeout arms and cancels a kernel timer on every
// call, and a second fd in the poll set (a timerfd) costs about as much: on
// this project's KVM guests either is 2 to 3% of a SELECT 1 on a unix
// socket (docs/BENCHMARKS.md, "The query path"). Here a wait is poll() on
// the socket alone with no timeout; one process-wide watchdog thread sleeps
// until the earliest deadline of the waits in progress and, when one
// passes, shuts the read side of that wait's socket (shutdown(SHUT_RD)),
// which ends the poll(). Calls' deadlines grow one after the other (now +
// budget), so a thread running statement after statement costs the
// watchdog about one wake-up per budget, and the waiting thread two atomic
// operations per wait.
//
// After kDeadline the socket no longer reads: the caller abandons the
// connection (what util/pg.h does at a deadline anyway).
//
// The watchdog thread starts with the first wait, is never stopped (it
// sleeps on a condition variable; a frozen process freezes it too), and is
// started again in a child after fork(). Each thread that waits has one
// slot in it, removed when the thread ends.
//
// Thread-safety: thread-safe; each thread waits on one socket at a time.
#ifndef AEQUOR_UTIL_DEADLINE_WATCHDOG_H_
#define AEQUOR_UTIL_DEADLINE_WATCHDOG_H_

#include <cstdint>

namespace aequor {

enum class WatchedWait {
  kReady,       // poll() reported `events` (or an error or hang-up) on the fd
  kDeadline,    // the deadline passed first; the fd's read side is shut
  kNoWatchdog,  // no watchdog thread could be started: nothing was waited for
};

// Waits until `fd` is ready for `events` (poll() flags) or CLOCK_MONOTONIC
// reaches `deadline_ns` (int64 max: never). A deadline already passed
// ends the wait as soon as the watchdog sees it, unless poll() returns
// first: whichever comes first decides, and kDeadline always means the
// read side is shut.
WatchedWait WaitWatched(int fd, short events, int64_t deadline_ns);

// CLOCK_MONOTONIC now, in nanoseconds: the scale of `deadline_ns`.
int64_t MonotonicNanosNow();

}  // namespace aequor

#endif  // AEQUOR_UTIL_DEADLINE_WATCHDOG_H_
