#include "core/connect_error.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/errors.h"

namespace aequor {

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
      absl::StrContains(message, "invalid URI") ||
      absl::StrContains(message, "missing \"=\"") ||
      absl::StrContains(message, "invalid integer value") ||
      absl::StrContains(message, "invalid sslmode value")) {
    return absl::InvalidArgumentError(absl::StrCat("connect failed: ", message));
  }
  // Refused, reset, timed out, unknown host: the network or a server that is
  // not (yet) there. Class 08, no SQLSTATE from libpq.
  return absl::UnavailableError(absl::StrCat("connect failed: ", message));
}

}  // namespace aequor
