// tools/aequorctl/doctor_clock.h: doctor's clock_offset check: this
// machine's clock against the server's, measured as NTP does, and judged
// against the reaper's clock-skew margin.
//
//   std::optional<ClockOffset> offset = BestClockOffset(samples);
//   Finding f = CheckClockOffset(*offset, ManagerOptions().reap_clock_skew);
//   // f.severity == Severity::kFix when |offset| + uncertainty > the margin
//
// One round trip gives offset = S - (t0 + t1) / 2 with uncertainty
// (t1 - t0) / 2; the sample with the shortest round trip counts.
//
// Thread-safety: plain values and pure functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CLOCK_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CLOCK_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "tools/aequorctl/doctor_finding.h"

namespace aequor {
namespace cli {

// One round trip: the local wall clock read before sending, the server's
// clock_timestamp() in microseconds since the epoch, the local clock after
// the answer came.
struct ClockSample {
  absl::Time local_before;
  int64_t server_us = 0;
  absl::Time local_after;
};

struct ClockOffset {
  // The server's clock minus this machine's: positive when the server is
  // ahead (this machine's leases then look expired early to the server).
  absl::Duration offset;
  // Half the round trip of the sample used: the true offset lies within
  // offset +- uncertainty.
  absl::Duration uncertainty;
  int samples = 0;  // samples taken (the best one is used)
};

// The sample with the smallest round trip; nullopt when there is none whose
// local clock did not go backwards.
std::optional<ClockOffset> BestClockOffset(const std::vector<ClockSample>& samples);

// `margin` is the reaper's clock-skew margin (ManagerOptions::reap_clock_skew
// or doctor's --clock-skew-s). kFix when |offset| + uncertainty > margin, the
// fix naming NTP/chrony and the reap_clock_skew that would cover it; else kOk
// with the room left.
Finding CheckClockOffset(const ClockOffset& measured, absl::Duration margin);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CLOCK_H_
