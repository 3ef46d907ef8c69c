// core/manager.h (internal): the ConnectionManager implementation, made by
// ConnectionManagerBuilder::Build() (composition/builder.cc) from validated
// parts. It keeps the loop of each call; the work is done by its parts:
//
//   Connection         the libpq connection, its lease, the thaw check
//   LeaseKeeper        what is due of the lease; renewal, alone or pipelined
//   ReaperRunner       the scheduler's passes, the emergency and manual ones
//   ServerView         what the server told in passing (usage, clock offset)
//   TransactionRunner  one attempt at a transaction; the xid lookup
//   Backoff            the waits between attempts
//   EventEmitter       every event, typed
//
// One call, under one lock (docs/ARCHITECTURE.md follows it step by step):
//   1. Ready? (connected, used recently, lease not due): send at once.
//   2. Else prepare: on a warm invocation the thaw check, then the
//      scheduler; connect if needed (retrying within connect_budget, the
//      emergency pass on a full database, the connect-time probe and pass);
//      renew the lease alone if it is about to run out. Preparation returns
//      a live connection or an error.
//   3. Send, with the lease renewal pipelined before it when it is due.
//   4. On failure, Classify(): retry (after a backoff) only what provably
//      did not run or is idempotent; otherwise the error, or "outcome
//      unknown" for a write that may have happened.
//
// Thread-safety: every public method takes mu_, so calls are serialised.
#ifndef AEQUOR_CORE_MANAGER_H_
#define AEQUOR_CORE_MANAGER_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/connection_manager.h"
#include "core/backoff.h"
#include "core/connection.h"
#include "core/event_bus.h"
#include "core/event_emitter.h"
#include "core/lease_keeper.h"
#include "core/reaper_runner.h"
#include "core/server_view.h"
#include "core/transaction_runner.h"

namespace aequor {

// Everything a manager is made of, checked by the builder.
struct ManagerParts {
  ManagerOptions options;
  std::string service;                        // normalised
  std::string instance;                       // base64url id
  std::shared_ptr<const LeaseSigner> signer;  // null: leases off
  std::unique_ptr<ReaperScheduler> scheduler;
  std::shared_ptr<const RetryPolicy> retry_policy;
  std::vector<std::unique_ptr<HookExporter>> exporters;
  Clock* clock = nullptr;
  std::unique_ptr<Random> random;
  std::shared_ptr<const Registry> registry;
  // The startup `options` (server backstops merged with the user's).
  std::string startup_options;
};

class Manager final : public ConnectionManager {
 public:
  explicit Manager(ManagerParts parts);
  ~Manager() override;

  absl::Status Connect() override;
  absl::StatusOr<QueryResult> Query(absl::string_view sql, absl::Span<const Param> params,
                                    const QueryOptions& options) override;
  void Close() override;
  absl::Status Flush(absl::Duration timeout) override;
  absl::StatusOr<ReapReport> RunReaperPass(bool dry_run) override;
  absl::Status RunTransaction(const TransactionBody& body,
                              const TransactionOptions& options) override;

  bool connected() const override;
  std::string service() const override { return parts_.service; }
  std::string instance() const override { return parts_.instance; }
  std::string application_name() const override;
  bool leases_enabled() const override { return parts_.signer != nullptr; }
  MetricsSnapshot metrics() const override { return bus_.metrics(); }

 private:
  // A connection readied for the caller's next round trip.
  struct Ready {
    Connection* conn;
    bool renew_in_pipeline;  // send the lease renewal with the statement
  };
  // What a failed statement left behind.
  struct StatementFailure {
    FailureFacts facts;
    std::string sqlstate;
    std::string message;  // the server's primary message, else libpq's
  };

  // True when a first attempt at monotonic `now_ns` may go straight to the
  // server: connected, not idle long enough for a thaw check or the
  // scheduler, lease not yet due.
  bool ReadyLocked(int64_t now_ns) const {
    return conn_ != nullptr && now_ns - conn_->last_used_ns() < quiet_idle_ns_ &&
           now_ns < conn_->renew_at_ns() && conn_->ok();
  }
  // Step 2 above. `now_ns` is monotonic.
  absl::StatusOr<Ready> PrepareLocked(absl::Time deadline, bool first_attempt, int64_t now_ns);
  // A live connection, connecting (with retries) if there is none.
  absl::StatusOr<Connection*> EnsureConnectedLocked(absl::Time deadline);
  // The startup `options` were refused: connect without them from now on,
  // and say so (kDegraded).
  void DropStartupOptionsLocked();
  // One attempt, given `left` of its deadline.
  absl::Status ConnectOnceLocked(int attempt, absl::Duration left);
  // After a failed statement: nullopt to try again (after the backoff),
  // else the caller's error.
  std::optional<absl::Status> AfterStatementFailureLocked(absl::string_view sql,
                                                          const StatementFailure& failure,
                                                          int attempt, int64_t start_ns,
                                                          Backoff& backoff);
  // A transaction id's fate, looked up on a (new) connection until `deadline`.
  XidFate ResolveXidLocked(const std::string& xid, absl::Time deadline);
  // When a connect inside a call that ends at `call_deadline` must give up:
  // connect_budget from now, or the call's deadline if that comes first.
  absl::Time ConnectDeadline(absl::Time call_deadline) const {
    return std::min(call_deadline, parts_.clock->MonotonicNow() + parts_.options.connect_budget);
  }
  // A call's own timeout, or query_budget when it gives none (zero).
  absl::Duration CallTimeout(absl::Duration own) const {
    return own > absl::ZeroDuration() ? own : parts_.options.query_budget;
  }
  // The deadline of statements sent until monotonic `at`.
  pg::Deadline CallDeadline(absl::Time at) const {
    return pg::Deadline(*parts_.clock, at, parts_.options.cancel_timeout);
  }
  Backoff MakeBackoff(absl::Time deadline, Backoff::Limit limit = Backoff::Limit::kPolicy) {
    return Backoff(*parts_.retry_policy, *parts_.random, *parts_.clock, events_, deadline, limit);
  }
  // FailedPrecondition when called from inside a RunTransaction body (which
  // holds mu_ on this thread: locking again would deadlock).
  absl::Status CheckNotInBody() const;

  ManagerParts parts_;
  // Its startup options are dropped (for good) when refused (a pooler).
  ConnectSpec spec_;
  // min(thaw_check_after, invocation_gap): a first attempt after less idle
  // time than this needs neither a thaw check nor a scheduler call.
  const int64_t quiet_idle_ns_;

  // Emit/StartFlush/Shutdown under mu_; its metrics() and FinishFlush() are
  // thread-safe (core/event_bus.h).
  EventBus bus_;
  // The parts; used under mu_ only.
  EventEmitter events_;
  ServerView server_;
  LeaseKeeper leases_;
  ReaperRunner reaper_;
  TransactionRunner transactions_;

  // Guards everything below and every use of the parts (a std::mutex:
  // uncontended it costs a fraction of absl::Mutex here, and
  // ThreadSanitizer understands it).
  mutable std::mutex mu_;
  std::unique_ptr<Connection> conn_;  // null: not connected
  int64_t connects_ = 0;
  // The thread running a RunTransaction body, if any.
  std::atomic<std::thread::id> body_thread_{};
};

}  // namespace aequor

#endif  // AEQUOR_CORE_MANAGER_H_
