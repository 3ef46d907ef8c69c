// util/pg.h: owning handles for libpq objects, statements that end by a
// deadline, and one exec-and-check helper, shared by the core, the tools,
// the benchmarks and the tests.
//
//   pg::Conn conn(PQconnectdb(conninfo.c_str()));
//   pg::Outcome out = pg::Exec(conn.get(), "SELECT $1::int", {"7"});
//   if (!out.ok()) return Fail(out.sqlstate(), out.message());
//   PQgetvalue(out.get(), 0, 0);
//
//   // Ends by the deadline whatever the server or the network does:
//   pg::Deadline d(clock, clock.MonotonicNow() + absl::Seconds(2), absl::Seconds(1));
//   pg::Reply r = pg::Run(conn.get(), pg::Statement{"SELECT pg_sleep(5)"}, d);
//   if (r.timed_out) { /* cancelled; the connection is closed: drop it */ }
//
// A statement given a deadline is sent on a non-blocking connection and its
// result waited for on the socket until the deadline (the waits are ended by
// one watchdog thread, util/deadline_watchdog.h, so that no kernel timer is
// armed per statement). When the deadline
// passes first, the statement is cancelled (PQcancel, on a thread of its
// own, waited for at most the deadline's cancel bound) and the socket is
// shut, so libpq counts the connection lost (PQstatus CONNECTION_BAD) and
// its owner drops it: what was sent may or may not have run.
//
// Thread-safety: as libpq's: one connection is used by one thread at a time.
#ifndef AEQUOR_UTIL_PG_H_
#define AEQUOR_UTIL_PG_H_

#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "api/clock.h"

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

// When the waits of one call give up: a time on `clock`'s monotonic scale,
// and how long a timed-out statement's cancel request may take on top.
// Deadline::None() never gives up (libpq's own blocking behaviour).
class Deadline {
 public:
  static Deadline None() { return Deadline(); }
  Deadline(Clock& clock, absl::Time at, absl::Duration cancel_bound)
      : clock_(&clock), at_(at), cancel_bound_(cancel_bound) {}

  bool none() const { return clock_ == nullptr; }
  // Read from `clock`.
  bool on(const Clock* clock) const { return clock_ == clock; }
  absl::Time at() const { return at_; }
  absl::Duration cancel_bound() const { return cancel_bound_; }
  // Time left (zero once passed); InfiniteDuration() for None().
  absl::Duration Left() const {
    if (clock_ == nullptr) return absl::InfiniteDuration();
    return std::max(absl::ZeroDuration(), at_ - clock_->MonotonicNow());
  }
  // The earlier of this deadline and `at` (None() becomes one at `at`
  // with `clock`).
  Deadline Earlier(Clock& clock, absl::Time at, absl::Duration cancel_bound) const {
    if (clock_ != nullptr && at_ <= at) return *this;
    return Deadline(clock, at, clock_ != nullptr ? cancel_bound_ : cancel_bound);
  }

 private:
  Deadline() = default;
  Clock* clock_ = nullptr;
  absl::Time at_ = absl::InfiniteFuture();
  absl::Duration cancel_bound_ = absl::ZeroDuration();
};

// One statement as libpq takes it: NUL-terminated text and text parameters.
// `simple`: the simple query protocol (no parameters; several statements
// separated by ';' allowed; the last result is returned, or the first
// error); otherwise the extended protocol (one statement).
struct Statement {
  const char* text = nullptr;
  int n_params = 0;
  const char* const* values = nullptr;
  bool simple = false;
  // As PQsendQueryParams takes them: null when every parameter is text
  // (NUL-terminated, lengths unused).
  const int* lengths = nullptr;
  const int* formats = nullptr;
  // Non-null: run the statement prepared under this name on the connection
  // (PQsendQueryPrepared; `text` is then only for messages).
  const char* prepared_name = nullptr;
};

// What a timed-out statement's error says (Outcome::message()).
inline constexpr absl::string_view kTimedOutMessage =
    "the deadline passed before the server answered: the statement was cancelled and the "
    "connection closed";

// What Run() got back.
struct Reply {
  // The statement's result (the last one, or the first error, as PQexec);
  // null when it timed out or libpq failed before any result.
  Result result;
  // The deadline passed first: the statement was cancelled (within the
  // deadline's cancel bound) and the connection shut; PQstatus is bad.
  bool timed_out = false;
};

// Sends `statement` on `conn` and waits for its result until `deadline`.
// Switches `conn` to non-blocking mode (libpq's PQexec still blocks on it).
Reply Run(PGconn* conn, const Statement& statement, const Deadline& deadline);

// Prepares `statement` as `name` and runs it, in one round trip (libpq's
// pipeline mode), until `deadline`. `*prepared` says whether the server
// kept the prepared statement. When preparing failed, the reply is that
// error (the statement would have failed the same way unprepared: its text
// does not parse, or the transaction is aborted); nothing ran.
Reply PrepareAndRun(PGconn* conn, const char* name, const Statement& statement,
                    const Deadline& deadline, bool* prepared);

// Runs `statements` (extended protocol only: none `simple`) in one libpq
// pipeline, each followed by a sync point, so that each runs in an implicit
// transaction of its own, as if run one after the other with Run(), in one
// round trip. One Reply per statement, in order. When the deadline passes,
// the statements without a complete result are timed_out and the connection
// is shut (as Run()); when sending fails or the connection breaks, those
// without a result hold a FATAL_ERROR result and the connection is bad.
std::vector<Reply> RunPipeline(PGconn* conn, absl::Span<const Statement> statements,
                               const Deadline& deadline);

// Sends what libpq holds for `conn` and waits for the next result to be
// complete (PQgetResult would not block) until `deadline`; false when the
// deadline passed first, after which the statement was cancelled and the
// connection shut (see above). For pipelines; Run() uses it.
bool FlushAndAwait(PGconn* conn, const Deadline& deadline);

// Asks the server to cancel what `conn` is running, waiting at most `bound`
// for the request to be delivered (PQcancel blocks on a network that drops
// packets: it runs on a detached thread that owns its copy of the cancel
// key). True when the server accepted the request in time.
bool CancelWithin(PGconn* conn, absl::Duration bound);

// The end of a call whose deadline passed: CancelWithin(conn, bound), then
// the socket is shut so that libpq counts the connection lost.
void Abandon(PGconn* conn, absl::Duration cancel_bound);

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
  // The deadline passed first (see Run()); message() says so.
  bool timed_out() const { return timed_out_; }

 private:
  friend Outcome Exec(PGconn*, const char*, absl::Span<const std::string>, const Deadline&);
  bool ok_ = false;
  bool timed_out_ = false;
  Result result_;
  std::string sqlstate_;
  std::string message_;
};

// Runs `sql` on `conn` with text parameters ($1, $2, ...) until `deadline`
// (by default none: blocking) and checks the result. No parameters: the
// simple protocol (several statements allowed); otherwise the extended
// protocol.
Outcome Exec(PGconn* conn, const char* sql, absl::Span<const std::string> params = {},
             const Deadline& deadline = Deadline::None());
inline Outcome Exec(PGconn* conn, const std::string& sql, absl::Span<const std::string> params = {},
                    const Deadline& deadline = Deadline::None()) {
  return Exec(conn, sql.c_str(), params, deadline);
}

}  // namespace pg
}  // namespace aequor

#endif  // AEQUOR_UTIL_PG_H_
