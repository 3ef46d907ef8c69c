#include "bench/storm/verdict.h"

namespace aequor {
namespace storm {

Verdict JudgeDisappearance(const PhaseHistory& history, bool have_log,
                           const std::optional<LoggedKill>& logged, double last_seen_ms,
                           double now_ms) {
  using Kind = Verdict::Kind;
  Verdict v;
  v.when_ms = now_ms;
  if (have_log) {
    if (logged.has_value()) {
      v.when_ms = logged->at_ms;
      v.reason = logged->reason;
      const InstancePhase phase = history.At(v.when_ms);
      if (phase == InstancePhase::kEnded) {
        // Already gone (exited or killed by the harness): not a kill of a live session.
      } else if (phase == InstancePhase::kFrozen) {
        v.kind = Kind::kZombieReaped;
      } else {
        v.kind = Kind::kFalseKill;
      }
    } else if (history.Throughout(InstancePhase::kFrozen, last_seen_ms, now_ms) &&
               history.At(now_ms) != InstancePhase::kEnded) {
      v.kind = Kind::kZombieReaped;  // a frozen process cannot close its connection
      v.reason = "not in the server log";
    }
    return v;
  }
  const InstancePhase phase = history.At(now_ms);
  if (phase != InstancePhase::kEnded) {
    v.kind = phase == InstancePhase::kFrozen ? Kind::kZombieReaped : Kind::kFalseKill;
    v.reason = "terminated";
  }
  return v;
}

absl::string_view FalseKillPhase(const PhaseHistory& history, double when_ms) {
  return history.At(when_ms) == InstancePhase::kRunning ? "in_flight" : "answered_not_frozen";
}

}  // namespace storm
}  // namespace aequor
