#include "tools/aequorctl/connection.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api/errors.h"
#include "api/secret.h"
#include "core/connect_error.h"
#include "tools/aequorctl/flags.h"

namespace aequor {
namespace cli {
absl::StatusOr<pg::Conn> Connect(const std::optional<std::string>& dsn,
                                 absl::string_view application_name, Redactor& redactor) {
  if (const char* password = NonEmptyEnv("PGPASSWORD")) redactor.AddSensitive(password);
  if (absl::StatusOr<Secret> secret = ReadSecretFromEnvironment(); secret.ok()) {
    redactor.AddSensitive(secret->UnsafeBytes());
  }
  if (dsn.has_value()) {
    if (dsn->empty()) {
      return absl::InvalidArgumentError(
          "--dsn is empty; leave it out to connect with the PG* environment variables");
    }
    redactor.AddSensitive(*dsn);
    if (absl::Status s = CheckConninfo(*dsn); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dsn is not a valid libpq connection string (keyword=value ...) or URI "
                       "(postgresql://...): ",
                       redactor.Apply(s.message())));
    }
    PQconninfoOption* options = PQconninfoParse(dsn->c_str(), nullptr);
    if (options == nullptr) return absl::ResourceExhaustedError("--dsn: libpq is out of memory");
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (o->val != nullptr && std::strcmp(o->keyword, "password") == 0) {
        redactor.AddSensitive(o->val);
      }
    }
    PQconninfoFree(options);
  }
  // Later entries win; the DSN (expanded from dbname) overrides the default
  // connect_timeout, and our application_name overrides the DSN's.
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  if (NonEmptyEnv("PGCONNECT_TIMEOUT") == nullptr) {
    keywords.push_back("connect_timeout");
    values.push_back("10");
  }
  if (dsn.has_value()) {
    keywords.push_back("dbname");
    values.push_back(dsn->c_str());
  }
  const std::string app(application_name);
  keywords.push_back("application_name");
  values.push_back(app.c_str());
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  pg::Conn conn(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (conn != nullptr && PQstatus(conn.get()) == CONNECTION_OK) return conn;

  const std::string libpq =
      ConnectFailureText(dsn.has_value() ? *dsn : "", redactor.Apply(pg::ErrorMessage(conn.get())));
  const absl::Status classified = ConnectFailureStatus(libpq);
  const std::string detail = absl::StrReplaceAll(libpq, {{"\n", "\n  "}});
  switch (classified.code()) {
    case absl::StatusCode::kUnauthenticated:
      return absl::UnauthenticatedError(absl::StrCat(
          "authentication failed: check the user name, the password ($PGPASSWORD, ~/.pgpass "
          "or the DSN) and pg_hba.conf\n  ",
          detail));
    case absl::StatusCode::kNotFound:
      return absl::NotFoundError(absl::StrCat("the database does not exist\n  ", detail));
    case absl::StatusCode::kResourceExhausted:
      return absl::ResourceExhaustedError(absl::StrCat(
          "the server has no free connection slot for this role or database (a reaper role "
          "with its own headroom can still log in; see 'aequorctl doctor')\n  ",
          detail));
    case absl::StatusCode::kInvalidArgument:
      return absl::InvalidArgumentError(absl::StrCat("invalid connection settings\n  ", detail));
    default:
      return absl::UnavailableError(absl::StrCat(
          "cannot connect to the server (refused, unreachable, timed out or not ready)\n  ",
          detail));
  }
}

absl::StatusOr<pg::Result> Exec(PGconn* conn, const std::string& sql,
                                absl::Span<const std::string> params, const Redactor& redactor) {
  pg::Outcome outcome = pg::Exec(conn, sql, params);
  if (outcome.ok()) return outcome.release();
  return StatusFromSqlState(outcome.sqlstate(), redactor.Apply(outcome.message()),
                            absl::StatusCode::kUnavailable);
}

}  // namespace cli
}  // namespace aequor
