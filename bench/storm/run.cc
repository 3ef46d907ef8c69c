// bench/storm/run.cc: the Storm class, which plays one storm: it sets the
// server up, starts, thaws and freezes the fleet on schedule, reads the
// answers, polls the monitor, applies the faults and fills the summary.
#include "bench/storm/run.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/storm/environment.h"
#include "bench/storm/faults.h"
#include "bench/storm/fleet.h"
#include "bench/storm/frozen_leader.h"
#include "bench/storm/progress.h"
#include "bench/storm/protocol.h"
#include "bench/storm/report.h"
#include "bench/storm/run_clock.h"
#include "bench/storm/setup.h"
#include "bench/storm/service_run.h"
#include "bench/storm/signals.h"
#include "bench/storm/watch.h"

extern char** environ;

namespace aequor {
namespace storm {
namespace {

using Phase = InstancePhase;

struct Invocation {
  int id = 0;        // 1-based, in start order
  int slot = 0;      // index into Storm::slots_
  int instance = 0;  // the instance number that runs it
  int nth = 1;       // 1 = the instance's cold invocation, 2.. warm ones
  bool warm = false;
  double started_ms = 0;  // spawn or SIGCONT
  bool resolved = false;  // counted as ok or failed
  Answer answer = Answer::kPending;
  bool kill_active = false;       // terminate-active drawn for it
  bool kill_active_done = false;  // the monitor terminated (or tried) its backend
};

// A sequence of invocations_per_instance invocations served by one warm
// instance (by a new one if that instance is gone).
struct Slot {
  int size = 0;          // invocations it runs
  int started = 0;       // of them, started so far
  int instance = 0;      // the instance serving it (0: none yet)
  double next_due = -1;  // when its next invocation starts; -1: none scheduled
};

class Storm {
 public:
  Storm(const StormOptions& options, std::ostream* progress)
      : o_(options), say_(options.json_only ? nullptr : progress) {}

  absl::StatusOr<StormSummary> Run();

 private:
  // The fleet.
  absl::Status StartDue(double now);
  absl::Status StartInvocation(size_t slot);
  absl::Status Spawn(size_t slot, Invocation& inv);
  void Thaw(Instance& inst, Invocation& inv);
  void HandleLine(Instance& inst, absl::string_view line);
  void Resolve(Invocation& inv, bool ok, bool unknown, const std::string& key,
               const std::string& detail, double latency_ms);
  void Advance(Instance& inst, double now);
  void ReapExit(Instance& inst, double now);
  void InvocationDone(Instance& inst, double now);
  bool AllSettled() const;
  double NextWake(double next_poll) const;
  // The server's side.
  void Poll(double now);
  void TerminateIdle(Instance& inst, double now);
  void TerminateActive();
  absl::Status RestartServer(double now);
  // The end.
  void Finish(double end, int signal);
  void SummarizeFullDatabase();
  absl::Status CountWrites();

  const StormOptions o_;
  const Progress say_;
  RunClock clock_;
  StormSummary summary_;
  StormSetup setup_;
  Fleet fleet_;
  std::optional<Watch> watch_;           // once the server is up
  std::vector<Invocation> invocations_;  // index = id - 1
  std::vector<Slot> slots_;
  double restart_due_ = -1;  // run time of a restart fault; -1: none (or done)
  std::vector<double> latencies_;
  double first_53300_answer_ms_ = -1;  // run time of the first answer with 53300
  bool restart_scheduled_ = false;     // restart-after-backends
  // Every reaper pass reported.
  std::vector<ReapLine> reap_lines_;
};

absl::Status Storm::StartDue(double now) {
  std::vector<std::pair<double, size_t>> due;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].next_due >= 0 && slots_[i].next_due <= now)
      due.emplace_back(slots_[i].next_due, i);
  }
  std::sort(due.begin(), due.end());
  for (const auto& [when, slot] : due) {
    if (absl::Status s = StartInvocation(slot); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Storm::StartInvocation(size_t slot_index) {
  Slot& slot = slots_[slot_index];
  slot.next_due = -1;
  ++slot.started;
  Invocation inv;
  inv.id = static_cast<int>(invocations_.size()) + 1;
  inv.slot = static_cast<int>(slot_index);
  if (o_.faults.terminate_active) {
    inv.kill_active = DrawsTerminateActive(setup_.seed, inv.id, *o_.faults.terminate_active);
  }
  invocations_.push_back(inv);
  summary_.invocations = inv.id;
  Invocation& added = invocations_.back();
  Instance* inst = fleet_.Find(slot.instance);
  if (inst != nullptr && inst->phase() == Phase::kFrozen && !inst->waited) {
    Thaw(*inst, added);
    return absl::OkStatus();
  }
  return Spawn(slot_index, added);
}

void Storm::Thaw(Instance& inst, Invocation& inv) {
  inv.instance = inst.number;
  inv.warm = true;
  inv.nth = inst.invocations + 1;
  ++summary_.warm_invocations;
  inv.started_ms = clock_.Now();
  // Failing that, it will time out (or its exit will be seen): a runtime
  // cannot do better.
  if (absl::Status s = fleet_.Thaw(inst, inv.id, inv.started_ms); !s.ok()) {
    say_("instance ", inst.number, ": ", s.message());
  }
}

absl::Status Storm::Spawn(size_t slot, Invocation& inv) {
  const int number = fleet_.size() + 1;
  std::vector<std::string> argv;
  if (o_.client == ClientKind::kCommand) {
    argv = {"/bin/sh", "-c", o_.client_cmd};
  } else {
    argv = {setup_.instance_binary, absl::StrCat("--client=", ClientKindName(o_.client))};
  }
  std::vector<std::string> env = InstanceEnvironment(environ, setup_.server.fleet_env, o_,
                                                     setup_.secret, setup_.seed, number, inv.id);
  const double started = clock_.Now();
  absl::StatusOr<Instance*> inst =
      fleet_.Spawn(std::move(argv), std::move(env), static_cast<int>(slot), inv.id, started);
  if (!inst.ok()) return inst.status();
  summary_.instances = number;
  slots_[slot].instance = number;
  inv.instance = number;
  inv.nth = 1;
  inv.started_ms = started;
  return absl::OkStatus();
}

void Storm::HandleLine(Instance& inst, absl::string_view line) {
  InstanceLine parsed = ParseInstanceLine(line);
  switch (parsed.kind) {
    case InstanceLine::Kind::kComment:
      if (parsed.backend_pid.has_value()) watch_->Reported(*parsed.backend_pid, inst.number);
      if (parsed.reap.has_value()) {
        reap_lines_.push_back(ReapLine{clock_.Now(), inst.number, *parsed.reap});
        ++summary_.reaper_passes[parsed.reap->source];
        summary_.reaper_kills[parsed.reap->source] += parsed.reap->killed;
        if (parsed.reap->source == "emergency") {
          say_("  emergency pass in instance ", inst.number, ": ", parsed.reap->killed,
               " sessions terminated");
        }
      }
      return;
    case InstanceLine::Kind::kOther: inst.last_other_line = OneLine(line.substr(0, 200)); return;
    case InstanceLine::Kind::kOk:
    case InstanceLine::Kind::kFail: break;
  }
  if (inst.phase() != Phase::kRunning || inst.invocation == 0) return;  // one answer per invocation
  Invocation& inv = invocations_[static_cast<size_t>(inst.invocation - 1)];
  if (inv.resolved) return;
  const double now = clock_.Now();
  inst.answered_ms = now;
  inst.history.Set(Phase::kAnswered, now);
  Resolve(inv, parsed.kind == InstanceLine::Kind::kOk, parsed.outcome_unknown, parsed.failure_key,
          parsed.detail, now - inv.started_ms);
}

void Storm::Resolve(Invocation& inv, bool ok, bool unknown, const std::string& key,
                    const std::string& detail, double latency_ms) {
  if (inv.resolved) return;
  inv.resolved = true;
  latencies_.push_back(latency_ms);
  if (inv.kill_active && !inv.kill_active_done) {
    say_("fault: ", kFaultTerminateActive, ": #", inv.id,
         " was drawn, but no poll saw its write in flight");
  }
  std::string where;
  if (o_.invocations_per_instance > 1) {
    where = absl::StrCat(" (instance ", inv.instance, ", ",
                         inv.warm ? absl::StrCat("warm ", inv.nth) : std::string("cold"), ")");
  }
  if (ok) {
    inv.answer = Answer::kOk;
    ++summary_.ok;
    say_("#", inv.id, " ok ", FormatMs(latency_ms), " conns=", watch_->connections(), where);
    return;
  }
  // Only the write workload reports outcomes (see StormSummary).
  inv.answer = unknown ? Answer::kUnknown : Answer::kFailed;
  if (key == "53300" && first_53300_answer_ms_ < 0) first_53300_answer_ms_ = clock_.Now();
  if (unknown && o_.workload == Workload::kWrite) ++summary_.unknown_outcome;
  ++summary_.failed;
  ++summary_.failures[key];
  say_("#", inv.id, " fail ", key, " ", FormatMs(latency_ms), " conns=", watch_->connections(),
       where, detail.empty() ? "" : absl::StrCat(" (", detail, ")"));
}

// The instance's invocation is over and it is frozen or gone: schedule its
// slot's next invocation, and the terminate-idle fault of this frozen span.
void Storm::InvocationDone(Instance& inst, double now) {
  Slot& slot = slots_[static_cast<size_t>(inst.slot)];
  if (slot.instance != inst.number || slot.started >= slot.size || slot.next_due >= 0) return;
  slot.next_due = now + o_.thaw_after_ms;
  if (inst.phase() != Phase::kFrozen || !o_.faults.terminate_idle) return;
  if (std::optional<double> at = TerminateIdleAt(
          setup_.seed, inst.invocation, *o_.faults.terminate_idle, now, o_.thaw_after_ms)) {
    inst.idle_kill_ms = *at;
  }
}

void Storm::ReapExit(Instance& inst, double now) {
  std::optional<std::string> exit_key = fleet_.ReapIfExited(inst);
  if (!exit_key.has_value()) return;
  // An answer written just before exiting.
  fleet_.ReadOutput(inst, [&](absl::string_view line) { HandleLine(inst, line); });
  Invocation* inv =
      inst.invocation > 0 ? &invocations_[static_cast<size_t>(inst.invocation - 1)] : nullptr;
  if (inv != nullptr && !inv->resolved) {
    Resolve(*inv, false, false, *exit_key, inst.last_other_line, now - inv->started_ms);
  }
  inst.history.Set(Phase::kEnded, now);
  InvocationDone(inst, now);
}

void Storm::Advance(Instance& inst, double now) {
  if (inst.phase() == Phase::kRunning && inst.invocation > 0) {
    Invocation& inv = invocations_[static_cast<size_t>(inst.invocation - 1)];
    if (now - inv.started_ms >= o_.timeout_ms) {
      Resolve(inv, false, false, "timeout", "", static_cast<double>(o_.timeout_ms));
      fleet_.Kill(inst, now);
      InvocationDone(inst, now);
      return;
    }
  }
  if (inst.phase() == Phase::kAnswered && now - inst.answered_ms >= o_.freeze_delay_ms) {
    if (inst.waited) {
      inst.history.Set(Phase::kEnded, now);
    } else {
      fleet_.Freeze(inst, now);
    }
    InvocationDone(inst, now);
  }
}

bool Storm::AllSettled() const {
  if (summary_.invocations < o_.invocations || restart_due_ >= 0) return false;
  for (const Instance& inst : fleet_.instances()) {
    if (inst.phase() == Phase::kRunning || inst.phase() == Phase::kAnswered) return false;
  }
  return true;
}

// The next run time something is due: a poll, a start or thaw, a restart,
// a timeout, a freeze, a terminate-idle.
double Storm::NextWake(double next_poll) const {
  double wake = next_poll;
  for (const Slot& slot : slots_) {
    if (slot.next_due >= 0) wake = std::min(wake, slot.next_due);
  }
  if (restart_due_ >= 0) wake = std::min(wake, restart_due_);
  for (const Instance& inst : fleet_.instances()) {
    if (inst.phase() == Phase::kRunning && inst.invocation > 0) {
      wake = std::min(
          wake, invocations_[static_cast<size_t>(inst.invocation - 1)].started_ms + o_.timeout_ms);
    }
    if (inst.phase() == Phase::kAnswered)
      wake = std::min(wake, inst.answered_ms + o_.freeze_delay_ms);
    if (inst.phase() == Phase::kFrozen && inst.idle_kill_ms >= 0)
      wake = std::min(wake, inst.idle_kill_ms);
  }
  return wake;
}

// The watch's poll, then what a poll triggers: terminate-active on the
// writes seen in flight, restart-after-backends once enough were seen.
void Storm::Poll(double now) {
  if (!watch_->Poll(now)) return;
  if (o_.faults.terminate_active) TerminateActive();
  if (o_.faults.restart_after_backends && !restart_scheduled_ &&
      watch_->backends_seen() >= *o_.faults.restart_after_backends) {
    restart_scheduled_ = true;
    restart_due_ = now;  // the loop restarts the server at once
    say_("fault: ", kFaultRestartAfterBackends, ": backend ", watch_->backends_seen(), " seen at ",
         absl::StrFormat("%.3f s", now / 1000.0));
  }
}

void Storm::TerminateIdle(Instance& inst, double now) {
  inst.idle_kill_ms = -1;
  auto mine = [&] {
    std::vector<Backend> out;
    for (const auto& [key, b] : watch_->backends()) {
      if (b.instance == inst.number) out.push_back(b);
    }
    return out;
  };
  std::vector<Backend> targets = mine();
  if (targets.empty()) {  // opened since the last poll?
    Poll(now);
    targets = mine();
  }
  if (targets.empty()) {
    say_("fault: ", kFaultTerminateIdle, ": instance ", inst.number,
         " has no backend to terminate");
    return;
  }
  for (const Backend& b : targets) {
    say_("fault: ", kFaultTerminateIdle, ": terminating backend ", b.pid, " of instance ",
         inst.number, ", frozen for ",
         absl::StrFormat("%.1f s", (now - inst.history.SinceAt(now)) / 1000.0));
    watch_->Terminate(b, kFaultTerminateIdle);
  }
}

void Storm::TerminateActive() {
  for (const auto& [key, b] : watch_->backends()) {
    if (b.instance == 0 || b.state != "active" || !absl::StrContains(b.query, kWritesTable))
      continue;
    Instance& inst = *fleet_.Find(b.instance);
    if (inst.phase() != Phase::kRunning || inst.invocation == 0) continue;
    Invocation& inv = invocations_[static_cast<size_t>(inst.invocation - 1)];
    if (!inv.kill_active || inv.kill_active_done || inv.resolved) continue;
    inv.kill_active_done = true;
    say_("fault: ", kFaultTerminateActive, ": terminating backend ", b.pid, " of instance ",
         inst.number, " during the write of #", inv.id);
    watch_->Terminate(b, kFaultTerminateActive);
  }
}

absl::Status Storm::RestartServer(double now) {
  restart_due_ = -1;
  const char* fault =
      o_.faults.restart_after_backends ? kFaultRestartAfterBackends : kFaultRestartAt;
  Poll(now);  // every backend the restart is about to cut off
  watch_->BlameAllOn(fault);
  say_("fault: ", fault, ": restarting the server (fast shutdown) at ",
       absl::StrFormat("%.1f s", now / 1000.0), " with ", watch_->backends().size(),
       " client backends");
  const auto t0 = std::chrono::steady_clock::now();
  absl::Status s = setup_.server.throwaway->Restart();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("--fault=", fault, ": restarting the server: ", s.message()));
  }
  ++summary_.restarts;
  summary_.restart_ms = ms;
  say_("fault: ", fault, ": the server is back after ", FormatMs(ms));
  setup_.monitor.Reset();
  return absl::OkStatus();
}

// full_at_ms and full_recovery_ms, from the server log's refusals (or the
// first answer "fail 53300" with --dsn) and the fleet's backend starts.
void Storm::SummarizeFullDatabase() {
  std::optional<int64_t> full_epoch_ms;
  if (setup_.log != nullptr) {
    setup_.log->Poll();
    summary_.refused_connections = static_cast<int>(setup_.log->refusals().size());
    if (!setup_.log->refusals().empty()) full_epoch_ms = setup_.log->refusals().front().epoch_ms;
    if (full_epoch_ms.has_value()) summary_.full_at_ms = clock_.FromEpochMs(*full_epoch_ms);
  } else if (first_53300_answer_ms_ >= 0) {
    summary_.full_at_ms = first_53300_answer_ms_;
    full_epoch_ms = clock_.ToEpochMs(first_53300_answer_ms_);
  }
  if (full_epoch_ms.has_value()) {
    SummarizeRecovery(*full_epoch_ms, watch_->fleet_backend_starts(), &summary_);
  }
}

absl::Status Storm::CountWrites() {
  setup_.monitor.EnsureConnected();
  absl::StatusOr<std::map<int, int>> rows = setup_.monitor.CountWrites();
  if (!rows.ok()) {
    return absl::UnavailableError(
        absl::StrCat("counting the rows of ", kWritesTable, ": ", rows.status().message()));
  }
  std::vector<Answer> answers;
  answers.reserve(invocations_.size());
  for (const Invocation& inv : invocations_) answers.push_back(inv.answer);
  TallyWrites(*rows, answers, &summary_);
  return absl::OkStatus();
}

// The final poll and what is left at `end`; the frozen leader's report.
void Storm::Finish(double end, int signal) {
  Poll(end);
  for (Invocation& inv : invocations_) {
    if (!inv.resolved) {
      Resolve(inv, false, false, summary_.interrupted ? "interrupted" : "harness deadline", "",
              end - inv.started_ms);
    }
  }
  for (const auto& [key, b] : watch_->backends()) {
    if (b.leader) continue;  // reported in frozen_leader
    if (b.instance == 0) {
      ++summary_.unattributed_backends;
      continue;
    }
    if (fleet_.Find(b.instance)->phase() == Phase::kFrozen) ++summary_.zombies_left;
  }
  summary_.final_connections = watch_->connections();
  SummarizeFullDatabase();
  if (summary_.frozen_leader.has_value()) {
    SummarizeFrozenLeader(clock_.FromEpochMs(setup_.leader->expires_epoch_ms), reap_lines_,
                          watch_->zombie_reaped_ms(), &*summary_.frozen_leader);
    say_(FrozenLeaderLine(*summary_.frozen_leader));
  }
  if (summary_.interrupted) summary_.interrupted_signal = signal;
}

absl::StatusOr<StormSummary> Storm::Run() {
  summary_.client = std::string(ClientKindName(o_.client));
  if (o_.client == ClientKind::kCommand) summary_.client_cmd = o_.client_cmd;
  summary_.workload = std::string(WorkloadName(o_.workload));
  summary_.faults = o_.faults.ToString();
  summary_.invocations_per_instance = o_.invocations_per_instance;
  summary_.thaw_after_ms = o_.thaw_after_ms;
  if (absl::Status s = PrepareStorm(o_, &setup_, &summary_); !s.ok()) return s;
  SignalScope signals;
  const int per_instance = o_.invocations_per_instance;
  const int fleet = (o_.invocations + per_instance - 1) / per_instance;
  for (const std::string& line : OpeningLines(o_, setup_.seed)) say_(line);
  if (absl::Status s = SetUpServer(o_, say_, &setup_, &summary_); !s.ok()) {
    setup_.series.Close();
    return s;
  }
  watch_.emplace(setup_.monitor, setup_.log.get(), clock_, fleet_, say_, &summary_,
                 setup_.server.fleet_role, setup_.server.port);
  if (setup_.leader.has_value()) {
    watch_->SetLeader(setup_.leader->key, setup_.leader->expires_epoch_ms);
  }

  clock_ = RunClock();  // t = 0: the first instance starts now
  const double start = clock_.Now();
  slots_.resize(static_cast<size_t>(fleet));
  for (int i = 0; i < fleet; ++i) {
    Slot& slot = slots_[static_cast<size_t>(i)];
    slot.size = std::min(per_instance, o_.invocations - i * per_instance);
    slot.next_due = start + static_cast<double>(i) * o_.interval_ms;
  }
  if (o_.faults.restart_at_s) restart_due_ = start + *o_.faults.restart_at_s * 1000.0;
  const double hard_deadline =
      start + static_cast<double>(fleet) * o_.interval_ms +
      static_cast<double>(per_instance) *
          (static_cast<double>(o_.timeout_ms) + o_.freeze_delay_ms + o_.thaw_after_ms) +
      (o_.faults.restart_at_s ? *o_.faults.restart_at_s * 1000.0 : 0.0) + o_.tail_ms + 60000.0;
  double settled_at = -1;
  absl::Status failure;
  Poll(clock_.Now());
  double next_poll = clock_.Now() + o_.poll_ms;
  while (true) {
    if (signals.signal() != 0) {
      summary_.interrupted = true;
      say_("interrupted by signal ", signals.signal(), ": killing every instance");
      break;
    }
    double now = clock_.Now();
    if (now > hard_deadline) {
      say_("harness deadline passed: stopping");
      break;
    }
    if (restart_due_ >= 0 && now >= restart_due_) {
      failure = RestartServer(now);
      if (!failure.ok()) break;
      now = clock_.Now();
    }
    for (Instance& inst : fleet_.instances()) {
      if (inst.phase() == Phase::kFrozen && inst.idle_kill_ms >= 0 && now >= inst.idle_kill_ms) {
        TerminateIdle(inst, now);
      }
    }
    // New instances on schedule (start + k * interval), warm ones at their thaw.
    failure = StartDue(clock_.Now());
    if (!failure.ok()) break;
    for (Instance& inst : fleet_.instances()) {
      fleet_.ReadOutput(inst, [&](absl::string_view line) { HandleLine(inst, line); });
    }
    now = clock_.Now();
    for (Instance& inst : fleet_.instances()) {
      ReapExit(inst, now);
      Advance(inst, now);
    }
    if (now >= next_poll) {
      Poll(now);
      next_poll = std::max(next_poll + o_.poll_ms, now + 1.0);
    }
    if (AllSettled()) {
      if (settled_at < 0) settled_at = now;
      if (now - settled_at >= o_.tail_ms) break;
    }

    // Sleep until output, a signal, or the next deadline.
    const double wake = NextWake(next_poll);
    std::vector<struct pollfd> fds;
    if (signals.read_fd() >= 0) fds.push_back({signals.read_fd(), POLLIN, 0});
    // An exiting instance wakes us by closing its stdout; exits themselves are
    // seen by waitpid, so once the pipe is closed, check every few ms.
    double cap = o_.poll_ms;
    for (const Instance& inst : fleet_.instances()) {
      if (inst.out_fd >= 0) fds.push_back({inst.out_fd, POLLIN, 0});
      if (inst.out_fd < 0 && !inst.waited && inst.phase() != Phase::kFrozen)
        cap = std::min(cap, 5.0);
    }
    const double wait = std::max(0.0, std::min(wake - clock_.Now(), cap));
    ::poll(fds.data(), fds.size(), static_cast<int>(std::ceil(wait)));
    signals.Drain();
  }
  if (!failure.ok()) {
    fleet_.KillAll(clock_.Now());
    setup_.series.WriteAndClose(watch_->series());
    return failure;
  }

  // Final state, then tear down.
  const double end = clock_.Now();
  Finish(end, signals.signal());
  fleet_.KillAll(clock_.Now());
  setup_.series.WriteAndClose(watch_->series());
  if (o_.workload == Workload::kWrite) {
    if (absl::Status counted = CountWrites(); !counted.ok()) return counted;
  }
  summary_.duration_ms = static_cast<int64_t>(end - start);
  summary_.p50_ms = Percentile(latencies_, 50);
  summary_.p99_ms = Percentile(latencies_, 99);
  for (const std::string& line : ClosingLines(summary_, o_, end - start)) say_(line);
  setup_.leader.reset();
  setup_.monitor = Monitor();
  setup_.server.throwaway.reset();  // stops the server and removes its directory
  return summary_;
}

}  // namespace

absl::StatusOr<StormSummary> RunStorm(const StormOptions& options, std::ostream* progress) {
  if (options.client == ClientKind::kAequorPool) return RunServiceStorm(options, progress);
  Storm storm(options, progress);
  return storm.Run();
}

}  // namespace storm
}  // namespace aequor
