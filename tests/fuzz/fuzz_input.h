// tests/fuzz/fuzz_input.h: reads a fuzz input as text lines and small values.
//
// The targets take their inputs as '\n'-separated lines so that the corpora
// stay readable files; the last line may carry bytes that choose numbers.
//
//   aequor::fuzz::FuzzInput in(data, size);
//   absl::string_view service = in.Line(0);   // "" past the last line
//   aequor::fuzz::ByteReader bytes(in.Line(3));
//   int64_t ms = bytes.Int64();               // 0 once the bytes run out
//
// Thread-safety: plain values over the caller's bytes.
#ifndef AEQUOR_TESTS_FUZZ_FUZZ_INPUT_H_
#define AEQUOR_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace aequor {
namespace fuzz {

// The input split at every '\n' (no line keeps its newline).
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : text_(reinterpret_cast<const char*>(data), size) {
    size_t start = 0;
    while (true) {
      const size_t end = text_.find('\n', start);
      if (end == absl::string_view::npos) {
        lines_.push_back(text_.substr(start));
        break;
      }
      lines_.push_back(text_.substr(start, end - start));
      start = end + 1;
    }
  }

  absl::string_view text() const { return text_; }
  size_t line_count() const { return lines_.size(); }
  // Line `i`, "" when there is none.
  absl::string_view Line(size_t i) const { return i < lines_.size() ? lines_[i] : ""; }

 private:
  absl::string_view text_;
  std::vector<absl::string_view> lines_;
};

// Takes numbers from the front of a byte string; 0 once it is used up.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view bytes) : bytes_(bytes) {}

  uint8_t Byte() {
    if (pos_ >= bytes_.size()) return 0;
    return static_cast<uint8_t>(bytes_[pos_++]);
  }
  // `n` bytes (at most 8), little-endian.
  uint64_t Bits(int n) {
    uint64_t v = 0;
    for (int k = 0; k < n && k < 8; ++k) v |= static_cast<uint64_t>(Byte()) << (8 * k);
    return v;
  }
  int64_t Int64() { return static_cast<int64_t>(Bits(8)); }
  bool empty() const { return pos_ >= bytes_.size(); }

 private:
  absl::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace fuzz
}  // namespace aequor

#endif  // AEQUOR_TESTS_FUZZ_FUZZ_INPUT_H_
