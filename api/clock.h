// api/clock.h: the time source every time-dependent part of aequor reads.
//
// Lease expiry, backoff, budgets and reaper scheduling all ask a Clock, never
// the system directly, so tests substitute a FakeClock (testing/fake_clock.h)
// that advances instantly and never sleeps.
//
//   aequor::Clock* clock = aequor::Clock::Real();
//   absl::Time deadline = clock->MonotonicNow() + absl::Seconds(15);
//
// Thread-safety: implementations must be safe to call from several threads.
#ifndef AEQUOR_API_CLOCK_H_
#define AEQUOR_API_CLOCK_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstdint>

#include "absl/time/time.h"

namespace aequor {

class Clock {
 public:
  virtual ~Clock() = default;

  // Wall-clock time: lease expiries are written in it (milliseconds since the
  // Unix epoch), as pg-aequor does.
  virtual absl::Time Now() = 0;

  // A clock that never goes backwards, for deadlines and durations. Only
  // differences between two readings are meaningful.
  virtual absl::Time MonotonicNow() = 0;

  // MonotonicNow() as an integer, absl::ToUnixNanos(MonotonicNow()): what
  // the query path reads (no absl::Time arithmetic per query). The default
  // derives it from MonotonicNow(), so a test clock need not override it; an
  // override must return exactly that value (the manager mixes the two).
  virtual int64_t MonotonicNanos() { return absl::ToUnixNanos(MonotonicNow()); }

  // Blocks the calling thread for `d` (no-op when d <= 0).
  virtual void SleepFor(absl::Duration d) = 0;

  // The process-wide real clock. Never null, never destroyed.
  static Clock* Real();
};

}  // namespace aequor

#endif  // AEQUOR_API_CLOCK_H_
