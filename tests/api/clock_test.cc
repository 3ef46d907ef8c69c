// Clock::MonotonicNanos(): the integer reading the query path uses must agree
// with MonotonicNow(), for the real clock and for a clock that only
// implements MonotonicNow() (the default).
#include <cstdint>

#include "absl/time/time.h"
#include "api/clock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace aequor {
namespace {

TEST(ClockTest, RealMonotonicNanosAgreesWithMonotonicNow) {
  Clock* clock = Clock::Real();
  for (int i = 0; i < 1000; ++i) {
    const int64_t before = absl::ToUnixNanos(clock->MonotonicNow());
    const int64_t nanos = clock->MonotonicNanos();
    const int64_t after = absl::ToUnixNanos(clock->MonotonicNow());
    ASSERT_LE(before, nanos);
    ASSERT_LE(nanos, after);
  }
}

TEST(ClockTest, DefaultMonotonicNanosFollowsMonotonicNow) {
  testing::FakeClock clock;
  const int64_t start = clock.MonotonicNanos();
  EXPECT_EQ(start, absl::ToUnixNanos(clock.MonotonicNow()));
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(clock.MonotonicNanos() - start, 1500000000);
  clock.SetWallTime(absl::UnixEpoch());  // a wall-clock step: no effect
  EXPECT_EQ(clock.MonotonicNanos() - start, 1500000000);
}

}  // namespace
}  // namespace aequor
