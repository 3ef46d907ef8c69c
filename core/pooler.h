// core/pooler.h: recognising a connection pooler (PgBouncer, RDS Proxy, ...)
// between a client and PostgreSQL, from what the server and the pooler say.
// Pure helpers for the manager and `aequorctl doctor`.
//
//   pg::Conn conn(PQconnectdbParams(...));
//   if (PQstatus(conn.get()) != CONNECTION_OK &&
//       RefusesStartupOptions(PQerrorMessage(conn.get()))) {
//     ...connect again without the startup `options`...
//   }
//   absl::StatusOr<PoolerSighting> seen = DetectPooler(conn.get());
//   if (seen.ok() && seen->pooler_in_between()) ...no reaper pass through it...
//
// How a pooler shows itself:
//   startup refused   RefusesStartupOptions(): PgBouncer up to 1.19 refuses
//                     any `options` ("unsupported startup parameter:
//                     options") unless ignore_startup_parameters lists it
//                     (then it drops it); 1.20+ refuses an option naming a
//                     setting it does not track ("unsupported startup
//                     parameter in options: <name>", "unsupported options
//                     startup parameter: only '-c config=val' ..."); RDS
//                     Proxy refuses them all ("RDS Proxy currently doesn't
//                     support command-line options").
//   startup answered  DetectPooler(): the pooler answers the startup with a
//                     BackendKeyData of its own, so PQbackendPID() is not
//                     the server backend's pg_backend_pid(). PgBouncer does
//                     so in every pool mode.
//   sessions shared   SharesServerSession(): a second client, connected
//                     while the first stays connected, runs on the server
//                     session the first one used: only transaction (or
//                     statement) pooling lends one server session to several
//                     clients. An idle PgBouncer hands it out every time
//                     (it reuses its most recently used server connection);
//                     a busy one may not, so "not shared" proves nothing.
//
// Thread-safety: RefusesStartupOptions() and SharesServerSession() are pure;
// DetectPooler() uses its connection exclusively while it runs.
#ifndef AEQUOR_CORE_POOLER_H_
#define AEQUOR_CORE_POOLER_H_

#include <libpq-fe.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "util/pg.h"

namespace aequor {

// Whether `libpq_error_message` (PQerrorMessage of a failed connect, any
// number of lines, e.g. one per host tried) says that the server or a
// pooler in between refused the startup parameter `options`: PgBouncer's
// and RDS Proxy's wordings above, case-insensitively. False for any other
// failure, including a pooler refusing another startup parameter
// ("unsupported startup parameter: extra_float_digits").
bool RefusesStartupOptions(absl::string_view libpq_error_message);

// The two backend pids of one connection.
struct PoolerSighting {
  // PQbackendPID(): the pid of the startup's BackendKeyData, which a pooler
  // makes up (PgBouncer: random, possibly negative).
  int startup_pid = 0;
  // SELECT pg_backend_pid(): the server backend that ran the statement.
  int server_pid = 0;

  // Something between the client and the server answered the startup.
  bool pooler_in_between() const { return startup_pid != server_pid; }
};

// Runs `SELECT pg_backend_pid()` on `conn` (an open connection, outside a
// failed transaction) and compares it with PQbackendPID(conn). Errors:
// InvalidArgument for a null `conn`; Unavailable when the connection is bad
// or breaks (no SQLSTATE, or class 08); Internal for any other failure
// (with the server's message and SQLSTATE).
// The statement ends by `deadline` (util/pg.h): when it passes, the
// connection is closed and the error is kUnavailable.
absl::StatusOr<PoolerSighting> DetectPooler(PGconn* conn,
                                            const pg::Deadline& deadline = pg::Deadline::None());

// Whether `second`, seen on a client connection made while the client of
// `first` stayed connected (and after `first` was seen), ran on the server
// session `first` ran on: a pooler lends server sessions to several clients
// (transaction or statement pooling).
bool SharesServerSession(const PoolerSighting& first, const PoolerSighting& second);

}  // namespace aequor

#endif  // AEQUOR_CORE_POOLER_H_
