#include "core/pool.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/event_emitter.h"
#include "core/lease_keeper.h"
#include "core/metrics.h"
#include "core/statement_params.h"
#include "util/pg.h"

namespace aequor {
namespace {

constexpr absl::Duration kCloseInDestructor = absl::Seconds(1);
// The maintenance thread never wakes more often than this, whatever is due.
constexpr int64_t kMinWaitNs = 10'000'000;

// A wait's end on the steady clock, `timeout` from now; a timeout beyond
// a year (InfiniteDuration() included) waits a year, so that nothing
// overflows.
std::chrono::steady_clock::time_point SteadyAfter(absl::Duration timeout) {
  return std::chrono::steady_clock::now() +
         absl::ToChronoNanoseconds(std::min(timeout, absl::Hours(24 * 365)));
}

void AddToHistogram(LatencyHistogram& h, int64_t ns) {
  size_t i = 0;
  while (i < metrics_internal::kBoundsNs.size() && ns > metrics_internal::kBoundsNs[i]) ++i;
  ++h.counts[i];
  ++h.count;
  h.sum_ms += static_cast<double>(ns) / 1e6;
}

}  // namespace

struct PoolImpl::State : std::enable_shared_from_this<PoolImpl::State> {
  // One lane and what the pool knows of it.
  struct Slot {
    explicit Slot(LaneParts& parts) : lane(parts) {}
    Lane lane;
    // How long its connections may live (max_lifetime less its jitter); 0:
    // for ever.
    int64_t lifetime_ns = 0;
    bool borrowed = false;
    int64_t borrowed_at_ns = 0;
    bool leak_reported = false;
  };
  // A Query() that may ride in the pipeline of the call served before it
  // (statement batching, PoolOptions::max_batch). Its statement points
  // into the caller's frame, which waits until the batch has run.
  struct BatchRequest {
    pg::Statement statement;
    int64_t deadline_ns = 0;  // the call's own deadline (monotonic)
    int64_t sent_ns = 0;      // when the batch was sent (monotonic)
    bool ran = false;         // it was sent in a batch: `reply` is its answer
    pg::Reply reply;
  };
  // A borrower waiting for a connection. Served in order: Return() hands a
  // slot to the oldest, or lets it open a new one; the oldest, served, takes
  // the requests of the waiters right behind it into its batch.
  struct Waiter {
    std::condition_variable cv;
    Slot* slot = nullptr;  // handed over
    bool may_open = false;  // a slot was dropped: open a new one
    bool closed = false;    // the pool closed meanwhile
    BatchRequest* request = nullptr;  // may ride in a batch
    bool riding = false;      // taken into a batch: waits for it, no timeout
    bool batch_done = false;  // the batch ran (or could not): see request->ran
  };

  State(ManagerParts manager_parts, PoolOptions pool_options);
  ~State();

  // Starts the maintenance thread (options.maintenance_thread). It holds a
  // reference to the state until it stops, so that Close() need not wait
  // for a round in progress beyond its timeout.
  void Start();

  // A slot, waiting for one at most `timeout`. `*waited_ns` (if given) is
  // set to how long it waited: exactly 0 when one was free at once, which
  // costs a single clock read. With a `request`, the call may instead ride
  // in the batch of the waiter served before it: then the result is
  // nullptr, once that batch has run (request->ran says whether its
  // statement was in it); and a call served with a slot after waiting takes
  // the requests of the waiters right behind it into `*riders` (at most
  // max_batch - 1), to run them with its own and then FinishBatch().
  absl::StatusOr<Slot*> Borrow(absl::Duration timeout, int64_t* waited_ns = nullptr,
                               BatchRequest* request = nullptr,
                               std::vector<Waiter*>* riders = nullptr);
  // Hands each rider its reply (none when `ran` is false) and wakes it.
  void FinishBatch(const std::vector<Waiter*>& riders, bool ran, std::vector<pg::Reply>& replies);
  void Return(Slot* slot);
  absl::Status Close(absl::Duration timeout);
  absl::Status Maintain();
  void RunMaintenance();
  PoolMetrics MetricsNow() const;

  // Under mu. A new slot, counted in the size.
  Slot* NewSlotLocked();
  // Under mu. Takes `slot` out of the pool; the caller destroys it after
  // unlocking (closing a connection is I/O).
  std::unique_ptr<Slot> RemoveLocked(Slot* slot);
  // Under mu. An idle `slot` goes to the oldest waiter, else on the stack.
  void HandOverLocked(Slot* slot);
  // Under mu. A slot was removed: the oldest waiter may open one instead.
  void LetWaiterOpenLocked();
  std::string DescribeLocked() const;

  LaneParts parts;  // first: the lanes below use it
  const PoolOptions options;
  Clock& clock;

  mutable std::mutex mu;
  std::vector<std::unique_ptr<Slot>> slots;  // all: idle, borrowed, maintained
  std::vector<Slot*> idle;                   // a stack: back is borrowed next
  std::deque<Waiter*> waiters;
  int in_use = 0;
  bool closed = false;
  std::condition_variable drained;  // in_use fell to 0 after Close()
  PoolMetrics counters;             // the counters and acquire_wait

  bool stop = false;
  bool reschedule = false;           // an idle slot came back: recompute the wake-up
  // When the maintenance thread means to wake up (monotonic ns; max while
  // it runs a round).
  int64_t planned_wake_ns = std::numeric_limits<int64_t>::max();
  bool maintaining = false;          // the maintenance thread runs
  std::condition_variable wake;      // the maintenance thread's
  std::condition_variable finished;  // it stopped
  std::thread maintenance;
};

PoolImpl::State::State(ManagerParts manager_parts, PoolOptions pool_options)
    : parts(std::move(manager_parts)),
      options(std::move(pool_options)),
      clock(parts.clock()) {
  parts.bus.SetPoolSource([this] { return MetricsNow(); });
  parts.bus.SetConnectionSource([this] {
    ConnectionGauges g;
    const int64_t now_ns = clock.MonotonicNanos();
    std::lock_guard<std::mutex> lock(mu);
    for (const std::unique_ptr<Slot>& slot : slots) slot->lane.AddTo(g, now_ns);
    return g;
  });
}

void PoolImpl::State::Start() {
  if (!options.maintenance_thread) return;
  maintaining = true;
  try {
    maintenance = std::thread([self = shared_from_this()] {
      self->RunMaintenance();
      std::lock_guard<std::mutex> lock(self->mu);
      self->maintaining = false;
      self->finished.notify_all();
    });
  } catch (const std::system_error& e) {
    // Nothing throws out of BuildPool(): the pool works without the thread,
    // but idle leases are no longer renewed, so it says so.
    maintaining = false;
    parts.events.Degraded(
        EventSource::kPoolMaintenance,
        absl::StrCat("pool: the maintenance thread could not start (", e.what(),
                     "): idle connections' leases are not renewed and may be reaped; call "
                     "Pool::Maintain() regularly"));
  }
}

PoolImpl::State::~State() {
  // The last reference may be the maintenance thread's own.
  if (maintenance.joinable()) {
    if (maintenance.get_id() == std::this_thread::get_id()) {
      maintenance.detach();
    } else {
      maintenance.join();
    }
  }
  // The exporters' last metrics still read this pool.
  parts.bus.Shutdown(kCloseInDestructor);
  parts.bus.SetPoolSource(nullptr);
  parts.bus.SetConnectionSource(nullptr);
}

PoolImpl::State::Slot* PoolImpl::State::NewSlotLocked() {
  auto slot = std::make_unique<Slot>(parts);
  if (options.max_lifetime > absl::ZeroDuration()) {
    // Up to a tenth less, so that connections opened together are not all
    // recycled together.
    const double jitter = parts.random().UniformReal(0.0, 0.1);
    slot->lifetime_ns = static_cast<int64_t>(
        static_cast<double>(absl::ToInt64Nanoseconds(options.max_lifetime)) * (1.0 - jitter));
  }
  slots.push_back(std::move(slot));
  return slots.back().get();
}

std::unique_ptr<PoolImpl::State::Slot> PoolImpl::State::RemoveLocked(Slot* slot) {
  auto it = std::find_if(slots.begin(), slots.end(),
                         [slot](const std::unique_ptr<Slot>& s) { return s.get() == slot; });
  if (it == slots.end()) return nullptr;
  std::unique_ptr<Slot> removed = std::move(*it);
  slots.erase(it);
  return removed;
}

void PoolImpl::State::HandOverLocked(Slot* slot) {
  if (!waiters.empty()) {
    Waiter* w = waiters.front();
    waiters.pop_front();
    w->slot = slot;
    w->cv.notify_one();
    return;
  }
  idle.push_back(slot);
  // Its lease may be due before the maintenance thread means to wake up
  // (rarely: a lease has most of its TTL left when a call gives it back).
  const Connection* conn = slot->lane.connection();
  if (conn != nullptr && conn->renew_at_ns() < planned_wake_ns) {
    reschedule = true;
    wake.notify_one();
  }
}

void PoolImpl::State::LetWaiterOpenLocked() {
  if (waiters.empty() || slots.size() >= static_cast<size_t>(options.max_size)) return;
  Waiter* w = waiters.front();
  waiters.pop_front();
  w->may_open = true;
  w->cv.notify_one();
}

std::string PoolImpl::State::DescribeLocked() const {
  return absl::StrCat("size ", slots.size(), " of max_size ", options.max_size, ", ", in_use,
                      " in use, ", idle.size(), " idle, ", waiters.size(), " waiting");
}

absl::StatusOr<PoolImpl::State::Slot*> PoolImpl::State::Borrow(absl::Duration timeout,
                                                                int64_t* waited_ns,
                                                                BatchRequest* request,
                                                                std::vector<Waiter*>* riders) {
  const int64_t start_ns = clock.MonotonicNanos();
  std::unique_lock<std::mutex> lock(mu);
  if (closed) {
    return absl::FailedPreconditionError("pool: closed; Close() was called, nothing is lent");
  }
  Slot* slot = nullptr;
  if (waiters.empty()) {
    if (!idle.empty()) {
      slot = idle.back();
      idle.pop_back();
    } else if (slots.size() < static_cast<size_t>(options.max_size)) {
      slot = NewSlotLocked();
    }
  }
  const bool waited = slot == nullptr;
  if (waited) {
    Waiter w;
    w.request = request;
    waiters.push_back(&w);
    const auto until = SteadyAfter(timeout);
    for (;;) {
      const bool served = w.cv.wait_until(lock, until, [&] {
        return w.slot != nullptr || w.may_open || w.closed || w.riding;
      });
      if (w.riding) {
        // Its statement is in a batch now, pointing into this frame: wait
        // for the batch, which its deadlines bound, whatever the timeout.
        // It borrowed nothing: not counted as acquired.
        w.cv.wait(lock, [&] { return w.batch_done; });
        if (request->ran) ++counters.batched;
        if (waited_ns != nullptr) *waited_ns = 0;
        return nullptr;
      }
      if (!served) {
        auto it = std::find(waiters.begin(), waiters.end(), &w);
        if (it != waiters.end()) waiters.erase(it);
        ++counters.acquire_timeouts;
        return absl::DeadlineExceededError(absl::StrCat(
            "pool: no connection free within ", absl::FormatDuration(timeout), " (",
            DescribeLocked(),
            "); raise max_size or acquire_timeout, or give connections back sooner"));
      }
      if (w.closed) {
        return absl::FailedPreconditionError(
            "pool: closed while waiting for a connection; Close() was called");
      }
      if (w.slot != nullptr) {
        slot = w.slot;
        // The waiters right behind, if they may ride too, go in its batch.
        if (request != nullptr && riders != nullptr) {
          while (riders->size() + 1 < static_cast<size_t>(options.max_batch) &&
                 !waiters.empty() && waiters.front()->request != nullptr) {
            Waiter* rider = waiters.front();
            waiters.pop_front();
            rider->riding = true;  // it wakes when the batch has run
            riders->push_back(rider);
          }
        }
        break;
      }
      // A slot was dropped: open one in its place, unless the pool closed
      // meanwhile or a newcomer took the place first; then wait again at
      // the head of the line.
      w.may_open = false;
      if (closed) {
        return absl::FailedPreconditionError(
            "pool: closed while waiting for a connection; Close() was called");
      }
      if (slots.size() < static_cast<size_t>(options.max_size)) {
        slot = NewSlotLocked();
        break;
      }
      waiters.push_front(&w);
    }
  }
  // Served at once, the wait is 0 (the common case reads the clock once).
  const int64_t now_ns = waited ? clock.MonotonicNanos() : start_ns;
  const int64_t wait_ns = std::max<int64_t>(0, now_ns - start_ns);
  ++in_use;
  slot->borrowed = true;
  slot->borrowed_at_ns = now_ns;
  slot->leak_reported = false;
  ++counters.acquired;
  AddToHistogram(counters.acquire_wait, wait_ns);
  if (waited_ns != nullptr) *waited_ns = wait_ns;
  return slot;
}

void PoolImpl::State::Return(Slot* slot) {
  std::unique_ptr<Slot> closing;
  {
    std::lock_guard<std::mutex> lock(mu);
    --in_use;
    slot->borrowed = false;
    if (closed) {
      closing = RemoveLocked(slot);
      if (in_use == 0) drained.notify_all();
    } else if (!slot->lane.connected()) {
      // Lost, or never opened (its connect failed): not kept. A waiter may
      // open one in its place.
      closing = RemoveLocked(slot);
      LetWaiterOpenLocked();
    } else {
      HandOverLocked(slot);
    }
  }
  if (closing != nullptr) closing->lane.Close(/*report=*/true);
}

void PoolImpl::State::FinishBatch(const std::vector<Waiter*>& riders, bool ran,
                                  std::vector<pg::Reply>& replies) {
  std::lock_guard<std::mutex> lock(mu);
  for (size_t i = 0; i < riders.size(); ++i) {
    Waiter* rider = riders[i];
    rider->request->ran = ran;
    if (ran) rider->request->reply = std::move(replies[i + 1]);
    rider->batch_done = true;
    rider->cv.notify_one();
  }
}

absl::Status PoolImpl::State::Close(absl::Duration timeout) {
  std::vector<std::unique_ptr<Slot>> closing;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!closed) {
      closed = true;
      for (Waiter* w : waiters) {
        w->closed = true;
        w->cv.notify_one();
      }
      waiters.clear();
      for (Slot* slot : idle) closing.push_back(RemoveLocked(slot));
      idle.clear();
      stop = true;
    }
  }
  wake.notify_all();
  for (std::unique_ptr<Slot>& slot : closing) slot->lane.Close(/*report=*/true);
  closing.clear();
  std::unique_lock<std::mutex> lock(mu);
  const auto until = SteadyAfter(timeout);
  // A maintenance round in progress finishes on its own (a slot it holds is
  // closed when it gives it back); it is waited for only until `timeout`.
  const bool stopped = finished.wait_until(lock, until, [&] { return !maintaining; });
  if (!stopped) {
    return absl::DeadlineExceededError(absl::StrCat(
        "pool: Close: the maintenance round in progress did not finish within ",
        absl::FormatDuration(timeout), "; it stops when it does"));
  }
  if (!drained.wait_until(lock, until, [&] { return in_use == 0; })) {
    return absl::DeadlineExceededError(absl::StrCat(
        "pool: Close: ", in_use, " connection(s) still borrowed after ",
        absl::FormatDuration(timeout), "; each is closed when its PooledConnection is destroyed"));
  }
  return absl::OkStatus();
}

absl::Status PoolImpl::State::Maintain() {
  const int64_t now_ns = clock.MonotonicNanos();
  absl::Status first_error;

  // Borrows held for too long: reported once each.
  std::vector<std::string> leaks;
  std::vector<Slot*> candidates;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return absl::OkStatus();
    const int64_t threshold_ns = absl::ToInt64Nanoseconds(options.leak_threshold);
    for (const std::unique_ptr<Slot>& slot : slots) {
      if (threshold_ns <= 0 || !slot->borrowed || slot->leak_reported ||
          now_ns - slot->borrowed_at_ns < threshold_ns) {
        continue;
      }
      slot->leak_reported = true;
      ++counters.leaks;
      leaks.push_back(absl::StrCat(
          "a pooled connection has been borrowed for ",
          absl::FormatDuration(absl::Nanoseconds(now_ns - slot->borrowed_at_ns)),
          ", longer than leak_threshold (", absl::FormatDuration(options.leak_threshold),
          "): a PooledConnection kept alive starves the pool (", DescribeLocked(), ")"));
    }
    candidates = idle;
  }
  for (std::string& leak : leaks) parts.events.Degraded(EventSource::kPoolLeak, std::move(leak));

  // Idle connections, one at a time, so that borrowers meanwhile find the
  // others.
  const int64_t idle_timeout_ns = absl::ToInt64Nanoseconds(options.idle_timeout);
  for (Slot* slot : candidates) {
    bool may_shrink = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = std::find(idle.begin(), idle.end(), slot);
      if (closed || it == idle.end()) continue;  // borrowed meanwhile
      idle.erase(it);
      may_shrink = slots.size() > static_cast<size_t>(options.min_size);
    }
    bool drop = false;
    bool recycled = false;
    bool dead = false;
    int renewed = 0;  // 1 renewed, -1 failed
    const Connection* conn = slot->lane.connection();
    if (conn == nullptr) {
      drop = true;
    } else if (slot->lane.DropIfDead()) {
      drop = dead = true;
    } else if (slot->lifetime_ns > 0 && now_ns - slot->lane.opened_at_ns() >= slot->lifetime_ns) {
      drop = recycled = true;
    } else if (may_shrink && idle_timeout_ns > 0 &&
               now_ns - conn->last_used_ns() >= idle_timeout_ns) {
      drop = recycled = true;
    } else {
      absl::StatusOr<bool> r = slot->lane.RenewIfDue(
          now_ns, clock.MonotonicNow() + parts.options().lease_renew_timeout);
      if (!r.ok()) {
        drop = true;
        renewed = -1;
        if (first_error.ok()) first_error = r.status();
      } else if (*r) {
        renewed = 1;
      }
    }
    std::unique_ptr<Slot> closing;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (dead) ++counters.dead_dropped;
      if (recycled) ++counters.recycled;
      if (renewed > 0) ++counters.idle_renewals;
      if (renewed < 0) ++counters.idle_renewal_failures;
      if (drop || closed) {
        closing = RemoveLocked(slot);
        if (!closed) LetWaiterOpenLocked();
      } else {
        HandOverLocked(slot);
      }
    }
    if (closing != nullptr) closing->lane.Close(/*report=*/true);
  }

  // The pool's reaper schedule: asked once a round, on an idle connection
  // (a busy pool's lanes rarely go idle long enough for a call to ask).
  if (parts.leases_enabled()) {
    Slot* slot = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!closed && !idle.empty()) {
        slot = idle.back();
        idle.pop_back();
      }
    }
    if (slot != nullptr) {
      slot->lane.MaybeReap(clock.MonotonicNow() + parts.options().query_budget);
      std::unique_ptr<Slot> closing;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (closed || !slot->lane.connected()) {
          closing = RemoveLocked(slot);
          if (!closed) LetWaiterOpenLocked();
        } else {
          HandOverLocked(slot);
        }
      }
      if (closing != nullptr) closing->lane.Close(/*report=*/true);
    }
  }

  // Up to min_size.
  for (;;) {
    Slot* slot;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (closed || slots.size() >= static_cast<size_t>(options.min_size)) break;
      slot = NewSlotLocked();
    }
    // One round's refill is short (the next round tries again), so that
    // Close(), which waits for a round in progress, is not held for a whole
    // connect_budget by a server that is down.
    const absl::Duration budget =
        std::min(parts.options().connect_budget,
                 options.keepalive_interval + parts.options().connect_timeout);
    const absl::Status s = slot->lane.Connect(clock.MonotonicNow() + budget);
    std::unique_ptr<Slot> closing;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!s.ok() || closed) {
        closing = RemoveLocked(slot);
        if (!closed) LetWaiterOpenLocked();
      } else {
        HandOverLocked(slot);
      }
    }
    if (closing != nullptr) closing->lane.Close(/*report=*/s.ok());
    if (!s.ok()) {
      if (first_error.ok()) first_error = s;
      break;
    }
  }
  return first_error;
}

void PoolImpl::State::RunMaintenance() {
  const int64_t interval_ns = absl::ToInt64Nanoseconds(options.keepalive_interval);
  const int64_t threshold_ns = absl::ToInt64Nanoseconds(options.leak_threshold);
  std::unique_lock<std::mutex> lock(mu);
  bool run_round = true;
  while (!stop) {
    if (run_round) {
      lock.unlock();
      (void)Maintain();  // its errors are events already; the next round tries again
      lock.lock();
      if (stop) break;
    }
    // Sleep until the next idle lease is due or a borrow turns into a leak,
    // at most keepalive_interval; a slot that becomes idle meanwhile
    // (HandOverLocked) wakes the thread to recompute this.
    const int64_t now_ns = clock.MonotonicNanos();
    int64_t wait_ns = interval_ns;
    for (Slot* slot : idle) {
      const Connection* conn = slot->lane.connection();
      if (conn != nullptr && conn->renew_at_ns() != Connection::kNever) {
        wait_ns = std::min(wait_ns, conn->renew_at_ns() - now_ns);
      }
    }
    if (threshold_ns > 0) {
      for (const std::unique_ptr<Slot>& slot : slots) {
        if (slot->borrowed && !slot->leak_reported) {
          wait_ns = std::min(wait_ns, slot->borrowed_at_ns + threshold_ns - now_ns);
        }
      }
    }
    if (wait_ns <= 0 && !run_round) {
      run_round = true;  // something is due now
      continue;
    }
    reschedule = false;
    wait_ns = std::max(wait_ns, kMinWaitNs);
    planned_wake_ns = now_ns + wait_ns;
    const bool woken = wake.wait_for(lock, std::chrono::nanoseconds(wait_ns),
                                     [&] { return stop || reschedule; });
    planned_wake_ns = std::numeric_limits<int64_t>::max();
    // Timed out: a round. Woken by a slot become idle: recompute the wait.
    run_round = !woken;
  }
}

PoolMetrics PoolImpl::State::MetricsNow() const {
  std::lock_guard<std::mutex> lock(mu);
  PoolMetrics m = counters;
  m.size = static_cast<int64_t>(slots.size());
  m.idle = static_cast<int64_t>(idle.size());
  m.in_use = in_use;
  m.waiting = static_cast<int64_t>(waiters.size());
  return m;
}

namespace {

// A lane lent to a PooledConnection; given back when destroyed.
class BorrowedLane final : public PooledConnection::Borrowed {
 public:
  BorrowedLane(std::shared_ptr<PoolImpl::State> state, PoolImpl::State::Slot* slot)
      : state_(std::move(state)), slot_(slot) {}
  ~BorrowedLane() override { state_->Return(slot_); }

  absl::StatusOr<QueryResult> Query(absl::string_view sql, absl::Span<const Param> params,
                                    const QueryOptions& options) override {
    if (absl::Status s = NotInCallback(); !s.ok()) return s;
    return slot_->lane.Query(sql, params, options);
  }
  absl::Status RunTransaction(const TransactionBody& body,
                              const TransactionOptions& options) override {
    if (absl::Status s = NotInCallback(); !s.ok()) return s;
    return slot_->lane.RunTransaction(body, options, &callback_thread_);
  }
  absl::Status WithConnection(const ConnectionFn& fn) override {
    if (absl::Status s = NotInCallback(); !s.ok()) return s;
    return slot_->lane.WithConnection(fn, &callback_thread_);
  }
  bool connected() const override { return slot_->lane.connected(); }
  std::string application_name() const override { return slot_->lane.lease(); }

 private:
  // A call on this handle from inside its own RunTransaction body or
  // WithConnection callback would run on the connection the callback holds
  // (and could close it under it): refused, as ConnectionManager does.
  absl::Status NotInCallback() const {
    if (callback_thread_.load() == std::this_thread::get_id()) {
      return absl::FailedPreconditionError(
          "called from inside a RunTransaction body or a WithConnection callback of the same "
          "PooledConnection; use what it was given");
    }
    return absl::OkStatus();
  }

  std::shared_ptr<PoolImpl::State> state_;
  PoolImpl::State::Slot* slot_;
  std::atomic<std::thread::id> callback_thread_{};
};

// Gives a slot borrowed for one call back at the end of the scope.
class ScopedSlot {
 public:
  ScopedSlot(PoolImpl::State& state, PoolImpl::State::Slot* slot) : state_(state), slot_(slot) {}
  ~ScopedSlot() { state_.Return(slot_); }
  ScopedSlot(const ScopedSlot&) = delete;
  ScopedSlot& operator=(const ScopedSlot&) = delete;
  Lane& lane() { return slot_->lane; }

 private:
  PoolImpl::State& state_;
  PoolImpl::State::Slot* slot_;
};

// A slot borrowed for one call (the caller gives it back, with a
// ScopedSlot), and what is left of the call's timeout (its own, else
// query_budget) after the wait for it; the wait itself is at most
// acquire_timeout. `what` names the option in an error.
struct CallBorrow {
  PoolImpl::State::Slot* slot;
  // The call's timeout less the wait; unset when it did not wait, so that
  // the call's options pass on unchanged (and uncopied).
  std::optional<absl::Duration> left;
};
absl::StatusOr<CallBorrow> BorrowForCall(PoolImpl::State& state, absl::Duration own,
                                         absl::string_view what) {
  if (ABSL_PREDICT_FALSE(own < absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": must be >= 0, got ", absl::FormatDuration(own)));
  }
  const absl::Duration timeout =
      own > absl::ZeroDuration() ? own : state.parts.options().query_budget;
  int64_t waited_ns = 0;
  absl::StatusOr<PoolImpl::State::Slot*> slot =
      state.Borrow(std::min(timeout, state.options.acquire_timeout), &waited_ns);
  if (!slot.ok()) return slot.status();
  if (ABSL_PREDICT_TRUE(waited_ns == 0)) return CallBorrow{*slot, std::nullopt};
  const absl::Duration left = timeout - absl::Nanoseconds(waited_ns);
  if (left <= absl::ZeroDuration()) {
    state.Return(*slot);
    return absl::DeadlineExceededError(absl::StrCat(
        "pool: the call's timeout (", absl::FormatDuration(timeout),
        ") passed while it waited for a connection; nothing was sent"));
  }
  return CallBorrow{*slot, left};
}

}  // namespace

PoolImpl::PoolImpl(ManagerParts parts, PoolOptions options)
    : state_(std::make_shared<State>(std::move(parts), std::move(options))) {
  state_->Start();
}

PoolImpl::~PoolImpl() {
  (void)state_->Close(kCloseInDestructor);
  // A maintenance round still running (Close() does not wait past its
  // timeout) is waited for here: a thread must not outlive the pool into the
  // process's exit, where the signer's library tears its state down. A
  // round is bounded (keepalive_interval + connect_timeout at most).
  if (state_->maintenance.joinable() &&
      state_->maintenance.get_id() != std::this_thread::get_id()) {
    state_->maintenance.join();
  }
}

absl::StatusOr<PooledConnection> PoolImpl::Acquire() {
  return Acquire(state_->options.acquire_timeout);
}

absl::StatusOr<PooledConnection> PoolImpl::Acquire(absl::Duration timeout) {
  if (timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Acquire: timeout must be >= 0, got ", absl::FormatDuration(timeout)));
  }
  absl::StatusOr<State::Slot*> slot = state_->Borrow(timeout);
  if (!slot.ok()) return slot.status();
  return PooledConnection(std::make_unique<BorrowedLane>(state_, *slot));
}

namespace {

// Whether `sql` may ride in a batch: one statement that reads, by its first
// word (SELECT, WITH, VALUES or TABLE, in any case, after white space).
// Anything that could change what the statements after it in the batch see
// (BEGIN, SET, a transaction's end) runs on its own.
bool Batchable(absl::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && absl::ascii_isspace(static_cast<unsigned char>(sql[i]))) ++i;
  size_t end = i;
  while (end < sql.size() && absl::ascii_isalpha(static_cast<unsigned char>(sql[end]))) ++end;
  if (end < sql.size() && (absl::ascii_isalnum(static_cast<unsigned char>(sql[end])) ||
                           sql[end] == '_' || sql[end] == '$')) {
    return false;
  }
  const absl::string_view word = sql.substr(i, end - i);
  return absl::EqualsIgnoreCase(word, "select") || absl::EqualsIgnoreCase(word, "with") ||
         absl::EqualsIgnoreCase(word, "values") || absl::EqualsIgnoreCase(word, "table");
}

}  // namespace

absl::StatusOr<QueryResult> PoolImpl::Query(absl::string_view sql, absl::Span<const Param> params,
                                            const QueryOptions& options) {
  if (options.idempotent && state_->options.max_batch > 1 && Batchable(sql)) {
    return BatchedQuery(sql, params, options);
  }
  return UnbatchedQuery(sql, params, options);
}

// A read the caller declared idempotent: when it must wait for a connection,
// it may ride in the pipeline of the call served before it, one round trip
// for several calls (PoolOptions::max_batch). Its events are reported here,
// on the calling thread, as Lane::Query would. When its statement failed in
// the batch, or the batch could not run, it runs once more on its own,
// which the caller allowed by declaring it idempotent: the errors, retries
// and events are then exactly those of an unbatched call.
absl::StatusOr<QueryResult> PoolImpl::BatchedQuery(absl::string_view sql,
                                                   absl::Span<const Param> params,
                                                   const QueryOptions& options) {
  State& state = *state_;
  if (options.timeout < absl::ZeroDuration()) return UnbatchedQuery(sql, params, options);
  const absl::Duration timeout =
      options.timeout > absl::ZeroDuration() ? options.timeout : state.parts.options().query_budget;
  const int64_t start_ns = state.clock.MonotonicNanos();
  State::BatchRequest request;
  const std::string text(sql);
  StatementParams arrays;
  if (absl::Status s = arrays.Set(params); !s.ok()) return s;
  request.statement.text = text.c_str();
  arrays.Into(request.statement);
  request.deadline_ns = start_ns + std::min(absl::ToInt64Nanoseconds(timeout),
                                            std::numeric_limits<int64_t>::max() - start_ns);

  // What is left of the call's timeout now, for a run on its own; nothing
  // left: DeadlineExceeded.
  auto remaining = [&]() -> absl::StatusOr<QueryOptions> {
    const absl::Duration left =
        timeout - absl::Nanoseconds(state.clock.MonotonicNanos() - start_ns);
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "pool: the call's timeout (", absl::FormatDuration(timeout),
          ") passed while it waited for a connection; its statement did not run"));
    }
    QueryOptions own = options;
    own.timeout = left;
    return own;
  };
  auto on_its_own = [&](Lane* lane) -> absl::StatusOr<QueryResult> {
    absl::StatusOr<QueryOptions> left = remaining();
    if (!left.ok()) return left.status();
    if (lane != nullptr) return lane->Query(sql, params, *left);
    return UnbatchedQuery(sql, params, *left);
  };

  std::vector<State::Waiter*> riders;
  int64_t waited_ns = 0;
  absl::StatusOr<State::Slot*> slot =
      state.Borrow(std::min(timeout, state.options.acquire_timeout), &waited_ns, &request, &riders);
  if (!slot.ok()) return slot.status();
  pg::Reply reply;
  if (*slot == nullptr) {
    // It rode in another call's batch.
    if (!request.ran) return on_its_own(nullptr);  // which could not run
    reply = std::move(request.reply);
  } else {
    ScopedSlot scoped(state, *slot);
    if (riders.empty()) {
      // Alone: the ordinary path, with what the wait left of its timeout.
      if (waited_ns == 0) return scoped.lane().Query(sql, params, options);
      return on_its_own(&scoped.lane());
    }
    std::vector<pg::Statement> statements;
    statements.reserve(riders.size() + 1);
    statements.push_back(request.statement);
    int64_t earliest_ns = request.deadline_ns;
    for (State::Waiter* rider : riders) {
      statements.push_back(rider->request->statement);
      earliest_ns = std::min(earliest_ns, rider->request->deadline_ns);
    }
    const pg::Deadline deadline(state.clock, absl::FromUnixNanos(earliest_ns),
                                state.parts.options().cancel_timeout);
    // (Written before the riders read it: FinishBatch() hands it over under
    // the pool's lock.)
    request.sent_ns = state.clock.MonotonicNanos();
    for (State::Waiter* rider : riders) rider->request->sent_ns = request.sent_ns;
    std::vector<pg::Reply> replies;
    const bool ran = scoped.lane().RunBatch(statements, deadline, &replies);
    state.FinishBatch(riders, ran, replies);
    if (!ran) return on_its_own(&scoped.lane());
    reply = std::move(replies[0]);
  }
  if (reply.result == nullptr || !Succeeded(reply.result.get())) {
    // Reported as a retry (by its SQLSTATE, if any); then the call runs as
    // if it had never been batched.
    {
      const CallLabel label(options.label);
      const char* sqlstate = reply.result != nullptr
                                 ? PQresultErrorField(reply.result.get(), PG_DIAG_SQLSTATE)
                                 : nullptr;
      state.parts.events.Retry(2, absl::ZeroDuration(),
                               "its statement failed in a batch: it runs again on its own",
                               sqlstate != nullptr ? sqlstate : "");
    }
    return on_its_own(nullptr);
  }
  const CallLabel label(options.label);
  state.parts.events.QueryStart(sql);
  QueryResult rows(reply.result.release());
  state.parts.events.QueryEnd(sql, state.clock.MonotonicNanos() - request.sent_ns, /*attempt=*/1,
                              rows);
  return rows;
}

absl::StatusOr<QueryResult> PoolImpl::UnbatchedQuery(absl::string_view sql,
                                                     absl::Span<const Param> params,
                                                     const QueryOptions& options) {
  absl::StatusOr<CallBorrow> borrow = BorrowForCall(*state_, options.timeout, "QueryOptions.timeout");
  if (!borrow.ok()) return borrow.status();
  ScopedSlot scoped(*state_, borrow->slot);
  if (ABSL_PREDICT_TRUE(!borrow->left.has_value())) {
    return scoped.lane().Query(sql, params, options);
  }
  QueryOptions own = options;
  own.timeout = *borrow->left;
  return scoped.lane().Query(sql, params, own);
}

absl::Status PoolImpl::RunTransaction(const TransactionBody& body,
                                      const TransactionOptions& options) {
  absl::StatusOr<CallBorrow> borrow =
      BorrowForCall(*state_, options.timeout, "TransactionOptions.timeout");
  if (!borrow.ok()) return borrow.status();
  ScopedSlot scoped(*state_, borrow->slot);
  if (!borrow->left.has_value()) {
    return scoped.lane().RunTransaction(body, options, /*body_thread=*/nullptr);
  }
  TransactionOptions own = options;
  own.timeout = *borrow->left;
  return scoped.lane().RunTransaction(body, own, /*body_thread=*/nullptr);
}

absl::StatusOr<ReapReport> PoolImpl::RunReaperPass(bool dry_run) {
  absl::StatusOr<State::Slot*> slot = state_->Borrow(state_->options.acquire_timeout);
  if (!slot.ok()) return slot.status();
  ScopedSlot scoped(*state_, *slot);
  return scoped.lane().RunReaperPass(dry_run);
}

absl::Status PoolImpl::Close(absl::Duration timeout) { return state_->Close(timeout); }

absl::Status PoolImpl::Flush(absl::Duration timeout) {
  return state_->parts.bus.FinishFlush(state_->parts.bus.StartFlush(timeout));
}

absl::Status PoolImpl::Maintain() { return state_->Maintain(); }

PoolStats PoolImpl::stats() const {
  const PoolMetrics m = state_->MetricsNow();
  PoolStats s;
  s.size = static_cast<int>(m.size);
  s.idle = static_cast<int>(m.idle);
  s.in_use = static_cast<int>(m.in_use);
  s.waiting = static_cast<int>(m.waiting);
  s.acquired = m.acquired;
  s.acquire_timeouts = m.acquire_timeouts;
  s.leaks = m.leaks;
  s.recycled = m.recycled;
  s.dead_dropped = m.dead_dropped;
  s.idle_renewals = m.idle_renewals;
  s.idle_renewal_failures = m.idle_renewal_failures;
  s.batched = m.batched;
  return s;
}

MetricsSnapshot PoolImpl::metrics() const { return state_->parts.bus.metrics(); }
std::string PoolImpl::service() const { return state_->parts.service(); }
std::string PoolImpl::instance() const { return state_->parts.instance(); }
bool PoolImpl::leases_enabled() const { return state_->parts.leases_enabled(); }

}  // namespace aequor
