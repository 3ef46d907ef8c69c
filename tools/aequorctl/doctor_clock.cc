#include "tools/aequorctl/doctor_clock.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aequor {
namespace cli {
namespace {

// "0.123 ms", always three decimals.
std::string Ms(absl::Duration d) {
  return absl::StrFormat("%.3f ms", absl::ToDoubleMilliseconds(d));
}

// "+0.123 ms" / "-0.123 ms".
std::string SignedMs(absl::Duration d) {
  return absl::StrFormat("%+.3f ms", absl::ToDoubleMilliseconds(d));
}

}  // namespace

std::optional<ClockOffset> BestClockOffset(const std::vector<ClockSample>& samples) {
  std::optional<ClockOffset> best;
  absl::Duration best_round_trip = absl::InfiniteDuration();
  for (const ClockSample& s : samples) {
    const absl::Duration round_trip = s.local_after - s.local_before;
    if (round_trip < absl::ZeroDuration() || round_trip >= best_round_trip) continue;
    best_round_trip = round_trip;
    const absl::Time midpoint = s.local_before + round_trip / 2;
    ClockOffset o;
    o.offset = absl::FromUnixMicros(s.server_us) - midpoint;
    o.uncertainty = round_trip / 2;
    best = o;
  }
  if (best.has_value()) best->samples = static_cast<int>(samples.size());
  return best;
}

Finding CheckClockOffset(const ClockOffset& measured, absl::Duration margin) {
  Finding f;
  f.check = "clock_offset";
  const absl::Duration magnitude = absl::AbsDuration(measured.offset);
  const absl::Duration worst = magnitude + measured.uncertainty;
  const std::string where =
      measured.offset > absl::ZeroDuration()
          ? absl::StrCat("this machine's clock is ", Ms(magnitude), " behind the server's")
      : measured.offset < absl::ZeroDuration()
          ? absl::StrCat("this machine's clock is ", Ms(magnitude), " ahead of the server's")
          : std::string("this machine's clock agrees with the server's");
  const std::string figures =
      absl::StrCat(where, " (offset ", SignedMs(measured.offset), " +- ", Ms(measured.uncertainty),
                   ", the shortest of ", measured.samples, " round trip(s))");
  const std::string margin_text = absl::StrCat("the reaper's clock-skew margin (reap_clock_skew ",
                                               absl::FormatDuration(margin), ")");
  if (worst <= margin) {
    f.severity = Severity::kOk;
    f.message =
        absl::StrCat(figures, ": |offset| + uncertainty ", Ms(worst), " is within ", margin_text,
                     " by ", Ms(margin - worst), " (every machine of the fleet needs the same)");
    return f;
  }
  f.severity = Severity::kFix;
  const std::string consequence =
      measured.offset > absl::ZeroDuration()
          ? "the server sees leases signed here expire early, so a pass may kill live sessions "
            "of this machine"
          : "leases signed here expire late on the server's clock, so this machine's zombies "
            "are kept (a clock ahead by more than the TTL is never reaped)";
  f.message = absl::StrCat(
      figures, ": |offset| + uncertainty ", Ms(worst), " exceeds ", margin_text, " by ",
      Ms(worst - margin),
      magnitude <= margin ? " (the offset itself is within it, but the round trip is too long to "
                            "show it; run doctor closer to the server)"
                          : "",
      ": ", consequence);
  const int64_t at_least_ms = static_cast<int64_t>(std::ceil(absl::ToDoubleMilliseconds(worst)));
  f.fix = absl::StrCat(
      "synchronise this machine's clock with NTP/chrony (e.g. chronyc tracking), or raise "
      "reap_clock_skew to at least ",
      at_least_ms, " ms");
  return f;
}

}  // namespace cli
}  // namespace aequor
