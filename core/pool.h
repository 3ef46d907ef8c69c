// core/pool.h (internal): the Pool implementation (api/pool.h), made by
// ConnectionManagerBuilder::BuildPool() (composition/builder.cc) from the
// same parts as a manager.
//
// A pool is lanes (core/lane.h) that callers borrow one at a time, around
// one LaneParts: one event bus, one server view, one reaper runner (passes
// never overlap), one lease keeper. What it adds:
//
//   slots      one lane each, with the time it was borrowed and the
//              lifetime drawn for it; idle ones on a stack (the most recently
//              used is borrowed first, so surplus ones age out)
//   waiters    borrowers waiting, first come first served: a connection
//              given back goes to the oldest waiter directly
//   maintenance a thread that wakes every keepalive_interval, or when the
//              next idle lease is due: thaw checks, renewals, recycling,
//              min_size, leak reports. Frozen with the process, so that a
//              frozen instance's leases run out and the fleet reaps them.
//
// The state lives in a shared State that every handle holds too: a handle
// destroyed after the pool gives its connection back to the state, which
// closes it; nothing dangles.
//
// Thread-safety: thread-safe (api/pool.h). Lock order: State::mu, then the
// parts' own locks; no lane work (I/O) is done under State::mu.
#ifndef AEQUOR_CORE_POOL_H_
#define AEQUOR_CORE_POOL_H_

#include <memory>
#include <string>

#include "api/pool.h"
#include "core/lane.h"

namespace aequor {

class PoolImpl final : public Pool {
 public:
  PoolImpl(ManagerParts parts, PoolOptions options);
  ~PoolImpl() override;

  absl::StatusOr<PooledConnection> Acquire() override;
  absl::StatusOr<PooledConnection> Acquire(absl::Duration timeout) override;
  absl::StatusOr<QueryResult> Query(absl::string_view sql, absl::Span<const Param> params,
                                    const QueryOptions& options) override;
  absl::Status RunTransaction(const TransactionBody& body,
                              const TransactionOptions& options) override;
  absl::StatusOr<ReapReport> RunReaperPass(bool dry_run) override;
  absl::Status Close(absl::Duration timeout) override;
  absl::Status Flush(absl::Duration timeout) override;
  absl::Status Maintain() override;
  PoolStats stats() const override;
  MetricsSnapshot metrics() const override;
  std::string service() const override;
  std::string instance() const override;
  bool leases_enabled() const override;

  struct State;

 private:
  // Query() of a batchable read (core/pool.cc), and of anything else.
  absl::StatusOr<QueryResult> BatchedQuery(absl::string_view sql, absl::Span<const Param> params,
                                           const QueryOptions& options);
  absl::StatusOr<QueryResult> UnbatchedQuery(absl::string_view sql,
                                             absl::Span<const Param> params,
                                             const QueryOptions& options);

  std::shared_ptr<State> state_;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_POOL_H_
