#include "core/connect_error.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/errors.h"

namespace aequor {
namespace {

bool HoldsPassword(absl::string_view conninfo) {
  const std::string lower = absl::AsciiStrToLower(conninfo);
  if (absl::StrContains(lower, "password")) return true;
  // postgresql://user:password@host or postgres://...
  const size_t scheme = lower.find("://");
  if (scheme == std::string::npos) return false;
  const absl::string_view rest = absl::string_view(lower).substr(scheme + 3);
  const size_t at = rest.find('@');
  return at != absl::string_view::npos && rest.substr(0, at).find(':') != absl::string_view::npos;
}

}  // namespace

std::string ConninfoParseErrorText(absl::string_view conninfo, absl::string_view message) {
  const bool password = HoldsPassword(conninfo);
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    const size_t open = message.find('"', i);
    if (open == absl::string_view::npos) break;
    const size_t close = message.find('"', open + 1);
    if (close == absl::string_view::npos) break;
    absl::StrAppend(&out, message.substr(i, open - i));
    const absl::string_view quoted = message.substr(open + 1, close - open - 1);
    const bool keyword = !password &&
                         absl::EndsWith(message.substr(0, open), "invalid connection option ") &&
                         !quoted.empty() && quoted.size() <= 40 &&
                         std::all_of(quoted.begin(), quoted.end(),
                                     [](char c) { return absl::ascii_islower(c) || c == '_'; });
    // One punctuation character (the "=" or "]" libpq expected) is safe too.
    const bool punctuation = quoted.size() == 1 && absl::ascii_ispunct(quoted[0]);
    absl::StrAppend(&out, "\"", keyword || punctuation ? quoted : absl::string_view("..."), "\"");
    i = close + 1;
  }
  absl::StrAppend(&out, message.substr(std::min(i, message.size())));
  return out;
}

absl::Status ConnectFailureStatus(absl::string_view message) {
  struct Rule {
    absl::string_view text;
    absl::string_view sqlstate;
  };
  // Order matters: the first match wins.
  static constexpr Rule kRules[] = {
      {"too many clients already", "53300"},
      {"remaining connection slots are reserved", "53300"},
      {"too many connections for role", "53300"},
      {"too many connections for database", "53300"},
      {"password authentication failed", "28P01"},
      {"no pg_hba.conf entry", "28000"},
      {"authentication failed", "28000"},
      {"no password supplied", "28P01"},
      {"the database system is starting up", "57P03"},
      {"the database system is shutting down", "57P03"},
      {"the database system is in recovery mode", "57P03"},
      {"the database system is not yet accepting connections", "57P03"},
  };
  for (const Rule& rule : kRules) {
    if (absl::StrContains(message, rule.text)) {
      return StatusFromSqlState(rule.sqlstate, absl::StrCat("connect failed: ", message));
    }
  }
  // 'database "x" does not exist' / 'role "x" does not exist'.
  if (absl::StrContains(message, "does not exist")) {
    absl::string_view sqlstate = absl::StrContains(message, "database \"") ? "3D000" : "28000";
    return StatusFromSqlState(sqlstate, absl::StrCat("connect failed: ", message));
  }
  if (absl::StrContains(message, "invalid connection option") ||
      absl::StrContains(message, "invalid URI") || absl::StrContains(message, "missing \"=\"") ||
      absl::StrContains(message, "invalid integer value") ||
      absl::StrContains(message, "invalid sslmode value")) {
    return absl::InvalidArgumentError(absl::StrCat("connect failed: ", message));
  }
  // Refused, reset, timed out, unknown host: the network or a server that is
  // not (yet) there. Class 08, no SQLSTATE from libpq.
  return absl::UnavailableError(absl::StrCat("connect failed: ", message));
}

}  // namespace aequor
