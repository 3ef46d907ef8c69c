#include "tools/aequorctl/redactor.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace aequor {
namespace cli {
namespace {

constexpr char kRedacted[] = "<redacted>";

}  // namespace

void Redactor::AddSensitive(absl::string_view value) {
  if (value.size() < 3) return;
  sensitive_.emplace_back(value);
  // Longest first, so that a value containing another is blanked whole.
  std::sort(sensitive_.begin(), sensitive_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::Apply(absl::string_view text) const {
  std::string out(text);
  for (const std::string& value : sensitive_) {
    out = absl::StrReplaceAll(out, {{value, kRedacted}});
  }
  // password = value, password='quoted value' (any case).
  const std::string lower = absl::AsciiStrToLower(out);
  std::string result;
  size_t copied = 0;
  for (size_t at = lower.find("password"); at != std::string::npos;
       at = lower.find("password", at + 1)) {
    size_t i = at + 8;
    while (i < out.size() && out[i] == ' ') ++i;
    if (i >= out.size() || out[i] != '=') continue;
    ++i;
    while (i < out.size() && out[i] == ' ') ++i;
    size_t end = i;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && !absl::ascii_isspace(out[end]) && out[end] != '"' &&
             out[end] != '&') {
        ++end;
      }
    }
    if (i < copied) continue;
    absl::StrAppend(&result, absl::string_view(out).substr(copied, i - copied), kRedacted);
    copied = end;
    at = end > 0 ? end - 1 : end;
  }
  absl::StrAppend(&result, absl::string_view(out).substr(std::min(copied, out.size())));
  // scheme://user:password@host: blank the password.
  std::string final_text;
  copied = 0;
  for (size_t at = result.find("://"); at != std::string::npos; at = result.find("://", at + 3)) {
    const size_t start = at + 3;
    size_t end = start;
    while (end < result.size() && !absl::ascii_isspace(result[end]) && result[end] != '/' &&
           result[end] != '?' && result[end] != '"') {
      ++end;
    }
    const absl::string_view authority = absl::string_view(result).substr(start, end - start);
    const size_t at_sign = authority.rfind('@');
    if (at_sign == absl::string_view::npos) continue;
    const size_t colon = authority.substr(0, at_sign).find(':');
    if (colon == absl::string_view::npos) continue;
    absl::StrAppend(&final_text,
                    absl::string_view(result).substr(copied, start + colon + 1 - copied),
                    kRedacted);
    copied = start + at_sign;
  }
  absl::StrAppend(&final_text, absl::string_view(result).substr(std::min(copied, result.size())));
  return final_text;
}

}  // namespace cli
}  // namespace aequor
