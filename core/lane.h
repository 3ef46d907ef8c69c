// core/lane.h (internal): one connection slot and the loop of each call on
// it, and the parts that every lane of a manager or a pool shares.
//
// A ConnectionManager (core/manager.h) is one lane behind a mutex; a Pool
// (core/pool.h) is several lanes that callers borrow one at a time. Both are
// built by the builder from the same ManagerParts, so a pooled call runs
// exactly the serverless call's steps:
//
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
//   LaneParts parts(std::move(manager_parts));
//   Lane lane(parts);
//   absl::StatusOr<QueryResult> r = lane.Query("SELECT 1", {}, QueryOptions());
//
// Thread-safety: LaneParts is thread-safe (each of its parts is). A Lane is
// not: one thread at a time uses it (the manager's lock, a pool's borrow).
#ifndef AEQUOR_CORE_LANE_H_
#define AEQUOR_CORE_LANE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "api/connection_manager.h"
#include "core/backoff.h"
#include "core/classify.h"
#include "core/connection.h"
#include "core/event_bus.h"
#include "core/event_emitter.h"
#include "core/metrics.h"
#include "core/lease_keeper.h"
#include "core/reaper_runner.h"
#include "core/server_view.h"
#include "core/transaction_runner.h"

namespace aequor {

// Everything a manager or a pool is made of, checked by the builder.
struct ManagerParts {
  ManagerOptions options;
  std::string service;                        // normalised
  std::string instance;                       // base64url id
  std::shared_ptr<const LeaseSigner> signer;  // null: leases off
  std::unique_ptr<ReaperScheduler> scheduler;
  std::shared_ptr<const RetryPolicy> retry_policy;
  std::vector<std::unique_ptr<HookExporter>> exporters;
  Clock* clock = nullptr;
  std::unique_ptr<Random> random;  // thread-safe (a SynchronizedRandom)
  std::shared_ptr<const Registry> registry;
  // The startup `options` (server backstops merged with the user's).
  std::string startup_options;
};

// The parts every lane of one manager or pool shares: one event bus (one
// set of exporters), one view of the server, one reaper schedule whose
// passes never overlap, one lease signer. Thread-safe.
class LaneParts {
 private:
  ManagerParts parts_;  // first: every member below is made from it

 public:
  explicit LaneParts(ManagerParts parts);
  // Shuts the exporters down (1 s).
  ~LaneParts();

  LaneParts(const LaneParts&) = delete;
  LaneParts& operator=(const LaneParts&) = delete;

  const ManagerOptions& options() const { return parts_.options; }
  const std::string& service() const { return parts_.service; }
  const std::string& instance() const { return parts_.instance; }
  bool leases_enabled() const { return parts_.signer != nullptr; }
  Clock& clock() const { return *parts_.clock; }
  Random& random() const { return *parts_.random; }
  const RetryPolicy& retry_policy() const { return *parts_.retry_policy; }

  // What the next connection is opened with (a copy: the startup options
  // may be dropped meanwhile by another lane).
  ConnectSpec spec() const;
  // The startup `options` were refused: connections are opened without
  // them from now on, said once (kDegraded).
  void DropStartupOptions();
  // Counts a connection opened; true for the first one of the manager or
  // pool (a kConnect event rather than kReconnect).
  bool CountConnect() { return connects_.fetch_add(1) == 0; }

  // min(thaw_check_after, invocation_gap): a first attempt after less idle
  // time than this needs neither a thaw check nor a scheduler call.
  const int64_t quiet_idle_ns;

  // The parts themselves; each is thread-safe.
  EventBus bus;
  EventEmitter events;
  ServerView server;
  LeaseKeeper leases;
  ReaperRunner reaper;
  TransactionRunner transactions;

 private:
  mutable std::mutex spec_mu_;
  ConnectSpec spec_;  // guarded by spec_mu_
  std::atomic<int64_t> connects_{0};
};

class Lane {
 public:
  explicit Lane(LaneParts& parts) : parts_(parts) {}
  // Closes the connection without an event.
  ~Lane() = default;

  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // A live connection by `deadline`, connecting (with retries) if there is
  // none.
  absl::Status Connect(absl::Time deadline) {
    const PublishOnReturn publish(*this);
    return EnsureConnected(deadline).status();
  }

  // ConnectionManager::Query, RunTransaction and RunReaperPass on this lane
  // (api/connection_manager.h). `body_thread`, if given, holds the id of the
  // thread running the body while it runs (the manager refuses calls from
  // inside a body with it).
  absl::StatusOr<QueryResult> Query(absl::string_view sql, absl::Span<const Param> params,
                                    const QueryOptions& options);
  absl::Status RunTransaction(const TransactionBody& body, const TransactionOptions& options,
                              std::atomic<std::thread::id>* body_thread);
  absl::StatusOr<ReapReport> RunReaperPass(bool dry_run);
  // Statements of several calls in one round trip on this lane's
  // connection (pg::RunPipeline: each in an implicit transaction of its
  // own), when the connection is ready for a call as it is: connected, used
  // recently enough to need no thaw check, its lease not due, and outside a
  // transaction. False, with nothing sent, otherwise. The calls whose
  // statements these are report their own events and failures (Pool's
  // statement batching, core/pool.cc).
  bool RunBatch(absl::Span<const pg::Statement> statements, const pg::Deadline& deadline,
                std::vector<pg::Reply>* replies);
  // ConnectionManager::WithConnection on this lane.
  absl::Status WithConnection(const ConnectionFn& fn, std::atomic<std::thread::id>* body_thread);

  // Closes the connection, if any; `report`: with a kDisconnect event.
  void Close(bool report);

  bool connected() const { return conn_ != nullptr && conn_->ok(); }
  // The lease the server holds for this lane's connection ("" when none).
  std::string lease() const { return conn_ != nullptr ? conn_->lease() : std::string(); }
  // The connection, or null: a pool's maintenance reads its times.
  const Connection* connection() const { return conn_.get(); }
  // Monotonic nanoseconds when the current connection opened (0: none).
  int64_t opened_at_ns() const { return opened_at_ns_; }

  // For a pool's maintenance, on an idle lane: renews the lease alone if it
  // is due by `now_ns` (LeaseDue not kNothing), by `deadline`. True when it
  // renewed; an error when the renewal failed (the connection is then
  // closed: the next borrower connects with a fresh lease).
  absl::StatusOr<bool> RenewIfDue(int64_t now_ns, absl::Time deadline);
  // For a pool's maintenance, on an idle lane: asks the reaper scheduler
  // (as a warm invocation, ReapTrigger::kInvocation) and runs a pass if it
  // says so, by `deadline`. A pass that lost the connection drops it.
  void MaybeReap(absl::Time deadline);
  // For a pool's maintenance and borrow check: the thaw check on an idle
  // connection. True when it was found dead (and dropped, with a
  // kClientDead event).
  bool DropIfDead();

  // Adds this lane's connection, as of the end of its last call, to `g`
  // (ConnectionGauges: one connected, and its lease's seconds left at
  // monotonic `now_ns` if that is the soonest). Any thread.
  void AddTo(ConnectionGauges& g, int64_t now_ns) const;

 private:
  // What Publish() stores for a lane without a connection.
  static constexpr int64_t kNotConnected = std::numeric_limits<int64_t>::min();
  // Stores, for AddTo() on other threads, whether a connection is open and
  // its lease's monotonic expiry (Connection::kNever with leases off). Every
  // public call ends with it (PublishOnReturn); a relaxed load and, only
  // when something changed, a store.
  void Publish() {
    const int64_t v = conn_ == nullptr ? kNotConnected : conn_->expires_at_ns();
    if (published_.load(std::memory_order_relaxed) != v) {
      published_.store(v, std::memory_order_relaxed);
    }
  }
  class PublishOnReturn {
   public:
    explicit PublishOnReturn(Lane& lane) : lane_(lane) {}
    ~PublishOnReturn() { lane_.Publish(); }
    PublishOnReturn(const PublishOnReturn&) = delete;
    PublishOnReturn& operator=(const PublishOnReturn&) = delete;

   private:
    Lane& lane_;
  };

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
  bool ReadyAt(int64_t now_ns) const {
    return conn_ != nullptr && now_ns - conn_->last_used_ns() < parts_.quiet_idle_ns &&
           now_ns < conn_->renew_at_ns() && conn_->ok();
  }
  // Step 2 above. `now_ns` is monotonic.
  absl::StatusOr<Ready> Prepare(absl::Time deadline, bool first_attempt, int64_t now_ns);
  // A live connection, connecting (with retries) if there is none.
  absl::StatusOr<Connection*> EnsureConnected(absl::Time deadline);
  // One attempt with `spec`, given `left` of its deadline.
  absl::Status ConnectOnce(const ConnectSpec& spec, int attempt, absl::Duration left);
  // After a failed statement: nullopt to try again (after the backoff),
  // else the caller's error.
  std::optional<absl::Status> AfterStatementFailure(absl::string_view sql,
                                                    const StatementFailure& failure, int attempt,
                                                    int64_t start_ns, Backoff& backoff);
  // Runs `statement` for `sql` on `conn` through its statement cache
  // (core/statement_cache.h): by name, prepared with this run, or unnamed;
  // once more unnamed when the server refused a name before running it.
  Execution RunCached(Connection& conn, StatementCache& cache, absl::string_view sql,
                      pg::Statement& statement, bool renew_in_pipeline,
                      PGTransactionStatusType before, const pg::Deadline& deadline);
  // A transaction id's fate, looked up on a (new) connection until `deadline`.
  XidFate ResolveXid(const std::string& xid, absl::Time deadline);
  // When a connect inside a call that ends at `call_deadline` must give up:
  // connect_budget from now, or the call's deadline if that comes first.
  absl::Time ConnectDeadline(absl::Time call_deadline) const {
    return std::min(call_deadline,
                    parts_.clock().MonotonicNow() + parts_.options().connect_budget);
  }
  // A call's own timeout, or query_budget when it gives none (zero).
  absl::Duration CallTimeout(absl::Duration own) const {
    return own > absl::ZeroDuration() ? own : parts_.options().query_budget;
  }
  // The deadline of statements sent until monotonic `at`.
  pg::Deadline CallDeadline(absl::Time at) const {
    return pg::Deadline(parts_.clock(), at, parts_.options().cancel_timeout);
  }
  Backoff MakeBackoff(absl::Time deadline, Backoff::Limit limit = Backoff::Limit::kPolicy) {
    return Backoff(parts_.retry_policy(), parts_.random(), parts_.clock(), parts_.events, deadline,
                   limit);
  }

  LaneParts& parts_;
  std::unique_ptr<Connection> conn_;  // null: not connected
  int64_t opened_at_ns_ = 0;
  std::atomic<int64_t> published_{kNotConnected};  // Publish()
};

}  // namespace aequor

#endif  // AEQUOR_CORE_LANE_H_
