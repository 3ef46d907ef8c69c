// tools/aequorctl/connection.h: aequorctl's own session with the server:
// connecting the libpq way, and running a statement with errors ready to
// print.
//
//   Redactor redactor;
//   absl::StatusOr<pg::Conn> conn = Connect(flags.Get("dsn"), kToolApplicationName, redactor);
//   if (!conn.ok()) return Fail(env, "aequorctl leases", conn.status().message());
//   absl::StatusOr<pg::Result> r = Exec(conn->get(), "SELECT 1", {}, redactor);
//
// Connection settings: a DSN (a libpq keyword/value string or a
// postgresql:// URI) and/or the PG* environment variables (PGHOST, PGPORT,
// PGUSER, PGPASSWORD, PGDATABASE, PGSERVICE, ...), with libpq's precedence:
// what the DSN says wins. The session's application_name is the one given,
// and libpq's connect_timeout defaults to 10 s unless the DSN or
// PGCONNECT_TIMEOUT says otherwise.
//
// Thread-safety: as libpq's; a connection is used by one thread at a time.
#ifndef AEQUOR_TOOLS_AEQUORCTL_CONNECTION_H_
#define AEQUOR_TOOLS_AEQUORCTL_CONNECTION_H_

#include <libpq-fe.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "tools/aequorctl/redactor.h"
#include "util/pg.h"

namespace aequor {
namespace cli {

// The application_name of aequorctl's own sessions.
inline constexpr char kToolApplicationName[] = "aequorctl";

// Connects with `dsn` (--dsn; nullopt: the PG* variables alone). Adds the
// DSN, its password, $PGPASSWORD and the coordination secret to `redactor`.
// The status message is ready to print (already redacted, starting with what
// went wrong, naming the DSN "--dsn"):
//   InvalidArgument    the DSN is empty or not a valid connection string or
//                      URI, or a connection setting is invalid
//   Unauthenticated    the server refused the credentials (28P01/28000)
//   NotFound           the database does not exist (3D000)
//   ResourceExhausted  no free connection slot (53300)
//   Unavailable        refused, unreachable, timed out, starting up
absl::StatusOr<pg::Conn> Connect(const std::optional<std::string>& dsn,
                                 absl::string_view application_name, Redactor& redactor);

// Runs `sql` with text parameters (pg::Exec); the result, or the status
// StatusFromSqlState() gives for its SQLSTATE with the server's message,
// redacted (Unavailable when libpq failed before the server answered).
absl::StatusOr<pg::Result> Exec(PGconn* conn, const std::string& sql,
                                absl::Span<const std::string> params, const Redactor& redactor);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_CONNECTION_H_
