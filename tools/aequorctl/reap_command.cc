#include "tools/aequorctl/reap_command.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "api/events.h"
#include "core/reaper.h"
#include "tools/aequorctl/ops_common.h"

namespace aequor {
namespace cli {
namespace {

constexpr char kBusyMessage[] =
    "another session holds the service's reaper lock (another instance is running a pass, "
    "or a live pg-aequor leader holds its session lock); nothing was done";

std::string ReapUsage() {
  return absl::StrCat(
      "Usage: aequorctl reap [--dry-run] [--max-kills N] [--dsn DSN] [--service S] [--json]\n"
      "                      [--min-idle-s N] [--clock-skew-s N]\n"
      "                      [--reap-idle-in-transaction-after-s N]\n"
      "\n"
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
      "('aequorctl doctor' checks).\n"
      "\n"
      "  --dry-run        take the lock and report, kill nothing (the sessions that\n"
      "                   would die are counted as skipped: dry_run)\n"
      "  --max-kills N    at most N kills per pass (default 10, 1..1000)\n",
      kConnectionFlagsHelp, kReaperFlagsHelp,
      "\n"
      "--json: one object with outcome (completed, busy, error), service, dry_run,\n"
      "scanned, candidates, killed, skipped ({reason: count}), frozen_leader_killed,\n"
      "duration_ms, message (null unless busy or error).\n"
      "\n"
      "Exit status: 0 the pass completed or was busy (another instance holds the\n"
      "lock: not an error), 1 the pass failed, 2 usage error, missing or unusable\n"
      "secret, or connection error.");
}

int Fail(CliEnv& env, absl::string_view message, bool hint = false) {
  *env.err << "aequorctl reap: " << message << "\n";
  if (hint) *env.err << "Run 'aequorctl reap --help' for usage.\n";
  return kExitUsage;
}

std::string Json(const ReapReport& report, const ReaperSettings& settings,
                 const std::string& message) {
  std::vector<std::string> skipped;
  for (const auto& [reason, count] : report.skipped) {
    skipped.push_back(absl::StrCat(JsonQuote(reason), ":", count));
  }
  return absl::StrCat(
      "{\"outcome\":", JsonQuote(ReapOutcomeName(report.outcome)),
      ",\"service\":", JsonQuote(settings.service),
      ",\"dry_run\":", settings.dry_run ? "true" : "false", ",\"scanned\":", report.scanned,
      ",\"candidates\":", report.candidates, ",\"killed\":", report.killed, ",\"skipped\":{",
      absl::StrJoin(skipped, ","),
      "},\"frozen_leader_killed\":", report.frozen_leader_killed ? "true" : "false",
      ",\"duration_ms\":", JsonNumber(absl::ToDoubleMilliseconds(report.duration), 1),
      ",\"message\":", message.empty() ? std::string("null") : JsonQuote(message), "}");
}

std::string Human(const ReapReport& report, const ReaperSettings& settings,
                  const std::string& message) {
  const std::string head = absl::StrCat("Reaper pass for service ", settings.service,
                                        settings.dry_run ? " (dry run)" : "");
  switch (report.outcome) {
    case ReapOutcome::kBusy:
      return absl::StrCat(head, ": BUSY: ", message,
                          ". Not an error: another pass is in charge; try again later.\n");
    case ReapOutcome::kError:
      return absl::StrCat(head, ": ERROR: ", message, "\n");
    case ReapOutcome::kCompleted:
      break;
  }
  std::string out = absl::StrCat(head, ": completed in ",
                                 JsonNumber(absl::ToDoubleMilliseconds(report.duration), 1),
                                 " ms.\n  scanned ", report.scanned, " session(s) of the service, ",
                                 report.candidates, " candidate(s), killed ", report.killed, "\n");
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

}  // namespace

int RunReapCommand(const std::vector<std::string>& args, CliEnv& env) {
  absl::StatusOr<Flags> flags =
      ParseFlags(args, OpsFlagSpec({{"dry-run", false}, {"max-kills", true}}));
  if (!flags.ok()) return Fail(env, flags.status().message(), /*hint=*/true);
  if (flags->help) {
    *env.out << ReapUsage() << "\n";
    return kExitOk;
  }
  absl::StatusOr<ReaperFlags> reaper = ParseReaperFlags(*flags, /*check_relations=*/true);
  if (!reaper.ok()) return Fail(env, reaper.status().message(), /*hint=*/true);
  absl::StatusOr<ServiceChoice> service = ServiceFromFlags(*flags);
  if (!service.ok()) return Fail(env, service.status().message(), /*hint=*/true);
  const bool json = flags->Has("json");
  const bool dry_run = flags->Has("dry-run");

  SecretState secret = SignerFromEnvironment();
  if (secret.signer == nullptr) {
    return Fail(env, absl::StrCat("a pass needs the coordination secret to verify leases: ",
                                  secret.status.message()));
  }
  Redactor redactor;
  absl::StatusOr<pg::Conn> conn = ConnectFromFlags(*flags, kToolApplicationName, redactor);
  if (!conn.ok()) return Fail(env, conn.status().message());

  const ReaperSettings settings = SettingsFor(*service, *reaper, dry_run);
  const ReapReport report = RunReaperPass(conn->get(), settings, *secret.signer, *env.clock);
  std::string message = redactor.Apply(report.message);
  if (report.outcome == ReapOutcome::kBusy && message.empty()) message = kBusyMessage;
  *env.out << (json ? Json(report, settings, message) + "\n" : Human(report, settings, message));
  auto hidden = report.skipped.find(skip_reason::kNotVisible);
  if (hidden != report.skipped.end()) {
    *env.err << "aequorctl reap: " << hidden->second
             << " session(s) of the service belong to roles this role cannot see"
             << " (skipped: not_visible); run 'aequorctl doctor' for the GRANT that fixes it.\n";
  }
  return report.outcome == ReapOutcome::kError ? kExitInvalid : kExitOk;
}

Command ReapCommand() {
  return {"reap", "run one reaper pass now (or --dry-run)", &RunReapCommand};
}

}  // namespace cli
}  // namespace aequor
