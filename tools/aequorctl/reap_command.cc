#include "tools/aequorctl/reap_command.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "api/events.h"
#include "core/reaper.h"
#include "nlohmann/json.hpp"
#include "tools/aequorctl/connection.h"
#include "tools/aequorctl/flags.h"
#include "tools/aequorctl/help.h"
#include "tools/aequorctl/ops_flags.h"
#include "tools/aequorctl/redactor.h"
#include "tools/aequorctl/secret_state.h"
#include "tools/aequorctl/text_format.h"
#include "util/pg.h"

namespace aequor {
namespace cli {
namespace {

constexpr char kBusyMessage[] =
    "another session holds the service's reaper lock (another instance is running a pass, "
    "or a live pg-aequor leader holds its session lock); nothing was done";

constexpr char kCommand[] = "aequorctl reap";

std::vector<FlagDef> ReapFlagDefs() {
  std::vector<FlagDef> defs = {
      {"dry-run", "",
       "take the lock and report, kill nothing (the sessions that\n"
       "would die are counted as skipped: dry_run)"},
      {"max-kills", "N", "at most N kills per pass (default 10, 1..1000)"},
  };
  for (FlagDef& def : OpsFlagDefs()) defs.push_back(std::move(def));
  return defs;
}

CommandHelp ReapHelp() {
  return {
      "Usage: aequorctl reap [--dry-run] [--max-kills N] [--dsn DSN] [--service S] [--json]\n"
      "                      [--min-idle-s N] [--clock-skew-s N]\n"
      "                      [--reap-idle-in-transaction-after-s N]",
      "Runs one reaper pass for the service now, the same pass a connection manager\n"
      "runs: inside a transaction it takes the service's advisory lock (pg-aequor's\n"
      "key, so Node and C++ instances elect one leader), frees a frozen leader that\n"
      "holds it, and terminates at most --max-kills idle sessions whose lease of the\n"
      "service is signed with the coordination secret and expired. It never kills a\n"
      "live lease, another service, another secret's lease or a busy session\n"
      "('aequorctl leases' shows every verdict). Needs the coordination secret\n"
      "($AEQUOR_COORDINATION_SECRET, or the file named by\n"
      "$AEQUOR_COORDINATION_SECRET_FILE; never a flag), and a role with\n"
      "pg_read_all_stats and pg_signal_backend to see and stop other roles' sessions\n"
      "('aequorctl doctor' checks).",
      ReapFlagDefs(),
      "--json: one object with outcome (completed, busy, error), service, dry_run,\n"
      "scanned, candidates, killed, skipped ({reason: count}), frozen_leader_killed,\n"
      "duration_ms, message (null unless busy or error).\n"
      "\n"
      "Exit status: 0 the pass completed or was busy (another instance holds the\n"
      "lock: not an error), 1 the pass failed, 2 usage error, missing or unusable\n"
      "secret, or connection error."};
}

// The --json object: keys in this order, always present.
nlohmann::ordered_json Json(const ReapReport& report, const ReaperSettings& settings,
                            const std::string& message) {
  nlohmann::ordered_json skipped = nlohmann::ordered_json::object();
  for (const auto& [reason, count] : report.skipped) skipped[reason] = count;
  nlohmann::ordered_json doc;
  doc["outcome"] = ReapOutcomeName(report.outcome);
  doc["service"] = settings.service;
  doc["dry_run"] = settings.dry_run;
  doc["scanned"] = report.scanned;
  doc["candidates"] = report.candidates;
  doc["killed"] = report.killed;
  doc["skipped"] = std::move(skipped);
  doc["frozen_leader_killed"] = report.frozen_leader_killed;
  doc["duration_ms"] = Rounded(absl::ToDoubleMilliseconds(report.duration), 1);
  doc["message"] =
      message.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(message);
  return doc;
}

std::string Human(const ReapReport& report, const ReaperSettings& settings,
                  const std::string& message) {
  const std::string head = absl::StrCat("Reaper pass for service ", settings.service,
                                        settings.dry_run ? " (dry run)" : "");
  switch (report.outcome) {
    case ReapOutcome::kBusy:
      return absl::StrCat(head, ": BUSY: ", message,
                          ". Not an error: another pass is in charge; try again later.\n");
    case ReapOutcome::kError: return absl::StrCat(head, ": ERROR: ", message, "\n");
    case ReapOutcome::kCompleted: break;
  }
  std::string out = absl::StrCat(
      head, ": completed in ", absl::StrFormat("%.1f", absl::ToDoubleMilliseconds(report.duration)),
      " ms.\n  scanned ", report.scanned, " session(s) of the service, ", report.candidates,
      " candidate(s), killed ", report.killed, "\n");
  if (report.frozen_leader_killed) {
    absl::StrAppend(&out, "  a frozen leader holding the reaper lock was terminated first\n");
  }
  if (!report.skipped.empty()) {
    std::vector<std::string> parts;
    for (const auto& [reason, count] : report.skipped) {
      parts.push_back(absl::StrCat(reason, " ", count));
    }
    absl::StrAppend(&out, "  skipped: ", absl::StrJoin(parts, ", "), "\n");
  }
  if (settings.dry_run) {
    auto it = report.skipped.find(skip_reason::kDryRun);
    absl::StrAppend(&out, "  dry run: nothing was killed; ",
                    it == report.skipped.end() ? 0 : it->second, " session(s) would have been.\n");
  }
  return out;
}

// The connected role as SQL (quote_ident), for the GRANT a hint names;
// "<role>" if it cannot be read.
std::string CurrentRoleSql(PGconn* conn) {
  pg::Outcome out = pg::Exec(conn, "SELECT quote_ident(current_user)");
  if (!out.ok() || PQntuples(out.get()) != 1) return "<role>";
  return PQgetvalue(out.get(), 0, 0);
}

}  // namespace

int RunReapCommand(const std::vector<std::string>& args, CliEnv& env) {
  absl::StatusOr<Flags> flags = ParseFlags(args, ReapFlagDefs());
  if (!flags.ok()) return Fail(env, kCommand, flags.status().message(), /*hint=*/true);
  if (flags->help) {
    *env.out << HelpText(ReapHelp());
    return kExitOk;
  }
  absl::StatusOr<ReaperFlags> reaper = ParseReaperFlags(*flags, /*check_relations=*/true);
  if (!reaper.ok()) return Fail(env, kCommand, reaper.status().message(), /*hint=*/true);
  absl::StatusOr<ServiceChoice> service = ServiceFromFlags(*flags);
  if (!service.ok()) return Fail(env, kCommand, service.status().message(), /*hint=*/true);
  const bool json = flags->Has("json");
  const bool dry_run = flags->Has("dry-run");

  SecretState secret = SignerFromEnvironment(RegistryOf(env));
  if (secret.signer == nullptr) {
    return Fail(env, kCommand,
                absl::StrCat("a pass needs the coordination secret to verify leases: ",
                             secret.status.message()));
  }
  Redactor redactor;
  absl::StatusOr<pg::Conn> conn = Connect(flags->Get("dsn"), kToolApplicationName, redactor);
  if (!conn.ok()) return Fail(env, kCommand, conn.status().message());

  const ReaperSettings settings = SettingsFor(*service, *reaper, dry_run);
  const ReapReport report = RunReaperPass(conn->get(), settings, *secret.signer, *env.clock);
  std::string message = redactor.Apply(report.message);
  if (report.outcome == ReapOutcome::kBusy && message.empty()) message = kBusyMessage;
  if (json) {
    WriteJson(*env.out, Json(report, settings, message));
  } else {
    *env.out << Human(report, settings, message);
  }
  auto hidden = report.skipped.find(skip_reason::kNotVisible);
  if (hidden != report.skipped.end()) {
    *env.err << kCommand << ": " << hidden->second
             << " session(s) of the service belong to roles this role cannot see"
             << " (skipped: not_visible); run 'aequorctl doctor' for the GRANT that fixes it.\n";
  }
  auto refused = report.skipped.find(skip_reason::kNotPermitted);
  if (refused != report.skipped.end()) {
    *env.err << kCommand << ": " << refused->second
             << " session(s) of the service belong to roles this role may not signal"
             << " (skipped: not_permitted); as a superuser, run: GRANT pg_signal_backend TO "
             << CurrentRoleSql(conn->get()) << ";\n";
  }
  return report.outcome == ReapOutcome::kError ? kExitInvalid : kExitOk;
}

Command ReapCommand() {
  return {"reap", "run one reaper pass now (or --dry-run)", &RunReapCommand};
}

}  // namespace cli
}  // namespace aequor
