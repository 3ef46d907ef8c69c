// api/pool.h: a pool of leased connections, for long-running services and
// handlers that serve several requests at once.
//
// Every pooled connection carries its own signed lease in application_name,
// as a ConnectionManager's does. While the process lives, a maintenance
// thread renews the leases of idle connections before they run out, so no
// reaper of the fleet ever kills them; when the process is frozen, that
// thread is frozen with it, the leases expire, and the fleet's reaper frees
// the connections. Idle connections of a frozen process are not left
// holding slots of max_connections, which no other pool can promise.
//
//   aequor::PoolOptions pool_options;
//   pool_options.max_size = 8;
//   absl::StatusOr<std::unique_ptr<aequor::Pool>> pool =
//       aequor::ConnectionManagerBuilder::FromEnv()   // the same builder and plugins
//           .SetService("orders-api")
//           .BuildPool(pool_options);
//   if (!pool.ok()) return pool.status();  // names the wrong option
//   // One call, on a connection borrowed for it:
//   absl::StatusOr<aequor::QueryResult> r =
//       (*pool)->Query("SELECT name FROM customers WHERE id = $1", {42});
//   // Several calls on one connection (a temporary table, a session lock):
//   absl::StatusOr<aequor::PooledConnection> c = (*pool)->Acquire();
//   if (!c.ok()) return c.status();  // DeadlineExceeded names size, in use, waiting
//   c->Query("CREATE TEMP TABLE t (id int)");
//   c->Query("INSERT INTO t VALUES (1)");  // the same connection; back when `c` dies
//
// A pooled call runs the manager's steps (api/connection_manager.h): the
// thaw check of a connection idle for longer than thaw_check_after (a dead
// one is replaced without the caller seeing an error), retries by the retry
// policy, transactions run again on a fresh connection, outcome unknown for
// a write that may have happened. The pool shares one event bus (one set of
// exporters: one Prometheus endpoint), one reaper schedule whose passes
// never overlap, and one view of the server among its connections.
//
// Errors: every call returns absl::Status; nothing throws.
//
// Thread-safety: a Pool is safe to call from any number of threads. A
// PooledConnection is used by one thread at a time; it may move between
// threads.
#ifndef AEQUOR_API_POOL_H_
#define AEQUOR_API_POOL_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "api/connection_manager.h"
#include "api/metrics.h"

namespace aequor {

// The pool's own settings; every ManagerOptions setting applies to each of
// its connections as well (ConnectionManagerBuilder). Checked by
// BuildPool(), which fails with InvalidArgument naming the option.
struct PoolOptions {
  // Connections the maintenance thread keeps open, idle or not. Default 0:
  // connections are opened when borrowed, so an instance that is not
  // serving holds none. REQUIRES: 0 <= min_size <= max_size.
  int min_size = 0;
  // Connections open at most; a borrower beyond it waits. Default 4.
  // REQUIRES: 1 <= max_size <= 10000.
  int max_size = 4;
  // How long Acquire() (and a Query or RunTransaction on the pool) waits for
  // a connection when all max_size are borrowed. Default 5 s.
  // REQUIRES: > 0.
  absl::Duration acquire_timeout = absl::Seconds(5);
  // A connection is closed when it has been open this long (when it is next
  // idle), minus a random part of up to a tenth of it, so that connections
  // opened together are not all recycled together. Zero: never. Default
  // 30 min. REQUIRES: zero or >= 1 s.
  absl::Duration max_lifetime = absl::Minutes(30);
  // An idle connection beyond min_size is closed after this long unused.
  // Zero: never. Default 10 min. REQUIRES: >= 0.
  absl::Duration idle_timeout = absl::Minutes(10);
  // How often, at most, the maintenance thread sleeps between rounds: each
  // round runs the thaw check on every idle connection (non-blocking,
  // without a round trip), replaces dead ones, closes those past
  // idle_timeout or max_lifetime, opens connections up to min_size,
  // renews the leases of idle connections that are due, and asks the reaper
  // scheduler (as for a warm invocation) on one idle connection, so that a
  // busy pool still runs its passes. It also wakes when the next lease is
  // due, so renewal never waits for this interval.
  // Default 5 s. REQUIRES: > 0.
  absl::Duration keepalive_interval = absl::Seconds(5);
  // A connection borrowed for longer than this is reported once per borrow
  // (a kDegraded event with source kPool, and the `pool_leaks` counter): a
  // handle that is never destroyed starves the pool. Zero: off. Default off.
  // REQUIRES: >= 0.
  absl::Duration leak_threshold = absl::ZeroDuration();
  // False: no maintenance thread; the application calls Pool::Maintain()
  // itself (a single-threaded event loop, a test with a fake clock). Idle
  // leases then run out unless it does. Default true.
  bool maintenance_thread = true;
  // Statement batching. When every connection is borrowed, Query() calls
  // that wait for one and that the caller declared idempotent
  // (QueryOptions::idempotent) and that read (their first word is SELECT,
  // WITH, VALUES or TABLE) are served in order as usual, but the call that
  // gets the connection takes up to max_batch - 1 such calls waiting right
  // behind it along: their statements go in one libpq pipeline, each in an
  // implicit transaction of its own as if run one after the other, in one
  // round trip; each call gets its own result and reports its own events on
  // its own thread. A statement that failed in a batch runs once more on its
  // own (so its error, retries and events are those of an unbatched call):
  // which is why only idempotent calls ride. Under contention this is what
  // keeps many threads per connection as fast as one (docs/BENCHMARKS.md,
  // "The pool"). 1: off. Default 16. REQUIRES: 1 <= max_batch <= 1000.
  int max_batch = 16;
};

// InvalidArgument naming the first option that breaks its REQUIRES.
absl::Status ValidatePoolOptions(const PoolOptions& options);

// What a pool holds right now, and what it did so far.
struct PoolStats {
  int size = 0;     // connections open (idle + in use), or being opened
  int idle = 0;     // open and not borrowed
  int in_use = 0;   // borrowed
  int waiting = 0;  // borrowers waiting for a connection
  int64_t acquired = 0;          // borrows served
  int64_t acquire_timeouts = 0;  // borrows that waited acquire_timeout in vain
  int64_t leaks = 0;             // borrows held past leak_threshold
  // Connections closed by maintenance: past max_lifetime or idle_timeout.
  int64_t recycled = 0;
  // Idle connections found dead by maintenance, and dropped (one found dead
  // at a borrow is replaced within that call, counted as a reconnect).
  int64_t dead_dropped = 0;
  // Leases of idle connections renewed by maintenance.
  int64_t idle_renewals = 0;
  int64_t idle_renewal_failures = 0;
  // Query() calls whose statement was sent in the pipeline of the call
  // served before them (PoolOptions::max_batch); they borrowed no
  // connection, so `acquired` does not count them.
  int64_t batched = 0;
};

// A connection borrowed from a Pool; it goes back to the pool when this
// handle is destroyed (or Release() is called). Move-only. Its calls behave
// as a ConnectionManager's, on this one connection, which it may replace
// (a lost connection reconnects within the call).
class PooledConnection {
 public:
  // What the pool puts behind a handle (core/pool.cc); not for users.
  class Borrowed {
   public:
    // Gives the connection back.
    virtual ~Borrowed() = default;
    virtual absl::StatusOr<QueryResult> Query(absl::string_view sql,
                                              absl::Span<const Param> params,
                                              const QueryOptions& options) = 0;
    virtual absl::Status RunTransaction(const TransactionBody& body,
                                        const TransactionOptions& options) = 0;
    virtual absl::Status WithConnection(const ConnectionFn& fn) = 0;
    virtual bool connected() const = 0;
    virtual std::string application_name() const = 0;
  };

  PooledConnection() = default;
  explicit PooledConnection(std::unique_ptr<Borrowed> borrowed) : b_(std::move(borrowed)) {}
  PooledConnection(PooledConnection&&) = default;
  PooledConnection& operator=(PooledConnection&&) = default;

  // False for a handle moved from or released.
  bool valid() const { return b_ != nullptr; }
  // Gives the connection back now; the handle is then invalid.
  void Release() { b_.reset(); }

  // As ConnectionManager's. FailedPrecondition on an invalid handle.
  absl::StatusOr<QueryResult> Query(absl::string_view sql, absl::Span<const Param> params = {},
                                    const QueryOptions& options = {});
  absl::StatusOr<QueryResult> Query(absl::string_view sql, std::initializer_list<Param> params,
                                    const QueryOptions& options = {}) {
    return Query(sql, absl::MakeConstSpan(params.begin(), params.size()), options);
  }
  absl::Status RunTransaction(const TransactionBody& body,
                              const TransactionOptions& options = {});
  // ConnectionManager::WithConnection on this handle's connection.
  absl::Status WithConnection(const ConnectionFn& fn);
  // Whether its connection is open (false before the first call opened it).
  bool connected() const { return b_ != nullptr && b_->connected(); }
  // The lease its connection carries ("" when none).
  std::string application_name() const {
    return b_ != nullptr ? b_->application_name() : std::string();
  }

 private:
  std::unique_ptr<Borrowed> b_;
};

class Pool {
 public:
  // Close(1 s), then waits for a maintenance round still running (at most
  // about keepalive_interval + connect_timeout), then the exporters are shut
  // down. A PooledConnection that outlives the pool still works and closes
  // its connection when destroyed.
  virtual ~Pool() = default;

  // Borrows a connection, waiting up to acquire_timeout (or `timeout`) when
  // all are in use; waiters are served first come, first served. The
  // connection is opened (or found dead and replaced) by the handle's first
  // call, within connect_budget. DeadlineExceeded naming the pool's size,
  // in use and waiting; FailedPrecondition once Close() was called.
  virtual absl::StatusOr<PooledConnection> Acquire() = 0;
  virtual absl::StatusOr<PooledConnection> Acquire(absl::Duration timeout) = 0;

  // One statement on a connection borrowed for it. The wait for a
  // connection counts in the call's timeout (QueryOptions::timeout, else
  // query_budget), and is itself at most acquire_timeout.
  virtual absl::StatusOr<QueryResult> Query(absl::string_view sql,
                                            absl::Span<const Param> params = {},
                                            const QueryOptions& options = {}) = 0;
  absl::StatusOr<QueryResult> Query(absl::string_view sql, std::initializer_list<Param> params,
                                    const QueryOptions& options = {}) {
    return Query(sql, absl::MakeConstSpan(params.begin(), params.size()), options);
  }
  // One transaction on a connection borrowed for it (ConnectionManager's
  // rules: it runs again on a fresh connection when its connection is lost
  // before COMMIT was sent).
  virtual absl::Status RunTransaction(const TransactionBody& body,
                                      const TransactionOptions& options = {}) = 0;

  // One reaper pass now, on a borrowed connection (ConnectionManager's
  // RunReaperPass). Never overlaps another pass of this pool.
  virtual absl::StatusOr<ReapReport> RunReaperPass(bool dry_run = false) = 0;

  // Drains the pool: new borrows fail with FailedPrecondition at once
  // (waiters too), idle connections are closed now, borrowed ones when they
  // are given back. Waits up to `timeout` for those: DeadlineExceeded naming
  // how many are still borrowed (they are closed when given back, later).
  // Stops the maintenance thread, waiting for a round in progress (at most
  // about keepalive_interval + connect_timeout when it is opening a
  // connection to a server that does not answer). Idempotent.
  virtual absl::Status Close(absl::Duration timeout) = 0;

  // As ConnectionManager::Flush: hands the events and metrics to the
  // exporters and waits up to `timeout` for them.
  virtual absl::Status Flush(absl::Duration timeout) = 0;

  // One maintenance round now (see PoolOptions::keepalive_interval), on the
  // calling thread. For a pool built with maintenance_thread = false; with
  // the thread it is harmless. OK, or the first error of a renewal or of
  // an open towards min_size (the round still did the rest).
  virtual absl::Status Maintain() = 0;

  virtual PoolStats stats() const = 0;
  // As ConnectionManager::metrics(), with the pool's gauges and counters
  // (api/metrics.h, pool_*).
  virtual MetricsSnapshot metrics() const = 0;
  virtual std::string service() const = 0;
  // The instance id every lease of this pool carries.
  virtual std::string instance() const = 0;
  virtual bool leases_enabled() const = 0;
};

}  // namespace aequor

#endif  // AEQUOR_API_POOL_H_
