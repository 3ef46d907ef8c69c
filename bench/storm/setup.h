// bench/storm/setup.h: everything a storm needs before its first instance
// starts: the seed and the coordination secret, the storm_instance binary,
// the --series-out file, then the server (bench/storm/server.h), the
// monitor's session, --reaper-role's roles, --workload=write's table and
// --frozen-leader's session, in that order (the leader right before t = 0).
//
//   StormSetup setup;
//   absl::Status s = PrepareStorm(options, &setup, &summary);        // no server yet
//   if (s.ok()) s = SetUpServer(options, say, &setup, &summary);     // server up
//
// Both fill the summary's settings (seed, server, kill_evidence,
// max_connections, fleet_slots, reaper_role, frozen_leader, ...).
//
// Thread-safety: not thread-safe.
#ifndef AEQUOR_BENCH_STORM_SETUP_H_
#define AEQUOR_BENCH_STORM_SETUP_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "bench/storm/frozen_leader.h"
#include "bench/storm/monitor.h"
#include "bench/storm/options.h"
#include "bench/storm/progress.h"
#include "bench/storm/series.h"
#include "bench/storm/server.h"
#include "bench/storm/server_log.h"
#include "bench/storm/summary.h"

namespace aequor {
namespace storm {

struct StormSetup {
  uint64_t seed = 0;
  std::string secret;           // never printed
  std::string instance_binary;  // resolved (realpath); "" with --client-cmd
  SeriesFile series;            // open with --series-out
  StormServer server;
  std::unique_ptr<ServerLogReader> log;  // the throwaway server's log; null with --dsn
  Monitor monitor;
  std::optional<FrozenLeader> leader;  // --frozen-leader
};

// The seed (options.seed, else random), the secret (options'
// coordination_secret, else derived from the seed), the instance binary
// (checked executable) and the series file. InvalidArgument for options
// that cannot run together (RunStorm takes options no command line
// checked); FailedPrecondition for a missing binary or an unwritable file.
absl::Status PrepareStorm(const StormOptions& options, StormSetup* setup, StormSummary* summary);

// Starts (or reaches) the server, connects the monitor, and sets up what the
// options add. Progress lines describe the server and each step.
absl::Status SetUpServer(const StormOptions& options, const Progress& say, StormSetup* setup,
                         StormSummary* summary);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_SETUP_H_
