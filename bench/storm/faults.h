// bench/storm/faults.h: the harness's own faults (--fault=KIND:ARG, may be
// given more than once): what they are, parsing one --fault value, and the
// random choices they make.
//
//   StormFaults faults;
//   absl::Status s = ParseFault("terminate-idle:0.5", &faults);  // "--fault: ..." if bad
//   std::optional<double> at = TerminateIdleAt(seed, invocation, *faults.terminate_idle,
//                                              frozen_at_ms, thaw_after_ms);
//
// Every random choice is a pure function of the run's seed and an invocation
// id, so a seed gives the same choices whatever the timing. The backends a
// fault terminates count as fault_kills, never as zombies_reaped or
// false_kills (see bench/storm/README.md).
//
// Thread-safety: a plain struct and pure functions.
#ifndef AEQUOR_BENCH_STORM_FAULTS_H_
#define AEQUOR_BENCH_STORM_FAULTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

// The fault names, as --fault spells them and fault_kills_by counts them.
inline constexpr char kFaultTerminateIdle[] = "terminate-idle";
inline constexpr char kFaultTerminateActive[] = "terminate-active";
inline constexpr char kFaultRestartAt[] = "restart-at";
inline constexpr char kFaultRestartAfterBackends[] = "restart-after-backends";

struct StormFaults {
  // terminate-idle:P. While a warm instance is frozen before a thaw, with
  // probability P its backends are terminated (pg_terminate_backend from the
  // monitor) at a random moment of the frozen time, at least
  // min(200 ms, thaw_after_ms / 4) before the thaw. REQUIRES: [0, 1];
  // invocations_per_instance >= 2.
  std::optional<double> terminate_idle;
  // terminate-active:P. With probability P per invocation, the monitor
  // terminates the invocation's backend when a poll sees it `active` running
  // the write statement (which then waits kActiveWriteDelayS in pg_sleep
  // before it inserts, so that it can be seen in flight). REQUIRES: [0, 1];
  // workload == kWrite.
  std::optional<double> terminate_active;
  // restart-at:S. S seconds after the first instance started, the throwaway
  // server is restarted (fast shutdown, same port); the harness's loop waits
  // for it. The storm lasts at least S seconds. REQUIRES: [0, 86400]; not
  // with --dsn.
  std::optional<double> restart_at_s;
  // restart-after-backends:N. The same restart, as soon as the polls have
  // seen N distinct client backends (a condition, not a time: the restart
  // comes after connections exist however slow the machine is). No restart
  // if the storm ends first (restarts stays 0). REQUIRES: 1..1000000; not
  // with restart_at_s; not with --dsn.
  std::optional<int> restart_after_backends;

  bool any() const {
    return terminate_idle.has_value() || terminate_active.has_value() || restart_at_s.has_value() ||
           restart_after_backends.has_value();
  }
  bool restart() const { return restart_at_s.has_value() || restart_after_backends.has_value(); }
  // "terminate-idle:1,restart-at:3" ("" when none), in that order
  // (restart-after-backends:N where restart-at would be).
  std::string ToString() const;
};

// The pg_sleep of the write statement with terminate-active, in seconds.
inline constexpr double kActiveWriteDelayS = 0.2;

// Adds one --fault value ("terminate-idle:0.5") to `faults`. InvalidArgument
// "--fault: ..." when the form, the kind or the number is wrong, or the kind
// was given before.
absl::Status ParseFault(absl::string_view value, StormFaults* faults);

// terminate-active: whether invocation `invocation` is drawn (probability p).
bool DrawsTerminateActive(uint64_t seed, int invocation, double p);

// terminate-idle: for the frozen span that began at `frozen_at_ms` after
// invocation `invocation`, the run time at which its backends are to be
// terminated (probability p), or nullopt when this span is not drawn. The
// moment lies in [frozen_at_ms, frozen_at_ms + thaw_after_ms - guard), guard
// = min(200, thaw_after_ms / 4): well before the thaw, so that the backend
// has exited and its FATAL is in the client's socket when the client wakes.
std::optional<double> TerminateIdleAt(uint64_t seed, int invocation, double p, double frozen_at_ms,
                                      int thaw_after_ms);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_FAULTS_H_
