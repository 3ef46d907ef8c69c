// PluginSpec text form and ParamReader.
#include "api/plugin.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace aequor {

bool operator==(const PluginSpec& a, const PluginSpec& b) {
  return a.name == b.name && a.params == b.params && a.children == b.children;
}

namespace {

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

class SpecParser {
 public:
  explicit SpecParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<PluginSpec> ParseAll() {
    PluginSpec spec;
    if (absl::Status s = ParseSpec(spec, 0); !s.ok()) return s;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the plugin spec");
    return spec;
  }

 private:
  static constexpr int kMaxDepth = 16;

  absl::Status ParseSpec(PluginSpec& spec, int depth) {
    if (depth > kMaxDepth) return Error("plugin specs nested too deeply");
    SkipSpace();
    spec.name = std::string(Identifier());
    if (spec.name.empty()) return Error("expected a plugin name");
    SkipSpace();
    if (!Consume('(')) return absl::OkStatus();
    SkipSpace();
    if (Consume(')')) return absl::OkStatus();
    while (true) {
      SkipSpace();
      size_t item_start = pos_;
      absl::string_view ident = Identifier();
      if (ident.empty()) return Error("expected an option name or a plugin spec");
      SkipSpace();
      if (Consume('=')) {
        std::string value;
        if (absl::Status s = Value(value); !s.ok()) return s;
        if (!spec.params.emplace(std::string(ident), std::move(value)).second) {
          return Error(absl::StrCat("option '", ident, "' given twice"), item_start);
        }
      } else {
        pos_ = item_start;
        PluginSpec child;
        if (absl::Status s = ParseSpec(child, depth + 1); !s.ok()) return s;
        spec.children.push_back(std::move(child));
      }
      SkipSpace();
      if (Consume(')')) return absl::OkStatus();
      if (!Consume(',')) return Error("expected ',' or ')'");
    }
  }

  absl::Status Value(std::string& out) {
    SkipSpace();
    if (Consume('"')) {
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        out.push_back(text_[pos_++]);
      }
      if (!Consume('"')) return Error("unterminated quoted value");
      return absl::OkStatus();
    }
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ')') {
      if (text_[pos_] == '(' || text_[pos_] == '"') {
        return Error("a value containing '(' or '\"' must be quoted");
      }
      ++pos_;
    }
    out = std::string(absl::StripAsciiWhitespace(text_.substr(start, pos_ - start)));
    return absl::OkStatus();
  }

  absl::string_view Identifier() {
    size_t start = pos_;
    while (pos_ < text_.size() && IsNameChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  absl::Status Error(absl::string_view what) { return Error(what, pos_); }
  absl::Status Error(absl::string_view what, size_t at) {
    return absl::InvalidArgumentError(absl::StrCat("plugin spec: ", what, " at offset ", at));
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  if (absl::ascii_isspace(static_cast<unsigned char>(value.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(value.back()))) {
    return true;
  }
  return value.find_first_of(",()\"\\") != absl::string_view::npos;
}

void FormatInto(const PluginSpec& spec, std::string& out) {
  out += spec.name;
  if (spec.params.empty() && spec.children.empty()) return;
  out += '(';
  bool first = true;
  for (const auto& [key, value] : spec.params) {
    if (!first) out += ", ";
    first = false;
    absl::StrAppend(&out, key, "=");
    if (!NeedsQuotes(value)) {
      out += value;
      continue;
    }
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  for (const PluginSpec& child : spec.children) {
    if (!first) out += ", ";
    first = false;
    FormatInto(child, out);
  }
  out += ')';
}

std::string Quote(absl::string_view s) { return absl::StrCat("'", s, "'"); }

}  // namespace

PluginSpec::PluginSpec(std::string text) {
  absl::StatusOr<PluginSpec> parsed = ParsePluginSpec(text);
  if (parsed.ok()) {
    *this = *std::move(parsed);
  } else {
    name = std::move(text);  // the registry reports why (registry.cc, Find)
  }
}

PluginSpec::PluginSpec(const char* text) : PluginSpec(std::string(text != nullptr ? text : "")) {}

absl::StatusOr<PluginSpec> ParsePluginSpec(absl::string_view text) {
  return SpecParser(text).ParseAll();
}

std::string FormatPluginSpec(const PluginSpec& spec) {
  std::string out;
  FormatInto(spec, out);
  return out;
}

namespace plugin_internal {

absl::Status ForeignConfigError(absl::string_view factory) {
  return absl::InvalidArgumentError(absl::StrCat(
      factory, ": the config given to Create() was not made by this factory's ParseConfig()"));
}

}  // namespace plugin_internal

ParamReader::ParamReader(const PluginSpec& spec) : spec_(spec) {}

const std::string* ParamReader::Lookup(absl::string_view key) {
  read_.emplace(key);
  auto it = spec_.params.find(std::string(key));
  return it == spec_.params.end() ? nullptr : &it->second;
}

bool ParamReader::Has(absl::string_view key) const {
  return spec_.params.count(std::string(key)) > 0;
}

void ParamReader::Error(absl::string_view key, absl::string_view expectation,
                        absl::string_view got) {
  if (!status_.ok()) return;
  status_ = absl::InvalidArgumentError(
      absl::StrCat(spec_.name, ": option '", key, "' must be ", expectation, ", got ", Quote(got)));
}

void ParamReader::Fail(absl::string_view message) {
  if (!status_.ok()) return;
  status_ = absl::InvalidArgumentError(absl::StrCat(spec_.name, ": ", message));
}

double ParamReader::Double(absl::string_view key, double default_value, double min, double max) {
  const std::string* text = Lookup(key);
  if (text == nullptr) return default_value;
  double v;
  if (!absl::SimpleAtod(*text, &v) || !std::isfinite(v) || v < min || v > max) {
    Error(key, absl::StrFormat("a number in [%g, %g]", min, max), *text);
    return default_value;
  }
  return v;
}

int64_t ParamReader::Int(absl::string_view key, int64_t default_value, int64_t min, int64_t max) {
  const std::string* text = Lookup(key);
  if (text == nullptr) return default_value;
  int64_t v;
  if (!absl::SimpleAtoi(*text, &v) || v < min || v > max) {
    Error(key, absl::StrCat("an integer in [", min, ", ", max, "]"), *text);
    return default_value;
  }
  return v;
}

bool ParamReader::Bool(absl::string_view key, bool default_value) {
  const std::string* text = Lookup(key);
  if (text == nullptr) return default_value;
  bool v;
  if (!absl::SimpleAtob(*text, &v)) {
    Error(key, "true or false", *text);
    return default_value;
  }
  return v;
}

absl::Duration ParamReader::Millis(absl::string_view key, absl::Duration default_value,
                                   absl::Duration min, absl::Duration max) {
  const std::string* text = Lookup(key);
  if (text == nullptr) return default_value;
  int64_t ms;
  if (!absl::SimpleAtoi(*text, &ms) || absl::Milliseconds(ms) < min ||
      absl::Milliseconds(ms) > max) {
    Error(key,
          absl::StrCat("a whole number of milliseconds in [", absl::ToInt64Milliseconds(min), ", ",
                       absl::ToInt64Milliseconds(max), "]"),
          *text);
    return default_value;
  }
  return absl::Milliseconds(ms);
}

std::string ParamReader::String(absl::string_view key, absl::string_view default_value) {
  const std::string* text = Lookup(key);
  return text == nullptr ? std::string(default_value) : *text;
}

absl::Status ParamReader::Finish(size_t max_children) {
  if (!status_.ok()) return status_;
  std::vector<std::string> unknown;
  for (const auto& [key, value] : spec_.params) {
    if (read_.count(key) == 0) unknown.push_back(Quote(key));
  }
  if (!unknown.empty()) {
    std::vector<std::string> known;
    for (const std::string& k : read_) known.push_back(Quote(k));
    return absl::InvalidArgumentError(
        absl::StrCat(spec_.name, ": unknown option", unknown.size() > 1 ? "s " : " ",
                     absl::StrJoin(unknown, ", "),
                     "; known: ", known.empty() ? "none" : absl::StrJoin(known, ", ")));
  }
  if (spec_.children.size() > max_children) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec_.name, ": takes at most ", max_children, " nested plugin spec",
                     max_children == 1 ? "" : "s", ", got ", spec_.children.size()));
  }
  return absl::OkStatus();
}

}  // namespace aequor
