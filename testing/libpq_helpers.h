// testing/libpq_helpers.h: the two libpq one-liners the testing/ tests share.
//
//   pg::Conn c = Connect(server->ConninfoFor(ThrowawayPostgres::kAppRole));
//   EXPECT_EQ(QueryValue(c.get(), "SELECT current_user"), "aequor_app");
//
// Thread-safety: as libpq's; one connection per thread.
#ifndef AEQUOR_TESTING_LIBPQ_HELPERS_H_
#define AEQUOR_TESTING_LIBPQ_HELPERS_H_

#include <libpq-fe.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "util/pg.h"

namespace aequor {
namespace testing {

inline pg::Conn Connect(const std::string& conninfo) {
  return pg::Conn(PQconnectdb(conninfo.c_str()));
}

// The first value of `sql`'s first row, or "ERROR: <message>".
inline std::string QueryValue(PGconn* conn, const char* sql) {
  pg::Result r(PQexec(conn, sql));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    return absl::StrCat("ERROR: ", PQresultErrorMessage(r.get()), PQerrorMessage(conn));
  }
  if (PQntuples(r.get()) < 1) return "";
  return PQgetvalue(r.get(), 0, 0);
}

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_LIBPQ_HELPERS_H_
