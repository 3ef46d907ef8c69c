// testing/shifted_clock.h: the real clock, moved forward on demand.
//
// For tests against a real server that need time to have passed (a lease
// that is due) while waits on the network still take real time (a call's
// deadline): Advance() jumps, everything else runs as the real clock does.
//
//   aequor::testing::ShiftedClock clock;
//   builder.SetClock(&clock);
//   clock.Advance(absl::Seconds(89));  // the lease is due for renewal now
//
// Thread-safety: thread-safe.
#ifndef AEQUOR_TESTING_SHIFTED_CLOCK_H_
#define AEQUOR_TESTING_SHIFTED_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "api/clock.h"

namespace aequor {
namespace testing {

class ShiftedClock final : public Clock {
 public:
  absl::Time Now() override { return Clock::Real()->Now() + shift(); }
  absl::Time MonotonicNow() override { return Clock::Real()->MonotonicNow() + shift(); }
  void SleepFor(absl::Duration d) override { Clock::Real()->SleepFor(d); }

  // Moves both readings by `d` from now on (negative: back; a clock that
  // is behind, e.g. to sign leases that are already expired).
  void Advance(absl::Duration d) { shift_ns_ += absl::ToInt64Nanoseconds(d); }

 private:
  absl::Duration shift() const { return absl::Nanoseconds(shift_ns_.load()); }
  std::atomic<int64_t> shift_ns_{0};
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_SHIFTED_CLOCK_H_
