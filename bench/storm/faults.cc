#include "bench/storm/faults.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace aequor {
namespace storm {
namespace {

constexpr char kFaultForms[] =
    "terminate-idle:P, terminate-active:P, restart-at:S or restart-after-backends:N";

absl::Status BadFault(absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--fault: ", problem));
}

// Random choices: a pure function of the seed, a stream and an index (an
// invocation id), so that they do not depend on the timing of the run.
uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1).
double Draw(uint64_t seed, uint64_t stream, uint64_t index) {
  const uint64_t h = SplitMix64(seed ^ SplitMix64(stream * 0x100000001b3ull ^ SplitMix64(index)));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

enum Stream : uint64_t {
  kStreamIdleHit = 1,     // terminate-idle: kill this frozen span?
  kStreamIdleMoment = 2,  // terminate-idle: when
  kStreamActiveHit = 3,   // terminate-active: kill this invocation's write?
};

}  // namespace

std::string StormFaults::ToString() const {
  std::vector<std::string> parts;
  if (terminate_idle) parts.push_back(absl::StrFormat("terminate-idle:%g", *terminate_idle));
  if (terminate_active) parts.push_back(absl::StrFormat("terminate-active:%g", *terminate_active));
  if (restart_at_s) parts.push_back(absl::StrFormat("restart-at:%g", *restart_at_s));
  if (restart_after_backends) {
    parts.push_back(absl::StrCat("restart-after-backends:", *restart_after_backends));
  }
  return absl::StrJoin(parts, ",");
}

absl::Status ParseFault(absl::string_view value, StormFaults* faults) {
  const size_t colon = value.find(':');
  if (colon == absl::string_view::npos) {
    return BadFault(absl::StrCat("must be ", kFaultForms, ", got '", value, "'"));
  }
  const absl::string_view kind = value.substr(0, colon);
  const absl::string_view arg = value.substr(colon + 1);
  if (kind == kFaultRestartAfterBackends) {
    if (faults->restart_after_backends.has_value())
      return BadFault(absl::StrCat(kind, " given twice"));
    int64_t n = 0;
    if (!absl::SimpleAtoi(arg, &n) || n < 1 || n > 1000000) {
      return BadFault(absl::StrCat(
          "restart-after-backends: must be a number of backends in [1, 1000000], got '", arg, "'"));
    }
    faults->restart_after_backends = static_cast<int>(n);
    return absl::OkStatus();
  }
  std::optional<double>* slot = nullptr;
  if (kind == kFaultTerminateIdle) {
    slot = &faults->terminate_idle;
  } else if (kind == kFaultTerminateActive) {
    slot = &faults->terminate_active;
  } else if (kind == kFaultRestartAt) {
    slot = &faults->restart_at_s;
  } else {
    return BadFault(absl::StrCat("unknown fault '", kind, "' (", kFaultForms, ")"));
  }
  if (slot->has_value()) return BadFault(absl::StrCat(kind, " given twice"));
  double v = 0;
  const bool number = absl::SimpleAtod(arg, &v) && std::isfinite(v);
  if (kind == kFaultRestartAt) {
    if (!number || v < 0 || v > 86400) {
      return BadFault(
          absl::StrCat("restart-at: must be a number of seconds in [0, 86400], got '", arg, "'"));
    }
  } else if (!number || v < 0 || v > 1) {
    return BadFault(
        absl::StrCat(kind, ": probability must be a number in [0, 1], got '", arg, "'"));
  }
  *slot = v;
  return absl::OkStatus();
}

bool DrawsTerminateActive(uint64_t seed, int invocation, double p) {
  return Draw(seed, kStreamActiveHit, static_cast<uint64_t>(invocation)) < p;
}

std::optional<double> TerminateIdleAt(uint64_t seed, int invocation, double p, double frozen_at_ms,
                                      int thaw_after_ms) {
  const uint64_t id = static_cast<uint64_t>(invocation);
  if (Draw(seed, kStreamIdleHit, id) >= p) return std::nullopt;
  const double guard = std::min(200.0, thaw_after_ms / 4.0);
  return frozen_at_ms + Draw(seed, kStreamIdleMoment, id) * (thaw_after_ms - guard);
}

}  // namespace storm
}  // namespace aequor
