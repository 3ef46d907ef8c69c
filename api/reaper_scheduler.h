// api/reaper_scheduler.h: the reaper scheduler plugin kind, deciding when
// this instance tries a reaper pass.
//
// A pass is cheap but not free (one short transaction), and with a fleet of
// hundreds of instances not every one should try on every connect. The
// manager asks its scheduler at each trigger; the scheduler answers yes or
// no and is told the outcome of the passes it allowed.
//
// Built-ins (strategies/reaper/):
//   aequor.reaper.probability  run with probability p (p=0: never, p=1: always)
//   aequor.reaper.cooldown     at most one pass per jittered cooldown, backing
//                              off while another instance holds the lock
//   aequor.reaper.pressure     only when connections in use pass a fraction
//                              of max_connections
//   aequor.reaper.periodic     every interval, for long-running services
//   aequor.reaper.all_of / any_of   compositions of the above
//
// Thread-safety: not required; the manager calls its scheduler under its lock.
#ifndef AEQUOR_API_REAPER_SCHEDULER_H_
#define AEQUOR_API_REAPER_SCHEDULER_H_

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
  // Connections in use / max_connections, when the manager knows it.
  std::optional<double> connection_usage;
};

class ReaperScheduler {
 public:
  virtual ~ReaperScheduler() = default;

  // Whether to run a pass now.
  virtual bool ShouldRun(const ScheduleInput& input) = 0;

  // Whether ShouldRun() needs ScheduleInput::connection_usage. When true the
  // manager measures it before asking (one small query, at most every 5 s);
  // otherwise it passes whatever it last learned, possibly nullopt.
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

// The default (pg-aequor's defaults): a pass on 10% of connects, at most one
// per 30 s (jittered, backing off x1.5 up to 10 min while another instance
// holds the lock). Ask the probability first so the cooldown is only armed
// when the coin says yes.
inline constexpr absl::string_view kDefaultReaperScheduler =
    "aequor.reaper.all_of(aequor.reaper.probability(p=0.1), "
    "aequor.reaper.cooldown(base_ms=30000, busy_factor=1.5, max_ms=600000))";

// kDefaultReaperScheduler as a PluginSpec.
inline PluginSpec DefaultReaperSchedulerSpec() {
  return PluginSpec("aequor.reaper.all_of", {},
                    {PluginSpec("aequor.reaper.probability", {{"p", "0.1"}}),
                     PluginSpec("aequor.reaper.cooldown", {{"base_ms", "30000"},
                                                           {"busy_factor", "1.5"},
                                                           {"max_ms", "600000"}})});
}

}  // namespace aequor

#endif  // AEQUOR_API_REAPER_SCHEDULER_H_
