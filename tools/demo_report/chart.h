// tools/demo_report/chart.h: an SVG line chart of connections in use over time.
//
// The demo draws one line per storm run (plain libpq, aequor) and a dashed
// horizontal line at max_connections, so the difference is visible at a
// glance: one line climbs to the limit and stays there, the other does not.
//
//   std::string svg = aequor::demo::ConnectionsChart(
//       {{"plain libpq", libpq_points, "#d62728"}, {"aequor", aequor_points, "#1f77b4"}},
//       /*max_connections=*/27, "40 invocations, one every 400 ms");
//
// Thread-safety: pure function.
#ifndef AEQUOR_TOOLS_DEMO_REPORT_CHART_H_
#define AEQUOR_TOOLS_DEMO_REPORT_CHART_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace demo {

struct Point {
  double t_ms = 0;
  double connections = 0;
};

struct Series {
  std::string label;
  std::vector<Point> points;
  std::string color;  // any SVG color, e.g. "#1f77b4"
};

// Reads the storm's --series-out CSV ("t_ms,connections" header, then rows).
// InvalidArgument naming the line for a malformed row.
absl::StatusOr<std::vector<Point>> ParseSeriesCsv(absl::string_view csv);

// The chart as a standalone SVG document. `limit` is drawn as a dashed line
// labelled "max_connections (limit)"; `limit_label` names it.
std::string ConnectionsChart(const std::vector<Series>& series, double limit,
                             absl::string_view limit_label, absl::string_view title);

}  // namespace demo
}  // namespace aequor

#endif  // AEQUOR_TOOLS_DEMO_REPORT_CHART_H_
