// SQLSTATE <-> absl::Status, in one place.
#include "api/errors.h"

#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"

namespace aequor {

std::string SqlState(const absl::Status& status) {
  auto payload = status.GetPayload(kSqlStatePayload);
  return payload ? std::string(*payload) : std::string();
}

bool IsOutcomeUnknown(const absl::Status& status) {
  return (status.code() == absl::StatusCode::kUnknown ||
          status.code() == absl::StatusCode::kDeadlineExceeded) &&
         status.GetPayload(kOutcomeUnknownPayload).has_value();
}

absl::Status OutcomeUnknownError(absl::string_view message, absl::string_view sqlstate,
                                 absl::StatusCode code) {
  absl::Status status(code, message);
  status.SetPayload(kOutcomeUnknownPayload, absl::Cord("1"));
  if (!sqlstate.empty()) status.SetPayload(kSqlStatePayload, absl::Cord(sqlstate));
  return status;
}

absl::StatusCode StatusCodeForSqlState(absl::string_view s) {
  if (s.size() != 5) return absl::StatusCode::kInternal;
  if (s == "57014") return absl::StatusCode::kDeadlineExceeded;
  if (s == "42501") return absl::StatusCode::kPermissionDenied;
  if (s == "3D000" || s == "42P01" || s == "42883" || s == "42704") {
    return absl::StatusCode::kNotFound;
  }
  if (s == "23505") return absl::StatusCode::kAlreadyExists;
  absl::string_view cls = s.substr(0, 2);
  if (cls == "08" || cls == "57") return absl::StatusCode::kUnavailable;
  if (cls == "40") return absl::StatusCode::kAborted;
  if (cls == "53") return absl::StatusCode::kResourceExhausted;
  if (cls == "28") return absl::StatusCode::kUnauthenticated;
  if (cls == "23") return absl::StatusCode::kFailedPrecondition;
  if (cls == "22" || cls == "42") return absl::StatusCode::kInvalidArgument;
  if (cls == "25") return absl::StatusCode::kFailedPrecondition;  // invalid transaction state
  return absl::StatusCode::kInternal;
}

absl::Status StatusFromSqlState(absl::string_view sqlstate, absl::string_view message,
                                absl::StatusCode fallback) {
  if (sqlstate.empty()) return absl::Status(fallback, message);
  absl::Status status(StatusCodeForSqlState(sqlstate), message);
  status.SetPayload(kSqlStatePayload, absl::Cord(sqlstate));
  return status;
}

}  // namespace aequor
