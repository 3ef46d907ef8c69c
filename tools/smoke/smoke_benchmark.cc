// Smoke benchmark: proves that Google Benchmark (@aequor_system//:benchmark_main)
// links and runs. Run with: bazel run //tools/smoke:smoke_benchmark

#include <string>

#include "benchmark/benchmark.h"

namespace {

void BM_StringAppend(benchmark::State& state) {
  for (auto _ : state) {
    std::string s;
    s.append("aequor");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_StringAppend);

}  // namespace
