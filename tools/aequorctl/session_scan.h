// tools/aequorctl/session_scan.h: every client session of the database, with
// what its lease says and what a reaper pass would do with it: what
// `aequorctl leases` lists and `doctor` counts.
//
//   absl::StatusOr<SessionScan> scan = ScanSessions(conn, settings, signer, redactor);
//   for (const SessionView& s : scan->sessions) if (s.would_kill) ...
//
// The verdict is core's ReapDecision() with the settings a pass of the
// connection manager would use; the per-pass limit (--max-kills) is not
// applied.
//
// Thread-safety: uses `conn` exclusively for the duration of the call.
#ifndef AEQUOR_TOOLS_AEQUORCTL_SESSION_SCAN_H_
#define AEQUOR_TOOLS_AEQUORCTL_SESSION_SCAN_H_

#include <libpq-fe.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "core/reap_decision.h"
#include "tools/aequorctl/redactor.h"

namespace aequor {
namespace cli {

// One session as `leases` shows it.
struct SessionView {
  SessionRow row;  // as core's ReadSessionRow() read it
  std::string role;
  bool visible = false;     // state is not NULL
  bool is_lease = false;    // application_name parses as a lease
  ParsedLease lease;        // when is_lease
  std::string lease_state;  // valid, expired, bad_tag, not_a_lease, unverified
  bool would_kill = false;
  std::string reason;  // "" when would_kill
};

struct SessionScan {
  std::string current_role;
  std::string current_role_sql;  // quote_ident(current_user), for SQL hints
  bool current_role_superuser = false;
  std::vector<SessionView> sessions;  // by pid
};

// Reads every client session of the current database but this one and
// judges it with ReapDecision(settings, signer). `signer` null: no secret
// (leases "unverified", reason "no_secret" where the tag would decide).
absl::StatusOr<SessionScan> ScanSessions(PGconn* conn, const ReaperSettings& settings,
                                         const LeaseSigner* signer, const Redactor& redactor);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_SESSION_SCAN_H_
