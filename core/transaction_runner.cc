#include "core/transaction_runner.h"

#include <exception>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/errors.h"
#include "core/lease_keeper.h"
#include "core/statement_params.h"
#include "util/pg.h"

namespace aequor {
namespace {

absl::Status TimedOutStatus(absl::string_view what) {
  return absl::DeadlineExceededError(absl::StrCat(what, ": ", pg::kTimedOutMessage));
}

// A failed statement's error as a status.
absl::Status FailureStatus(const pg::ResultError& e, absl::StatusCode fallback, bool lost) {
  return StatusFromSqlState(e.sqlstate,
                            lost ? absl::StrCat("connection lost: ", e.message) : e.message,
                            lost ? absl::StatusCode::kUnavailable : fallback);
}

}  // namespace

absl::StatusOr<std::string> BeginStatement(const TransactionOptions& options) {
  std::string begin = "BEGIN";
  switch (options.isolation) {
    case Isolation::kServerDefault: break;
    case Isolation::kReadCommitted: begin += " ISOLATION LEVEL read committed"; break;
    case Isolation::kRepeatableRead: begin += " ISOLATION LEVEL repeatable read"; break;
    case Isolation::kSerializable: begin += " ISOLATION LEVEL serializable"; break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "TransactionOptions.isolation: must be one of Isolation's values (kServerDefault, "
          "kReadCommitted, kRepeatableRead, kSerializable), got ",
          static_cast<int>(options.isolation)));
  }
  if (options.read_only) absl::StrAppend(&begin, " READ ONLY");
  if (options.resolve_outcome) absl::StrAppend(&begin, "; SELECT pg_current_xact_id()::text");
  return begin;
}

// The Transaction handed to a body: runs its statements on the attempt's
// connection and remembers the first failure.
class TransactionRunner::Tx final : public Transaction {
 public:
  Tx(TransactionRunner& runner, Connection& conn, const pg::Deadline& deadline)
      : runner_(runner), conn_(conn), deadline_(deadline) {}

  absl::StatusOr<QueryResult> Query(absl::string_view sql,
                                    absl::Span<const Param> params) override {
    if (!first_error_.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("the transaction already failed (",
                                                        first_error_.message(),
                                                        "); return from the body to roll back"));
    }
    absl::StatusOr<QueryResult> r = runner_.RunStatement(conn_, sql, params, deadline_, timed_out_);
    if (!r.ok()) {
      first_error_ = r.status();
      connection_lost_ = !conn_.ok();
    }
    return r;
  }

  const absl::Status& first_error() const { return first_error_; }
  bool connection_lost() const { return connection_lost_; }
  bool timed_out() const { return timed_out_; }

 private:
  TransactionRunner& runner_;
  Connection& conn_;
  const pg::Deadline& deadline_;
  absl::Status first_error_;
  bool connection_lost_ = false;
  bool timed_out_ = false;
};

absl::StatusOr<QueryResult> TransactionRunner::RunStatement(Connection& conn, absl::string_view sql,
                                                            absl::Span<const Param> params,
                                                            const pg::Deadline& deadline,
                                                            bool& timed_out) {
  StatementParams arrays;
  if (absl::Status s = arrays.Set(params); !s.ok()) return s;
  const std::string text(sql);
  pg::Statement statement{text.c_str()};
  arrays.Into(statement);
  const int64_t start_ns = clock_.MonotonicNanos();
  events_.QueryStart(sql);
  pg::Reply r = conn.Run(statement, deadline);
  const int64_t took_ns = clock_.MonotonicNanos() - start_ns;
  if (Succeeded(r.result.get())) {
    QueryResult rows(r.result.release());
    events_.QueryEnd(sql, took_ns, /*attempt=*/0, rows);
    return rows;
  }
  if (r.timed_out) {
    timed_out = true;
    events_.QueryError(sql, absl::Nanoseconds(took_ns), /*attempt=*/0, "", pg::kTimedOutMessage);
    return TimedOutStatus("a statement of the transaction");
  }
  const pg::ResultError e = pg::ReadError(r.result.get(), conn.get());
  events_.QueryError(sql, absl::Nanoseconds(took_ns), /*attempt=*/0, e.sqlstate, e.message);
  return FailureStatus(e, absl::StatusCode::kInternal, /*lost=*/!conn.ok());
}

TransactionAttempt TransactionRunner::Attempt(Connection& conn, const std::string& begin,
                                              const TransactionBody& body, bool resolve_outcome,
                                              const pg::Deadline& deadline) {
  TransactionAttempt out;
  out.facts.phase = Phase::kTransactionBody;
  pg::Reply began = conn.Run(pg::Statement{begin.c_str(), 0, nullptr, /*simple=*/true}, deadline);
  if (began.timed_out) {
    out.facts.connection_lost = true;
    out.facts.timed_out = true;
    out.facts.status = TimedOutStatus("BEGIN");
    return out;
  }
  if (!Succeeded(began.result.get())) {
    out.facts.connection_lost = !conn.ok();
    out.facts.status =
        FailureStatus(pg::ReadError(began.result.get(), conn.get()), absl::StatusCode::kUnavailable,
                      /*lost=*/false);
    return out;
  }
  if (resolve_outcome && PQntuples(began.result.get()) == 1) {
    out.xid = PQgetvalue(began.result.get(), 0, 0);
  }

  Tx tx(*this, conn, deadline);
  absl::Status body_status;
  try {
    body_status = body(tx);
  } catch (const std::exception& e) {
    body_status = absl::InternalError(absl::StrCat("the transaction body threw: ", e.what()));
  } catch (...) {
    body_status = absl::InternalError("the transaction body threw");
  }
  // The body swallowed an error: the server aborted the transaction.
  if (body_status.ok() && !tx.first_error().ok()) body_status = tx.first_error();
  if (!body_status.ok()) {
    out.facts.connection_lost = tx.connection_lost() || !conn.ok();
    out.facts.timed_out = tx.timed_out();
    if (!out.facts.connection_lost) {
      // A ROLLBACK that times out closes the connection: the server rolls
      // back then too.
      conn.Run(pg::Statement{"ROLLBACK", 0, nullptr, /*simple=*/true}, deadline);
    }
    // Retry on what the server said, never on the body's own errors.
    if (tx.first_error().ok()) {
      out.done = body_status;
      return out;
    }
    out.facts.status = tx.first_error();
    return out;
  }
  out.facts.phase = Phase::kCommit;
  pg::Reply commit = conn.Run(pg::Statement{"COMMIT", 0, nullptr, /*simple=*/true}, deadline);
  if (commit.timed_out) {
    out.facts.connection_lost = true;
    out.facts.timed_out = true;
    out.facts.status = TimedOutStatus("COMMIT");
    return out;
  }
  if (Succeeded(commit.result.get())) {
    out.done = std::string(PQcmdStatus(commit.result.get())) == "COMMIT"
                   ? absl::OkStatus()
                   : absl::AbortedError("the transaction was rolled back by the server at COMMIT");
    return out;
  }
  out.facts.connection_lost = !conn.ok();
  out.facts.status =
      FailureStatus(pg::ReadError(commit.result.get(), conn.get()), absl::StatusCode::kUnavailable,
                    /*lost=*/false);
  return out;
}

XidFate TransactionRunner::LookUp(Connection& conn, const std::string& xid,
                                  const pg::Deadline& deadline) {
  pg::Outcome r = pg::Exec(conn.get(), "SELECT pg_xact_status($1::xid8)", {xid}, deadline);
  if (!r.ok() || PQntuples(r.get()) != 1) {
    return conn.ok() ? XidFate::kUnknown : XidFate::kConnectionLost;
  }
  if (PQgetisnull(r.get(), 0, 0)) return XidFate::kUnknown;  // too old to know
  const std::string status = PQgetvalue(r.get(), 0, 0);
  if (status == "committed") return XidFate::kCommitted;
  if (status == "aborted") return XidFate::kAborted;
  if (status == "in progress") return XidFate::kInProgress;
  return XidFate::kUnknown;
}

}  // namespace aequor
