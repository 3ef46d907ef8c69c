#include "bench/storm/service_run.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/storm/backends.h"
#include "bench/storm/environment.h"
#include "bench/storm/fleet.h"
#include "bench/storm/progress.h"
#include "bench/storm/protocol.h"
#include "bench/storm/run_clock.h"
#include "bench/storm/server_log.h"
#include "bench/storm/setup.h"
#include "bench/storm/signals.h"

extern char** environ;

namespace aequor {
namespace storm {
namespace {

using Phase = InstancePhase;

// How long a gone backend's termination may take to reach the server log
// before it is judged closed by its pool.
constexpr double kLogGraceMs = 2000;
// How long the instances may take to open their pools, and to exit at the end.
constexpr double kReadyWithinMs = 60000;
constexpr double kExitWithinMs = 10000;

// What an instance's last "# served ..." line said.
struct ServedReport {
  int64_t served = 0;
  int64_t failed = 0;
  int64_t acquire_timeouts = 0;
  int64_t idle_renewals = 0;
};

// "# served <n> failed <m> acquire_timeouts <t> idle_renewals <r> size <s> idle <i>".
std::optional<ServedReport> ParseServed(absl::string_view line) {
  if (!absl::ConsumePrefix(&line, "# served ")) return std::nullopt;
  std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
  ServedReport r;
  if (words.empty() || !absl::SimpleAtoi(words[0], &r.served)) return std::nullopt;
  for (size_t i = 1; i + 1 < words.size(); i += 2) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(words[i + 1], &v)) continue;
    if (words[i] == "failed") r.failed = v;
    if (words[i] == "acquire_timeouts") r.acquire_timeouts = v;
    if (words[i] == "idle_renewals") r.idle_renewals = v;
  }
  return r;
}

class ServiceStorm {
 public:
  ServiceStorm(const StormOptions& o, std::ostream* progress)
      : o_(o), say_(o.json_only ? nullptr : progress) {}

  absl::StatusOr<StormSummary> Run();

 private:
  // Reads every instance's output.
  void ReadAll();
  void HandleLine(Instance& inst, absl::string_view line);
  // One poll of pg_stat_activity: attribution, then judging what is gone.
  void Poll(double now);
  // Judges the backends gone without a logged termination yet, at `now`.
  void JudgePending(double now, bool final);
  bool Judge(const Backend& b, double gone_ms, double now, bool final);
  bool FrozenForGood(int instance) const { return frozen_for_good_.count(instance) > 0; }
  void Sleep(double until, SignalScope& signals);

  const StormOptions& o_;
  const Progress say_;
  StormSetup setup_;
  StormSummary summary_;
  ServiceReport report_;
  RunClock clock_;
  Fleet fleet_;
  BackendTable table_;
  std::set<int> ready_;
  std::map<int, ServedReport> served_;  // instance -> last report
  std::set<int> frozen_for_good_;
  double frozen_at_ = -1;
  double exit_sent_at_ = -1;  // the living were told "exit"
  // Gone, no termination logged yet; with the run time a poll missed it.
  std::vector<std::pair<Backend, double>> pending_;
  std::set<BackendKey> frozen_keys_;  // backends of frozen-for-good instances
};

void ServiceStorm::HandleLine(Instance& inst, absl::string_view line) {
  line = absl::StripTrailingAsciiWhitespace(line);
  if (line == "ready") {
    ready_.insert(inst.number);
    return;
  }
  if (std::optional<ServedReport> r = ParseServed(line)) {
    served_[inst.number] = *r;
    return;
  }
  if (absl::ConsumePrefix(&line, "# error ")) {
    const InstanceLine parsed = ParseInstanceLine(absl::StrCat("fail ", line));
    ++report_.error_samples[parsed.failure_key];
    say_("instance ", inst.number, ": ", line);
    return;
  }
  const InstanceLine parsed = ParseInstanceLine(line);
  if (parsed.reap.has_value()) {
    ++summary_.reaper_passes[parsed.reap->source];
    summary_.reaper_kills[parsed.reap->source] += parsed.reap->killed;
  }
}

void ServiceStorm::ReadAll() {
  for (Instance& inst : fleet_.instances()) {
    fleet_.ReadOutput(inst, [&](absl::string_view line) { HandleLine(inst, line); });
  }
}

void ServiceStorm::Poll(double now) {
  absl::StatusOr<std::vector<Backend>> polled = setup_.monitor.Poll();
  if (!polled.ok()) {
    setup_.monitor.EnsureConnected();
    return;
  }
  BackendTable::Merged merged = table_.Merge(*polled, now);
  summary_.peak_connections = std::max(summary_.peak_connections, merged.present);
  summary_.final_connections = merged.present;
  std::map<pid_t, int> groups;
  for (const Instance& inst : fleet_.instances()) {
    if (!inst.waited) groups[inst.pid] = inst.number;
  }
  AttributeBackends({}, groups, setup_.server.port, &table_.all());
  for (const auto& [key, b] : table_.all()) {
    if (b.instance != 0 && FrozenForGood(b.instance)) frozen_keys_.insert(key);
  }
  for (const Backend& gone : table_.TakeGone()) pending_.emplace_back(gone, now);
  JudgePending(now, /*final=*/false);
}

void ServiceStorm::JudgePending(double now, bool final) {
  if (setup_.log != nullptr) setup_.log->Poll();
  std::vector<std::pair<Backend, double>> still;
  for (const auto& [b, gone_ms] : pending_) {
    if (!Judge(b, gone_ms, now, final)) still.emplace_back(b, gone_ms);
  }
  pending_ = std::move(still);
}

// False while the backend's fate is not known yet.
bool ServiceStorm::Judge(const Backend& b, double gone_ms, double now, bool final) {
  if (b.instance == 0) {
    ++summary_.unattributed_backends;
    return true;
  }
  const Instance& inst = *fleet_.Find(b.instance);
  std::optional<Termination> logged =
      setup_.log != nullptr ? setup_.log->Find(b.pid, b.start_ms - 5) : std::nullopt;
  if (!logged.has_value()) {
    if (!final && now - b.last_seen_ms < kLogGraceMs) return false;
    // Closed by its own side: a pool recycling or dropping a connection
    // (counted), or the instance exiting at the end.
    if (exit_sent_at_ < 0 || gone_ms < exit_sent_at_) ++report_.closed_by_pools;
    return true;
  }
  const double at = clock_.FromEpochMs(logged->epoch_ms);
  if (inst.EndedAt(at)) return true;  // the harness's own kill at the end
  if (FrozenForGood(b.instance) && inst.FrozenAt(at)) {
    ++summary_.zombies_reaped;
    ++summary_.reaped_by[logged->reason];
    ++report_.frozen_backends_reaped;
    const double within = at - frozen_at_;
    if (!report_.frozen_reaped_within_ms.has_value() || within > *report_.frozen_reaped_within_ms) {
      report_.frozen_reaped_within_ms = within;
    }
    say_("  reaped: backend ", b.pid, " of frozen instance ", b.instance, " (",
         logged->reason, ")");
    return true;
  }
  ++summary_.false_kills;
  ++summary_.false_kills_by[inst.FrozenAt(at) ? "briefly_frozen" : "running"];
  say_("  FALSE KILL: backend ", b.pid, " of living instance ", b.instance, " (",
       logged->reason, ", ", inst.FrozenAt(at) ? "briefly frozen" : "running", ")");
  return true;
}

void ServiceStorm::Sleep(double until, SignalScope& signals) {
  std::vector<struct pollfd> fds;
  if (signals.read_fd() >= 0) fds.push_back({signals.read_fd(), POLLIN, 0});
  for (const Instance& inst : fleet_.instances()) {
    if (inst.out_fd >= 0) fds.push_back({inst.out_fd, POLLIN, 0});
  }
  const double wait = std::max(0.0, std::min(until - clock_.Now(), 50.0));
  ::poll(fds.data(), fds.size(), static_cast<int>(std::ceil(wait)));
  signals.Drain();
}

absl::StatusOr<StormSummary> ServiceStorm::Run() {
  summary_.client = std::string(ClientKindName(o_.client));
  summary_.workload = "read";
  report_.instances = o_.service_instances;
  report_.pool_size = o_.pool_size;
  report_.workers = o_.workers;
  report_.duration_s = o_.duration_s;
  if (absl::Status s = PrepareStorm(o_, &setup_, &summary_); !s.ok()) return s;
  SignalScope signals;
  say_("storm (service mode): ", o_.service_instances, " instances, each a pool of ",
       o_.pool_size, " with ", o_.workers, " workers (a statement every ",
       o_.request_interval_ms, " ms each), for ", o_.duration_s, " s; lease TTL ",
       o_.lease_ttl_ms, " ms; ", o_.freeze_for_good, " frozen for good a quarter in; ",
       o_.short_freeze_ms > 0
           ? absl::StrCat("one frozen for ", o_.short_freeze_ms, " ms every ",
                          o_.short_freeze_every_ms, " ms")
           : std::string("no brief freezes"));
  if (absl::Status s = SetUpServer(o_, say_, &setup_, &summary_); !s.ok()) return s;

  clock_ = RunClock();
  for (int n = 1; n <= o_.service_instances; ++n) {
    std::vector<std::string> env = InstanceEnvironment(environ, setup_.server.fleet_env, o_,
                                                       setup_.secret, setup_.seed, n, n);
    absl::StatusOr<Instance*> inst =
        fleet_.Spawn({setup_.instance_binary, "--client=aequor-pool"}, std::move(env), n - 1, n,
                     clock_.Now());
    if (!inst.ok()) {
      fleet_.KillAll(clock_.Now());
      return inst.status();
    }
    summary_.instances = n;
  }
  const double ready_by = clock_.Now() + kReadyWithinMs;
  while (static_cast<int>(ready_.size()) < o_.service_instances && clock_.Now() < ready_by &&
         signals.signal() == 0) {
    ReadAll();
    for (Instance& inst : fleet_.instances()) {
      if (std::optional<std::string> exited = fleet_.ReapIfExited(inst)) {
        fleet_.KillAll(clock_.Now());
        return absl::UnavailableError(
            absl::StrCat("instance ", inst.number, " ", *exited, " before its pool opened"));
      }
    }
    Sleep(clock_.Now() + 50, signals);
  }
  if (static_cast<int>(ready_.size()) < o_.service_instances && signals.signal() == 0) {
    fleet_.KillAll(clock_.Now());
    return absl::UnavailableError(absl::StrCat(ready_.size(), " of ", o_.service_instances,
                                               " instances opened their pools within 60 s"));
  }
  const double start = clock_.Now();
  say_("every pool is open: traffic for ", o_.duration_s, " s");
  const double end = start + o_.duration_s * 1000.0;
  const double freeze_at = start + o_.duration_s * 1000.0 / 4;
  double next_short = start + o_.short_freeze_every_ms;
  Instance* briefly = nullptr;
  double resume_at = -1;
  int next_brief = 0;  // index among the living
  double next_poll = start;

  while (clock_.Now() < end) {
    if (signals.signal() != 0) {
      summary_.interrupted = true;
      summary_.interrupted_signal = signals.signal();
      say_("interrupted by signal ", signals.signal(), ": killing every instance");
      break;
    }
    ReadAll();
    double now = clock_.Now();
    if (frozen_at_ < 0 && now >= freeze_at) {
      frozen_at_ = now;
      for (int n = o_.service_instances - o_.freeze_for_good + 1; n <= o_.service_instances; ++n) {
        fleet_.Freeze(*fleet_.Find(n), now);
        frozen_for_good_.insert(n);
      }
      report_.frozen_for_good = o_.freeze_for_good;
      if (o_.freeze_for_good > 0) {
        say_("froze instances ", o_.service_instances - o_.freeze_for_good + 1, "..",
             o_.service_instances, " for good");
      }
    }
    if (briefly != nullptr && now >= resume_at) {
      fleet_.Resume(*briefly, now);
      briefly = nullptr;
    }
    // Brief freezes only ever go to the instances that stay alive, so that
    // none is resumed after (or frozen for good during) its brief freeze.
    const int living = o_.service_instances - o_.freeze_for_good;
    if (o_.short_freeze_ms > 0 && briefly == nullptr && now >= next_short && living > 0) {
      briefly = fleet_.Find(1 + next_brief++ % living);
      fleet_.Freeze(*briefly, now);
      resume_at = now + o_.short_freeze_ms;
      next_short += o_.short_freeze_every_ms;
      ++report_.short_freezes;
    }
    if (now >= next_poll) {
      Poll(now);
      next_poll = std::max(next_poll + o_.poll_ms, now + 1.0);
    }
    double wake = std::min(end, next_poll);
    if (briefly != nullptr) wake = std::min(wake, resume_at);
    if (briefly == nullptr && o_.short_freeze_ms > 0) wake = std::min(wake, next_short);
    if (frozen_at_ < 0) wake = std::min(wake, freeze_at);
    Sleep(wake, signals);
  }
  if (briefly != nullptr) fleet_.Resume(*briefly, clock_.Now());

  // The end: what is left of the frozen ones, then the living exit.
  Poll(clock_.Now());
  for (const auto& [key, b] : table_.all()) {
    if (b.instance != 0 && FrozenForGood(b.instance)) ++summary_.zombies_left;
  }
  report_.frozen_backends = static_cast<int>(frozen_keys_.size());
  exit_sent_at_ = clock_.Now();
  for (Instance& inst : fleet_.instances()) {
    if (FrozenForGood(inst.number) || inst.in_fd < 0) continue;
    const std::string line = absl::StrCat(kCommandExit, "\n");
    (void)!write(inst.in_fd, line.data(), line.size());
  }
  const double exit_by = clock_.Now() + kExitWithinMs;
  for (;;) {
    ReadAll();
    bool all_done = true;
    for (Instance& inst : fleet_.instances()) {
      if (FrozenForGood(inst.number) || inst.waited) continue;
      if (!fleet_.ReapIfExited(inst).has_value() && !inst.waited) all_done = false;
    }
    if (all_done || clock_.Now() > exit_by) break;
    Sleep(clock_.Now() + 20, signals);
  }
  ReadAll();
  const double finished = clock_.Now();
  fleet_.KillAll(finished);
  Poll(clock_.Now());
  JudgePending(clock_.Now(), /*final=*/true);

  for (const auto& [instance, r] : served_) {
    report_.requests += r.served + r.failed;
    report_.requests_failed += r.failed;
    report_.acquire_timeouts += r.acquire_timeouts;
    report_.idle_renewals += r.idle_renewals;
  }
  summary_.invocations = static_cast<int>(std::min<int64_t>(report_.requests, INT32_MAX));
  summary_.failed = static_cast<int>(std::min<int64_t>(report_.requests_failed, INT32_MAX));
  summary_.ok = summary_.invocations - summary_.failed;
  if (report_.requests_failed > 0) summary_.failures["request"] = summary_.failed;
  summary_.duration_ms = static_cast<int64_t>(finished - start);
  summary_.service = report_;
  say_("done: ", report_.requests, " requests, ", report_.requests_failed, " failed; ",
       summary_.false_kills, " false kills; frozen for good: ", report_.frozen_backends_reaped,
       " of ", report_.frozen_backends, " backends reaped, ", summary_.zombies_left,
       " left; idle leases renewed ", report_.idle_renewals, " times");
  setup_.monitor = Monitor();
  setup_.server.throwaway.reset();
  return summary_;
}

}  // namespace

absl::StatusOr<StormSummary> RunServiceStorm(const StormOptions& options, std::ostream* progress) {
  ServiceStorm storm(options, progress);
  return storm.Run();
}

}  // namespace storm
}  // namespace aequor
