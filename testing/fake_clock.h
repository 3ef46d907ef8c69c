// testing/fake_clock.h: a Clock for tests that never sleeps.
//
// SleepFor() advances the clock instead of blocking, and records each sleep,
// so lease-expiry, backoff and scheduler tests run instantly and can assert
// on exactly how long the code under test chose to wait.
//
//   aequor::testing::FakeClock clock(absl::FromUnixMillis(1767225600000));
//   builder.SetClock(&clock);
//   clock.Advance(absl::Seconds(91));  // the lease has now expired
//
// Thread-safety: thread-safe.
#ifndef AEQUOR_TESTING_FAKE_CLOCK_H_
#define AEQUOR_TESTING_FAKE_CLOCK_H_

#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "api/clock.h"

namespace aequor {
namespace testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixMillis(1767225600000))
      : wall_(start), monotonic_(absl::UnixEpoch() + absl::Hours(1)) {}

  absl::Time Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }
  absl::Time MonotonicNow() override {
    std::lock_guard<std::mutex> lock(mu_);
    return monotonic_;
  }
  void SleepFor(absl::Duration d) override {
    std::lock_guard<std::mutex> lock(mu_);
    sleeps_.push_back(d);
    if (d > absl::ZeroDuration()) {
      wall_ += d;
      monotonic_ += d;
    }
  }

  // Moves both clocks forward by `d`.
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    wall_ += d;
    monotonic_ += d;
  }
  // Sets the wall clock only (a clock step, e.g. NTP); monotonic is unchanged.
  void SetWallTime(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    wall_ = t;
  }
  // Every duration passed to SleepFor(), in order.
  std::vector<absl::Duration> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  absl::Time wall_ ABSL_GUARDED_BY(mu_);
  absl::Time monotonic_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> sleeps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_FAKE_CLOCK_H_
