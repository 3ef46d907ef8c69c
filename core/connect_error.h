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

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aequor {

// The status for a connect that failed with libpq message `message`.
absl::Status ConnectFailureStatus(absl::string_view message);

// libpq's message for a conninfo that does not parse, safe to show: libpq
// quotes the text it chokes on, which can be part of a password
// (`password=correct horse battery` gives `missing "=" after "horse"`; a URI
// with a bad percent-escape in its password quotes the password). When
// `conninfo` holds a password (a `password` keyword or a URI's user:password)
// every quoted fragment is blanked to "..." except a single punctuation
// character (the "=" libpq expected); otherwise only the name in
// `invalid connection option "x"` is kept.
std::string ConninfoParseErrorText(absl::string_view conninfo, absl::string_view message);

}  // namespace aequor

#endif  // AEQUOR_CORE_CONNECT_ERROR_H_
