// api/random.h: the randomness source of aequor (instance ids, jitter,
// scheduler coin flips), injected so tests can seed it.
//
//   aequor::SeededRandom rng(42);
//   double u = rng.Uniform01();
//
// Thread-safety: a Random is NOT thread-safe. The manager only uses its own
// under its lock; give each manager its own instance.
#ifndef AEQUOR_API_RANDOM_H_
#define AEQUOR_API_RANDOM_H_

#include <cstdint>
#include <memory>

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

}  // namespace aequor

#endif  // AEQUOR_API_RANDOM_H_
