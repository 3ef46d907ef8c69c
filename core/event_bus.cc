#include "core/event_bus.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace aequor {
namespace {

using SteadyClock = std::chrono::steady_clock;

absl::Duration Remaining(SteadyClock::time_point deadline) {
  auto left = deadline - SteadyClock::now();
  if (left <= SteadyClock::duration::zero()) return absl::ZeroDuration();
  return absl::FromChrono(std::chrono::duration_cast<std::chrono::nanoseconds>(left));
}

SteadyClock::time_point DeadlineAfter(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return SteadyClock::now();
  // Cap absurd timeouts (InfiniteDuration) so that the addition cannot overflow.
  timeout = std::min(timeout, absl::Hours(24 * 365));
  return SteadyClock::now() + absl::ToChronoNanoseconds(timeout);
}

}  // namespace

// Everything the dispatcher thread touches. Shared, so that a dispatcher
// abandoned in a blocked exporter at shutdown keeps it alive.
struct EventBus::State {
  explicit State(EventBusOptions o)
      : options(o), wake_at(std::max<size_t>(1, o.queue_capacity / 2)) {}

  const EventBusOptions options;
  const size_t wake_at;  // pending events that wake the dispatcher at once
  Metrics metrics;

  // Set before the dispatcher starts; then its own.
  std::vector<std::unique_ptr<HookExporter>> queued;
  std::vector<bool> wants_events;
  std::vector<int> index;  // position among all the manager's exporters
  std::vector<Event> batch;
  std::atomic<int> busy{-1};  // index of the exporter being called, or -1

  std::mutex mu;
  std::condition_variable wake;  // to the dispatcher
  std::condition_variable done;  // from it
  // Guarded by mu. pending[0, pending_n) are the queued events; the slots
  // beyond are kept to be assigned again (their strings keep their memory).
  std::vector<Event> pending;
  size_t pending_n = 0;
  uint64_t flush_requested = 0;
  uint64_t flush_done = 0;
  MetricsSnapshot flush_metrics;
  SteadyClock::time_point flush_deadline;
  absl::Status flush_status;
  bool stop = false;
  SteadyClock::time_point stop_deadline;
  MetricsSnapshot stop_metrics;
  bool stopped = false;
};

namespace {

// Calls `fn` on `exporter`, counting a throw as a failure.
template <typename Fn>
void Guarded(Metrics& metrics, Fn&& fn) {
  try {
    fn();
  } catch (...) {
    metrics.AddExporterFailures(1);
  }
}

// ExportMetrics() then Flush() or Shutdown(), counting failures. Returns
// the status of the call.
absl::Status FlushOne(Metrics& metrics, HookExporter& exporter, const MetricsSnapshot& snapshot,
                      absl::Duration timeout, bool shutdown) {
  Guarded(metrics, [&] { exporter.ExportMetrics(snapshot); });
  absl::Status s;
  try {
    s = shutdown ? exporter.Shutdown(timeout) : exporter.Flush(timeout);
  } catch (...) {
    s = absl::InternalError(
        absl::StrCat("a hook exporter threw from ", shutdown ? "Shutdown()" : "Flush()"));
  }
  if (!s.ok()) metrics.AddExporterFailures(1);
  return s;
}

}  // namespace

EventBus::EventBus(std::vector<std::unique_ptr<HookExporter>> exporters, EventBusOptions options)
    : state_(std::make_shared<State>(options)), metrics_(&state_->metrics) {
  observed_ = !exporters.empty();
  for (size_t i = 0; i < exporters.size(); ++i) {
    std::unique_ptr<HookExporter>& e = exporters[i];
    using Delivery = HookExporter::Delivery;
    Delivery delivery = Delivery::kSynchronous;
    try {
      delivery = e->delivery();
    } catch (...) {
      state_->metrics.AddExporterFailures(1);
    }
    switch (delivery) {
      case Delivery::kOnFlushOnly: flushed_here_.push_back(std::move(e)); break;
      case Delivery::kSynchronous: sync_.push_back(std::move(e)); break;
      case Delivery::kQueued:
      case Delivery::kQueuedMetricsOnly:
      default: {
        const bool wants_events = delivery != Delivery::kQueuedMetricsOnly;
        state_->queued.push_back(std::move(e));
        state_->wants_events.push_back(wants_events);
        state_->index.push_back(static_cast<int>(i));
        queue_events_ = queue_events_ || wants_events;
        break;
      }
    }
  }
  streaming_ = !sync_.empty() || queue_events_;
  if (state_->queued.empty()) return;
  try {
    dispatcher_ = std::thread(&EventBus::Run, state_);
    if (queue_events_) state_->metrics.EnableQueueDepth();
  } catch (const std::system_error&) {
    // No thread to be had: deliver on the caller's thread rather than never.
    for (size_t i = 0; i < state_->queued.size(); ++i) {
      (state_->wants_events[i] ? sync_ : flushed_here_).push_back(std::move(state_->queued[i]));
    }
    state_->queued.clear();
    state_->wants_events.clear();
    state_->index.clear();
    queue_events_ = false;
    streaming_ = !sync_.empty();
  }
}

EventBus::~EventBus() { Shutdown(absl::Seconds(1)); }

void EventBus::Emit(const Event& event) {
  std::lock_guard<std::mutex> lock(emit_mu_);
  if (shut_down_) return;
  state_->metrics.Record(event);
  for (const std::unique_ptr<HookExporter>& exporter : sync_) {
    Guarded(state_->metrics, [&] { exporter->Export(absl::MakeConstSpan(&event, 1)); });
  }
  if (queue_events_) Enqueue(event);
}

void EventBus::Enqueue(const Event& event) {
  State& s = *state_;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.pending_n >= s.options.queue_capacity) {
      s.metrics.AddDropped(1);
      return;
    }
    if (s.pending_n < s.pending.size()) {
      s.pending[s.pending_n] = event;
    } else {
      s.pending.push_back(event);
    }
    wake = ++s.pending_n == s.wake_at;
    s.metrics.SetQueueDepth(static_cast<int64_t>(s.pending_n));
  }
  if (wake) s.wake.notify_one();
}

void EventBus::Run(std::shared_ptr<State> state) {
  State& s = *state;
  const auto interval = absl::ToChronoNanoseconds(s.options.interval);
  auto next_metrics = SteadyClock::now() + interval;
  std::unique_lock<std::mutex> lock(s.mu);
  for (;;) {
    s.wake.wait_until(lock, next_metrics, [&] {
      return s.stop || s.pending_n >= s.wake_at || s.flush_requested != s.flush_done;
    });
    std::swap(s.pending, s.batch);
    const size_t n = s.pending_n;
    s.pending_n = 0;
    s.metrics.SetQueueDepth(0);
    const bool stopping = s.stop;
    const uint64_t flush_generation = s.flush_requested;
    const bool flushing = flush_generation != s.flush_done;
    MetricsSnapshot snapshot;
    SteadyClock::time_point deadline;
    if (stopping) {
      snapshot = s.stop_metrics;
      deadline = s.stop_deadline;
    } else if (flushing) {
      snapshot = s.flush_metrics;
      deadline = s.flush_deadline;
    }
    lock.unlock();

    if (n > 0) {
      const absl::Span<const Event> batch(s.batch.data(), n);
      for (size_t i = 0; i < s.queued.size(); ++i) {
        if (!s.wants_events[i]) continue;
        s.busy.store(s.index[i]);
        Guarded(s.metrics, [&] { s.queued[i]->Export(batch); });
      }
    }
    absl::Status status;
    if (stopping || flushing) {
      for (size_t i = 0; i < s.queued.size(); ++i) {
        s.busy.store(s.index[i]);
        absl::Status one =
            FlushOne(s.metrics, *s.queued[i], snapshot, Remaining(deadline), stopping);
        if (status.ok()) status = one;
      }
      next_metrics = SteadyClock::now() + interval;
    } else if (SteadyClock::now() >= next_metrics) {
      const MetricsSnapshot fresh = s.metrics.Snapshot();
      for (size_t i = 0; i < s.queued.size(); ++i) {
        s.busy.store(s.index[i]);
        Guarded(s.metrics, [&] { s.queued[i]->ExportMetrics(fresh); });
      }
      next_metrics = SteadyClock::now() + interval;
    }
    s.busy.store(-1);

    lock.lock();
    if (flushing || stopping) {
      s.flush_done = flush_generation;
      s.flush_status = status;
    }
    if (stopping) {
      s.stopped = true;
      s.done.notify_all();
      return;
    }
    if (flushing) s.done.notify_all();
  }
}

EventBus::FlushTicket EventBus::StartFlush(absl::Duration timeout) {
  FlushTicket ticket;
  ticket.timeout = timeout;
  ticket.deadline = DeadlineAfter(timeout);
  std::lock_guard<std::mutex> emit_lock(emit_mu_);
  if (shut_down_) return ticket;
  MetricsSnapshot snapshot = state_->metrics.Snapshot();
  for (const std::unique_ptr<HookExporter>& exporter : sync_) {
    absl::Status s = FlushOne(state_->metrics, *exporter, snapshot, timeout, /*shutdown=*/false);
    if (ticket.sync_status.ok()) ticket.sync_status = s;
  }
  ticket.flush_here = !flushed_here_.empty();
  if (!dispatcher_.joinable()) {
    if (ticket.flush_here) ticket.metrics = std::move(snapshot);
    return ticket;
  }
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ticket.generation = ++s.flush_requested;
    s.flush_metrics = snapshot;
    s.flush_deadline = ticket.deadline;
  }
  s.wake.notify_one();
  if (ticket.flush_here) ticket.metrics = std::move(snapshot);
  return ticket;
}

absl::Status EventBus::FinishFlush(const FlushTicket& ticket) {
  absl::Status here;
  if (ticket.flush_here) {
    std::lock_guard<std::mutex> lock(flush_mu_);
    for (size_t i = 0; i < flushed_here_.size() && !flushed_here_shut_down_; ++i) {
      const std::unique_ptr<HookExporter>& exporter = flushed_here_[i];
      absl::Status one = FlushOne(state_->metrics, *exporter, ticket.metrics,
                                  Remaining(ticket.deadline), /*shutdown=*/false);
      if (here.ok()) here = one;
    }
  }
  absl::Status status = ticket.sync_status.ok() ? here : ticket.sync_status;
  if (ticket.generation == 0) return status;
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  const bool finished = s.done.wait_until(
      lock, ticket.deadline, [&] { return s.flush_done >= ticket.generation || s.stopped; });
  if (!finished) {
    const int busy = s.busy.load();
    return absl::DeadlineExceededError(absl::StrCat(
        "flush: the exporters did not finish within ", absl::FormatDuration(ticket.timeout),
        busy >= 0 ? absl::StrCat(" (exporter #", busy, " is still busy)") : std::string(),
        "; queries are unaffected"));
  }
  return status.ok() ? s.flush_status : status;
}

void EventBus::Shutdown(absl::Duration timeout) {
  const SteadyClock::time_point deadline = DeadlineAfter(timeout);
  MetricsSnapshot snapshot;
  {
    std::lock_guard<std::mutex> lock(emit_mu_);
    if (shut_down_) return;
    shut_down_ = true;
    snapshot = state_->metrics.Snapshot();
    for (const std::unique_ptr<HookExporter>& exporter : sync_) {
      (void)FlushOne(state_->metrics, *exporter, snapshot, timeout, /*shutdown=*/true);
    }
  }
  {
    std::lock_guard<std::mutex> lock(flush_mu_);
    flushed_here_shut_down_ = true;
    for (const std::unique_ptr<HookExporter>& exporter : flushed_here_) {
      (void)FlushOne(state_->metrics, *exporter, snapshot, Remaining(deadline), /*shutdown=*/true);
    }
  }
  if (!dispatcher_.joinable()) return;
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.stop = true;
    s.stop_deadline = deadline;
    s.stop_metrics = snapshot;
  }
  s.wake.notify_one();
  bool stopped;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    stopped = s.done.wait_until(lock, deadline, [&] { return s.stopped; });
  }
  if (stopped) {
    dispatcher_.join();
  } else {
    dispatcher_.detach();  // blocked in an exporter; `state` lives on with it
  }
}

MetricsSnapshot EventBus::metrics() const { return state_->metrics.Snapshot(); }

int64_t EventBus::exporter_failures() const { return state_->metrics.Snapshot().exporter_failures; }

int64_t EventBus::events_dropped() const { return state_->metrics.Snapshot().events_dropped; }

}  // namespace aequor
