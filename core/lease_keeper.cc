#include "core/lease_keeper.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/errors.h"
#include "api/lease.h"

namespace aequor {

bool Succeeded(const PGresult* r) {
  const ExecStatusType s = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK || s == PGRES_EMPTY_QUERY;
}

LeaseKeeper::LeaseKeeper(std::shared_ptr<const LeaseSigner> signer, std::string service,
                         std::string instance, const ManagerOptions& options,
                         const ProbeSettings& probe_settings, Clock& clock, ServerView& server,
                         EventEmitter& events)
    : signer_(std::move(signer)),
      service_(std::move(service)),
      instance_(std::move(instance)),
      ttl_(options.lease_ttl),
      renew_before_(options.lease_renew_before),
      block_before_(options.lease_block_before),
      renew_timeout_(options.lease_renew_timeout),
      cancel_timeout_(options.cancel_timeout),
      renew_sql_(absl::StrCat("SELECT set_config('application_name', $1, false), p.* FROM (",
                              ProbeSql(probe_settings, /*check_lock=*/false), ") p")),
      clock_(clock),
      server_(server),
      events_(events) {}

absl::StatusOr<std::string> LeaseKeeper::NewLease() const {
  if (signer_ == nullptr) return std::string();
  // Compensated by this host's measured offset to the server's clock, so that
  // the server never sees the lease expire early (absl::Time saturates).
  const int64_t expires_ms = absl::ToUnixMillis(clock_.Now() + ttl_ + server_.lease_compensation());
  absl::StatusOr<std::string> lease = SignLease(*signer_, service_, instance_, expires_ms);
  if (!lease.ok()) {
    return absl::Status(lease.status().code(),
                        absl::StrCat("signing the lease: ", lease.status().message()));
  }
  return lease;
}

void LeaseKeeper::Install(Connection& conn, std::string lease, int64_t signed_at_ns) const {
  if (signer_ == nullptr) {
    conn.SetLease(std::move(lease), Connection::kNever, Connection::kNever, Connection::kNever);
    return;
  }
  // The options are validated (renew/block before < ttl <= a day), so these
  // sums cannot overflow.
  conn.SetLease(std::move(lease), signed_at_ns + absl::ToInt64Nanoseconds(ttl_ - renew_before_),
                signed_at_ns + absl::ToInt64Nanoseconds(ttl_ - block_before_),
                signed_at_ns + absl::ToInt64Nanoseconds(ttl_));
}

absl::Status LeaseKeeper::RenewBlocking(Connection& connection, const pg::Deadline& call) {
  absl::StatusOr<std::string> lease = NewLease();
  if (!lease.ok()) return lease.status();
  const char* values[] = {lease->c_str()};
  const int64_t signed_at_ns = clock_.MonotonicNanos();
  const pg::Deadline deadline =
      call.Earlier(clock_, clock_.MonotonicNow() + renew_timeout_, cancel_timeout_);
  const absl::Time sent = clock_.Now();
  pg::Reply reply = connection.Run(pg::Statement{renew_sql_.c_str(), 1, values}, deadline);
  absl::Status failure;
  if (reply.timed_out) {
    failure = absl::DeadlineExceededError(absl::StrCat(
        "lease renewal: no answer in time (lease_renew_timeout ",
        absl::FormatDuration(renew_timeout_), ", or the call's deadline); ", pg::kTimedOutMessage));
  } else if (!Succeeded(reply.result.get())) {
    const pg::ResultError e = pg::ReadError(reply.result.get(), connection.get());
    failure = StatusFromSqlState(e.sqlstate, e.message);
  } else if (!connection.ok()) {
    failure = absl::UnavailableError(connection.ErrorMessage());
  }
  if (!failure.ok()) {
    events_.LeaseRenewFailed(failure.message());
    return failure;
  }
  const absl::Time received = clock_.Now();
  Install(connection, *std::move(lease), signed_at_ns);
  events_.LeaseRenewed(EventSource::kBlocking);
  server_.ObserveProbe(ReadProbe(reply.result.get(), 0, 1), sent, received);
  return absl::OkStatus();
}

Execution LeaseKeeper::ExecWithRenewal(Connection& connection, const pg::Statement& statement,
                                       const pg::Deadline& deadline) {
  Execution out;
  const int64_t signed_at_ns = clock_.MonotonicNanos();
  absl::StatusOr<std::string> lease = NewLease();
  if (!lease.ok()) {
    out.signing = lease.status();
    out.sent = false;
    return out;
  }
  PGconn* conn = connection.get();
  const char* lease_value[] = {lease->c_str()};
  const absl::Time sent_at = clock_.Now();
  // Two sync points, so two implicit transactions: the renewal commits
  // whatever becomes of the statement (a failed statement rolls back its own
  // implicit transaction, and with one sync the set_config with it, while
  // the renewal's result said OK).
  const bool sent =
      (PQisnonblocking(conn) || PQsetnonblocking(conn, 1) == 0) && PQenterPipelineMode(conn) &&
      PQsendQueryParams(conn, renew_sql_.c_str(), 1, nullptr, lease_value, nullptr, nullptr, 0) &&
      PQpipelineSync(conn) &&
      (statement.prepared_name != nullptr
           ? PQsendQueryPrepared(conn, statement.prepared_name, statement.n_params,
                                 statement.values, statement.lengths, statement.formats, 0)
           : PQsendQueryParams(conn, statement.text, statement.n_params, nullptr,
                               statement.values, statement.lengths, statement.formats, 0)) &&
      PQpipelineSync(conn);
  // The pipeline's next result once it is complete; false once the
  // deadline has passed (the connection is then closed).
  auto next = [&](pg::Result& into) {
    if (out.timed_out || !pg::FlushAndAwait(conn, deadline)) {
      out.timed_out = true;
      into.reset();
      return false;
    }
    into.reset(PQgetResult(conn));
    return true;
  };
  // The results that remain of one query, up to the NULL that ends them.
  auto skip_rest = [&] {
    pg::Result rest;
    while (next(rest) && rest != nullptr) {
    }
  };
  pg::Result renewal;
  absl::Time received_at = sent_at;
  if (sent) {
    next(renewal);
    received_at = clock_.Now();
    skip_rest();
    pg::Result sync;  // PGRES_PIPELINE_SYNC, after each
    next(sync);
    next(out.result);
    skip_rest();
    next(sync);
  }
  if (out.timed_out) return out;  // the connection is closed: the caller drops it
  if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(conn)) {
    // Part of the pipeline was queued and never sent (a failed send): the
    // connection cannot be used as it is. Closed; nothing of the statement ran.
    pg::Abandon(conn, cancel_timeout_);
    out.result.reset();
    out.sent = false;
    return out;
  }
  if (Succeeded(renewal.get())) {
    Install(connection, *std::move(lease), signed_at_ns);
    events_.LeaseRenewed(EventSource::kPipeline);
    server_.ObserveProbe(ReadProbe(renewal.get(), 0, 1), sent_at, received_at);
    return out;
  }
  events_.LeaseRenewFailed(pg::ReadError(renewal.get(), conn).message);
  // A failed renewal aborts the rest of the pipeline: the statement never
  // ran. Send it alone if the connection lives.
  if (out.result == nullptr || PQresultStatus(out.result.get()) == PGRES_PIPELINE_ABORTED) {
    out.result.reset();
    out.sent = false;
    if (connection.ok()) {
      pg::Reply alone = connection.Run(statement, deadline);
      out.result = std::move(alone.result);
      out.timed_out = alone.timed_out;
      out.sent = true;
    }
  }
  return out;
}

}  // namespace aequor
