// core/pg.h (internal): owning handles for libpq objects, so nothing leaks
// on any path.
//
// Thread-safety: as libpq's: one connection is used by one thread at a time.
#ifndef AEQUOR_CORE_PG_H_
#define AEQUOR_CORE_PG_H_

#include <libpq-fe.h>

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

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

// libpq's error message of `conn` without its trailing newline.
inline std::string ErrorMessage(const PGconn* conn) {
  const char* message = conn != nullptr ? PQerrorMessage(conn) : nullptr;
  if (message == nullptr || message[0] == '\0') return "unknown libpq error";
  return std::string(absl::StripTrailingAsciiWhitespace(message));
}

}  // namespace pg
}  // namespace aequor

#endif  // AEQUOR_CORE_PG_H_
