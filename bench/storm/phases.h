// bench/storm/phases.h (internal): the phases an instance of the storm goes
// through, with the time of every change, so that an event the harness learns
// of late (a kill found in the server log at the next poll) is judged, and
// labelled, by the phase the instance was in at the event's own time.
//
//   PhaseHistory h;                 // kRunning from t = 0
//   h.Set(InstancePhase::kAnswered, 40);
//   h.Set(InstancePhase::kFrozen, 40);
//   h.At(20);                       // kRunning
//   h.At(500);                      // kFrozen
//
// Thread-safety: not thread-safe (the harness's loop is single-threaded).
#ifndef AEQUOR_BENCH_STORM_PHASES_H_
#define AEQUOR_BENCH_STORM_PHASES_H_

#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

enum class InstancePhase {
  kRunning,   // an invocation is in flight (started or resumed), no answer yet
  kAnswered,  // answered, alive, not frozen yet (freeze delay)
  kFrozen,    // SIGSTOPped
  kEnded,     // exited by itself or killed by the harness
};

// "invocation in flight", "answered, not frozen yet", "frozen", "ended".
absl::string_view InstancePhaseLabel(InstancePhase phase);

// Phase changes in time order (run time in ms). Before the first change the
// instance is in `initial` (kRunning: it is spawned running).
class PhaseHistory {
 public:
  explicit PhaseHistory(InstancePhase initial = InstancePhase::kRunning, double since_ms = 0)
      : changes_{{since_ms, initial}} {}

  // The phase now (the last one set).
  InstancePhase current() const { return changes_.back().second; }

  // Enters `phase` at `t_ms` (nothing when it is the current phase). An
  // earlier time than the previous change's is raised to it, so the history
  // stays ordered.
  void Set(InstancePhase phase, double t_ms);

  // The phase at run time `t_ms`: the last change at or before it (a change
  // and an event at the same millisecond: the event sees the new phase).
  // Before the first change: the first phase.
  InstancePhase At(double t_ms) const;

  // When the current phase began.
  double since_ms() const { return changes_.back().first; }

  // In `phase` at every instant of [t0_ms, t1_ms].
  bool Throughout(InstancePhase phase, double t0_ms, double t1_ms) const;

  // When the phase the instance was in at `t_ms` began.
  double SinceAt(double t_ms) const;

 private:
  std::vector<std::pair<double, InstancePhase>> changes_;  // (since, phase)
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_PHASES_H_
