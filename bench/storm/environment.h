// bench/storm/environment.h: what an instance process gets from the harness
// besides its command line: its environment (the harness's own, minus
// libpq's variables and AEQUOR_*, plus the instance contract's variables of
// bench/storm/protocol.h), and where the built-in clients' binary is.
//
//   std::vector<std::string> env = InstanceEnvironment(
//       environ, {{"PGHOST", "127.0.0.1"}, {"PGPORT", "5433"}}, options, secret, seed,
//       /*number=*/3, /*invocation=*/3);   // {"AEQUOR_LEASE_TTL_MS=2000", ..., "PGPORT=5433"}
//
// Thread-safety: every function is thread-safe (FindInstanceBinary reads
// the process's environment).
#ifndef AEQUOR_BENCH_STORM_ENVIRONMENT_H_
#define AEQUOR_BENCH_STORM_ENVIRONMENT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "bench/storm/options.h"

namespace aequor {
namespace storm {

// True for the environment variables libpq itself reads (its documentation's
// "Environment Variables": PGHOST ... PGLOCALEDIR, and whatever
// PQconndefaults() names). The harness removes exactly these (and AEQUOR_*)
// from its own environment before it passes it to an instance; any other
// name, PG-prefixed or not (PG_AEQUOR_DIR, PGDATA), passes unchanged.
bool IsLibpqEnvironmentVariable(absl::string_view name);

// The environment of instance `number` whose first invocation is
// `invocation`, "NAME=value" sorted by name: `base` (a null-terminated
// "NAME=value" array such as environ) without libpq's variables and
// AEQUOR_*, then `fleet` (where to connect: PG*, and AEQUOR_REAPER_CONNINFO
// with --reaper-role), then the lease settings of `options`, the coordination
// `secret`, the ids, AEQUOR_STORM_SEED = seed + number, the workload and,
// with terminate-active, the write's delay.
std::vector<std::string> InstanceEnvironment(const char* const* base,
                                             const std::map<std::string, std::string>& fleet,
                                             const StormOptions& options, const std::string& secret,
                                             uint64_t seed, int number, int invocation);

// The storm_instance binary: $STORM_INSTANCE_BINARY, else in the runfiles of
// this program ($RUNFILES_DIR, $TEST_SRCDIR, <argv0>.runfiles,
// /proc/self/exe.runfiles), else next to this program. "" when not found.
std::string FindInstanceBinary(absl::string_view argv0);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_ENVIRONMENT_H_
