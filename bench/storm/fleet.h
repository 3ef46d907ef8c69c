// bench/storm/fleet.h: the storm's instance processes: spawning one (its own
// process group, PR_SET_PDEATHSIG=SIGKILL, stdin and stdout on pipes, stderr
// shared with the harness), freezing it (SIGSTOP), thawing it for its next
// invocation (SIGCONT, then "invoke <id>" on its stdin), reading its lines,
// reaping it, and killing the lot. Processes start through
// testing/subprocess.h, as the throwaway server's do.
//
//   Fleet fleet;
//   absl::StatusOr<Instance*> inst = fleet.Spawn({"/bin/sh", "-c", cmd}, env, /*slot=*/0,
//                                                /*invocation=*/1, clock.Now());
//   fleet.ReadOutput(**inst, [&](absl::string_view line) { ... });
//   fleet.Freeze(**inst, clock.Now());
//   ...
//   fleet.KillAll(clock.Now());   // also done by the destructor
//
// Every instance keeps the history of its phases (bench/storm/phases.h),
// which the harness reads to judge a kill found late.
//
// Thread-safety: not thread-safe. Spawn from the thread that lives as long
// as the instances should (the main thread): PR_SET_PDEATHSIG fires when the
// spawning thread exits.
#ifndef AEQUOR_BENCH_STORM_FLEET_H_
#define AEQUOR_BENCH_STORM_FLEET_H_

#include <sys/types.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/storm/phases.h"

namespace aequor {
namespace storm {

// One instance process and where its invocations stand.
struct Instance {
  int number = 0;               // 1-based, in start order
  int slot = 0;                 // the run's slot it serves
  pid_t pid = -1;               // also its process group
  int out_fd = -1;              // its stdout (non-blocking); -1 after end of file
  int in_fd = -1;               // its stdin (non-blocking): "invoke <id>" goes here
  std::string buffer;           // output read, not yet a full line
  std::string last_other_line;  // the last line that was not part of the protocol
  // Every phase change with its time (kRunning from the spawn on): a kill
  // found later is judged and labelled by the phase at its logged time.
  PhaseHistory history;
  int invocation = 0;        // the current (or last) invocation's id
  int invocations = 0;       // invocations it ran
  double answered_ms = -1;   // when it answered the current invocation
  double idle_kill_ms = -1;  // terminate-idle scheduled for this frozen span
  bool waited = false;       // reaped (or given up on)

  InstancePhase phase() const { return history.current(); }
  bool FrozenAt(double t) const { return history.At(t) == InstancePhase::kFrozen; }
  // Frozen without a break from t0 to t1.
  bool FrozenThroughout(double t0, double t1) const {
    return history.Throughout(InstancePhase::kFrozen, t0, t1);
  }
  bool EndedAt(double t) const { return history.At(t) == InstancePhase::kEnded; }
};

class Fleet {
 public:
  Fleet() = default;
  ~Fleet();  // KillAll()
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Starts instance size() + 1, running `argv` (argv[0] an absolute path)
  // with exactly `env`, for its first invocation `invocation`, started at
  // run time `now`. The returned instance stays valid as long as the fleet.
  absl::StatusOr<Instance*> Spawn(std::vector<std::string> argv, std::vector<std::string> env,
                                  int slot, int invocation, double now);

  // Resumes a frozen instance for `invocation` at `now`: kRunning, SIGCONT to
  // its group, "invoke <id>" on its stdin. An error ("cannot send ...") when
  // the command could not be written: the invocation will then time out.
  absl::Status Thaw(Instance& inst, int invocation, double now);

  // SIGSTOP to its group; kFrozen at `now`.
  void Freeze(Instance& inst, double now);

  // SIGCONT to its group, and nothing on its stdin (a service instance goes
  // on with what it was doing); kRunning at `now`.
  void Resume(Instance& inst, double now);

  // SIGKILL to its group (unless reaped already); kEnded at `now`.
  void Kill(Instance& inst, double now);

  // Reads what the instance wrote so far without blocking, calling `on_line`
  // for every complete line (and the rest at end of file, when the pipe is
  // then closed). A line longer than 64 KiB is dropped.
  void ReadOutput(Instance& inst, const std::function<void(absl::string_view line)>& on_line);

  // Reaps the instance if it exited (marking it waited), without blocking:
  // its failure key, "exited N" or "killed by signal N"; nullopt while it
  // runs or once it was reaped. What is left of its process group (a
  // --client-cmd's children) is then SIGKILLed.
  std::optional<std::string> ReapIfExited(Instance& inst);

  // SIGKILLs every instance's group (stopped ones included) and waits for
  // each, 10 s at most in all; closes every pipe.
  void KillAll(double now);

  // Instance `number` (1-based), or null.
  Instance* Find(int number);
  const Instance* Find(int number) const;
  std::deque<Instance>& instances() { return instances_; }
  const std::deque<Instance>& instances() const { return instances_; }
  int size() const { return static_cast<int>(instances_.size()); }

 private:
  std::deque<Instance> instances_;  // index = number - 1
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_FLEET_H_
