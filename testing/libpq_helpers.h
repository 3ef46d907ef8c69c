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

// The first value of `sql`'s first row ("" when it has none), or
// "ERROR: <message>" when it fails.
inline std::string QueryValue(PGconn* conn, const char* sql) {
  pg::Outcome out = pg::Exec(conn, sql);
  if (!out.ok()) return absl::StrCat("ERROR: ", out.message());
  if (PQresultStatus(out.get()) != PGRES_TUPLES_OK || PQntuples(out.get()) < 1) return "";
  return PQgetvalue(out.get(), 0, 0);
}

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_LIBPQ_HELPERS_H_
