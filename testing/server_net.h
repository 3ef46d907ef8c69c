// testing/server_net.h: what the servers that tests start share about
// reaching them: a free TCP port on loopback, and a value quoted for a libpq
// conninfo. Used by testing/throwaway_postgres and testing/pgbouncer.
//
//   absl::StatusOr<int> port = FreeLoopbackPort();
//   std::string conninfo = absl::StrCat("host=", ConninfoValue(dir), " port=", *port);
//
// Thread-safety: free functions; safe from any thread.
#ifndef AEQUOR_TESTING_SERVER_NET_H_
#define AEQUOR_TESTING_SERVER_NET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
// released): a server started on it may still lose a race for it, so its
// caller retries with another on "address in use".
absl::StatusOr<int> FreeLoopbackPort();

// `value` as a libpq conninfo value: as is when plain, else single-quoted
// with backslashes and quotes escaped.
std::string ConninfoValue(absl::string_view value);

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_SERVER_NET_H_
