#include "tools/aequorctl/leases_command.h"

#include <libpq-fe.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/reap_decision.h"
#include "nlohmann/json.hpp"
#include "tools/aequorctl/connection.h"
#include "tools/aequorctl/flags.h"
#include "tools/aequorctl/help.h"
#include "tools/aequorctl/ops_flags.h"
#include "tools/aequorctl/redactor.h"
#include "tools/aequorctl/secret_state.h"
#include "tools/aequorctl/session_scan.h"
#include "tools/aequorctl/text_format.h"

namespace aequor {
namespace cli {
namespace {

constexpr char kCommand[] = "aequorctl leases";

CommandHelp LeasesHelp() {
  return {
      "Usage: aequorctl leases [--dsn DSN] [--service S] [--json] [--min-idle-s N]\n"
      "                        [--clock-skew-s N] [--reap-idle-in-transaction-after-s N]",
      "Lists every client session of the database you connect to (except\n"
      "aequorctl's own): pid, role, state, idle time, what its application_name\n"
      "says as a lease, and whether a reaper pass of the service would kill it now\n"
      "and, if not, why. The verdict is the reaper's own rule (core ReapDecision)\n"
      "with the settings a pass would use; the per-pass limit (--max-kills of\n"
      "'aequorctl reap') is not applied.",
      OpsFlagDefs(),
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
      "Exit status: 0 listed, 2 usage error, unusable secret or connection error."};
}

// One line of --json: every key always present, null where not applicable.
nlohmann::ordered_json JsonLine(const SessionView& s) {
  const bool expired = s.is_lease && s.row.now_ms > s.lease.expires_ms;
  auto or_null = [](bool present, nlohmann::ordered_json value) -> nlohmann::ordered_json {
    if (!present) return nullptr;
    return value;
  };
  nlohmann::ordered_json line;
  line["pid"] = s.row.pid;
  line["role"] = s.role;
  line["application_name"] = s.row.application_name;
  line["service"] = or_null(s.is_lease, s.lease.service);
  line["instance"] = or_null(s.is_lease, s.lease.instance);
  line["lease"] = s.lease_state;
  line["expires_ms"] = or_null(s.is_lease, s.lease.expires_ms);
  line["expires_in_ms"] = or_null(s.is_lease && !expired, s.lease.expires_ms - s.row.now_ms);
  line["expired_for_ms"] = or_null(expired, s.row.now_ms - s.lease.expires_ms);
  line["state"] = or_null(s.visible, s.row.state);
  line["idle_s"] = or_null(s.visible, Rounded(s.row.idle_s, 3));
  line["would_kill"] = s.would_kill;
  line["reason"] = or_null(!s.would_kill, s.reason);
  return line;
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

int RunLeasesCommand(const std::vector<std::string>& args, CliEnv& env) {
  absl::StatusOr<Flags> flags = ParseFlags(args, OpsFlagDefs());
  if (!flags.ok()) return Fail(env, kCommand, flags.status().message(), /*hint=*/true);
  if (flags->help) {
    *env.out << HelpText(LeasesHelp());
    return kExitOk;
  }
  absl::StatusOr<ReaperFlags> reaper = ParseReaperFlags(*flags, /*check_relations=*/true);
  if (!reaper.ok()) return Fail(env, kCommand, reaper.status().message(), /*hint=*/true);
  absl::StatusOr<ServiceChoice> service = ServiceFromFlags(*flags);
  if (!service.ok()) return Fail(env, kCommand, service.status().message(), /*hint=*/true);
  const bool json = flags->Has("json");

  SecretState secret = SignerFromEnvironment(RegistryOf(env));
  if (!secret.status.ok() && secret.status.code() != absl::StatusCode::kNotFound) {
    return Fail(
        env, kCommand,
        absl::StrCat("the coordination secret is set but unusable: ", secret.status.message()));
  }
  Redactor redactor;
  absl::StatusOr<pg::Conn> conn = Connect(flags->Get("dsn"), kToolApplicationName, redactor);
  if (!conn.ok()) return Fail(env, kCommand, conn.status().message());

  const ReaperSettings settings = SettingsFor(*service, *reaper, /*dry_run=*/true);
  absl::StatusOr<SessionScan> scan =
      ScanSessions(conn->get(), settings, secret.signer.get(), redactor);
  if (!scan.ok()) {
    return Fail(env, kCommand,
                absl::StrCat("reading pg_stat_activity failed: ", scan.status().message()));
  }

  int would_kill = 0;
  int not_visible = 0;
  for (const SessionView& s : scan->sessions) {
    would_kill += s.would_kill ? 1 : 0;
    not_visible += s.visible ? 0 : 1;
  }
  if (json) {
    for (const SessionView& s : scan->sessions) WriteJson(*env.out, JsonLine(s));
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
    *env.err << kCommand << ": " << secret.status.message()
             << ": leases are shown as unverified and none as would_kill (reason no_secret).\n";
  }
  if (not_visible > 0) {
    *env.err << kCommand << ": " << not_visible << " session(s) of other roles are not visible"
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
