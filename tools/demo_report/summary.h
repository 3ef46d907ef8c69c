// tools/demo_report/summary.h: reads the storm's closing JSON line.
//
// The storm harness (bench/storm) ends with one JSON object per run. The
// demo needs a handful of its fields; this reads the object with
// nlohmann-json and ignores the rest.
//
//   absl::StatusOr<StormSummary> s = ParseStormSummary(last_line);
//
// Thread-safety: pure functions.
#ifndef AEQUOR_TOOLS_DEMO_REPORT_SUMMARY_H_
#define AEQUOR_TOOLS_DEMO_REPORT_SUMMARY_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace demo {

struct StormSummary {
  std::string client;
  double invocations = 0, ok = 0, failed = 0, peak_connections = 0;
  double zombies_reaped = 0, false_kills = 0, p50_ms = 0, p99_ms = 0;
  double max_connections = 0, fleet_slots = 0;
  std::map<std::string, double> failures;  // SQLSTATE or text -> count
};

// InvalidArgument naming the problem for anything that is not a JSON object
// with at least `client`, `invocations`, `ok`, `failed` and `peak_connections`.
absl::StatusOr<StormSummary> ParseStormSummary(absl::string_view json);

}  // namespace demo
}  // namespace aequor

#endif  // AEQUOR_TOOLS_DEMO_REPORT_SUMMARY_H_
