#include "bench/storm/fleet.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/storm/protocol.h"
#include "testing/subprocess.h"

namespace aequor {
namespace storm {

using ::aequor::testing::ExitStatus;
using ::aequor::testing::SignalTarget;

Fleet::~Fleet() { KillAll(0); }

absl::StatusOr<Instance*> Fleet::Spawn(std::vector<std::string> argv, std::vector<std::string> env,
                                       int slot, int invocation, double now) {
  testing::SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.env = std::move(env);
  spec.in = testing::Stream::Pipe();
  spec.out = testing::Stream::Pipe();
  spec.err = testing::Stream::Inherit();
  // An instance that does not read its stdin must not block the harness.
  spec.nonblocking_pipes = true;
  spec.group = testing::ProcessGroup::kNewGroup;
  spec.parent_death_signal = SIGKILL;
  absl::StatusOr<testing::SpawnedProcess> child = testing::Spawn(spec);
  if (!child.ok()) return child.status();
  Instance inst;
  inst.number = size() + 1;
  inst.slot = slot;
  inst.pid = child->pid;
  inst.out_fd = child->out_fd;
  inst.in_fd = child->in_fd;
  inst.invocation = invocation;
  inst.invocations = 1;
  inst.history = PhaseHistory(InstancePhase::kRunning, now);
  instances_.push_back(std::move(inst));
  return &instances_.back();
}

absl::Status Fleet::Thaw(Instance& inst, int invocation, double now) {
  inst.invocation = invocation;
  ++inst.invocations;
  inst.idle_kill_ms = -1;
  inst.answered_ms = -1;
  inst.history.Set(InstancePhase::kRunning, now);
  (void)testing::SendSignal(inst.pid, SIGCONT, SignalTarget::kGroup);
  const std::string command = InvokeCommand(invocation);
  const std::string line = absl::StrCat(command, "\n");
  const ssize_t n = inst.in_fd >= 0 ? write(inst.in_fd, line.data(), line.size()) : -1;
  if (n == static_cast<ssize_t>(line.size())) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("cannot send '", command, "' on its stdin",
                   n < 0 ? absl::StrCat(" (", std::strerror(errno), ")") : ""));
}

void Fleet::Freeze(Instance& inst, double now) {
  (void)testing::SendSignal(inst.pid, SIGSTOP, SignalTarget::kGroup);
  inst.history.Set(InstancePhase::kFrozen, now);
}

void Fleet::Resume(Instance& inst, double now) {
  inst.history.Set(InstancePhase::kRunning, now);
  (void)testing::SendSignal(inst.pid, SIGCONT, SignalTarget::kGroup);
}

void Fleet::Kill(Instance& inst, double now) {
  if (inst.waited) return;
  (void)testing::SendSignal(inst.pid, SIGKILL, SignalTarget::kGroup);
  (void)testing::SendSignal(inst.pid, SIGKILL, SignalTarget::kProcess);
  inst.history.Set(InstancePhase::kEnded, now);
}

void Fleet::ReadOutput(Instance& inst, const std::function<void(absl::string_view line)>& on_line) {
  if (inst.out_fd < 0) return;
  char buf[4096];
  for (int rounds = 0; rounds < 64; ++rounds) {
    ssize_t n = read(inst.out_fd, buf, sizeof(buf));
    if (n > 0) {
      inst.buffer.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl = inst.buffer.find('\n'); nl != std::string::npos;
           nl = inst.buffer.find('\n', start)) {
        on_line(absl::string_view(inst.buffer).substr(start, nl - start));
        start = nl + 1;
      }
      inst.buffer.erase(0, start);
      if (inst.buffer.size() > 65536) inst.buffer.clear();  // no newline in 64 KiB: drop
      continue;
    }
    if (n == 0) {  // end of file: every writer is gone
      if (!inst.buffer.empty()) {
        const std::string rest = std::move(inst.buffer);
        inst.buffer.clear();
        on_line(rest);
      }
      close(inst.out_fd);
      inst.out_fd = -1;
    } else if (errno == EINTR) {
      continue;
    }
    return;  // EAGAIN or an error
  }
}

std::optional<std::string> Fleet::ReapIfExited(Instance& inst) {
  if (inst.waited) return std::nullopt;
  std::optional<ExitStatus> done = testing::ReapIfExited(inst.pid);
  if (!done.has_value()) return std::nullopt;
  inst.waited = true;
  // Whatever else of its group is left (a --client-cmd's children) goes too.
  (void)testing::SendSignal(inst.pid, SIGKILL, SignalTarget::kGroup);
  if (!done->known()) return std::string("exited");
  const int status = done->wait_status;
  return WIFEXITED(status) ? absl::StrCat("exited ", WEXITSTATUS(status))
                           : absl::StrCat("killed by signal ", WTERMSIG(status));
}

void Fleet::KillAll(double now) {
  for (Instance& inst : instances_) Kill(inst, now);
  // SIGKILL ends stopped processes too; wait for each, bounded.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (Instance& inst : instances_) {
    if (!inst.waited) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (!testing::WaitForExit(inst.pid, absl::Milliseconds(std::max<int64_t>(0, left.count())))
               .has_value()) {
        std::fprintf(stderr, "storm: instance #%d (pid %d) did not die after SIGKILL\n",
                     inst.number, static_cast<int>(inst.pid));
      }
      inst.waited = true;
    }
    for (int* fd : {&inst.out_fd, &inst.in_fd}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }
}

Instance* Fleet::Find(int number) {
  return number >= 1 && number <= size() ? &instances_[static_cast<size_t>(number - 1)] : nullptr;
}

const Instance* Fleet::Find(int number) const {
  return number >= 1 && number <= size() ? &instances_[static_cast<size_t>(number - 1)] : nullptr;
}

}  // namespace storm
}  // namespace aequor
