#include "bench/storm/phases.h"

#include <algorithm>

namespace aequor {
namespace storm {

absl::string_view InstancePhaseLabel(InstancePhase phase) {
  switch (phase) {
    case InstancePhase::kRunning: return "invocation in flight";
    case InstancePhase::kAnswered: return "answered, not frozen yet";
    case InstancePhase::kFrozen: return "frozen";
    case InstancePhase::kEnded: return "ended";
  }
  return "?";
}

void PhaseHistory::Set(InstancePhase phase, double t_ms) {
  if (phase == current()) return;
  changes_.emplace_back(std::max(t_ms, changes_.back().first), phase);
}

InstancePhase PhaseHistory::At(double t_ms) const {
  // The last change with since <= t_ms.
  auto it = std::upper_bound(
      changes_.begin(), changes_.end(), t_ms,
      [](double t, const std::pair<double, InstancePhase>& c) { return t < c.first; });
  if (it == changes_.begin()) return changes_.front().second;
  return std::prev(it)->second;
}

bool PhaseHistory::Throughout(InstancePhase phase, double t0_ms, double t1_ms) const {
  if (At(t0_ms) != phase) return false;
  for (const auto& [since, p] : changes_) {
    if (since > t0_ms && since <= t1_ms && p != phase) return false;
  }
  return true;
}

double PhaseHistory::SinceAt(double t_ms) const {
  auto it = std::upper_bound(
      changes_.begin(), changes_.end(), t_ms,
      [](double t, const std::pair<double, InstancePhase>& c) { return t < c.first; });
  if (it == changes_.begin()) return changes_.front().first;
  return std::prev(it)->first;
}

}  // namespace storm
}  // namespace aequor
