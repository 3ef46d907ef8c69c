#include "tools/demo_report/summary.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aequor {
namespace demo {
namespace {

// A minimal recursive-descent JSON reader that records the top-level
// members and, for objects, their numeric members one level down.
class Reader {
 public:
  explicit Reader(absl::string_view text) : text_(text) {}

  absl::Status ReadTop(std::map<std::string, std::string>& scalars,
                       std::map<std::string, std::map<std::string, double>>& objects) {
    Space();
    if (!Eat('{')) return Error("expected '{'");
    Space();
    if (Eat('}')) return absl::OkStatus();
    while (true) {
      std::string key;
      if (absl::Status s = String(key); !s.ok()) return s;
      Space();
      if (!Eat(':')) return Error("expected ':'");
      Space();
      if (Peek() == '{') {
        if (absl::Status s = NumericObject(objects[key]); !s.ok()) return s;
      } else {
        size_t start = pos_;
        if (absl::Status s = Skip(); !s.ok()) return s;
        std::string raw(text_.substr(start, pos_ - start));
        if (!raw.empty() && raw.front() == '"') {
          std::string value;
          Reader r(raw);
          if (absl::Status s = r.String(value); !s.ok()) return s;
          raw = value;
        }
        scalars[key] = raw;
      }
      Space();
      if (Eat('}')) break;
      if (!Eat(',')) return Error("expected ',' or '}'");
      Space();
    }
    Space();
    if (pos_ != text_.size()) return Error("text after the object");
    return absl::OkStatus();
  }

 private:
  absl::Status NumericObject(std::map<std::string, double>& out) {
    Eat('{');
    Space();
    if (Eat('}')) return absl::OkStatus();
    while (true) {
      std::string key;
      if (absl::Status s = String(key); !s.ok()) return s;
      Space();
      if (!Eat(':')) return Error("expected ':'");
      Space();
      size_t start = pos_;
      if (absl::Status s = Skip(); !s.ok()) return s;
      double v = 0;
      if (absl::SimpleAtod(text_.substr(start, pos_ - start), &v)) out[key] = v;
      Space();
      if (Eat('}')) return absl::OkStatus();
      if (!Eat(',')) return Error("expected ',' or '}'");
      Space();
    }
  }

  // Skips one value of any kind.
  absl::Status Skip(int depth = 0) {
    if (depth > 32) return Error("nested too deeply");
    char c = Peek();
    if (c == '"') {
      std::string ignored;
      return String(ignored);
    }
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      Space();
      if (Eat(close)) return absl::OkStatus();
      while (true) {
        if (c == '{') {
          std::string key;
          if (absl::Status s = String(key); !s.ok()) return s;
          Space();
          if (!Eat(':')) return Error("expected ':'");
          Space();
        }
        if (absl::Status s = Skip(depth + 1); !s.ok()) return s;
        Space();
        if (Eat(close)) return absl::OkStatus();
        if (!Eat(',')) return Error("expected ','");
        Space();
      }
    }
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '-' || text_[pos_] == '+' || text_[pos_] == '.')) {
      ++pos_;
    }
    return pos_ > start ? absl::OkStatus() : Error("expected a value");
  }

  absl::Status String(std::string& out) {
    if (!Eat('"')) return Error("expected a string");
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        char e = text_[pos_++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'u': pos_ = std::min(text_.size(), pos_ + 4); out += '?'; break;
          default: out += e;
        }
      } else {
        out += c;
      }
    }
    return Eat('"') ? absl::OkStatus() : Error("unterminated string");
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void Space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("storm summary: ", what, " at offset ", pos_));
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<StormSummary> ParseStormSummary(absl::string_view json) {
  std::map<std::string, std::string> scalars;
  std::map<std::string, std::map<std::string, double>> objects;
  if (absl::Status s = Reader(json).ReadTop(scalars, objects); !s.ok()) return s;
  StormSummary out;
  for (const char* required : {"client", "invocations", "ok", "failed", "peak_connections"}) {
    if (scalars.count(required) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("storm summary: no '", required, "' field"));
    }
  }
  out.client = scalars["client"];
  auto number = [&](const char* key, double& field) {
    auto it = scalars.find(key);
    if (it != scalars.end()) (void)absl::SimpleAtod(it->second, &field);
  };
  number("invocations", out.invocations);
  number("ok", out.ok);
  number("failed", out.failed);
  number("peak_connections", out.peak_connections);
  number("zombies_reaped", out.zombies_reaped);
  number("false_kills", out.false_kills);
  number("p50_ms", out.p50_ms);
  number("p99_ms", out.p99_ms);
  number("max_connections", out.max_connections);
  number("fleet_slots", out.fleet_slots);
  out.failures = objects["failures"];
  return out;
}

}  // namespace demo
}  // namespace aequor
