#include "core/lease_keeper.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
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
    conn.SetLease(std::move(lease), Connection::kNever, Connection::kNever);
    return;
  }
  // The options are validated (renew/block before < ttl <= a day), so these
  // sums cannot overflow.
  conn.SetLease(std::move(lease), signed_at_ns + absl::ToInt64Nanoseconds(ttl_ - renew_before_),
                signed_at_ns + absl::ToInt64Nanoseconds(ttl_ - block_before_));
}

absl::Status LeaseKeeper::RenewBlocking(Connection& connection) {
  absl::StatusOr<std::string> lease = NewLease();
  if (!lease.ok()) return lease.status();
  const char* values[] = {lease->c_str()};
  PGconn* conn = connection.get();
  const int64_t signed_at_ns = clock_.MonotonicNanos();
  const absl::Time deadline = clock_.MonotonicNow() + renew_timeout_;
  const absl::Time sent = clock_.Now();
  absl::Status failure;
  if (!PQsendQueryParams(conn, renew_sql_.c_str(), 1, nullptr, values, nullptr, nullptr, 0)) {
    failure = absl::UnavailableError(pg::ErrorMessage(conn));
  }
  while (failure.ok() && PQisBusy(conn)) {
    const absl::Duration left = deadline - clock_.MonotonicNow();
    if (left <= absl::ZeroDuration()) {
      failure = absl::DeadlineExceededError("lease renewal timed out");
      break;
    }
    struct pollfd p = {PQsocket(conn), POLLIN, 0};
    const int ready =
        poll(&p, 1, static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left))));
    if (ready < 0 && errno != EINTR) failure = absl::UnavailableError("poll failed");
    if (ready > 0 && !PQconsumeInput(conn)) {
      failure = absl::UnavailableError(pg::ErrorMessage(conn));
    }
  }
  ProbeReading reading;
  absl::Time received = sent;
  if (failure.ok()) {
    pg::Result r(PQgetResult(conn));
    if (Succeeded(r.get())) {
      reading = ReadProbe(r.get(), 0, 1);
      received = clock_.Now();
    } else {
      const pg::ResultError e = pg::ReadError(r.get(), conn);
      failure = StatusFromSqlState(e.sqlstate, e.message);
    }
    while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
  }
  if (failure.ok() && !connection.ok()) failure = absl::UnavailableError(pg::ErrorMessage(conn));
  if (!failure.ok()) {
    events_.LeaseRenewFailed(failure.message());
    return failure;
  }
  Install(connection, *std::move(lease), signed_at_ns);
  events_.LeaseRenewed(EventSource::kBlocking);
  server_.ObserveProbe(reading, sent, received);
  return absl::OkStatus();
}

Execution LeaseKeeper::ExecWithRenewal(Connection& connection, const Statement& statement) {
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
  const bool sent =
      PQenterPipelineMode(conn) &&
      PQsendQueryParams(conn, renew_sql_.c_str(), 1, nullptr, lease_value, nullptr, nullptr, 0) &&
      PQsendQueryParams(conn, statement.text, statement.n_params, nullptr, statement.values,
                        nullptr, nullptr, 0) &&
      PQpipelineSync(conn);
  pg::Result renewal;
  absl::Time received_at = sent_at;
  if (sent) {
    renewal.reset(PQgetResult(conn));
    received_at = clock_.Now();
    while (PGresult* rest = PQgetResult(conn)) PQclear(rest);  // up to the NULL
    out.result.reset(PQgetResult(conn));
    while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
    pg::Result sync(PQgetResult(conn));  // PGRES_PIPELINE_SYNC
  }
  if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF) PQexitPipelineMode(conn);
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
      out.result = Exec(connection, statement);
      out.sent = true;
    }
  }
  return out;
}

}  // namespace aequor
