#include "core/pooler.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/pg.h"

namespace aequor {
namespace {

// Whether `text` holds `word` followed by anything but a letter, digit or
// '_' (or by its end).
bool ContainsWord(absl::string_view text, absl::string_view word) {
  for (size_t at = text.find(word); at != absl::string_view::npos; at = text.find(word, at + 1)) {
    const size_t end = at + word.size();
    if (end == text.size()) return true;
    const unsigned char next = static_cast<unsigned char>(text[end]);
    if (!absl::ascii_isalnum(next) && next != '_') return true;
  }
  return false;
}

}  // namespace

bool RefusesStartupOptions(absl::string_view libpq_error_message) {
  const std::string message = absl::AsciiStrToLower(libpq_error_message);
  // PgBouncer up to 1.19 (and the poolers built on it).
  if (ContainsWord(message, "unsupported startup parameter: options")) return true;
  // PgBouncer 1.20+: an option it does not track, or one it cannot parse.
  if (absl::StrContains(message, "unsupported startup parameter in options:")) return true;
  if (absl::StrContains(message, "unsupported options startup parameter")) return true;
  // RDS Proxy: "Feature not supported: RDS Proxy currently doesn't support
  // command-line options." (the apostrophe may be U+2019).
  if (absl::StrContains(message, "support command-line options")) return true;
  return false;
}

absl::StatusOr<PoolerSighting> DetectPooler(PGconn* conn, const pg::Deadline& deadline) {
  if (conn == nullptr) return absl::InvalidArgumentError("DetectPooler: no connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("DetectPooler: the connection is bad: ", pg::ErrorMessage(conn)));
  }
  PoolerSighting seen;
  seen.startup_pid = PQbackendPID(conn);
  pg::Outcome out = pg::Exec(conn, "SELECT pg_backend_pid()", {}, deadline);
  if (!out.ok()) {
    const std::string what = absl::StrCat(
        "SELECT pg_backend_pid() failed: ", out.message(),
        out.sqlstate().empty() ? "" : absl::StrCat(" (SQLSTATE ", out.sqlstate(), ")"));
    if (out.sqlstate().empty() || absl::StartsWith(out.sqlstate(), "08")) {
      return absl::UnavailableError(what);
    }
    return absl::InternalError(what);
  }
  const PGresult* result = out.get();
  if (PQntuples(result) != 1 || PQnfields(result) != 1 || PQgetisnull(result, 0, 0) ||
      !absl::SimpleAtoi(PQgetvalue(result, 0, 0), &seen.server_pid)) {
    return absl::InternalError("SELECT pg_backend_pid() answered no pid");
  }
  return seen;
}

bool SharesServerSession(const PoolerSighting& first, const PoolerSighting& second) {
  return first.server_pid == second.server_pid;
}

}  // namespace aequor
