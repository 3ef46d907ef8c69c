// bench/storm/verdict.h: what a backend that disappeared was: a zombie
// reaped (terminated while its instance was frozen), a false kill
// (terminated while its instance was alive), or neither (it closed its own
// connection, or its instance had ended). Judged at the kill's own time,
// from the instance's phase history (bench/storm/phases.h).
//
//   Verdict v = JudgeDisappearance(instance.history, /*have_log=*/true,
//                                  LoggedKill{1234.0, "administrator command"},
//                                  backend.last_seen_ms, now);
//   if (v.kind == Verdict::Kind::kFalseKill) ++false_kills_by[FalseKillPhase(history, v.when_ms)];
//
// Evidence. With the throwaway server's log (have_log), a backend is killed
// only if the log says so ("terminating connection due to <reason>"), except
// one whose instance was frozen from its last sighting on (a frozen process
// cannot close anything: a zombie, "not in the server log"). Without a log
// (--dsn), a backend gone while its instance was frozen is a reaped zombie
// and one gone while it was alive a false kill ("terminated").
//
// Thread-safety: pure functions.
#ifndef AEQUOR_BENCH_STORM_VERDICT_H_
#define AEQUOR_BENCH_STORM_VERDICT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "bench/storm/phases.h"

namespace aequor {
namespace storm {

// A termination the server log recorded: its run time and reason.
struct LoggedKill {
  double at_ms = 0;
  std::string reason;  // "administrator command", "idle-session timeout", ...
};

struct Verdict {
  enum class Kind { kNone, kZombieReaped, kFalseKill };
  Kind kind = Kind::kNone;
  double when_ms = 0;  // the logged time, else `now`
  std::string reason;  // for reaped_by and the progress line
};

// `history`: the phases of the backend's instance; `logged`: the log's
// termination of the backend, if any; `last_seen_ms`: the last poll that saw
// it; `now_ms`: the poll that found it gone.
Verdict JudgeDisappearance(const PhaseHistory& history, bool have_log,
                           const std::optional<LoggedKill>& logged, double last_seen_ms,
                           double now_ms);

// A false kill's label in false_kills_by: "in_flight" (the instance was
// running an invocation at `when_ms`) or "answered_not_frozen".
absl::string_view FalseKillPhase(const PhaseHistory& history, double when_ms);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_VERDICT_H_
