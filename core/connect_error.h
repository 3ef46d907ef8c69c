// core/connect_error.h (internal): turns a failed libpq connect into a Status,
// and libpq's messages about a conninfo into text that is safe to show.
//
// libpq reports connect-time failures with no SQLSTATE, only text (checked on
// PostgreSQL 15, see docs/POSTGRES_FACTS.md). This is the one place that reads
// that text. The SQLSTATE the server meant is attached as the payload when the
// text identifies it (53300 too many connections, 28P01 bad password, 3D000
// unknown database, 57P03 starting up or shutting down).
//
// libpq quotes what it refuses, and what it refuses can be a piece of a
// password the user meant: `password=correct horse battery` does not parse
// (`missing "=" after "horse"`), `password=correct port=battery9` parses and
// then fails with `invalid integer value "battery9" for connection option
// "port"`, a '/' in a URI's password makes the rest of it the port. So
// whenever a conninfo holds a password (a `password` keyword or a URI's
// user:password), the text libpq quotes from it is blanked to "..." unless it
// is one of libpq's own option names or a single punctuation character. The
// messages libpq writes are matched whole, against the templates it prints
// them with, so a quote inside the quoted text cannot end the blanking early.
// What is kept: values libpq accepted and went on to use (the host it could
// not resolve or reach, the server's own FATAL message with the user and
// database it was sent). The boundary, and why, is in docs/RELIABILITY.md.
//
// Thread-safety: pure functions.
#ifndef AEQUOR_CORE_CONNECT_ERROR_H_
#define AEQUOR_CORE_CONNECT_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aequor {

// The status for a connect that failed with libpq message `message`, which
// must already be safe to show (ConnectFailureText). Its message is
// "connect failed: " + `message`.
absl::Status ConnectFailureStatus(absl::string_view message);

// ConnectFailureStatus(ConnectFailureText(conninfo, message)): the status
// for a connect to `conninfo` that failed with libpq message `message`.
absl::Status ConnectFailureStatus(absl::string_view conninfo, absl::string_view message);

// libpq's message for a failed connect to `conninfo`, safe to show (see the
// file comment). Unchanged when `conninfo` holds no password.
std::string ConnectFailureText(absl::string_view conninfo, absl::string_view message);

// Whether libpq can parse `conninfo` (keywords or a URI), without
// connecting: OK, or InvalidArgument with ConninfoParseErrorText's message.
// Also refused, though libpq would take them, two URIs whose password broke
// out of its place, so that a piece of it would be shown as a host or port
// in every connect error:
//   - an '@' after the host part (`postgresql://app:54/x@db/orders`): a '/'
//     in the password; libpq ends the host part there, takes the user name
//     for the host, the password's start for the port, the rest for the
//     database name;
//   - more than one '@' before the host (`postgresql://app:p@db:5432@db`):
//     an '@' in the password; libpq ends the password at the first, and
//     its tail becomes the host list.
absl::Status CheckConninfo(absl::string_view conninfo);

// libpq's message for a conninfo that does not parse, safe to show. Every
// text it quotes from the conninfo is blanked to "...", except the option
// name of `invalid connection option "x"` when the conninfo holds no
// password (a typo in a keyword is the usual cause, and its name the fix).
std::string ConninfoParseErrorText(absl::string_view conninfo, absl::string_view message);

}  // namespace aequor

#endif  // AEQUOR_CORE_CONNECT_ERROR_H_
