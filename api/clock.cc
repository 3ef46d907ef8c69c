// The real Clock and the entropy-seeded Random.
#include <time.h>

#include <memory>
#include <random>

#include "absl/time/clock.h"
#include "api/clock.h"
#include "api/random.h"

namespace aequor {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
  absl::Time MonotonicNow() override {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return absl::TimeFromTimespec(ts);
  }
  int64_t MonotonicNanos() override {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  }
  void SleepFor(absl::Duration d) override {
    if (d > absl::ZeroDuration()) absl::SleepFor(d);
  }
};

class EntropyRandom final : public Random {
 public:
  EntropyRandom() {
    // std::random_device throws when the system has no entropy source; fall
    // back to the clock and the object's address rather than let it escape.
    try {
      std::random_device device;
      std::seed_seq seq{device(), device(), device(), device(),
                        device(), device(), device(), device()};
      engine_.seed(seq);
    } catch (...) {
      engine_.seed(static_cast<uint64_t>(absl::GetCurrentTimeNanos()) ^
                   reinterpret_cast<uintptr_t>(this));
    }
  }
  uint64_t Next64() override { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* const clock = new RealClock();  // leaked on purpose
  return clock;
}

std::unique_ptr<Random> Random::FromEntropy() { return std::make_unique<EntropyRandom>(); }

}  // namespace aequor
