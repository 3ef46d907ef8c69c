// bench/storm/progress.h: the storm's human progress lines ("#12 ok 41.0 ms
// conns=17"), written to a stream or nowhere (--json-only).
//
//   Progress say(&std::cout);
//   say("#", id, " ok ", FormatMs(ms), " conns=", conns);
//
// Thread-safety: not thread-safe (one run's lines, on its thread).
#ifndef AEQUOR_BENCH_STORM_PROGRESS_H_
#define AEQUOR_BENCH_STORM_PROGRESS_H_

#include <ostream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

class Progress {
 public:
  // `out` null: no output.
  explicit Progress(std::ostream* out) : out_(out) {}

  // One line, flushed.
  template <typename... A>
  void operator()(const A&... parts) const {
    if (out_ != nullptr) *out_ << absl::StrCat(parts...) << "\n" << std::flush;
  }

 private:
  std::ostream* out_;
};

// "41.0 ms".
inline std::string FormatMs(double ms) { return absl::StrFormat("%.1f ms", ms); }

// A message on one line: trimmed, newlines as spaces.
inline std::string OneLine(absl::string_view s) {
  std::string out(absl::StripAsciiWhitespace(s));
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_PROGRESS_H_
