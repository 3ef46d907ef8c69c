// The demo's chart: parses the storm's CSV and draws what it was given.
#include "tools/demo_report/chart.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace aequor {
namespace demo {
namespace {

TEST(ParseSeriesCsv, ReadsRowsAfterTheHeader) {
  auto points = ParseSeriesCsv("t_ms,connections\n0,0\n50,3\n100,27\n");
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 3u);
  EXPECT_DOUBLE_EQ((*points)[2].t_ms, 100);
  EXPECT_DOUBLE_EQ((*points)[2].connections, 27);
}

TEST(ParseSeriesCsv, AMalformedRowNamesItsLine) {
  auto points = ParseSeriesCsv("t_ms,connections\n0,0\n50;3\n");
  ASSERT_FALSE(points.ok());
  EXPECT_EQ(points.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(points.status().message(), "line 3"));
}

TEST(ConnectionsChart, DrawsEachSeriesTheLimitAndEscapesText) {
  std::vector<Series> series = {{"plain libpq", {{0, 0}, {1000, 10}, {2000, 27}}, "#d62728"},
                                {"aequor <reaper>", {{0, 0}, {1000, 8}, {2000, 9}}, "#1f77b4"}};
  std::string svg = ConnectionsChart(series, 27, "max_connections", "storm & calm");
  EXPECT_TRUE(absl::StartsWith(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(absl::EndsWith(svg, "</svg>\n"));
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 10, true);
  size_t polylines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos;
       at = svg.find("<polyline", at + 1)) {
    ++polylines;
  }
  EXPECT_EQ(polylines, 2u);
  EXPECT_TRUE(absl::StrContains(svg, "stroke-dasharray")) << "the limit line";
  EXPECT_TRUE(absl::StrContains(svg, "max_connections (27)"));
  EXPECT_TRUE(absl::StrContains(svg, "aequor &lt;reaper&gt;"));
  EXPECT_TRUE(absl::StrContains(svg, "storm &amp; calm"));
  EXPECT_FALSE(absl::StrContains(svg, "<reaper>"));
}

}  // namespace
}  // namespace demo
}  // namespace aequor
