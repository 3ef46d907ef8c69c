// core/connect_error.h (internal): turns a failed libpq connect into a Status.
//
// libpq reports connect-time failures with no SQLSTATE, only text (checked on
// PostgreSQL 15, see docs/POSTGRES_FACTS.md). This is the one place that reads
// that text. The SQLSTATE the server meant is attached as the payload when the
// text identifies it (53300 too many connections, 28P01 bad password, 3D000
// unknown database, 57P03 starting up or shutting down).
//
// Thread-safety: pure function.
#ifndef AEQUOR_CORE_CONNECT_ERROR_H_
#define AEQUOR_CORE_CONNECT_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aequor {

// The status for a connect that failed with libpq message `message`.
absl::Status ConnectFailureStatus(absl::string_view message);

}  // namespace aequor

#endif  // AEQUOR_CORE_CONNECT_ERROR_H_
