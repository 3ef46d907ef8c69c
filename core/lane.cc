#include "core/lane.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>

#include "absl/base/optimization.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/errors.h"
#include "core/classify.h"
#include "core/pooler.h"
#include "core/statement_cache.h"
#include "core/statement_params.h"

namespace aequor {
namespace {

ProbeSettings ProbeSettingsFor(const ManagerOptions& o, const std::string& service) {
  return ProbeSettingsOf(ReaperSettingsFromOptions(o, service, /*dry_run=*/false));
}

}  // namespace

LaneParts::LaneParts(ManagerParts parts)
    : parts_(std::move(parts)),
      quiet_idle_ns(absl::ToInt64Nanoseconds(
          std::min(parts_.options.thaw_check_after, parts_.options.invocation_gap))),
      bus(std::move(parts_.exporters),
          EventBusOptions{static_cast<size_t>(parts_.options.exporter_queue_capacity),
                          parts_.options.exporter_interval}),
      events(bus, *parts_.clock, parts_.service, parts_.instance),
      server(*parts_.clock, events, parts_.options),
      leases(parts_.signer, parts_.service, parts_.instance, parts_.options,
             ProbeSettingsFor(parts_.options, parts_.service), *parts_.clock, server, events),
      reaper(parts_.options, parts_.service, parts_.signer, *parts_.scheduler, *parts_.clock,
             server, events),
      transactions(*parts_.clock, events),
      spec_(ConnectSpecFrom(parts_.options, parts_.startup_options)) {}

LaneParts::~LaneParts() { bus.Shutdown(absl::Seconds(1)); }

ConnectSpec LaneParts::spec() const {
  std::lock_guard<std::mutex> lock(spec_mu_);
  return spec_;
}

void LaneParts::DropStartupOptions() {
  {
    std::lock_guard<std::mutex> lock(spec_mu_);
    if (spec_.startup_options.empty()) return;  // another lane did
    spec_.startup_options.clear();
  }
  events.Degraded(
      EventSource::kStartupOptions,
      "the server, or a pooler in front of it, refuses the startup parameter 'options', so "
      "connections are opened without it and without the server-side backstops it carries "
      "(idle_in_transaction_timeout, idle_session_timeout, server_keepalives). Set them on the "
      "role instead (ALTER ROLE ... SET idle_in_transaction_session_timeout = ...); "
      "PgBouncer's ignore_startup_parameters = options would only drop them too");
}

void Lane::AddTo(ConnectionGauges& g, int64_t now_ns) const {
  const int64_t expires_ns = published_.load(std::memory_order_relaxed);
  if (expires_ns == kNotConnected) return;
  ++g.connected;
  if (expires_ns == Connection::kNever) return;
  const double left = static_cast<double>(expires_ns - now_ns) / 1e9;
  if (!g.lease_seconds_left.has_value() || left < *g.lease_seconds_left) {
    g.lease_seconds_left = left;
  }
}

void Lane::Close(bool report) {
  const PublishOnReturn publish(*this);
  if (conn_ == nullptr) return;
  conn_.reset();
  opened_at_ns_ = 0;
  if (report) parts_.events.Disconnected();
}

bool Lane::DropIfDead() {
  const PublishOnReturn publish(*this);
  if (conn_ == nullptr) return false;
  if (!conn_->LooksDead()) return false;
  parts_.events.ClientDead(
      EventSource::kThawCheck, "",
      conn_->last_notice().empty() ? conn_->ErrorMessage() : conn_->last_notice());
  conn_.reset();
  opened_at_ns_ = 0;
  return true;
}

absl::Status Lane::WithConnection(const ConnectionFn& fn,
                                  std::atomic<std::thread::id>* body_thread) {
  const PublishOnReturn publish(*this);
  const absl::Time deadline =
      parts_.clock().MonotonicNow() + parts_.options().connect_budget;
  absl::StatusOr<Connection*> conn = EnsureConnected(deadline);
  if (!conn.ok()) return conn.status();
  // A lease about to run out is renewed first: `fn` may take a while.
  if (parts_.leases.Due(**conn, parts_.clock().MonotonicNanos()) != LeaseDue::kNothing &&
      !parts_.leases.RenewBlocking(**conn, CallDeadline(deadline)).ok()) {
    conn_.reset();
    conn = EnsureConnected(deadline);
    if (!conn.ok()) return conn.status();
  }
  absl::Status status;
  bool threw = false;
  if (body_thread != nullptr) body_thread->store(std::this_thread::get_id());
  try {
    status = fn((*conn)->get());
  } catch (...) {
    threw = true;
    status = absl::InternalError(
        "WithConnection: the callback threw; the connection was closed");
  }
  if (body_thread != nullptr) body_thread->store(std::thread::id());
  // Nothing of `fn`'s may leak into the next call.
  const PGTransactionStatusType tx = conn_->transaction_status();
  if (threw || !conn_->ok() || tx != PQTRANS_IDLE) {
    conn_.reset();
    opened_at_ns_ = 0;
    parts_.events.Disconnected();
  } else {
    conn_->MarkUsed(parts_.clock().MonotonicNanos());
  }
  return status;
}

void Lane::MaybeReap(absl::Time deadline) {
  const PublishOnReturn publish(*this);
  if (conn_ == nullptr || !conn_->ok()) return;
  if (!parts_.reaper
           .MaybeRun(*conn_, ReapTrigger::kInvocation, /*database_full=*/false,
                     CallDeadline(deadline))
           .ok()) {
    conn_.reset();  // reported by the runner
    opened_at_ns_ = 0;
  }
}

absl::StatusOr<bool> Lane::RenewIfDue(int64_t now_ns, absl::Time deadline) {
  const PublishOnReturn publish(*this);
  if (conn_ == nullptr || !parts_.leases.enabled()) return false;
  if (parts_.leases.Due(*conn_, now_ns) == LeaseDue::kNothing) return false;
  absl::Status renewed = parts_.leases.RenewBlocking(*conn_, CallDeadline(deadline));
  if (!renewed.ok()) {
    conn_.reset();
    opened_at_ns_ = 0;
    return renewed;
  }
  return true;
}

absl::StatusOr<Connection*> Lane::EnsureConnected(absl::Time deadline) {
  if (conn_ != nullptr && conn_->ok()) return conn_.get();
  conn_.reset();
  // A failover or a restart takes as long as it takes: connects are retried
  // until connect_budget, not just the policy's retries.
  if (parts_.clock().MonotonicNow() >= deadline) {
    return absl::DeadlineExceededError(
        "connect: the call's deadline passed before a connection could be opened");
  }
  Backoff backoff = MakeBackoff(deadline, Backoff::Limit::kDeadline);
  bool emergency_tried = false;
  bool refused_full = false;  // some attempt met a full database (53300)
  bool housekeeping_done = false;
  for (int attempt = 1;; ++attempt) {
    const ConnectSpec spec = parts_.spec();
    absl::Status s = ConnectOnce(spec, attempt, deadline - parts_.clock().MonotonicNow());
    if (s.ok()) {
      // The connect-time probe and pass, once per call. They may lose the
      // connection they just opened (a restart, a kill, a pass cut off by
      // its timeouts): then connect again, so that the caller always gets a
      // live connection or an error, never a missing one.
      if (housekeeping_done) return conn_.get();
      housekeeping_done = true;
      if (parts_.reaper.MaybeRun(*conn_, ReapTrigger::kConnect, refused_full, CallDeadline(deadline))
              .ok()) {
        return conn_.get();
      }
      conn_.reset();
      if (parts_.clock().MonotonicNow() >= deadline) {
        return absl::UnavailableError(
            "connect: the connection was lost right after it opened (during the connect-time "
            "reaper pass or probe), and the connect budget is spent");
      }
      continue;
    }
    if (RefusesStartupOptions(s.message())) {
      if (!spec.startup_options.empty()) {
        parts_.DropStartupOptions();
        continue;  // at once: nothing changed on the server's side
      }
      // What is refused now is the user's own (conninfo or $PGOPTIONS).
      return absl::FailedPreconditionError(
          absl::StrCat(s.message(),
                       " (the startup 'options' of the conninfo or $PGOPTIONS are refused by "
                       "the server or a pooler in front of it; remove them)"));
    }
    FailureFacts facts;
    facts.phase = Phase::kConnect;
    facts.status = s;
    if (Classify(facts) != Verdict::kRetry) return s;
    const bool full = SqlState(s) == "53300";
    if (full) refused_full = true;
    // A full database: free it with the emergency pass, then try at once.
    if (full && !emergency_tried && !parts_.options().reaper_conninfo.empty() && parts_.leases.enabled()) {
      emergency_tried = true;
      std::optional<ReapReport> report = parts_.reaper.RunEmergency(CallDeadline(deadline));
      if (report.has_value() && report->killed > 0 && parts_.clock().MonotonicNow() < deadline) {
        continue;
      }
    }
    if (!backoff.Wait(attempt, s.message(), SqlState(s))) return s;
    if (full) emergency_tried = false;  // zombies may have expired since
  }
}

absl::Status Lane::ConnectOnce(const ConnectSpec& spec, int attempt, absl::Duration left) {
  absl::StatusOr<std::string> lease = parts_.leases.NewLease();
  if (!lease.ok()) return lease.status();
  const int64_t start_ns = parts_.clock().MonotonicNanos();
  absl::StatusOr<std::unique_ptr<Connection>> conn = Connection::Open(spec, *lease, left);
  const int64_t end_ns = parts_.clock().MonotonicNanos();
  const absl::Duration took = absl::Nanoseconds(end_ns - start_ns);
  if (!conn.ok()) {
    parts_.events.ConnectFailed(took, attempt, conn.status());
    return conn.status();
  }
  conn_ = *std::move(conn);
  if (parts_.options().statement_cache_size > 0) {
    // Names unique to this connection in the whole fleet (see
    // core/statement_cache.h): instance id, then a serial of this process.
    static std::atomic<uint64_t> serial{0};
    conn_->EnableStatementCache(
        parts_.options().statement_cache_size,
        absl::StrCat("aq_", parts_.instance(), "_", serial.fetch_add(1), "_"));
  }
  parts_.leases.Install(*conn_, *std::move(lease), start_ns);
  conn_->MarkUsed(end_ns);
  opened_at_ns_ = end_ns;
  parts_.events.Connected(parts_.CountConnect(), took, attempt);
  return absl::OkStatus();
}

absl::StatusOr<Lane::Ready> Lane::Prepare(absl::Time deadline, bool first_attempt,
                                                      int64_t now_ns) {
  if (first_attempt && conn_ != nullptr) {
    const absl::Duration idle = absl::Nanoseconds(now_ns - conn_->last_used_ns());
    // Was the connection closed while we were idle (or frozen)?
    if (idle >= parts_.options().thaw_check_after && DropIfDead()) {
      // dropped; connect below
    } else if (idle >= parts_.options().invocation_gap &&
               !parts_.reaper
                    .MaybeRun(*conn_, ReapTrigger::kInvocation, /*database_full=*/false,
                              CallDeadline(deadline))
                    .ok()) {
      conn_.reset();  // a warm invocation's pass lost it
    }
  }
  if (conn_ == nullptr || !conn_->ok()) {
    // Connecting keeps to connect_budget inside the call's own deadline.
    absl::StatusOr<Connection*> conn = EnsureConnected(ConnectDeadline(deadline));
    if (!conn.ok()) return conn.status();
    now_ns = parts_.clock().MonotonicNanos();
  }
  // Inside a transaction of the caller's (a BEGIN sent with Query), a
  // renewal would be undone by its ROLLBACK while this side counted it done;
  // it waits for the transaction to end. Reaper passes spare sessions idle
  // in a transaction (unless reap_idle_in_transaction_after says otherwise,
  // and then by its own clock, not the lease's).
  if (conn_->transaction_status() != PQTRANS_IDLE) return Ready{conn_.get(), false};
  switch (parts_.leases.Due(*conn_, now_ns)) {
    case LeaseDue::kNothing: return Ready{conn_.get(), false};
    case LeaseDue::kPipelined: return Ready{conn_.get(), true};
    case LeaseDue::kBlocking: break;
  }
  if (parts_.leases.RenewBlocking(*conn_, CallDeadline(deadline)).ok()) {
    return Ready{conn_.get(), false};
  }
  // Nothing of the caller's was sent: connect again with a fresh lease
  // rather than run on an expiring one.
  conn_.reset();
  absl::StatusOr<Connection*> conn = EnsureConnected(ConnectDeadline(deadline));
  if (!conn.ok()) return conn.status();
  return Ready{*conn, false};
}

absl::StatusOr<QueryResult> Lane::Query(absl::string_view sql, absl::Span<const Param> params,
                                           const QueryOptions& options) {
  const PublishOnReturn publish(*this);
  const CallLabel label(options.label);
  if (ABSL_PREDICT_FALSE(options.timeout < absl::ZeroDuration())) {
    return absl::InvalidArgumentError(absl::StrCat("QueryOptions.timeout: must be >= 0, got ",
                                                   absl::FormatDuration(options.timeout)));
  }
  // A warm query reads the clock twice and otherwise only integers; whatever
  // is rare (preparation, the pipelined renewal, failures, events for
  // streaming exporters) is out of line (docs/BENCHMARKS.md, "The query
  // path").
  const int64_t start_ns = parts_.clock().MonotonicNanos();

  // libpq needs NUL-terminated text: a short statement is copied on the
  // stack.
  char inline_sql[256];
  std::string heap_sql;
  pg::Statement statement;
  if (ABSL_PREDICT_TRUE(sql.size() < sizeof(inline_sql))) {
    std::memcpy(inline_sql, sql.data(), sql.size());
    inline_sql[sql.size()] = '\0';
    statement.text = inline_sql;
  } else {
    heap_sql.assign(sql.data(), sql.size());
    statement.text = heap_sql.c_str();
  }
  StatementParams arrays;
  if (absl::Status s = arrays.Set(params); ABSL_PREDICT_FALSE(!s.ok())) return s;
  arrays.Into(statement);

  const absl::Duration timeout = CallTimeout(options.timeout);
  const absl::Time deadline_at = absl::FromUnixNanos(start_ns) + timeout;
  const pg::Deadline deadline = CallDeadline(deadline_at);
  Backoff backoff = MakeBackoff(deadline_at);
  for (int attempt = 1;; ++attempt) {
    Connection* conn = conn_.get();
    bool renew_in_pipeline = false;
    if (attempt > 1 || ABSL_PREDICT_FALSE(!ReadyAt(start_ns))) {
      const int64_t now_ns = attempt == 1 ? start_ns : parts_.clock().MonotonicNanos();
      absl::StatusOr<Ready> ready = Prepare(backoff.deadline(), attempt == 1, now_ns);
      if (!ready.ok()) return ready.status();
      conn = ready->conn;
      renew_in_pipeline = ready->renew_in_pipeline;
    }
    if (attempt == 1) parts_.events.QueryStart(sql);

    const PGTransactionStatusType before = conn->transaction_status();
    Execution exec;
    StatementCache* const cache = conn->statement_cache();
    if (ABSL_PREDICT_TRUE(cache == nullptr)) {
      if (ABSL_PREDICT_FALSE(renew_in_pipeline)) {
        exec = parts_.leases.ExecWithRenewal(*conn, statement, deadline);
        if (!exec.signing.ok()) return exec.signing;
      } else {
        pg::Reply reply = conn->Run(statement, deadline);
        exec.result = std::move(reply.result);
        exec.timed_out = reply.timed_out;
      }
    } else {
      exec = RunCached(*conn, *cache, sql, statement, renew_in_pipeline, before, deadline);
      if (!exec.signing.ok()) return exec.signing;
    }
    if (ABSL_PREDICT_TRUE(Succeeded(exec.result.get()))) {
      const int64_t end_ns = parts_.clock().MonotonicNanos();
      conn->MarkUsed(end_ns);
      QueryResult rows(exec.result.release());
      parts_.events.QueryEnd(sql, end_ns - start_ns, attempt, rows);
      return rows;
    }

    StatementFailure failure;
    if (ABSL_PREDICT_FALSE(exec.timed_out)) {
      failure.message = absl::StrCat("no answer within the call's deadline (",
                                     absl::FormatDuration(timeout), "): ", pg::kTimedOutMessage);
    } else {
      pg::ResultError error = pg::ReadError(exec.result.get(), conn->get());
      failure.sqlstate = std::move(error.sqlstate);
      failure.message = std::move(error.message);
    }
    FailureFacts& facts = failure.facts;
    facts.phase = Phase::kStatement;
    facts.timed_out = exec.timed_out;
    facts.connection_lost = exec.timed_out || !conn->ok();
    facts.nothing_sent = !exec.sent;
    facts.idempotent = options.idempotent;
    facts.in_transaction = before == PQTRANS_INTRANS || before == PQTRANS_INERROR;
    facts.is_commit = LooksLikeCommit(sql);
    if (std::optional<absl::Status> error =
            AfterStatementFailure(sql, failure, attempt, start_ns, backoff)) {
      return *std::move(error);
    }
  }
}

Execution Lane::RunCached(Connection& conn, StatementCache& cache, absl::string_view sql,
                          pg::Statement& statement, bool renew_in_pipeline,
                          PGTransactionStatusType before, const pg::Deadline& deadline) {
  for (bool unnamed = false;;) {
    statement.prepared_name = nullptr;
    StatementCache::Use use;
    if (!unnamed) use = cache.Next(sql);
    Execution exec;
    if (renew_in_pipeline) {
      // The renewal's pipeline runs a prepared statement, never prepares one.
      if (!use.prepare) statement.prepared_name = use.name;
      exec = parts_.leases.ExecWithRenewal(conn, statement, deadline);
      renew_in_pipeline = false;
    } else if (use.prepare) {
      bool prepared = false;
      pg::Reply reply = pg::PrepareAndRun(conn.get(), use.name, statement, deadline, &prepared);
      if (prepared) cache.Prepared(sql);
      exec.result = std::move(reply.result);
      exec.timed_out = reply.timed_out;
    } else {
      statement.prepared_name = use.name;
      pg::Reply reply = conn.Run(statement, deadline);
      exec.result = std::move(reply.result);
      exec.timed_out = reply.timed_out;
    }
    statement.prepared_name = nullptr;
    if (use.name == nullptr || use.prepare || unnamed || !exec.signing.ok() ||
        Succeeded(exec.result.get()) || exec.timed_out || !conn.ok()) {
      return exec;
    }
    // A prepared statement the server refused before running it: a name it
    // does not know (a pooler moved us to another server session, or
    // DISCARD ALL) or a plan it will not reuse (the table changed). Once
    // more, unnamed, unless a transaction of the caller's is now aborted.
    const char* state = PQresultErrorField(exec.result.get(), PG_DIAG_SQLSTATE);
    const char* message = PQresultErrorField(exec.result.get(), PG_DIAG_MESSAGE_PRIMARY);
    const absl::string_view code = state != nullptr ? state : "";
    if (code == "26000") {
      cache.Disable();
    } else if (code == "0A000" && message != nullptr &&
               absl::StartsWith(message, "cached plan must not change result type")) {
      cache.Retire(sql);
    } else {
      return exec;
    }
    if (before != PQTRANS_IDLE) return exec;
    unnamed = true;
  }
}

std::optional<absl::Status> Lane::AfterStatementFailure(absl::string_view sql,
                                                                 const StatementFailure& f,
                                                                 int attempt, int64_t start_ns,
                                                                 Backoff& backoff) {
  FailureFacts facts = f.facts;
  if (facts.timed_out) {
    facts.status = absl::DeadlineExceededError(f.message);
  } else {
    facts.status = StatusFromSqlState(
        f.sqlstate,
        facts.connection_lost ? absl::StrCat("connection lost: ", f.message) : f.message,
        facts.connection_lost ? absl::StatusCode::kUnavailable : absl::StatusCode::kInternal);
  }
  const Verdict verdict = Classify(facts);
  if (facts.connection_lost) {
    parts_.events.ClientDead(EventSource::kQuery, f.sqlstate, f.message);
    conn_.reset();
  } else {
    conn_->MarkUsed(parts_.clock().MonotonicNanos());
  }
  if (verdict == Verdict::kRetry && backoff.Wait(attempt, f.message, f.sqlstate)) {
    return std::nullopt;
  }
  absl::Status error = facts.status;
  if (verdict == Verdict::kOutcomeUnknown) {
    error = OutcomeUnknownError(
        absl::StrCat(facts.timed_out ? "deadline exceeded" : "connection lost",
                     " while the statement was in flight; it may or may not have taken effect "
                     "(outcome unknown): ",
                     f.message),
        f.sqlstate,
        facts.timed_out ? absl::StatusCode::kDeadlineExceeded : absl::StatusCode::kUnknown);
  }
  parts_.events.QueryError(sql, absl::Nanoseconds(parts_.clock().MonotonicNanos() - start_ns), attempt,
                     f.sqlstate, f.message);
  return error;
}

absl::Status Lane::RunTransaction(const TransactionBody& body, const TransactionOptions& options,
                                  std::atomic<std::thread::id>* body_thread) {
  const PublishOnReturn publish(*this);
  const CallLabel label(options.label);
  if (options.timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("TransactionOptions.timeout: must be >= 0, got ",
                                                   absl::FormatDuration(options.timeout)));
  }
  absl::StatusOr<std::string> begin = BeginStatement(options);
  if (!begin.ok()) return begin.status();
  const int64_t start_ns = parts_.clock().MonotonicNanos();
  const absl::Time deadline_at = absl::FromUnixNanos(start_ns) + CallTimeout(options.timeout);
  const pg::Deadline deadline = CallDeadline(deadline_at);
  Backoff backoff = MakeBackoff(deadline_at);
  for (int attempt = 1;; ++attempt) {
    const int64_t now_ns = attempt == 1 ? start_ns : parts_.clock().MonotonicNanos();
    absl::StatusOr<Ready> ready = Prepare(backoff.deadline(), attempt == 1, now_ns);
    if (!ready.ok()) return ready.status();
    Connection* conn = ready->conn;
    // A transaction's statements are the user's: the lease goes first, alone.
    if (ready->renew_in_pipeline && !parts_.leases.RenewBlocking(*conn, deadline).ok()) {
      conn_.reset();
      absl::StatusOr<Connection*> again =
          EnsureConnected(ConnectDeadline(backoff.deadline()));
      if (!again.ok()) return again.status();
      conn = *again;
    }
    if (body_thread != nullptr) body_thread->store(std::this_thread::get_id());
    TransactionAttempt tx =
        parts_.transactions.Attempt(*conn, *begin, body, options.resolve_outcome, deadline);
    if (body_thread != nullptr) body_thread->store(std::thread::id());
    if (tx.done.has_value()) {
      conn->MarkUsed(parts_.clock().MonotonicNanos());
      return *std::move(tx.done);
    }
    const FailureFacts& facts = tx.facts;
    if (facts.connection_lost) {
      parts_.events.ClientDead(
          facts.phase == Phase::kCommit ? EventSource::kCommit : EventSource::kTransaction,
          SqlState(facts.status), facts.status.message());
      conn_.reset();
    } else {
      conn->MarkUsed(parts_.clock().MonotonicNanos());
    }
    Verdict verdict = Classify(facts);
    if (verdict == Verdict::kOutcomeUnknown && !tx.xid.empty()) {
      const XidFate fate = ResolveXid(tx.xid, backoff.deadline());
      if (fate == XidFate::kCommitted) return absl::OkStatus();
      if (fate == XidFate::kAborted) verdict = Verdict::kRetry;
    }
    if (verdict == Verdict::kRetry &&
        backoff.Wait(attempt, facts.status.message(), SqlState(facts.status))) {
      continue;
    }
    if (verdict == Verdict::kOutcomeUnknown) {
      return OutcomeUnknownError(
          absl::StrCat(facts.timed_out ? "deadline exceeded" : "connection lost",
                       " after COMMIT was sent; the transaction may or may not have committed "
                       "(outcome unknown",
                       tx.xid.empty() ? "" : absl::StrCat(", xid ", tx.xid),
                       "): ", facts.status.message()),
          SqlState(facts.status),
          facts.timed_out ? absl::StatusCode::kDeadlineExceeded : absl::StatusCode::kUnknown);
    }
    return facts.status;
  }
}

bool Lane::RunBatch(absl::Span<const pg::Statement> statements, const pg::Deadline& deadline,
                    std::vector<pg::Reply>* replies) {
  const PublishOnReturn publish(*this);
  if (!ReadyAt(parts_.clock().MonotonicNanos()) ||
      conn_->transaction_status() != PQTRANS_IDLE) {
    return false;
  }
  *replies = pg::RunPipeline(conn_->get(), statements, deadline);
  if (conn_->ok()) conn_->MarkUsed(parts_.clock().MonotonicNanos());
  return true;
}

XidFate Lane::ResolveXid(const std::string& xid, absl::Time deadline) {
  // The old backend may still be finishing the commit: "in progress" is
  // asked again until the deadline.
  while (parts_.clock().MonotonicNow() < deadline) {
    absl::StatusOr<Connection*> conn = EnsureConnected(deadline);
    if (!conn.ok()) return XidFate::kUnknown;
    const XidFate fate = parts_.transactions.LookUp(**conn, xid, CallDeadline(deadline));
    if (fate == XidFate::kConnectionLost) {
      conn_.reset();
      continue;
    }
    if (fate != XidFate::kInProgress) return fate;
    parts_.clock().SleepFor(absl::Milliseconds(20));
  }
  return XidFate::kUnknown;
}

absl::StatusOr<ReapReport> Lane::RunReaperPass(bool dry_run) {
  const PublishOnReturn publish(*this);
  if (!parts_.leases.enabled()) {
    return absl::FailedPreconditionError(
        "reaper pass: leases are off (no coordination secret), so there is nothing to verify");
  }
  absl::StatusOr<Connection*> conn =
      EnsureConnected(parts_.clock().MonotonicNow() + parts_.options().connect_budget);
  if (!conn.ok()) return conn.status();
  const pg::Deadline deadline =
      CallDeadline(parts_.clock().MonotonicNow() + parts_.options().query_budget);
  absl::StatusOr<bool> pooler = parts_.reaper.BehindPooler(**conn, deadline);
  if (!pooler.ok()) {
    conn_.reset();
    return pooler.status();
  }
  if (*pooler) {
    return absl::FailedPreconditionError(
        "reaper pass: a pooler answers for the server on this connection, and a pass through "
        "it could kill the server session of live clients; run passes over a direct "
        "connection to the server (reaper_conninfo, or 'aequorctl reap')");
  }
  ReapReport report = parts_.reaper.RunManual(**conn, dry_run, deadline);
  if (!(*conn)->ok()) conn_.reset();
  return report;
}

}  // namespace aequor
