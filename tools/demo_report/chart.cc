#include "tools/demo_report/chart.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace aequor {
namespace demo {
namespace {

std::string Escape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A "nice" step for about `ticks` ticks over [0, range].
double NiceStep(double range, int ticks) {
  if (range <= 0) return 1;
  double raw = range / ticks;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10 * magnitude;
}

}  // namespace

absl::StatusOr<std::vector<Point>> ParseSeriesCsv(absl::string_view csv) {
  std::vector<Point> points;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(csv, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line_number == 1) continue;  // header
    std::vector<absl::string_view> cells = absl::StrSplit(line, ',');
    Point p;
    if (cells.size() != 2 || !absl::SimpleAtod(cells[0], &p.t_ms) ||
        !absl::SimpleAtod(cells[1], &p.connections)) {
      return absl::InvalidArgumentError(
          absl::StrCat("series CSV line ", line_number, ": expected t_ms,connections"));
    }
    points.push_back(p);
  }
  return points;
}

std::string ConnectionsChart(const std::vector<Series>& series, double limit,
                             absl::string_view limit_label, absl::string_view title) {
  constexpr double kWidth = 820, kHeight = 420;
  constexpr double kLeft = 60, kRight = 180, kTop = 40, kBottom = 50;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;

  double max_t = 1, max_y = std::max(1.0, limit);
  for (const Series& s : series) {
    for (const Point& p : s.points) {
      max_t = std::max(max_t, p.t_ms);
      max_y = std::max(max_y, p.connections);
    }
  }
  max_y *= 1.1;
  auto x = [&](double t) { return kLeft + t / max_t * plot_w; };
  auto y = [&](double v) { return kTop + plot_h - v / max_y * plot_h; };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"24\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
      kWidth, kHeight, kWidth, kHeight, kLeft, Escape(title));

  // Axes, grid and ticks.
  const double y_step = NiceStep(max_y, 6), t_step = NiceStep(max_t / 1000.0, 8);
  for (double v = 0; v <= max_y; v += y_step) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                          kLeft, y(v), kLeft + plot_w, y(v), kLeft - 6, y(v) + 4, v);
  }
  for (double s = 0; s * 1000 <= max_t; s += t_step) {
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%gs</text>\n",
                          x(s * 1000), kTop + plot_h + 18, s);
  }
  absl::StrAppendFormat(
      &svg,
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since the storm began</text>\n"
      "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">"
      "connections in use</text>\n",
      kLeft, kTop + plot_h, kLeft + plot_w, kTop + plot_h, kLeft, kTop, kLeft, kTop + plot_h,
      kLeft + plot_w / 2, kHeight - 8, kTop + plot_h / 2);

  // The limit.
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" "
                        "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
                        "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\">%s (%g)</text>\n",
                        kLeft, y(limit), kLeft + plot_w, y(limit), kLeft + 8, y(limit) - 6,
                        Escape(limit_label), limit);

  // One stepped line per series, and its legend entry.
  double legend_y = kTop + 10;
  for (const Series& s : series) {
    std::string points;
    double previous = 0;
    bool first = true;
    for (const Point& p : s.points) {
      if (!first) absl::StrAppendFormat(&points, "%.1f,%.1f ", x(p.t_ms), y(previous));
      absl::StrAppendFormat(&points, "%.1f,%.1f ", x(p.t_ms), y(p.connections));
      previous = p.connections;
      first = false;
    }
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                          "points=\"%s\"><title>%s</title></polyline>\n",
                          Escape(s.color), points, Escape(s.label));
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                          "stroke-width=\"3\"/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                          kLeft + plot_w + 8, legend_y + 24, kLeft + plot_w + 30, legend_y + 24,
                          Escape(s.color), kLeft + plot_w + 36, legend_y + 28, Escape(s.label));
    legend_y += 22;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace demo
}  // namespace aequor
