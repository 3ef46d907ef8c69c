#include "tools/aequorctl/session_scan.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/aequorctl/connection.h"
#include "tools/aequorctl/secret_state.h"

namespace aequor {
namespace cli {

absl::StatusOr<SessionScan> ScanSessions(PGconn* conn, const ReaperSettings& settings,
                                         const LeaseSigner* signer, const Redactor& redactor) {
  SessionScan scan;
  absl::StatusOr<pg::Result> me =
      Exec(conn,
           "SELECT current_user::text, rolsuper, quote_ident(current_user) FROM pg_roles"
           " WHERE rolname = current_user",
           {}, redactor);
  if (!me.ok()) return me.status();
  if (PQntuples(me->get()) == 1) {
    scan.current_role = PQgetvalue(me->get(), 0, 0);
    scan.current_role_superuser = std::string(PQgetvalue(me->get(), 0, 1)) == "t";
    scan.current_role_sql = PQgetvalue(me->get(), 0, 2);
  }
  // The pass's own scan (core/reaper.cc) without the service prefix: this
  // database, not this backend, client backends (and the rows whose
  // backend_type is hidden, which are the not-visible ones).
  const std::string sql =
      absl::StrCat("SELECT ", kSessionColumnsSql,
                   ", coalesce(r.rolname::text, a.usename::text, '')"
                   " FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid"
                   " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
                   " AND coalesce(a.backend_type, 'client backend') = 'client backend'"
                   " ORDER BY a.pid");
  absl::StatusOr<pg::Result> rows = Exec(conn, sql, {}, redactor);
  if (!rows.ok()) return rows.status();
  const std::unique_ptr<LeaseSigner> no_secret = NoSecretSigner();
  const LeaseSigner& judge = signer != nullptr ? *signer : *no_secret;
  const int role_column = PQnfields(rows->get()) - 1;
  for (int i = 0; i < PQntuples(rows->get()); ++i) {
    SessionView s;
    s.row = ReadSessionRow(rows->get(), i);
    s.role = PQgetvalue(rows->get(), i, role_column);
    s.visible = !s.row.state.empty();
    absl::StatusOr<ParsedLease> lease = ParseLease(s.row.application_name);
    s.is_lease = lease.ok();
    if (!s.is_lease) {
      s.lease_state = "not_a_lease";
    } else {
      s.lease = *std::move(lease);
      if (signer == nullptr) {
        s.lease_state = "unverified";
      } else if (!VerifyLeaseTag(*signer, s.lease)) {
        s.lease_state = "bad_tag";
      } else {
        s.lease_state = s.row.now_ms > s.lease.expires_ms ? "expired" : "valid";
      }
    }
    const char* reason = ReapDecision(s.row, settings, judge, scan.current_role_superuser);
    s.would_kill = reason == nullptr;
    if (reason != nullptr) {
      s.reason = signer == nullptr && absl::string_view(reason) == skip_reason::kBadTag
                     ? kNoSecretReason
                     : reason;
    }
    scan.sessions.push_back(std::move(s));
  }
  return scan;
}

}  // namespace cli
}  // namespace aequor
