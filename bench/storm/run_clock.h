// bench/storm/run_clock.h: a storm's time line. Run times are milliseconds
// since the clock was made (t = 0: the first instance starts); the server
// log's wall-clock instants (epoch ms) are mapped onto the same line.
//
//   RunClock clock;
//   double now = clock.Now();                              // 12.5
//   double logged = clock.FromEpochMs(termination.epoch_ms);
//
// Thread-safety: immutable after construction; Now() is thread-safe.
#ifndef AEQUOR_BENCH_STORM_RUN_CLOCK_H_
#define AEQUOR_BENCH_STORM_RUN_CLOCK_H_

#include <chrono>
#include <cmath>
#include <cstdint>

namespace aequor {
namespace storm {

class RunClock {
 public:
  RunClock()
      : start_(std::chrono::steady_clock::now()),
        wall_start_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()) {}
  // Milliseconds since the clock was made.
  double Now() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }
  // Run time of a wall-clock instant (epoch ms), e.g. from the server log.
  double FromEpochMs(int64_t epoch_ms) const {
    return static_cast<double>(epoch_ms - wall_start_ms_);
  }
  int64_t ToEpochMs(double run_ms) const {
    return wall_start_ms_ + static_cast<int64_t>(std::llround(run_ms));
  }

 private:
  std::chrono::steady_clock::time_point start_;
  int64_t wall_start_ms_;
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_RUN_CLOCK_H_
