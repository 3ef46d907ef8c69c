#include "bench/storm/watch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/storm/verdict.h"

namespace aequor {
namespace storm {

Watch::Watch(Monitor& monitor, ServerLogReader* log, const RunClock& clock, const Fleet& fleet,
             const Progress& say, StormSummary* summary, std::string fleet_role, int server_port)
    : monitor_(monitor),
      log_(log),
      clock_(clock),
      fleet_(fleet),
      say_(say),
      summary_(summary),
      fleet_role_(std::move(fleet_role)),
      server_port_(server_port) {}

void Watch::SetLeader(BackendKey key, int64_t expires_epoch_ms) {
  backends_.set_leader(key);
  leader_expires_epoch_ms_ = expires_epoch_ms;
}

bool Watch::Poll(double now) {
  if (!monitor_.EnsureConnected()) {
    if (monitor_ok_) say_("monitor: connection lost, retrying every poll");
    monitor_ok_ = false;
    return false;
  }
  absl::StatusOr<std::vector<Backend>> polled = monitor_.Poll();
  if (!polled.ok()) {
    if (monitor_ok_) say_("monitor: poll failed: ", polled.status().message());
    monitor_ok_ = false;
    return false;  // no disappearance is inferred from a failed poll
  }
  if (!monitor_ok_) say_("monitor: polling again");
  monitor_ok_ = true;
  const BackendTable::Merged merged = backends_.Merge(*polled, now);
  for (const BackendKey& key : merged.added) {
    const Backend& b = backends_.all().at(key);
    if (b.leader) continue;
    ++backends_seen_;
    if (b.user == fleet_role_) fleet_backend_starts_.insert(b.start_ms);
  }
  connections_ = merged.present;
  summary_->peak_connections = std::max(summary_->peak_connections, connections_);
  series_.emplace_back(now, connections_);
  std::map<pid_t, int> live_groups;
  for (const Instance& inst : fleet_.instances()) {
    if (!inst.waited) live_groups[inst.pid] = inst.number;
  }
  AttributeBackends(reported_pids_, live_groups, server_port_, &backends_.all());
  for (const Backend& gone : backends_.TakeGone()) Disappeared(gone, now);
  return true;
}

// The server log's termination of `b` (throwaway server only).
std::optional<Termination> Watch::LoggedTermination(const Backend& b) {
  if (log_ == nullptr) return std::nullopt;
  log_->Poll();
  return log_->Find(b.pid, b.start_ms - 5);
}

void Watch::Disappeared(const Backend& b, double now) {
  if (b.leader) {
    LeaderGone(b, now);
    return;
  }
  if (b.instance == 0) {
    ++summary_->unattributed_backends;
    return;
  }
  const Instance& inst = *fleet_.Find(b.instance);
  const std::optional<Termination> logged = LoggedTermination(b);
  // The harness's own kills are neither reaped zombies nor false kills.
  if (auto fault = fault_targets_.find(KeyOf(b)); fault != fault_targets_.end()) {
    const std::string name = fault->second;
    fault_targets_.erase(fault);
    if (log_ == nullptr || logged.has_value()) {
      ++summary_->fault_kills;
      ++summary_->fault_kills_by[name];
      say_("  fault: backend ", b.pid, " of instance ", inst.number, " terminated by ", name, " (",
           logged.has_value() ? logged->reason : std::string("terminated"),
           ") conns=", connections_);
    }
    return;
  }
  std::optional<LoggedKill> kill;
  if (logged.has_value()) kill = LoggedKill{clock_.FromEpochMs(logged->epoch_ms), logged->reason};
  const Verdict v = JudgeDisappearance(inst.history, log_ != nullptr, kill, b.last_seen_ms, now);
  if (v.kind == Verdict::Kind::kZombieReaped) {
    ++summary_->zombies_reaped;
    ++summary_->reaped_by[v.reason];
    zombie_reaped_ms_.push_back(v.when_ms);
    say_("  reaped: backend ", b.pid, " of instance ", inst.number, ", frozen for ",
         absl::StrFormat("%.1f s", (v.when_ms - inst.history.SinceAt(v.when_ms)) / 1000.0), " (",
         v.reason, ") conns=", connections_);
  } else if (v.kind == Verdict::Kind::kFalseKill) {
    ++summary_->false_kills;
    ++summary_->false_kills_by[std::string(FalseKillPhase(inst.history, v.when_ms))];
    say_("  FALSE KILL: backend ", b.pid, " of instance ", inst.number, ", instance alive (",
         InstancePhaseLabel(inst.history.At(v.when_ms)), "; ", v.reason, ") conns=", connections_);
  }
}

// The leader's backend is gone: when and how, from the server log (or the
// poll, with --dsn).
void Watch::LeaderGone(const Backend& b, double now) {
  FrozenLeaderReport& f = *summary_->frozen_leader;
  if (log_ != nullptr) {
    if (std::optional<Termination> logged = LoggedTermination(b)) {
      f.killed_ms = clock_.FromEpochMs(logged->epoch_ms);
      f.killed_by = logged->reason;
    }
  } else {
    f.killed_ms = now;
    f.killed_by = "terminated";
  }
  const double expires = clock_.FromEpochMs(leader_expires_epoch_ms_);
  if (f.killed_ms.has_value()) {
    say_("  frozen leader: backend ", b.pid, " terminated (", f.killed_by, ") at ",
         absl::StrFormat("%.3f s", *f.killed_ms / 1000.0), ", ",
         absl::StrFormat("%.0f ms", *f.killed_ms - expires),
         " after its lease expired; conns=", connections_);
  } else {
    say_("  frozen leader: backend ", b.pid,
         " gone without a logged termination; conns=", connections_);
  }
}

// pg_terminate_backend from the monitor. It does not wait for the backend to
// exit (waiting, with the timeout argument, polls in 100 ms steps and would
// stall the harness's loop and every latency measured meanwhile); an idle
// or sleeping backend exits within milliseconds. The backend is recorded as
// the fault's target whether or not it was still there (one that had gone
// by itself leaves no kill in the log).
bool Watch::Terminate(const Backend& b, const char* fault) {
  absl::Status s = monitor_.Terminate(b.pid);
  if (absl::IsFailedPrecondition(s)) return false;  // not connected
  if (!s.ok()) {
    say_("fault: ", fault, ": pg_terminate_backend(", b.pid, ") failed: ", s.message());
    return false;
  }
  fault_targets_[KeyOf(b)] = fault;
  return true;
}

void Watch::BlameAllOn(const char* fault) {
  for (const auto& [key, b] : backends_.all()) fault_targets_[key] = fault;
}

}  // namespace storm
}  // namespace aequor
