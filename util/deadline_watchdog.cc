#include "util/deadline_watchdog.h"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace aequor {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// Watchdog::wake_ns while the watchdog looks at the slots.
constexpr int64_t kScanning = -1;

// A slot's word: (sequence << 2) | phase. The sequence grows with every
// wait, so the watchdog can never fire on a later wait than the one whose
// deadline it read.
enum Phase : uint64_t { kIdle = 0, kWaiting = 1, kFiring = 2, kFired = 3 };
constexpr uint64_t kPhaseMask = 3;

struct Slot {
  std::atomic<uint64_t> word{0};
  std::atomic<int64_t> deadline_ns{kNever};
  std::atomic<int> fd{-1};
};

class Watchdog {
 public:
  void Add(Slot* slot) {
    std::lock_guard<std::mutex> lock(mu_);
    slots_.push_back(slot);
  }
  void Remove(Slot* slot) {
    std::lock_guard<std::mutex> lock(mu_);
    slots_.erase(std::remove(slots_.begin(), slots_.end(), slot), slots_.end());
  }
  // A wait's deadline is sooner than the watchdog's next look.
  void Nudge() {
    std::lock_guard<std::mutex> lock(mu_);
    nudged_ = true;
    cv_.notify_one();
  }

  // Until when the watchdog sleeps (kNever: until nudged), or kScanning.
  // A waiter that publishes its slot and then reads this either sees the
  // watchdog's look in progress (and nudges it) or is seen by that look:
  // both are sequentially consistent, so one of the two always happens.
  std::atomic<int64_t> wake_ns{kScanning};

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_ns.store(kScanning);
      nudged_ = false;
      const int64_t next = FireExpired(MonotonicNanosNow());
      wake_ns.store(next);
      if (next == kNever) {
        cv_.wait(lock, [this] { return nudged_; });
      } else {
        const std::chrono::steady_clock::time_point at{std::chrono::nanoseconds(next)};
        cv_.wait_until(lock, at, [this] { return nudged_; });
      }
    }
  }

 private:
  // Shuts the read side of every wait whose deadline is `now` or earlier;
  // returns the earliest deadline still ahead. Holds mu_.
  int64_t FireExpired(int64_t now) {
    int64_t next = kNever;
    for (Slot* slot : slots_) {
      uint64_t word = slot->word.load();
      if ((word & kPhaseMask) != kWaiting) continue;
      const int64_t deadline = slot->deadline_ns.load(std::memory_order_acquire);
      if (deadline > now) {
        next = std::min(next, deadline);
        continue;
      }
      const uint64_t sequence = word & ~kPhaseMask;
      if (slot->word.compare_exchange_strong(word, sequence | kFiring)) {
        // The waiter is inside poll() on this fd until it sees kFired: the
        // fd cannot be closed and reused meanwhile.
        shutdown(slot->fd.load(std::memory_order_relaxed), SHUT_RD);
        slot->word.store(sequence | kFired, std::memory_order_release);
      }
    }
    return next;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool nudged_ = false;
  std::vector<Slot*> slots_;
};

// The process's watchdog (null until the first wait), and the lock under
// which it is started. Both are replaced in a child after fork(): the
// parent's thread does not exist there, and its lock may be held.
std::atomic<Watchdog*> g_watchdog{nullptr};
std::atomic<std::mutex*> g_start_mu{new std::mutex()};

void AfterForkInChild() {
  g_start_mu.store(new std::mutex());  // the parent's is left as it was
  g_watchdog.store(nullptr);
}

Watchdog* StartWatchdog() {
  static std::once_flag registered;
  std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, AfterForkInChild); });
  std::lock_guard<std::mutex> lock(*g_start_mu.load());
  Watchdog* watchdog = g_watchdog.load();
  if (watchdog != nullptr) return watchdog;
  watchdog = new Watchdog();  // never destroyed: its thread never ends
  try {
    std::thread([watchdog] { watchdog->Run(); }).detach();
  } catch (const std::system_error&) {
    delete watchdog;
    return nullptr;  // no thread to be had: the caller polls with a timeout
  }
  g_watchdog.store(watchdog);
  return watchdog;
}

// The calling thread's slot, in the watchdog of this process.
struct ThreadSlot {
  ~ThreadSlot() {
    if (owner != nullptr && owner == g_watchdog.load()) owner->Remove(&slot);
  }
  Slot slot;
  Watchdog* owner = nullptr;
};

}  // namespace

int64_t MonotonicNanosNow() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

WatchedWait WaitWatched(int fd, short events, int64_t deadline_ns) {
  struct pollfd p = {fd, events, 0};
  if (deadline_ns == kNever) {
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    return WatchedWait::kReady;
  }
  thread_local ThreadSlot mine;
  Watchdog* watchdog = g_watchdog.load(std::memory_order_acquire);
  if (watchdog == nullptr && (watchdog = StartWatchdog()) == nullptr) {
    return WatchedWait::kNoWatchdog;
  }
  if (mine.owner != watchdog) {  // the first wait, or the first after fork()
    mine.slot.word.store(0);
    watchdog->Add(&mine.slot);
    mine.owner = watchdog;
  }
  Slot& slot = mine.slot;
  const uint64_t sequence = (slot.word.load(std::memory_order_relaxed) & ~kPhaseMask) + 4;
  slot.fd.store(fd, std::memory_order_relaxed);
  slot.deadline_ns.store(deadline_ns, std::memory_order_relaxed);
  slot.word.store(sequence | kWaiting);
  const int64_t wake = watchdog->wake_ns.load();
  if (wake == kScanning || deadline_ns < wake) watchdog->Nudge();

  // An error from poll() is left to the caller's read to report; were it to
  // keep failing, the watchdog still ends the wait at the deadline.
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  uint64_t expected = sequence | kWaiting;
  if (slot.word.compare_exchange_strong(expected, sequence | kIdle)) return WatchedWait::kReady;
  // The watchdog has fired on this wait, or is shutting the socket now.
  while ((slot.word.load(std::memory_order_acquire) & kPhaseMask) == kFiring) {
    std::this_thread::yield();
  }
  slot.word.store(sequence | kIdle, std::memory_order_relaxed);
  return WatchedWait::kDeadline;
}

}  // namespace aequor
