// core/manager.h (internal): the ConnectionManager implementation, made by
// ConnectionManagerBuilder::Build() (composition/builder.cc) from validated
// parts: one lane (core/lane.h: the connection and the loop of each call)
// behind a mutex, and the parts a lane uses:
//
//   Connection         the libpq connection, its lease, the thaw check
//   LeaseKeeper        what is due of the lease; renewal, alone or pipelined
//   ReaperRunner       the scheduler's passes, the emergency and manual ones
//   ServerView         what the server told in passing (usage, clock offset)
//   TransactionRunner  one attempt at a transaction; the xid lookup
//   Backoff            the waits between attempts
//   EventEmitter       every event, typed
//
// docs/ARCHITECTURE.md follows a call step by step.
//
// Thread-safety: every public method takes mu_, so calls are serialised.
#ifndef AEQUOR_CORE_MANAGER_H_
#define AEQUOR_CORE_MANAGER_H_

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "api/connection_manager.h"
#include "core/lane.h"

namespace aequor {

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
  absl::Status WithConnection(const ConnectionFn& fn) override;

  bool connected() const override;
  std::string service() const override { return parts_.service(); }
  std::string instance() const override { return parts_.instance(); }
  std::string application_name() const override;
  bool leases_enabled() const override { return parts_.leases_enabled(); }
  MetricsSnapshot metrics() const override { return parts_.bus.metrics(); }

 private:
  // FailedPrecondition when called from inside a RunTransaction body (which
  // holds mu_ on this thread: locking again would deadlock).
  absl::Status CheckNotInBody() const;

  LaneParts parts_;
  // Guards lane_ (a std::mutex: uncontended it costs a fraction of
  // absl::Mutex here, and ThreadSanitizer understands it).
  mutable std::mutex mu_;
  Lane lane_;
  // The thread running a RunTransaction body, if any.
  std::atomic<std::thread::id> body_thread_{};
};

}  // namespace aequor

#endif  // AEQUOR_CORE_MANAGER_H_
