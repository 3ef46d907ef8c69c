// bench/storm/conninfo.h: the libpq connection settings the harness reads
// and passes on: parsing a conninfo or URI, the loopback rule for --dsn, and
// turning settings into the PG* variables instances get (and back).
//
//   absl::Status s = CheckLoopback("host=127.0.0.1 port=5432");  // OK
//   absl::StatusOr<std::map<std::string, std::string>> env =
//       LibpqEnvironmentFor("postgresql://app@localhost:5432/db");  // PGHOST=localhost, ...
//
// Thread-safety: every function is thread-safe (libpq's conninfo functions are).
#ifndef AEQUOR_BENCH_STORM_CONNINFO_H_
#define AEQUOR_BENCH_STORM_CONNINFO_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

// The keyword=value pairs of a conninfo or URI (empty values left out), or
// InvalidArgument with libpq's parse error.
absl::StatusOr<std::map<std::string, std::string>> ParseConninfo(const std::string& conninfo);

// 127.0.0.1 (or 127.x.y.z), localhost or ::1.
bool IsLoopbackHost(absl::string_view host);

// OK when `conninfo` connects over TCP to a loopback host (its hostaddr, else
// its host, else $PGHOST): the fleet's backends are attributed by client
// port, and a storm is never aimed at a shared server by accident. Else
// InvalidArgument saying why ("not a valid conninfo or URI: ...",
// "needs host=127.0.0.1 ...", "host '10.1.2.3' is not loopback; ...").
absl::Status CheckLoopback(const std::string& conninfo);

// The PG* variables that make libpq connect as `conninfo` does: for every
// keyword libpq reads from a variable (application_name excepted), the
// conninfo's value, else this process's variable (libpq's own rule).
// InvalidArgument when `conninfo` does not parse.
absl::StatusOr<std::map<std::string, std::string>> LibpqEnvironmentFor(const std::string& conninfo);

// The reverse: libpq keywords (host, port, user, ...) for the PG* variables
// in `env`; other names are left out.
std::map<std::string, std::string> KeywordsForEnvironment(
    const std::map<std::string, std::string>& env);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_CONNINFO_H_
