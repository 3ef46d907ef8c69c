// strategies/reaper/cooldown.h: "aequor.reaper.cooldown", at most one reaper
// pass per cooldown, the cooldown jittered so a fleet does not synchronise,
// and lengthened while another instance holds the reaper lock (pg-aequor's
// reaperCooldownMs, with its backoff while busy).
//
// Options (PluginSpec params):
//   base_ms      the cooldown after a completed pass, 1..86400000    default 30000
//   jitter       each cooldown is its nominal length times            default 0.2
//                uniform(1 - jitter, 1 + jitter), 0..1
//   busy_factor  after a "busy" pass the nominal cooldown is          default 1.5
//                multiplied by this (compounding), 1..10
//   max_ms       the nominal cooldown never grows past this,          default 600000
//                1..86400000 and >= base_ms; when not given and
//                base_ms is larger, it defaults to base_ms
//
//   builder.UseReaperScheduler(
//       {"aequor.reaper.cooldown", {{"base_ms", "60000"}, {"max_ms", "900000"}}});
//
// Behaviour:
//   - Before any pass has run, the first trigger runs: a fresh instance is
//     when a pass helps most (the instances it replaced may just have frozen).
//     Put a probability in front (aequor.reaper.all_of(probability, cooldown))
//     if a whole fleet cold-starts at once.
//   - Otherwise ShouldRun() is true only once the monotonic time `now` has
//     reached the next allowed time. A yes arms the scheduler at once: every
//     later ShouldRun() says no until the cooldown has passed again, even if
//     OnPassFinished() never comes (so a lost outcome cannot stop reaping).
//   - OnPassFinished() restarts the cooldown from the pass's end, with the same
//     jitter draw as the one armed at ShouldRun() (one draw per cooldown):
//       kCompleted  the nominal cooldown returns to base_ms;
//       kBusy       another instance holds the lock and is reaping for the
//                   service: the nominal cooldown is multiplied by busy_factor,
//                   compounding, up to max_ms;
//       kError      the nominal cooldown is kept as it was, not backed off: an
//                   error (a timeout, a lost connection, a permission problem)
//                   is not contention, nobody else is known to be reaping, and
//                   backing off would leave zombies alive longest exactly when
//                   something is wrong. Neither is it reset: an error says
//                   nothing about whether the lock is still busy.
//   - max_ms bounds the nominal cooldown; the jittered wait is within
//     nominal * [1 - jitter, 1 + jitter], so at the cap it can exceed max_ms by
//     up to the jitter fraction (the fleet stays desynchronised at the cap).
//   - Both triggers (connect, warm invocation) are treated alike.
//   - An outcome for a pass this scheduler did not allow (a sibling in
//     aequor.reaper.any_of allowed it) counts as a pass: the cooldown restarts.
//
// Time comes only from the `now` the manager passes (its injected Clock's
// monotonic time), randomness only from SchedulerContext::random.
//
// Thread-safety: not thread-safe (the manager calls it under its lock).
#ifndef AEQUOR_STRATEGIES_REAPER_COOLDOWN_H_
#define AEQUOR_STRATEGIES_REAPER_COOLDOWN_H_

#include <memory>
#include <optional>

#include "absl/time/time.h"
#include "api/reaper_scheduler.h"

namespace aequor {

struct CooldownConfig {
  absl::Duration base = absl::Milliseconds(30000);  // REQUIRES: 1 ms..24 h
  double jitter = 0.2;                              // REQUIRES: 0..1
  double busy_factor = 1.5;                         // REQUIRES: 1..10
  absl::Duration max = absl::Milliseconds(600000);  // REQUIRES: base..24 h
};

class CooldownScheduler final : public ReaperScheduler {
 public:
  CooldownScheduler(const CooldownConfig& config, Random* random)
      : config_(config), random_(random), nominal_(config.base) {}

  bool ShouldRun(const ScheduleInput& input) override;
  void OnPassFinished(ReapOutcome outcome, absl::Time now) override;

  // The nominal (unjittered) cooldown the next pass will wait: base_ms after
  // a completed pass, grown by busy_factor per busy pass up to max_ms.
  absl::Duration nominal_cooldown() const { return nominal_; }

  // The earliest time ShouldRun() says yes again; nullopt before any pass.
  std::optional<absl::Time> next_allowed() const { return next_allowed_; }

 private:
  CooldownConfig config_;
  Random* random_;
  absl::Duration nominal_;
  std::optional<absl::Time> next_allowed_;
  // The jitter multiplier drawn when the current pass was allowed; nullopt
  // when no pass is in flight.
  std::optional<double> armed_factor_;
};

// Reads base_ms, jitter, busy_factor and max_ms from `r` into `config`
// (also used by aequor.reaper.adaptive, which takes the same options).
void ReadCooldownParams(ParamReader& r, CooldownConfig& config);

inline constexpr absl::string_view kCooldownSchedulerName = "aequor.reaper.cooldown";
std::unique_ptr<ReaperSchedulerFactory> NewCooldownSchedulerFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_REAPER_COOLDOWN_H_
