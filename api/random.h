// api/random.h: the randomness source of aequor (instance ids, jitter,
// scheduler coin flips), injected so tests can seed it.
//
//   aequor::SeededRandom rng(42);
//   double u = rng.Uniform01();
//
// Thread-safety: a Random is NOT thread-safe; SynchronizedRandom makes one
// so. Give each manager or pool its own instance: the builder wraps it in a
// SynchronizedRandom, since a pool's lanes draw jitter concurrently.
#ifndef AEQUOR_API_RANDOM_H_
#define AEQUOR_API_RANDOM_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace aequor {

class Random {
 public:
  virtual ~Random() = default;

  // 64 uniformly distributed random bits.
  virtual uint64_t Next64() = 0;

  // Uniform in [0, 1), with 53 bits of precision.
  double Uniform01() { return static_cast<double>(Next64() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi]; returns lo when hi <= lo.
  double UniformReal(double lo, double hi) { return hi <= lo ? lo : lo + (hi - lo) * Uniform01(); }

  // A generator seeded from the operating system's entropy source. The
  // default for every manager.
  static std::unique_ptr<Random> FromEntropy();
};

// A deterministic generator (SplitMix64) for tests and reproducible
// benchmarks. Not for anything that must be unpredictable.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next64() override {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// Another Random behind a mutex: safe to call from several threads. The
// wrapped generator's sequence is kept (a seeded one stays reproducible
// for a single thread).
class SynchronizedRandom final : public Random {
 public:
  explicit SynchronizedRandom(std::unique_ptr<Random> random) : random_(std::move(random)) {}
  uint64_t Next64() override {
    std::lock_guard<std::mutex> lock(mu_);
    return random_->Next64();
  }

 private:
  std::mutex mu_;
  const std::unique_ptr<Random> random_;
};

}  // namespace aequor

#endif  // AEQUOR_API_RANDOM_H_
