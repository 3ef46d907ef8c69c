// api/reaper_scheduler.h: the reaper scheduler plugin kind, deciding when
// this instance tries a reaper pass.
//
// A pass is cheap but not free (one short transaction), and with a fleet of
// hundreds of instances not every one should try on every connect. The
// manager asks its scheduler at each trigger; the scheduler answers yes or
// no and is told the outcome of the passes it allowed.
//
// Built-ins (strategies/reaper/):
//   aequor.reaper.adaptive     the default: rare passes while the database has
//                              room, a pass at every trigger that may find a
//                              zombie once it is under pressure
//   aequor.reaper.probability  run with probability p (p=0: never, p=1: always)
//   aequor.reaper.cooldown     at most one pass per jittered cooldown, backing
//                              off while another instance holds the lock
//   aequor.reaper.pressure     only when connections in use pass a fraction
//                              of max_connections
//   aequor.reaper.periodic     every interval, for long-running services
//   aequor.reaper.all_of / any_of   compositions of the above
//
// What the manager knows when it asks (ScheduleInput) costs no round trip on
// the query path: schedulers that want it (WantsConnectionUsage()) get the
// connection usage and the count of reapable sessions from one small probe
// statement right after a new connection opens, and otherwise from values
// that come back with statements the manager sends anyway (a reaper pass's
// first statement, a lease renewal). Values older than 5 s are not passed,
// except that a warm invocation gets a usage up to 60 s old (the last thing
// this process saw before it was frozen), without the reapable count.
//
// Thread-safety: not required; the manager calls its scheduler under its lock.
#ifndef AEQUOR_API_REAPER_SCHEDULER_H_
#define AEQUOR_API_REAPER_SCHEDULER_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <optional>

#include "absl/time/time.h"
#include "api/events.h"
#include "api/plugin.h"

namespace aequor {

class Clock;
class Random;

enum class ReapTrigger {
  kConnect,     // a new connection was just opened
  kInvocation,  // a warm invocation is about to use the existing connection
};

struct ScheduleInput {
  ReapTrigger trigger = ReapTrigger::kConnect;
  absl::Time now;  // monotonic clock
  // Connection slots in use / slots this role may use (the larger of the
  // database's, less the superuser reserve, and the role's own CONNECTION
  // LIMIT), measured at most 5 s ago (60 s for a warm invocation); nullopt
  // when not known that recently.
  std::optional<double> connection_usage;
  // Sessions of this service that a pass would probably kill, measured at
  // most 5 s ago: idle for at least reap_min_idle, their lease's expiry
  // older than the server's clock minus reap_clock_skew. The tag is not
  // verified here (the pass does that), so forged leases count too.
  std::optional<int> reapable;
  // pg-aequor's reaper lock was held by another session when probed, at
  // most 5 s ago. A frozen pg-aequor leader holds it for good (a session
  // lock), and while it does no pg-aequor instance of a mixed fleet reaps; a
  // live pass holds it for milliseconds.
  bool reaper_lock_busy = false;
  // This trigger's connect was refused at least once because the database
  // or the role was full (SQLSTATE 53300) before it got in.
  bool database_full = false;
  // The manager's judgement: database_full, or connection_usage >=
  // ManagerOptions::reap_pressure_threshold. A pass run now kills every
  // eligible zombie.
  bool under_pressure = false;
};

class ReaperScheduler {
 public:
  virtual ~ReaperScheduler() = default;

  // Whether to run a pass now.
  virtual bool ShouldRun(const ScheduleInput& input) = 0;

  // Whether ShouldRun() needs ScheduleInput::connection_usage and reapable.
  // When true, a new connection runs one small probe statement before the
  // scheduler is asked (unless a value at most 5 s old is known); warm
  // invocations never probe. Otherwise the manager passes whatever it learned
  // from statements it sent anyway, possibly nullopt.
  virtual bool WantsConnectionUsage() const { return false; }

  // The outcome of a pass this scheduler allowed, at monotonic time `now`.
  virtual void OnPassFinished(ReapOutcome outcome, absl::Time now) {
    (void)outcome;
    (void)now;
  }
};

struct SchedulerContext {
  Clock* clock = nullptr;    // never null at Create()
  Random* random = nullptr;  // never null at Create(); used under the manager's lock
  const Registry* registry = nullptr;
};

using ReaperSchedulerFactory = PluginFactory<ReaperScheduler, SchedulerContext>;

// The default: aequor.reaper.adaptive (strategies/reaper/adaptive.h). While
// the database has room, pg-aequor's documented default (a pass on 10% of
// connects, at most one per 30 s); under pressure, a pass at every trigger
// whose probe does not show that nothing is reapable.
inline constexpr absl::string_view kDefaultReaperScheduler = "aequor.reaper.adaptive";

// kDefaultReaperScheduler as a PluginSpec.
inline PluginSpec DefaultReaperSchedulerSpec() {
  return PluginSpec(std::string(kDefaultReaperScheduler));
}

// pg-aequor's documented default (the default here until issue 10): a pass on
// 10% of connects, at most one per 30 s (jittered, backing off x1.5 up to
// 10 min while another instance holds the lock), whatever the database's
// state. The probability is asked first so that the cooldown is only armed
// when the coin says yes. (pg-aequor itself never reads its probability
// option and so runs a pass on every connect: that is
// "aequor.reaper.probability(p=1)".)
inline constexpr absl::string_view kPgAequorReaperScheduler =
    "aequor.reaper.all_of(aequor.reaper.probability(p=0.1), "
    "aequor.reaper.cooldown(base_ms=30000, busy_factor=1.5, max_ms=600000))";

// kPgAequorReaperScheduler as a PluginSpec.
inline PluginSpec PgAequorReaperSchedulerSpec() {
  return PluginSpec(
      "aequor.reaper.all_of", {},
      {PluginSpec("aequor.reaper.probability", {{"p", "0.1"}}),
       PluginSpec("aequor.reaper.cooldown",
                  {{"base_ms", "30000"}, {"busy_factor", "1.5"}, {"max_ms", "600000"}})});
}

}  // namespace aequor

#endif  // AEQUOR_API_REAPER_SCHEDULER_H_
