// util/pg.h: owning handles for libpq objects and one exec-and-check helper,
// shared by the core, the tools, the benchmarks and the tests.
//
//   pg::Conn conn(PQconnectdb(conninfo.c_str()));
//   pg::Outcome out = pg::Exec(conn.get(), "SELECT $1::int", {"7"});
//   if (!out.ok()) return Fail(out.sqlstate(), out.message());
//   PQgetvalue(out.get(), 0, 0);
//
// Thread-safety: as libpq's: one connection is used by one thread at a time.
#ifndef AEQUOR_UTIL_PG_H_
#define AEQUOR_UTIL_PG_H_

#include <libpq-fe.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace aequor {
namespace pg {

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};

using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's error message of `conn` without its trailing newline, or
// "unknown libpq error" when it has none.
std::string ErrorMessage(const PGconn* conn);

// What a failed statement left: its SQLSTATE ("" when libpq failed before
// the server answered) and the server's primary message, else libpq's
// message of `conn`.
struct ResultError {
  std::string sqlstate;
  std::string message;
};
ResultError ReadError(const PGresult* result, const PGconn* conn);

// The result of one statement: ok() when the server answered COMMAND_OK or
// TUPLES_OK; otherwise the SQLSTATE (empty when libpq failed before the
// server answered) and the primary message (libpq's when the server sent
// none).
class Outcome {
 public:
  bool ok() const { return ok_; }
  PGresult* get() const { return result_.get(); }
  Result release() { return std::move(result_); }
  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& message() const { return message_; }

 private:
  friend Outcome Exec(PGconn*, const char*, absl::Span<const std::string>);
  bool ok_ = false;
  Result result_;
  std::string sqlstate_;
  std::string message_;
};

// Runs `sql` on `conn` with text parameters ($1, $2, ...), blocking, and
// checks the result. No parameters: the simple protocol (several statements
// allowed); otherwise the extended protocol.
Outcome Exec(PGconn* conn, const char* sql, absl::Span<const std::string> params = {});
inline Outcome Exec(PGconn* conn, const std::string& sql,
                    absl::Span<const std::string> params = {}) {
  return Exec(conn, sql.c_str(), params);
}

}  // namespace pg
}  // namespace aequor

#endif  // AEQUOR_UTIL_PG_H_
