#include "bench/storm/series.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace aequor {
namespace storm {

absl::Status SeriesFile::Open(const std::string& path) {
  Close();
  file_ = std::fopen(path.c_str(), "w");
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("--series-out: cannot write '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void SeriesFile::WriteAndClose(const std::vector<std::pair<double, int>>& points) {
  if (file_ == nullptr) return;
  std::fprintf(file_, "t_ms,connections\n");
  for (const auto& [t, n] : points) std::fprintf(file_, "%.0f,%d\n", t, n);
  Close();
}

void SeriesFile::Close() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
}

}  // namespace storm
}  // namespace aequor
