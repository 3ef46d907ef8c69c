#include "bench/ratio_reporter.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace aequor {
namespace bench {
namespace {

// "select1/aequor/repeats:15_median" -> "select1/aequor".
std::string BaseName(const std::string& name) {
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  std::string base;
  for (const std::string& part : parts) {
    if (absl::StartsWith(part, "repeats:") || absl::StartsWith(part, "iterations:") ||
        absl::StartsWith(part, "min_time:") || absl::StartsWith(part, "real_time") ||
        absl::StartsWith(part, "threads:")) {
      break;
    }
    if (!base.empty()) base += "/";
    base += part;
  }
  return base;
}

}  // namespace

void RatioReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& run : runs) {
    if (run.error_occurred) continue;
    std::string name = run.benchmark_name();
    double ns = run.GetAdjustedRealTime();  // in the run's time unit
    switch (run.time_unit) {
      case benchmark::kMicrosecond: ns *= 1e3; break;
      case benchmark::kMillisecond: ns *= 1e6; break;
      case benchmark::kSecond: ns *= 1e9; break;
      default: break;
    }
    if (run.run_type == Run::RT_Aggregate) {
      if (run.aggregate_name == "median") medians_[BaseName(name)] = ns;
    } else {
      singles_[BaseName(name)] = ns;
    }
  }
}

void RatioReporter::Finalize() {
  ConsoleReporter::Finalize();
  std::map<std::string, double> times = singles_;
  for (const auto& [name, ns] : medians_) times[name] = ns;
  for (const auto& [name, ns] : times) {
    std::vector<std::string> parts = absl::StrSplit(name, absl::MaxSplits('/', 1));
    if (parts.size() != 2 || parts[1] == "baseline") continue;
    auto base = times.find(parts[0] + "/baseline");
    if (base == times.end() || base->second <= 0) continue;
    std::printf("ratio %s: %s/baseline = %.3f (%s %.2f us vs %.2f us)\n", parts[0].c_str(),
                parts[1].c_str(), ns / base->second,
                medians_.count(name) > 0 ? "median" : "single run", ns / 1e3, base->second / 1e3);
  }
  std::fflush(stdout);
}

int RunWithRatios(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

void RunPaired(benchmark::State& state, const std::function<void()>& base,
               const std::function<void()>& variant, int per_batch,
               const std::string& base_name, const std::string& variant_name) {
  auto seconds = [](const std::function<void()>& batch) {
    const auto start = std::chrono::steady_clock::now();
    batch();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::vector<double> ratios, base_times, variant_times;
  bool base_first = true;
  for (auto _ : state) {
    double b, v;
    if (base_first) {
      b = seconds(base);
      v = seconds(variant);
    } else {
      v = seconds(variant);
      b = seconds(base);
    }
    base_first = !base_first;
    ratios.push_back(v / b);
    base_times.push_back(b);
    variant_times.push_back(v);
  }
  state.counters["ratio"] = median(ratios);
  state.counters[base_name] = median(base_times) / per_batch * 1e6;
  state.counters[variant_name] = median(variant_times) / per_batch * 1e6;
}

}  // namespace bench
}  // namespace aequor
