// testing/json.h: a small, strict JSON reader (RFC 8259) for tests that check
// JSON aequor wrote (exporters, aequorctl --json, the storm summary) or read
// test data. Not for production use: it favours clear failure messages over
// speed. Objects keep a repeated member name (RFC 8259 only says names SHOULD
// be unique); tests that must refuse one call CheckUniqueKeys().
//
//   absl::StatusOr<testing::Json> doc = testing::ParseJson(line);
//   ASSERT_TRUE(doc.ok()) << doc.status();
//   ASSERT_TRUE(testing::CheckUniqueKeys(*doc).ok());
//   const testing::Json& aws = (*doc)["_aws"];
//
// Thread-safety: plain values and pure functions.
#ifndef AEQUOR_TESTING_JSON_H_
#define AEQUOR_TESTING_JSON_H_

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace testing {

// One JSON value: `type` says which of the fields below holds it.
struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string number_text;  // as written, e.g. "3" or "0.250"
  std::string string;
  std::vector<Json> array;
  // Members in the order written (duplicates kept: see CheckUniqueKeys()).
  std::vector<std::pair<std::string, Json>> object;

  bool is_null() const { return type == Type::kNull; }
  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kNumber; }
  bool has(absl::string_view key) const {
    for (const auto& [k, v] : object) {
      if (k == key) return true;
    }
    return false;
  }
  // The member `key` (a null Json when absent).
  const Json& operator[](absl::string_view key) const {
    static const Json* const kNull = new Json();
    for (const auto& [k, v] : object) {
      if (k == key) return v;
    }
    return *kNull;
  }
  const Json& operator[](size_t i) const { return array.at(i); }
  size_t size() const { return is_array() ? array.size() : object.size(); }
};

namespace json_internal {

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<Json> ParseDocument() {
    Json value;
    if (!Value(value)) return Error();
    Blank();
    if (pos_ != text_.size()) {
      error_ = "trailing characters";
      return Error();
    }
    return value;
  }

 private:
  absl::Status Error() const {
    return absl::InvalidArgumentError(absl::StrCat("JSON: ", error_, " at offset ", pos_));
  }
  void Blank() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      error_ = absl::StrCat("expected ", word);
      return false;
    }
    pos_ += word.size();
    return true;
  }
  bool Value(Json& out) {
    Blank();
    if (pos_ >= text_.size()) {
      error_ = "unexpected end";
      return false;
    }
    const char c = text_[pos_];
    if (c == '{') return Object(out);
    if (c == '[') return Array(out);
    if (c == '"') {
      out.type = Json::Type::kString;
      return String(out.string);
    }
    if (c == 't') {
      out.type = Json::Type::kBool;
      out.boolean = true;
      return Literal("true");
    }
    if (c == 'f') {
      out.type = Json::Type::kBool;
      return Literal("false");
    }
    if (c == 'n') return Literal("null");
    return Number(out);
  }
  bool Number(Json& out) {
    const size_t start = pos_;
    auto digits = [&] {
      size_t n = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_, ++n;
      return n;
    };
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    const size_t int_start = pos_;
    if (digits() == 0 || (text_[int_start] == '0' && pos_ - int_start > 1)) {
      error_ = "bad number";
      return false;
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) {
        error_ = "bad fraction";
        return false;
      }
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) {
        error_ = "bad exponent";
        return false;
      }
    }
    out.type = Json::Type::kNumber;
    out.number_text = std::string(text_.substr(start, pos_ - start));
    out.number = std::strtod(out.number_text.c_str(), nullptr);
    return true;
  }
  bool String(std::string& out) {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) {
        error_ = "control character in string";
        return false;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u':
          if (!Unicode(out)) return false;
          break;
        default:
          error_ = "bad escape";
          return false;
      }
    }
    error_ = "unterminated string";
    return false;
  }
  // The rest of a \u escape (after the "u"), a surrogate pair whole, as UTF-8.
  bool Unicode(std::string& out) {
    uint32_t code;
    if (!Hex4(code)) return false;
    if (code >= 0xD800 && code <= 0xDBFF) {
      uint32_t low;
      if (text_.substr(pos_, 2) != "\\u") {
        error_ = "unpaired surrogate";
        return false;
      }
      pos_ += 2;
      if (!Hex4(low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) {
        error_ = "unpaired surrogate";
        return false;
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    } else if (code >= 0xDC00 && code <= 0xDFFF) {
      error_ = "unpaired surrogate";
      return false;
    }
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
    return true;
  }
  // Four hex digits, exactly.
  bool Hex4(uint32_t& out) {
    out = 0;
    for (int k = 0; k < 4; ++k, ++pos_) {
      const char c = pos_ < text_.size() ? text_[pos_] : '\0';
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        out |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        out |= c - 'A' + 10;
      } else {
        error_ = "bad \\u escape";
        return false;
      }
    }
    return true;
  }
  bool Array(Json& out) {
    out.type = Json::Type::kArray;
    ++pos_;
    Blank();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      Json element;
      if (!Value(element)) return false;
      out.array.push_back(std::move(element));
      Blank();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return true;
      }
      error_ = "expected , or ]";
      return false;
    }
  }
  bool Object(Json& out) {
    out.type = Json::Type::kObject;
    ++pos_;
    Blank();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      Blank();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        error_ = "expected a member name";
        return false;
      }
      std::string key;
      if (!String(key)) return false;
      Blank();
      if (pos_ >= text_.size() || text_[pos_] != ':') {
        error_ = "expected :";
        return false;
      }
      ++pos_;
      Json value;
      if (!Value(value)) return false;
      out.object.emplace_back(std::move(key), std::move(value));
      Blank();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      error_ = "expected , or }";
      return false;
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace json_internal

// `text` as exactly one JSON value (white space around it allowed).
inline absl::StatusOr<Json> ParseJson(absl::string_view text) {
  return json_internal::Parser(text).ParseDocument();
}

// OK unless some object in `value` (at any depth) names a member twice; for
// the tests whose output or data must never repeat one.
inline absl::Status CheckUniqueKeys(const Json& value) {
  std::set<absl::string_view> seen;
  for (const auto& [key, member] : value.object) {
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(absl::StrCat("JSON: member \"", key, "\" twice"));
    }
    if (absl::Status status = CheckUniqueKeys(member); !status.ok()) return status;
  }
  for (const Json& element : value.array) {
    if (absl::Status status = CheckUniqueKeys(element); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_JSON_H_
