#include "core/reaper.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lease.h"
#include "util/pg.h"

namespace aequor {

namespace {

// A candidate: a row and its lease's expiry (for ordering).
struct Row : SessionRow {
  int64_t expires_ms = 0;
};

class Pass {
 public:
  Pass(PGconn* conn, const ReaperSettings& settings, const LeaseSigner& signer, Clock& clock,
       const pg::Deadline& deadline)
      : conn_(conn), settings_(settings), signer_(signer), clock_(clock), deadline_(deadline) {}

  // Runs steps 1-6; on error returns false with report_.message set.
  bool Run() {
    if (!Begin()) return false;
    bool locked = first_lock_result_;
    if (!locked) {
      if (!FreeFrozenLeader(locked)) return false;
      if (!locked) {
        Exec("ROLLBACK", "rollback");
        report_.outcome = ReapOutcome::kBusy;
        return true;
      }
    }
    std::vector<Row> candidates;
    if (!Scan(candidates)) return false;
    if (!Kill(candidates)) return false;
    pg::Result commit = Exec("COMMIT", "commit");
    if (!commit) return false;
    report_.outcome = ReapOutcome::kCompleted;
    return true;
  }

  ReapReport& report() { return report_; }

 private:
  // Runs `sql` (the simple protocol without `params`) and checks the
  // result; nullptr on error, whose message the report keeps.
  pg::Result Exec(const std::string& sql, absl::string_view step,
                  std::vector<std::string> params = {}) {
    pg::Outcome out = pg::Exec(conn_, sql, params, deadline_);
    if (out.ok()) return out.release();
    if (report_.message.empty()) {
      report_.message = absl::StrCat(
          "reaper pass failed at ", step,
          out.sqlstate().empty() ? "" : absl::StrCat(" (SQLSTATE ", out.sqlstate(), ")"), ": ",
          out.message());
    }
    return nullptr;
  }

  std::string Literal(absl::string_view text) {
    char* escaped = PQescapeLiteral(conn_, text.data(), text.size());
    if (escaped == nullptr) return "''";
    std::string out(escaped);
    PQfreemem(escaped);
    return out;
  }

  bool Begin() {
    // One round trip: the transaction, its time limits, the lock, and what
    // the server tells in passing (usage and its clock).
    lock_sql_ = absl::StrCat("SELECT pg_try_advisory_xact_lock(", kReaperLockNamespace,
                             ", hashtext(", Literal(settings_.service), "))");
    std::string sql = absl::StrCat(
        "BEGIN; SET LOCAL statement_timeout = ",
        absl::ToInt64Milliseconds(settings_.statement_timeout),
        "; SET LOCAL idle_in_transaction_session_timeout = ",
        absl::ToInt64Milliseconds(settings_.lock_idle_timeout), "; ", lock_sql_,
        ", current_setting('is_superuser') = 'on'",
        settings_.read_usage
            ? absl::StrCat(", p.* FROM (",
                           ProbeSql(ProbeSettingsOf(settings_), /*check_lock=*/false), ") p")
            : std::string());
    const absl::Time sent = clock_.Now();
    pg::Result r = Exec(sql, "begin and lock");
    const absl::Time received = clock_.Now();
    if (!r) return false;
    const bool one_row = PQntuples(r.get()) == 1;
    first_lock_result_ = one_row && std::string(PQgetvalue(r.get(), 0, 0)) == "t";
    current_user_superuser_ = one_row && std::string(PQgetvalue(r.get(), 0, 1)) == "t";
    const ProbeReading probe = ReadProbe(r.get(), 0, 2);
    report_.connection_usage = probe.usage;
    if (probe.server_us.has_value()) {
      report_.clock_offset = OffsetFromSample(*probe.server_us, sent, received);
    }
    report_.under_pressure =
        settings_.under_pressure ||
        (probe.usage.has_value() && *probe.usage >= settings_.pressure_threshold);
    return true;
  }

  // Step 2: a frozen leader holding the lock is a zombie like any other.
  bool FreeFrozenLeader(bool& locked) {
    std::string sql =
        absl::StrCat("SELECT ", kSessionColumnsSql,
                     " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                     " LEFT JOIN pg_roles r ON r.oid = a.usesysid"
                     " WHERE l.locktype = 'advisory' AND l.classid = ",
                     kReaperLockNamespace,
                     " AND l.objid = hashtext($1)::oid AND l.objsubid = 2 AND l.granted"
                     " AND a.pid <> pg_backend_pid() AND a.datname = current_database()");
    pg::Result r = Exec(sql, "lock holder lookup", {settings_.service});
    if (!r) return false;
    std::vector<Row> holders;
    std::map<std::string, int> ignored;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      Row row;
      static_cast<SessionRow&>(row) = ReadSessionRow(r.get(), i);
      if (Evaluate(row, ignored)) holders.push_back(std::move(row));
    }
    if (holders.empty() || settings_.dry_run) return true;
    int killed = 0;
    // Wait (up to 1 s) for the holder to exit: the session lock goes with it.
    if (!Terminate(holders, killed, /*wait_ms=*/1000)) return false;
    report_.killed += killed;
    if (killed == 0) return true;
    report_.frozen_leader_killed = true;
    // The session lock goes with its backend; try once more.
    pg::Result again = Exec(lock_sql_, "lock retry");
    if (!again) return false;
    locked = PQntuples(again.get()) == 1 && std::string(PQgetvalue(again.get(), 0, 0)) == "t";
    return true;
  }

  // Decides one row. True for a candidate; otherwise counts the reason.
  bool Evaluate(Row& row, std::map<std::string, int>& skipped) {
    const char* reason =
        ReapDecision(row, settings_, signer_, current_user_superuser_, &row.expires_ms);
    if (reason == nullptr) return true;
    ++skipped[reason];
    return false;
  }

  bool Scan(std::vector<Row>& candidates) {
    if (!Exec("SELECT pg_stat_clear_snapshot()", "snapshot")) return false;
    // Exact text prefix: left(...) = prefix, never LIKE ('_' is a wildcard).
    std::string sql =
        absl::StrCat("SELECT ", kSessionColumnsSql,
                     " FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid"
                     " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
                     // backend_type is NULL (like state) for sessions this role may not
                     // inspect; keep them so they are counted as not visible.
                     " AND coalesce(a.backend_type, 'client backend') = 'client backend'"
                     " AND left(a.application_name, length($1)) = $1");
    pg::Result r = Exec(sql, "scan", {absl::StrCat("s=", settings_.service, ";")});
    if (!r) return false;
    report_.scanned = PQntuples(r.get());
    for (int i = 0; i < report_.scanned; ++i) {
      Row row;
      static_cast<SessionRow&>(row) = ReadSessionRow(r.get(), i);
      if (Evaluate(row, report_.skipped)) candidates.push_back(std::move(row));
    }
    report_.candidates = static_cast<int>(candidates.size());
    // Oldest expiry first, then the longest idle.
    std::sort(candidates.begin(), candidates.end(), [](const Row& a, const Row& b) {
      if (a.expires_ms != b.expires_ms) return a.expires_ms < b.expires_ms;
      return a.idle_s > b.idle_s;
    });
    const size_t keep =
        report_.under_pressure
            ? candidates.size()
            : static_cast<size_t>(std::max(0, settings_.max_kills - report_.killed));
    if (candidates.size() > keep) {
      report_.skipped[skip_reason::kOverLimit] += static_cast<int>(candidates.size() - keep);
      candidates.resize(keep);
    }
    if (settings_.dry_run && !candidates.empty()) {
      report_.skipped[skip_reason::kDryRun] += static_cast<int>(candidates.size());
      candidates.clear();
    }
    return true;
  }

  bool Kill(const std::vector<Row>& candidates) {
    if (candidates.empty()) return true;
    if (settings_.before_terminate_for_testing) settings_.before_terminate_for_testing();
    int killed = 0;
    if (!Terminate(candidates, killed)) return false;
    report_.killed += killed;
    if (killed < static_cast<int>(candidates.size())) {
      report_.skipped[skip_reason::kChanged] += static_cast<int>(candidates.size()) - killed;
    }
    return true;
  }

  // Terminates the rows that are still exactly as seen, and that this role
  // may signal, in one statement.
  bool Terminate(const std::vector<Row>& rows, int& killed, int wait_ms = 0) {
    if (!Exec("SELECT pg_stat_clear_snapshot()", "snapshot")) return false;
    std::vector<std::string> pids, apps, started, changed, states;
    for (const Row& row : rows) {
      pids.push_back(absl::StrCat(row.pid));
      // Leases are [A-Za-z0-9:_=;-]; quoting keeps the array literal exact.
      apps.push_back(absl::StrCat("\"", row.application_name, "\""));
      started.push_back(row.backend_start_us);
      changed.push_back(row.state_change_us);
      states.push_back(absl::StrCat("\"", row.state, "\""));
    }
    auto array = [](const std::vector<std::string>& v) {
      return absl::StrCat("{", absl::StrJoin(v, ","), "}");
    };
    static constexpr char kSql[] = R"sql(
SELECT a.pid, pg_terminate_backend(a.pid, $6::bigint)
FROM pg_stat_activity a
JOIN unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])
     AS t(pid, app, started_us, changed_us, state) ON a.pid = t.pid
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.application_name = t.app
  AND (EXTRACT(EPOCH FROM a.backend_start) * 1000000)::bigint = t.started_us
  AND (EXTRACT(EPOCH FROM a.state_change) * 1000000)::bigint = t.changed_us
  AND a.state = t.state
  AND (NOT coalesce(r.rolsuper, true)
       OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))
  AND (pg_has_role(current_user, a.usesysid, 'MEMBER')
       OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')
       OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)))sql";
    pg::Result r = Exec(kSql, "terminate",
                        {array(pids), array(apps), array(started), array(changed), array(states),
                         absl::StrCat(wait_ms)});
    if (!r) return false;
    killed = 0;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      if (std::string(PQgetvalue(r.get(), i, 1)) == "t") ++killed;
    }
    return true;
  }

  PGconn* conn_;
  const ReaperSettings& settings_;
  const LeaseSigner& signer_;
  Clock& clock_;
  const pg::Deadline& deadline_;
  ReapReport report_;
  std::string lock_sql_;
  bool first_lock_result_ = false;
  bool current_user_superuser_ = false;
};

}  // namespace

ReapReport RunReaperPass(PGconn* conn, const ReaperSettings& settings, const LeaseSigner& signer,
                         Clock& clock, const pg::Deadline& deadline) {
  const absl::Time start = clock.MonotonicNow();
  ReapReport report;
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    report.message = "reaper pass: no live connection";
  } else if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
    report.message = "reaper pass: the connection is inside a transaction; pass not run";
  } else {
    Pass pass(conn, settings, signer, clock, deadline);
    bool ok = pass.Run();
    report = std::move(pass.report());
    if (!ok) {
      report.outcome = ReapOutcome::kError;
      if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        pg::Exec(conn, "ROLLBACK", {}, deadline);
      }
    }
  }
  report.duration = clock.MonotonicNow() - start;
  return report;
}

}  // namespace aequor
