// core/server_view.h (internal): what the server told the manager in passing
// (core/server_probe.h): its connection usage, the reapable sessions of this
// service, whether the reaper lock was busy, and its clock, whose offset to
// this host's clock compensates every lease signed afterwards.
//
//   ServerView view(clock, events, options);
//   view.ObserveProbe(ReadProbe(result, 0, 1), sent, received);
//   ScheduleInput input = view.ScheduleInputFor(ReapTrigger::kInvocation, false);
//   absl::Time expiry = clock.Now() + ttl + view.lease_compensation();
//
// Thread-safety: thread-safe (the lanes of a pool share one view); each
// method holds mu_ for a few reads and writes, and never for I/O.
#ifndef AEQUOR_CORE_SERVER_VIEW_H_
#define AEQUOR_CORE_SERVER_VIEW_H_

#include <mutex>
#include <optional>

#include "absl/time/time.h"
#include "api/clock.h"
#include "api/events.h"
#include "api/options.h"
#include "api/reaper_scheduler.h"
#include "core/event_emitter.h"
#include "core/server_probe.h"

namespace aequor {

class ServerView {
 public:
  // What the server told is used for this long; a warm invocation, which
  // never probes, judges pressure from a usage up to kWarmUsageMaxAge old,
  // but never trusts an old "nothing reapable".
  static constexpr absl::Duration kUsageMaxAge = absl::Seconds(5);
  static constexpr absl::Duration kWarmUsageMaxAge = absl::Seconds(60);

  ServerView(Clock& clock, EventEmitter& events, const ManagerOptions& options)
      : clock_(clock),
        events_(events),
        clock_margin_(options.reap_clock_skew),
        pressure_threshold_(options.reap_pressure_threshold) {}

  // The probe columns of a statement sent at `sent` and answered at
  // `received` (wall clock).
  void ObserveProbe(const ProbeReading& reading, absl::Time sent, absl::Time received);
  // What a reaper pass on the manager's own connection saw.
  void ObservePass(const ReapReport& report);

  // The usage, if measured less than kUsageMaxAge ago.
  std::optional<double> FreshUsage() const;
  // What the scheduler is told for `trigger`.
  ScheduleInput ScheduleInputFor(ReapTrigger trigger, bool database_full) const;

  // Added to this host's clock when a lease is signed (LeaseCompensation()).
  absl::Duration lease_compensation() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lease_compensation_;
  }

 private:
  // A new clock offset: compensates later leases, reports kClockOffset when
  // first measured, when it moved by more than a tenth of the margin (at
  // least 1 ms) since the last report, and whenever it is over the margin.
  void ObserveClockLocked(const ClockOffset& offset);

  Clock& clock_;
  EventEmitter& events_;
  const absl::Duration clock_margin_;
  const double pressure_threshold_;
  // Guards everything below. Held while a kClockOffset event is emitted (the
  // event bus never calls back into the view).
  mutable std::mutex mu_;
  std::optional<double> usage_;
  std::optional<int> reapable_;
  bool lock_busy_ = false;
  absl::Time usage_at_ = absl::InfinitePast();  // monotonic
  absl::Duration lease_compensation_;
  std::optional<absl::Duration> reported_offset_;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_SERVER_VIEW_H_
