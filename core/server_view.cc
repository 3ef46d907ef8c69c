#include "core/server_view.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace aequor {

void ServerView::ObserveProbe(const ProbeReading& reading, absl::Time sent, absl::Time received) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reading.usage.has_value()) {
    usage_ = reading.usage;
    reapable_ = reading.reapable;
    // A renewal's probe does not look at the lock: it leaves what a pass saw.
    if (reading.lock_busy.has_value()) lock_busy_ = *reading.lock_busy;
    usage_at_ = clock_.MonotonicNow();
  }
  if (reading.server_us.has_value()) {
    ObserveClockLocked(OffsetFromSample(*reading.server_us, sent, received));
  }
}

void ServerView::ObservePass(const ReapReport& report) {
  std::lock_guard<std::mutex> lock(mu_);
  if (report.connection_usage.has_value()) {
    usage_ = report.connection_usage;
    usage_at_ = clock_.MonotonicNow();
    // A completed pass killed what it could; what is left over the limit
    // (or changed under it) is still there. Busy or failed: unknown.
    reapable_ = report.outcome == ReapOutcome::kCompleted
                    ? std::optional<int>(std::max(0, report.candidates - report.killed))
                    : std::nullopt;
    // A completed pass held the lock; a busy one says so.
    lock_busy_ = report.outcome == ReapOutcome::kBusy;
  }
  if (report.clock_offset.has_value()) ObserveClockLocked(*report.clock_offset);
}

std::optional<double> ServerView::FreshUsage() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (usage_.has_value() && clock_.MonotonicNow() - usage_at_ < kUsageMaxAge) return usage_;
  return std::nullopt;
}

ScheduleInput ServerView::ScheduleInputFor(ReapTrigger trigger, bool database_full) const {
  std::lock_guard<std::mutex> lock(mu_);
  ScheduleInput input;
  input.trigger = trigger;
  input.now = clock_.MonotonicNow();
  input.database_full = database_full;
  const absl::Duration age = input.now - usage_at_;
  if (usage_.has_value() && age < kUsageMaxAge) {
    input.connection_usage = usage_;
    input.reapable = reapable_;
    input.reaper_lock_busy = lock_busy_;
  } else if (usage_.has_value() && trigger == ReapTrigger::kInvocation && age < kWarmUsageMaxAge) {
    input.connection_usage = usage_;
  }
  input.under_pressure = database_full || (input.connection_usage.has_value() &&
                                           *input.connection_usage >= pressure_threshold_);
  return input;
}

void ServerView::ObserveClockLocked(const ClockOffset& offset) {
  lease_compensation_ = LeaseCompensation(offset);
  const bool over = absl::AbsDuration(offset.offset) > clock_margin_;
  const bool moved =
      !reported_offset_.has_value() || absl::AbsDuration(offset.offset - *reported_offset_) >
                                           std::max(absl::Milliseconds(1), clock_margin_ / 10);
  if (!over && !moved) return;
  reported_offset_ = offset.offset;
  std::string warning;
  if (over) {
    warning = absl::StrCat(
        "this host's clock is ", absl::FormatDuration(absl::AbsDuration(offset.offset)),
        offset.offset > absl::ZeroDuration() ? " behind" : " ahead of",
        " the server's, more than reap_clock_skew (", absl::FormatDuration(clock_margin_),
        "); later leases are compensated, but synchronise this host's clock (NTP, chrony)");
  }
  events_.ClockOffsetMeasured(offset, std::move(warning));
}

}  // namespace aequor
