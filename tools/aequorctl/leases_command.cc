#include "tools/aequorctl/leases_command.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/secret.h"

namespace aequor {
namespace cli {
namespace {

std::string LeasesUsage() {
  return absl::StrCat(
      "Usage: aequorctl leases [--dsn DSN] [--service S] [--json] [--min-idle-s N]\n"
      "                        [--clock-skew-s N] [--reap-idle-in-transaction-after-s N]\n"
      "\n"
      "Lists every client session of the database you connect to (except\n"
      "aequorctl's own): pid, role, state, idle time, what its application_name\n"
      "says as a lease, and whether a reaper pass of the service would kill it now\n"
      "and, if not, why. The verdict is the reaper's own rule (core ReapDecision)\n"
      "with the settings a pass would use; the per-pass limit (--max-kills of\n"
      "'aequorctl reap') is not applied.\n"
      "\n",
      kConnectionFlagsHelp, kReaperFlagsHelp,
      "\n"
      "Lease: valid (signed with the secret, not expired), expired (signed, the\n"
      "server's clock is past its expiry), bad_tag (another secret, or forged),\n"
      "not_a_lease, unverified (no secret to check it with). Without the\n"
      "coordination secret ($AEQUOR_COORDINATION_SECRET, or the file named by\n"
      "$AEQUOR_COORDINATION_SECRET_FILE; never a flag) leases are unverified and\n"
      "nothing would be killed (reason no_secret). Sessions of other roles show\n"
      "state null and reason not_visible unless your role has pg_read_all_stats.\n"
      "Such limits are explained on stderr.\n"
      "\n"
      "Reasons a pass would spare a session: not_visible, bad_lease (not a lease),\n"
      "other_service, bad_tag, not_expired (also within --clock-skew-s of its\n"
      "expiry), active, idle_in_transaction, idle_too_short, superuser,\n"
      "not_permitted (your role may not signal it), no_secret.\n"
      "\n"
      "--json: one JSON object per line (JSON lines), every key always present:\n"
      "  pid, role, application_name, service, instance, lease, expires_ms,\n"
      "  expires_in_ms, expired_for_ms, state, idle_s, would_kill, reason\n"
      "(null where not applicable; times by the server's clock).\n"
      "\n"
      "Exit status: 0 listed, 2 usage error, unusable secret or connection error.");
}

int Fail(CliEnv& env, absl::string_view message, bool hint = false) {
  *env.err << "aequorctl leases: " << message << "\n";
  if (hint) *env.err << "Run 'aequorctl leases --help' for usage.\n";
  return kExitUsage;
}

std::string JsonOrNull(bool present, const std::string& json) { return present ? json : "null"; }

std::string JsonLine(const SessionView& s) {
  const bool expired = s.is_lease && s.row.now_ms > s.lease.expires_ms;
  std::string out = absl::StrCat("{\"pid\":", s.row.pid, ",\"role\":", JsonQuote(s.role),
                                 ",\"application_name\":", JsonQuote(s.row.application_name));
  absl::StrAppend(&out, ",\"service\":", JsonOrNull(s.is_lease, JsonQuote(s.lease.service)),
                  ",\"instance\":", JsonOrNull(s.is_lease, JsonQuote(s.lease.instance)),
                  ",\"lease\":", JsonQuote(s.lease_state),
                  ",\"expires_ms\":", JsonOrNull(s.is_lease, absl::StrCat(s.lease.expires_ms)));
  absl::StrAppend(
      &out, ",\"expires_in_ms\":",
      JsonOrNull(s.is_lease && !expired, absl::StrCat(s.lease.expires_ms - s.row.now_ms)),
      ",\"expired_for_ms\":", JsonOrNull(expired, absl::StrCat(s.row.now_ms - s.lease.expires_ms)));
  absl::StrAppend(&out, ",\"state\":", JsonOrNull(s.visible, JsonQuote(s.row.state)),
                  ",\"idle_s\":", JsonOrNull(s.visible, JsonNumber(s.row.idle_s, 3)),
                  ",\"would_kill\":", s.would_kill ? "true" : "false",
                  ",\"reason\":", JsonOrNull(!s.would_kill, JsonQuote(s.reason)), "}");
  return out;
}

std::string HumanLease(const SessionView& s) {
  if (!s.is_lease) {
    std::string name = s.row.application_name;
    if (name.empty()) return "not_a_lease (empty)";
    if (name.size() > 24) name = absl::StrCat(name.substr(0, 21), "...");
    return absl::StrCat("not_a_lease (\"", name, "\")");
  }
  const double left_s = static_cast<double>(s.lease.expires_ms - s.row.now_ms) / 1000.0;
  if (s.lease_state == "valid") return absl::StrCat("valid (", HumanSeconds(left_s), " left)");
  if (s.lease_state == "expired") return absl::StrCat("expired ", HumanSeconds(-left_s), " ago");
  if (s.lease_state == "unverified") {
    return absl::StrCat(
        "unverified (",
        left_s >= 0 ? HumanSeconds(left_s) + " left" : "expired " + HumanSeconds(-left_s) + " ago",
        ")");
  }
  return s.lease_state;
}

std::string HumanSettings(const ReaperSettings& settings) {
  return absl::StrCat(
      "min idle ", absl::FormatDuration(settings.min_idle), ", clock skew ",
      absl::FormatDuration(settings.clock_skew), ", idle in transaction ",
      settings.idle_in_transaction_min_idle > absl::ZeroDuration()
          ? absl::StrCat("after ", absl::FormatDuration(settings.idle_in_transaction_min_idle))
          : std::string("never"));
}

}  // namespace

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

int RunLeasesCommand(const std::vector<std::string>& args, CliEnv& env) {
  absl::StatusOr<Flags> flags = ParseFlags(args, OpsFlagSpec());
  if (!flags.ok()) return Fail(env, flags.status().message(), /*hint=*/true);
  if (flags->help) {
    *env.out << LeasesUsage() << "\n";
    return kExitOk;
  }
  absl::StatusOr<ReaperFlags> reaper = ParseReaperFlags(*flags, /*check_relations=*/true);
  if (!reaper.ok()) return Fail(env, reaper.status().message(), /*hint=*/true);
  absl::StatusOr<ServiceChoice> service = ServiceFromFlags(*flags);
  if (!service.ok()) return Fail(env, service.status().message(), /*hint=*/true);
  const bool json = flags->Has("json");

  SecretState secret = SignerFromEnvironment();
  if (!secret.status.ok() && secret.status.code() != absl::StatusCode::kNotFound) {
    return Fail(env, absl::StrCat("the coordination secret is set but unusable: ",
                                  secret.status.message()));
  }
  Redactor redactor;
  absl::StatusOr<pg::Conn> conn = ConnectFromFlags(*flags, kToolApplicationName, redactor);
  if (!conn.ok()) return Fail(env, conn.status().message());

  const ReaperSettings settings = SettingsFor(*service, *reaper, /*dry_run=*/true);
  absl::StatusOr<SessionScan> scan =
      ScanSessions(conn->get(), settings, secret.signer.get(), redactor);
  if (!scan.ok()) {
    return Fail(env, absl::StrCat("reading pg_stat_activity failed: ", scan.status().message()));
  }

  int would_kill = 0;
  int not_visible = 0;
  for (const SessionView& s : scan->sessions) {
    would_kill += s.would_kill ? 1 : 0;
    not_visible += s.visible ? 0 : 1;
  }
  if (json) {
    for (const SessionView& s : scan->sessions) *env.out << JsonLine(s) << "\n";
  } else {
    *env.out << "Database " << PQdb(conn->get()) << " as role " << scan->current_role
             << "; service " << service->normalized << " (" << service->source
             << "); a pass would use " << HumanSettings(settings) << ".\n";
    if (scan->sessions.empty()) {
      *env.out << "No other sessions.\n";
    } else {
      std::vector<std::vector<std::string>> table = {
          {"PID", "ROLE", "STATE", "IDLE", "LEASE", "SERVICE", "INSTANCE", "KILL", "REASON"}};
      for (const SessionView& s : scan->sessions) {
        table.push_back({absl::StrCat(s.row.pid), s.role, s.visible ? s.row.state : "?",
                         s.visible ? HumanSeconds(s.row.idle_s) : "?", HumanLease(s),
                         s.is_lease ? s.lease.service : "-", s.is_lease ? s.lease.instance : "-",
                         s.would_kill ? "yes" : "no", s.would_kill ? "-" : s.reason});
      }
      *env.out << FormatTable(table);
      *env.out << scan->sessions.size() << " session(s); a reaper pass would kill " << would_kill
               << " now (a pass kills at most --max-kills of them, oldest expiry first).\n";
    }
  }
  if (secret.signer == nullptr) {
    *env.err << "aequorctl leases: " << secret.status.message()
             << ": leases are shown as unverified and none as would_kill (reason no_secret).\n";
  }
  if (not_visible > 0) {
    *env.err << "aequorctl leases: " << not_visible << " session(s) of other roles are not visible"
             << " to role " << scan->current_role
             << " (state null, reason not_visible); a pass cannot judge them either. Fix: GRANT"
             << " pg_read_all_stats TO " << scan->current_role_sql << ";\n";
  }
  return kExitOk;
}

Command LeasesCommand() {
  return {"leases", "list sessions, their leases and what a reaper pass would do",
          &RunLeasesCommand};
}

}  // namespace cli
}  // namespace aequor
