#include "util/pg.h"

#include <vector>

#include "absl/strings/ascii.h"

namespace aequor {
namespace pg {

std::string ErrorMessage(const PGconn* conn) {
  const char* message = conn != nullptr ? PQerrorMessage(conn) : nullptr;
  if (message == nullptr || message[0] == '\0') return "unknown libpq error";
  return std::string(absl::StripTrailingAsciiWhitespace(message));
}

ResultError ReadError(const PGresult* r, const PGconn* conn) {
  ResultError e;
  const char* sqlstate = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (sqlstate != nullptr) e.sqlstate = sqlstate;
  e.message = primary != nullptr ? std::string(primary) : ErrorMessage(conn);
  return e;
}

Outcome Exec(PGconn* conn, const char* sql, absl::Span<const std::string> params) {
  Outcome out;
  if (params.empty()) {
    out.result_.reset(PQexec(conn, sql));
  } else {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    out.result_.reset(PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr,
                                   values.data(), nullptr, nullptr, 0));
  }
  const ExecStatusType status =
      out.result_ != nullptr ? PQresultStatus(out.result_.get()) : PGRES_FATAL_ERROR;
  out.ok_ = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  if (out.ok_) return out;
  ResultError e = ReadError(out.result_.get(), conn);
  out.sqlstate_ = std::move(e.sqlstate);
  out.message_ = std::move(e.message);
  return out;
}

}  // namespace pg
}  // namespace aequor
