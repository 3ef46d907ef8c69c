// core/manager.h (internal): the ConnectionManager implementation, made by
// ConnectionManagerBuilder::Build() from validated parts.
//
// Per call, under one lock:
//   1. No connection: connect (lease in the startup packet, backstops in the
//      startup options), retrying refused/full/starting-up servers within
//      connect_budget; on "too many clients" run the emergency reaper pass
//      first when reaper_conninfo is set. A new connection may run a reaper
//      pass when the scheduler says so (trigger kConnect).
//   2. A connection unused for invocation_gap (a warm invocation): check
//      without blocking whether the server closed it while the process was
//      frozen (thaw detection); if so reconnect, as nothing was sent. Else
//      ask the scheduler (trigger kInvocation).
//   3. Lease: renew with the query in one pipeline when less than
//      lease_renew_before is left; alone and first when less than
//      lease_block_before is left.
//   4. Send. A lost connection is retried only when provably nothing ran
//      (the pipeline's renewal aborted) or the caller marked the statement
//      idempotent; otherwise the caller gets an "outcome unknown" error.
//
// Thread-safety: every public method takes mu_, so calls are serialised.
#ifndef AEQUOR_CORE_MANAGER_H_
#define AEQUOR_CORE_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/attributes.h"
#include "api/connection_manager.h"
#include "core/event_bus.h"
#include "util/pg.h"
#include "core/reaper.h"
#include "core/server_probe.h"

namespace aequor {

// Everything a manager is made of, checked by the builder.
struct ManagerParts {
  ManagerOptions options;
  std::string service;   // normalised
  std::string instance;  // base64url id
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

// The server backstops of `o` as a startup `options` string, followed by the
// user's own options (from the conninfo, else $PGOPTIONS) so that theirs win.
std::string BuildStartupOptions(const ManagerOptions& o);

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
  MetricsSnapshot metrics() const override { return events_.metrics(); }

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // True when a first attempt at monotonic time `now_ns` may go straight to
  // the server: connected, not idle long enough for a thaw check or the
  // scheduler, lease not yet due. Else PrepareLocked() does the work.
  bool ReadyLocked(int64_t now_ns) const {
    return conn_ != nullptr && now_ns - last_used_ns_ < quiet_idle_ns_ &&
           now_ns < lease_renew_at_ns_ && PQstatus(conn_.get()) == CONNECTION_OK;
  }
  // Readies the connection for the caller's next round trip: on a warm
  // invocation (first attempt only) the thaw check and the scheduler; then
  // connect if needed; then the blocking lease renewal when the lease is
  // about to run out. Sets *renew_in_pipeline when the lease should instead
  // travel with the statement. `now_ns` is monotonic.
  absl::Status PrepareLocked(absl::Time deadline, bool first_attempt, int64_t now_ns,
                             bool* renew_in_pipeline);
  // The end of query_budget for a Query() or RunTransaction() call that
  // started at monotonic `start_ns`.
  absl::Time QueryDeadline(int64_t start_ns) const;
  // Query()'s rare paths, out of line so that a warm query's code stays
  // small: its events for streaming exporters; the statement run with the
  // lease renewal pipelined before it (*nothing_ran when provably it never
  // ran; *signing when no lease could be signed); and after a failed attempt,
  // true to retry, else false with the caller's *error.
  ABSL_ATTRIBUTE_NOINLINE void EmitQueryStartLocked(absl::string_view sql);
  ABSL_ATTRIBUTE_NOINLINE void EmitQueryEndLocked(absl::string_view sql, int64_t took_ns,
                                                  int attempt, int64_t rows);
  ABSL_ATTRIBUTE_NOINLINE pg::Result ExecWithRenewalLocked(const char* statement, int n_params,
                                                           const char* const* values,
                                                           int64_t now_ns, bool* nothing_ran,
                                                           absl::Status* signing);
  ABSL_ATTRIBUTE_NOINLINE bool RetryAfterFailureLocked(
      absl::string_view sql, const QueryOptions& options, PGconn* conn, const PGresult* result,
      PGTransactionStatusType before, bool nothing_ran, int attempt, int64_t start_ns,
      absl::Duration& previous_delay, absl::Status* error);
  // Looks up a transaction id's fate on a (new) connection: "committed",
  // "aborted", or "" when it cannot be known before `deadline`.
  std::string ResolveXidLocked(const std::string& xid, absl::Time deadline);
  // Runs one statement of a transaction body, with events.
  absl::StatusOr<QueryResult> TransactionQueryLocked(absl::string_view sql,
                                                     absl::Span<const Param> params,
                                                     bool& lost);
  // FailedPrecondition when called from inside a RunTransaction body (which
  // holds mu_ on this thread: locking again would deadlock).
  absl::Status CheckNotInBody() const;

  // Connects (with retries) if there is no connection. `deadline` is monotonic.
  absl::Status EnsureConnectedLocked(absl::Time deadline);
  absl::Status ConnectOnceLocked(int attempt);
  // One emergency pass over reaper_conninfo. Returns the report, if any ran.
  std::optional<ReapReport> EmergencyReapLocked();
  // Thaw detection: true if the server already closed the idle connection.
  bool ConnectionLooksDeadLocked();
  // Asks the scheduler (after the connect-time probe, for a new connection
  // and schedulers that want usage) and runs a pass if it says so. May drop
  // the connection if the probe or the pass lost it. `database_full`: the
  // connect was refused with 53300 before it got in.
  void MaybeReapLocked(ReapTrigger trigger, bool database_full);
  // `known_usage`: a usage measured a moment ago (not read again by the pass).
  ReapReport RunPassLocked(PGconn* conn, bool dry_run, bool under_pressure,
                           absl::string_view source,
                           std::optional<double> known_usage = std::nullopt);
  // One probe statement (core/server_probe.h) on conn_.
  void ProbeLocked();
  // Takes in what a statement brought back in passing: usage, reapable
  // sessions, and the server's clock between `sent` and `received` (wall).
  void ObserveProbeLocked(const ProbeReading& reading, absl::Time sent, absl::Time received);
  // A new clock offset: compensates later leases, reports kClockOffset.
  void ObserveClockLocked(const ClockOffset& offset);
  // A fresh signed lease; "" with leases off.
  absl::StatusOr<std::string> NewLeaseLocked();
  // Records a lease the server now holds, signed when NewLeaseLocked ran.
  void SetLeaseLocked(std::string lease, int64_t signed_at_ns);
  // Renews the lease alone, giving up (and dropping the connection) after
  // lease_renew_timeout.
  absl::Status RenewLeaseBlockingLocked();
  // Sleeps before retry `retry` if the policy and the deadline allow it,
  // reporting a kRetry event with `reason` and `sqlstate` (the metrics'
  // retry reason).
  bool BackoffLocked(int retry, absl::Time deadline, absl::Duration& previous,
                     absl::string_view reason, absl::string_view sqlstate);
  void DropConnectionLocked();
  // libpq notice processors (see ConnectOnceLocked).
  static void OnNotice(void* self, const char* message);
  static void IgnoreNotice(void* unused, const char* message);
  void ReportDeadLocked(absl::string_view source, absl::string_view sqlstate,
                        absl::string_view message);
  Event MakeEvent(EventKind kind) const;
  ReaperSettings ReaperSettingsFor(bool dry_run) const;

  ManagerParts parts_;
  std::string connect_timeout_seconds_;  // libpq wants whole seconds as text

  // Everything below is guarded by mu_ (a std::mutex: uncontended it costs a
  // fraction of absl::Mutex here, and ThreadSanitizer understands it).
  mutable std::mutex mu_;
  // What a warm query reads, together: the connection and times in
  // monotonic nanoseconds (Clock::MonotonicNanos), integers so that the
  // query path does no absl::Time arithmetic.
  pg::Conn conn_;
  int64_t last_used_ns_ = 0;  // the end of the connection's last use
  // When the lease is renewed with the next statement, and alone before it
  // (from lease_renew_before / lease_block_before); kNever without a lease.
  int64_t lease_renew_at_ns_ = kNever;
  int64_t lease_block_at_ns_ = kNever;
  // min(thaw_check_after, invocation_gap): a first attempt after less idle
  // time than this needs neither a thaw check nor a scheduler call.
  const int64_t quiet_idle_ns_;
  std::string application_name_;
  std::string last_notice_;  // the server's last notice on conn_
  int64_t connects_ = 0;
  // What the server last told in passing (core/server_probe.h), and when
  // (monotonic).
  std::optional<double> usage_;
  std::optional<int> reapable_;
  bool lock_busy_ = false;
  absl::Time usage_at_ = absl::InfinitePast();
  // Added to this host's clock when a lease is signed (LeaseCompensation()).
  absl::Duration lease_compensation_;
  // The offset last reported in a kClockOffset event.
  std::optional<absl::Duration> reported_offset_;
  // SELECT <probe columns>; and the lease renewal with them.
  std::string probe_sql_;
  std::string renew_sql_;
  // Emit/StartFlush/Shutdown under mu_; its metrics() and FinishFlush() are
  // thread-safe (core/event_bus.h).
  EventBus events_;
  // The thread running a RunTransaction body, if any.
  std::atomic<std::thread::id> body_thread_{};

  friend class ManagerTransaction;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_MANAGER_H_
