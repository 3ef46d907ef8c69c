// api/errors.h: how aequor reports database errors through absl::Status.
//
// Every failed query or connect returns an absl::Status whose code is derived
// from the SQLSTATE in one place (StatusCodeForSqlState) and which carries the
// SQLSTATE, when the server sent one, as a payload:
//
//   absl::StatusOr<aequor::QueryResult> r = manager->Query("INSERT ...");
//   if (!r.ok() && aequor::SqlState(r.status()) == "23505") { ... duplicate key ... }
//
// Thread-safety: free functions; safe from any thread.
#ifndef AEQUOR_API_ERRORS_H_
#define AEQUOR_API_ERRORS_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aequor {

// The payload type URL under which the SQLSTATE is stored.
inline constexpr absl::string_view kSqlStatePayload = "type.aequor.dev/sqlstate";

// The payload marking an error whose outcome is unknown: the connection was
// lost after a write (or COMMIT) was sent, so it may or may not have taken
// effect. Such errors have code kUnknown (kDeadlineExceeded when the call's
// deadline passed with the statement in flight) and are never retried
// blindly.
inline constexpr absl::string_view kOutcomeUnknownPayload = "type.aequor.dev/outcome_unknown";

// True for the "outcome unknown" errors described above.
bool IsOutcomeUnknown(const absl::Status& status);

// The one constructor of those errors: `code` (kUnknown or
// kDeadlineExceeded), `message`, the outcome-unknown payload, and the
// SQLSTATE payload when `sqlstate` is set.
absl::Status OutcomeUnknownError(absl::string_view message, absl::string_view sqlstate = "",
                                 absl::StatusCode code = absl::StatusCode::kUnknown);

// The five-character SQLSTATE of `status`, or "" when it has none (not a
// server error, or libpq reported the failure without one, as it does for
// every connect-time failure).
std::string SqlState(const absl::Status& status);

// The absl code for a SQLSTATE, by class:
//   08 connection exception, 57 operator intervention -> kUnavailable
//   40 transaction rollback (serialization, deadlock)   -> kAborted
//   53 insufficient resources                           -> kResourceExhausted
//   28 invalid authorization                            -> kUnauthenticated
//   42501 insufficient privilege                        -> kPermissionDenied
//   3D000 invalid catalog name, 42P01, 42883            -> kNotFound
//   23 integrity constraint                             -> kAlreadyExists (23505) /
//   kFailedPrecondition 22, 42 (other)                                      -> kInvalidArgument
//   57014 query canceled                                -> kDeadlineExceeded
//   anything else                                       -> kInternal
absl::StatusCode StatusCodeForSqlState(absl::string_view sqlstate);

// A status with the code for `sqlstate`, `message`, and the SQLSTATE payload
// (omitted when sqlstate is empty; the code is then `fallback`).
absl::Status StatusFromSqlState(absl::string_view sqlstate, absl::string_view message,
                                absl::StatusCode fallback = absl::StatusCode::kUnavailable);

}  // namespace aequor

#endif  // AEQUOR_API_ERRORS_H_
