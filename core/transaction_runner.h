// core/transaction_runner.h (internal): one attempt at a RunTransaction()
// call on a ready connection (BEGIN, the user's body, COMMIT), and the
// lookup of a transaction id's fate after a lost COMMIT. The manager keeps
// the loop around it (retries, reconnects, the outcome lookup's retries).
//
//   TransactionRunner runner(clock, events);
//   TransactionAttempt a = runner.Attempt(conn, begin_sql, body, resolve_outcome, deadline);
//   if (a.done.has_value()) return *a.done;      // committed, or the body's own error
//   Verdict v = Classify(a.facts);               // the server's failure
//
// Events: kQueryStart/kQueryEnd/kQueryError for each statement of the body.
//
// Thread-safety: none; runs on the caller's thread, which holds the
// manager's lock for the whole attempt (the body included).
#ifndef AEQUOR_CORE_TRANSACTION_RUNNER_H_
#define AEQUOR_CORE_TRANSACTION_RUNNER_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/clock.h"
#include "api/connection_manager.h"
#include "core/classify.h"
#include "core/connection.h"
#include "core/event_emitter.h"

namespace aequor {

// The BEGIN statement for `options` (with the xid lookup when
// resolve_outcome); InvalidArgument naming TransactionOptions.isolation for
// a value outside the enum.
absl::StatusOr<std::string> BeginStatement(const TransactionOptions& options);

struct TransactionAttempt {
  // Set when the call ends here whatever the connection: OK (committed), the
  // body's own error (rolled back), or the server's rollback at COMMIT.
  std::optional<absl::Status> done;
  // Otherwise the failure, for Classify(): the phase, the server's status,
  // whether the connection was lost.
  FailureFacts facts;
  // The transaction id read after BEGIN (resolve_outcome), else "".
  std::string xid;
};

// What pg_xact_status() said of a transaction id.
enum class XidFate { kCommitted, kAborted, kInProgress, kUnknown, kConnectionLost };

class TransactionRunner {
 public:
  TransactionRunner(Clock& clock, EventEmitter& events) : clock_(clock), events_(events) {}

  // Every statement (BEGIN, the body's, COMMIT, ROLLBACK) ends by
  // `deadline`; one that does not is cancelled and the connection closed
  // (facts.timed_out).
  TransactionAttempt Attempt(Connection& conn, const std::string& begin,
                             const TransactionBody& body, bool resolve_outcome,
                             const pg::Deadline& deadline);

  // One pg_xact_status($xid) on `conn`, until `deadline`.
  XidFate LookUp(Connection& conn, const std::string& xid, const pg::Deadline& deadline);

 private:
  class Tx;
  // `timed_out` is set when the deadline passed first.
  absl::StatusOr<QueryResult> RunStatement(Connection& conn, absl::string_view sql,
                                           absl::Span<const Param> params,
                                           const pg::Deadline& deadline, bool& timed_out);

  Clock& clock_;
  EventEmitter& events_;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_TRANSACTION_RUNNER_H_
