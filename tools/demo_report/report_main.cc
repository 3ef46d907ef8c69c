// tools/demo_report/report: the demo's side-by-side table and chart.
//
//   report BASELINE.json BASELINE.csv AEQUOR.json AEQUOR.csv OUT.svg
//
// Each .json holds the storm's closing JSON line, each .csv its
// --series-out. Prints the table, writes the chart, and names the file.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/demo_report/chart.h"
#include "tools/demo_report/summary.h"

namespace {

bool Slurp(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

std::string Failures(const aequor::demo::StormSummary& s) {
  std::vector<std::string> parts;
  for (const auto& [what, n] : s.failures) parts.push_back(absl::StrCat(n, " x ", what));
  return parts.empty() ? "" : absl::StrCat(" (", absl::StrJoin(parts, ", "), ")");
}

int Usage() {
  std::fprintf(stderr, "usage: report BASELINE.json BASELINE.csv AEQUOR.json AEQUOR.csv OUT.svg\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) return Usage();
  aequor::demo::StormSummary runs[2];
  std::vector<aequor::demo::Series> series;
  const char* colors[] = {"#d62728", "#1f77b4"};
  for (int i = 0; i < 2; ++i) {
    std::string json, csv;
    if (!Slurp(argv[1 + 2 * i], json) || !Slurp(argv[2 + 2 * i], csv)) {
      std::fprintf(stderr, "report: cannot read %s or %s\n", argv[1 + 2 * i], argv[2 + 2 * i]);
      return 1;
    }
    auto summary = aequor::demo::ParseStormSummary(json);
    auto points = aequor::demo::ParseSeriesCsv(csv);
    if (!summary.ok() || !points.ok()) {
      std::fprintf(stderr, "report: %s\n",
                   (!summary.ok() ? summary.status() : points.status()).ToString().c_str());
      return 1;
    }
    runs[i] = *summary;
    series.push_back({i == 0 ? "plain libpq" : "aequor", *points, colors[i]});
  }
  const double limit = runs[0].fleet_slots > 0 ? runs[0].fleet_slots : runs[0].max_connections;

  auto row = [&](const char* name, const std::string& a, const std::string& b) {
    std::printf("  %-26s %-28s %s\n", name, a.c_str(), b.c_str());
  };
  auto n = [](double v) { return absl::StrFormat("%g", v); };
  std::printf("\n");
  row("", "plain libpq", "aequor");
  row("invocations", n(runs[0].invocations), n(runs[1].invocations));
  row("failed", n(runs[0].failed) + Failures(runs[0]), n(runs[1].failed) + Failures(runs[1]));
  row("peak connections", absl::StrFormat("%g of %g", runs[0].peak_connections, limit),
      absl::StrFormat("%g of %g", runs[1].peak_connections, limit));
  row("zombies reaped", n(runs[0].zombies_reaped), n(runs[1].zombies_reaped));
  row("false kills", n(runs[0].false_kills), n(runs[1].false_kills));
  row("latency p50 / p99", absl::StrFormat("%.1f / %.1f ms", runs[0].p50_ms, runs[0].p99_ms),
      absl::StrFormat("%.1f / %.1f ms", runs[1].p50_ms, runs[1].p99_ms));
  std::printf("\n");

  std::string svg = aequor::demo::ConnectionsChart(
      series, limit, "max_connections left for the fleet",
      absl::StrFormat("Connections in use: %g invocations, each frozen after it returns",
                      runs[0].invocations));
  std::ofstream out(argv[5], std::ios::binary | std::ios::trunc);
  out << svg;
  if (!out) {
    std::fprintf(stderr, "report: cannot write %s\n", argv[5]);
    return 1;
  }
  std::printf("Chart of connections in use over time: %s\n", argv[5]);
  return 0;
}
