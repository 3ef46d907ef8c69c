// testing/strict_json.cc: see strict_json.h.
#include "testing/strict_json.h"

#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace aequor {
namespace testing {
namespace {

using Json = nlohmann::ordered_json;

// SAX events of one document: tracks where each value is (a JSON Pointer),
// refuses a repeated member name, and records the text of each number.
class Checker : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t val) override { return Number(std::to_string(val)); }
  bool number_unsigned(number_unsigned_t val) override { return Number(std::to_string(val)); }
  bool number_float(number_float_t, const string_t& s) override { return Number(s); }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }

  bool start_object(std::size_t) override {
    levels_.emplace_back();
    levels_.back().object = true;
    return true;
  }
  bool key(string_t& name) override {
    Level& level = levels_.back();
    level.key = name;
    if (!level.keys.insert(name).second) {
      error_ = absl::InvalidArgumentError(
          absl::StrCat("JSON: member \"", name, "\" twice at ", Pointer()));
      return false;
    }
    return true;
  }
  bool end_object() override { return End(); }
  bool start_array(std::size_t) override {
    levels_.emplace_back();
    return true;
  }
  bool end_array() override { return End(); }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = absl::InvalidArgumentError(absl::StrCat("JSON: ", e.what()));
    return false;
  }

  absl::Status error() const { return error_; }
  std::map<std::string, std::string> TakeNumbers() { return std::move(numbers_); }

 private:
  struct Level {
    bool object = false;
    std::set<std::string> keys;  // Objects: the names seen so far.
    std::string key;             // Objects: the current member's name.
    std::size_t index = 0;       // Arrays: the current element's index.
  };

  // The JSON Pointer of the value being read.
  std::string Pointer() const {
    std::string pointer;
    for (const Level& level : levels_) {
      if (level.object) {
        absl::StrAppend(&pointer, "/", absl::StrReplaceAll(level.key, {{"~", "~0"}, {"/", "~1"}}));
      } else {
        absl::StrAppend(&pointer, "/", level.index);
      }
    }
    return pointer;
  }
  bool Number(const std::string& text) {
    numbers_[Pointer()] = text;
    return Value();
  }
  // A value ended: the next one in an array has the next index.
  bool Value() {
    if (!levels_.empty() && !levels_.back().object) ++levels_.back().index;
    return true;
  }
  bool End() {
    levels_.pop_back();
    return Value();
  }

  std::vector<Level> levels_;
  std::map<std::string, std::string> numbers_;
  absl::Status error_;
};

absl::Status Check(absl::string_view text, Checker& checker) {
  // strict: nothing but white space may follow the value.
  const bool ok = Json::sax_parse(text.begin(), text.end(), &checker, Json::input_format_t::json,
                                  /*strict=*/true, /*ignore_comments=*/false);
  if (ok) return absl::OkStatus();
  if (!checker.error().ok()) return checker.error();
  return absl::InvalidArgumentError("JSON: not a document");
}

}  // namespace

absl::StatusOr<nlohmann::ordered_json> ParseStrictJson(absl::string_view text) {
  Checker checker;
  if (absl::Status s = Check(text, checker); !s.ok()) return s;
  // Valid, so parse() does not throw; allow_exceptions=false anyway.
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("JSON: not a document");
  return doc;
}

absl::StatusOr<std::map<std::string, std::string>> JsonNumberTexts(absl::string_view text) {
  Checker checker;
  if (absl::Status s = Check(text, checker); !s.ok()) return s;
  return checker.TakeNumbers();
}

}  // namespace testing
}  // namespace aequor
