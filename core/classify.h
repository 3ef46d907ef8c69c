// core/classify.h (internal): the one place that decides whether a failure
// may be retried.
//
//   connect    refused, reset, timed out, too many clients (53300), starting
//              up or shutting down (57P03): retry. Bad password or no
//              pg_hba entry (28xxx), unknown database (3D000), bad conninfo:
//              never.
//   statement  connection lost: retry only if provably nothing was sent or
//              the caller marked it idempotent; else the outcome is unknown.
//              Inside the user's own transaction (BEGIN sent through
//              Query()) a lost connection rolled it back: fail, never retry
//              one statement of it; if the statement was COMMIT, unknown.
//              Serialization failure / deadlock (40001, 40P01) of an
//              autocommit statement: it was rolled back, retry. Anything
//              else: fail.
//   body       (inside the transaction helper, before COMMIT was sent)
//              connection lost, 40001, 40P01: the transaction did not
//              commit, run it again from the start. Else fail.
//   commit     connection lost after COMMIT was sent: outcome unknown
//              (resolved with pg_xact_status when the xid is known).
//              40001/40P01 at COMMIT: rolled back, run again. Else fail.
//   deadline   a statement still unanswered at the call's deadline was
//              cancelled and its connection closed: as a lost connection,
//              but never retried (the call's time is spent).
//
// Thread-safety: pure functions.
#ifndef AEQUOR_CORE_CLASSIFY_H_
#define AEQUOR_CORE_CLASSIFY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aequor {

enum class Phase { kConnect, kStatement, kTransactionBody, kCommit };

struct FailureFacts {
  Phase phase = Phase::kStatement;
  absl::Status status;           // carries the SQLSTATE payload when known
  bool connection_lost = false;  // PQstatus went bad
  bool nothing_sent = false;     // provably nothing reached the server
  bool idempotent = false;       // QueryOptions::idempotent
  bool in_transaction = false;   // the session was inside the user's transaction
  bool is_commit = false;        // the statement ends a transaction (COMMIT, END)
  bool timed_out = false;        // the call's deadline passed in flight (never retried)
};

enum class Verdict {
  kRetry,           // safe to run again (after a backoff)
  kFail,            // return the error as it is
  kOutcomeUnknown,  // a write may or may not have happened: never replay blindly
};

Verdict Classify(const FailureFacts& facts);

// Whether `sql` is a statement that commits the session's transaction
// (COMMIT, END, COMMIT AND CHAIN, COMMIT PREPARED; any case, leading blanks).
bool LooksLikeCommit(absl::string_view sql);

}  // namespace aequor

#endif  // AEQUOR_CORE_CLASSIFY_H_
