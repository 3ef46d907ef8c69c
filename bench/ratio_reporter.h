// bench/ratio_reporter.h: prints "ratio" lines comparing benchmarks run in the
// same process, so speed claims are ratios against a baseline measured in
// the same run, never absolute timings from another day.
//
// Benchmarks are paired by name: "<group>/baseline" and "<group>/<variant>".
// With --benchmark_repetitions=N the median of each is used; the lines look
// like
//
//   ratio select1: aequor/baseline = 1.012 (median 66.1 us vs 65.3 us)
//
// Thread-safety: used by the benchmark runner's thread only.
#ifndef AEQUOR_BENCH_RATIO_REPORTER_H_
#define AEQUOR_BENCH_RATIO_REPORTER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

namespace aequor {
namespace bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  // "group/variant" -> median (or single-run) real time per iteration, in ns.
  std::map<std::string, double> medians_;
  std::map<std::string, double> singles_;
};

// Runs the benchmarks registered in this binary with a RatioReporter.
int RunWithRatios(int argc, char** argv);

// A paired measurement, robust to a machine whose load drifts: each
// iteration of `state` times one `base` batch and one `variant` batch back
// to back, the order alternating, and the counters are `ratio` (the median
// of the per-pair ratios, variant / base) and `<base_name>` and
// `<variant_name>` (the median batch times divided by `per_batch`, in us).
void RunPaired(benchmark::State& state, const std::function<void()>& base,
               const std::function<void()>& variant, int per_batch,
               const std::string& base_name = "base_us",
               const std::string& variant_name = "variant_us");

}  // namespace bench
}  // namespace aequor

#endif  // AEQUOR_BENCH_RATIO_REPORTER_H_
