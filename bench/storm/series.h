// bench/storm/series.h: --series-out, the CSV of every poll, for charts:
//
//   t_ms,connections
//   0,0
//   51,1
//
// t_ms is the run time of the poll (t = 0 when the first instance started),
// connections the client backends it saw, the monitor excluded.
//
//   SeriesFile series;
//   absl::Status s = series.Open("/tmp/storm.csv");   // before the storm: fails early
//   series.WriteAndClose({{0, 0}, {51.2, 1}});
//
// Thread-safety: not thread-safe.
#ifndef AEQUOR_BENCH_STORM_SERIES_H_
#define AEQUOR_BENCH_STORM_SERIES_H_

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace aequor {
namespace storm {

class SeriesFile {
 public:
  SeriesFile() = default;
  ~SeriesFile() { Close(); }
  SeriesFile(const SeriesFile&) = delete;
  SeriesFile& operator=(const SeriesFile&) = delete;

  // Creates (truncates) `path`. FailedPrecondition "--series-out: cannot
  // write 'PATH': <reason>".
  absl::Status Open(const std::string& path);

  // Writes the header and one line per (t_ms, connections), then closes.
  // Nothing when not open.
  void WriteAndClose(const std::vector<std::pair<double, int>>& points);

  // Closes without writing (an empty file stays).
  void Close();

 private:
  std::FILE* file_ = nullptr;
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_SERIES_H_
