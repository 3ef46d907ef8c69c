// bench/storm/run.h: one storm, a serverless fleet played against a real
// PostgreSQL. storm_main.cc is its command line; tests call RunStorm here.
//
//   StormOptions o;                     // bench/storm/options.h
//   o.client = ClientKind::kLibpq;
//   absl::StatusOr<StormSummary> summary = RunStorm(o, &std::cout);
//   std::cout << StormSummaryToJson(*summary) << "\n";   // bench/storm/summary.h
//
// Every interval_ms a new instance process (bench/storm/fleet.h) runs one
// invocation (connect, query, answer `ok` or `fail ...`, see
// bench/storm/protocol.h) and is then frozen with SIGSTOP, as a serverless
// runtime freezes a container after the handler returns; warm instances are
// thawed for their next invocation. A monitoring connection
// (bench/storm/monitor.h) polls pg_stat_activity every poll_ms and
// attributes each backend to its instance (bench/storm/backends.h), so that
// a backend that disappears is judged a reaped zombie or a false kill
// (bench/storm/verdict.h); the harness's own faults (bench/storm/faults.h)
// count apart. bench/storm/README.md describes every rule and field.
//
// Every exit path (including SIGINT, SIGTERM and SIGHUP, handled while it
// runs: the summary then says interrupted) SIGKILLs every instance's group
// and waits for every child; the throwaway server is stopped.
//
// Thread-safety: RunStorm() installs signal handlers and forks; call it from
// one thread at a time, preferably the main thread (PR_SET_PDEATHSIG is tied
// to the forking thread).
#ifndef AEQUOR_BENCH_STORM_RUN_H_
#define AEQUOR_BENCH_STORM_RUN_H_

#include <ostream>

#include "absl/status/statusor.h"
#include "bench/storm/options.h"
#include "bench/storm/summary.h"

namespace aequor {
namespace storm {

// Runs the storm. Human progress lines go to `progress` (null or json_only:
// none). Errors (server, monitor, instance binary, series file) are returned
// after every process was cleaned up; InvalidArgument ones concern the
// options. A run cut short by a signal returns its summary with interrupted
// = true and interrupted_signal set.
absl::StatusOr<StormSummary> RunStorm(const StormOptions& options, std::ostream* progress);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_RUN_H_
