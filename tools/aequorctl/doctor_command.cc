#include "tools/aequorctl/doctor_command.h"

#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/options.h"
#include "tools/aequorctl/connection.h"
#include "tools/aequorctl/doctor_checks.h"
#include "tools/aequorctl/doctor_facts.h"
#include "tools/aequorctl/doctor_gather.h"
#include "tools/aequorctl/doctor_report.h"
#include "tools/aequorctl/flags.h"
#include "tools/aequorctl/help.h"
#include "tools/aequorctl/ops_flags.h"
#include "tools/aequorctl/redactor.h"
#include "tools/aequorctl/secret_state.h"

namespace aequor {
namespace cli {
namespace {

constexpr char kCommand[] = "aequorctl doctor";

// Where doctor reads the reaper role's conninfo when --reaper-conninfo is
// not given.
constexpr char kReaperConninfoEnvVar[] = "AEQUOR_REAPER_CONNINFO";

std::vector<FlagDef> DoctorFlagDefs() {
  std::vector<FlagDef> defs = OpsFlagDefs();
  for (FlagDef& def : defs) {
    if (def.name != "clock-skew-s") continue;
    absl::StrAppend(&def.help,
                    "\n(here --clock-skew-s defaults to the library's\n"
                    "ManagerOptions::reap_clock_skew, now ",
                    absl::FormatDuration(ManagerOptions().reap_clock_skew),
                    ", and is also the\n"
                    "margin the clock_offset check holds this machine to)");
  }
  defs.push_back({"lease-ttl-s", "N",
                  "the lease TTL your instances use (1..86400; the manager's\n"
                  "default is 90), to check it against the other settings"});
  defs.push_back({"reaper-conninfo", "DSN",
                  "the reaper role's conninfo (ManagerOptions::reaper_conninfo);\n"
                  "default $AEQUOR_REAPER_CONNINFO. doctor logs in with it and\n"
                  "checks the role's grants and headroom; never printed"});
  return defs;
}

CommandHelp DoctorHelp() {
  return {
      "Usage: aequorctl doctor [--dsn DSN] [--service S] [--json] [--lease-ttl-s N]\n"
      "                        [--min-idle-s N] [--clock-skew-s N]\n"
      "                        [--reap-idle-in-transaction-after-s N]\n"
      "                        [--reaper-conninfo DSN]",
      "Checks what the reaper needs on the database you connect to, as the role you\n"
      "connect with (connect as the role your reaper passes run as), and prints\n"
      "each finding with a severity (ok, warn, fix) and, where something is to be\n"
      "done, the exact SQL or setting:\n"
      "  connection, server_version (14+ needed), clock_offset (this machine's\n"
      "  clock against the server's, within the clock-skew margin), secret,\n"
      "  pg_read_all_stats and\n"
      "  pg_signal_backend (GRANT ... TO <role>;), visibility (sessions of other\n"
      "  roles the role cannot see), headroom (max_connections,\n"
      "  superuser_reserved_connections, connections in use, free slots, leased\n"
      "  zombies now), role_connection_limit (ALTER ROLE ... CONNECTION LIMIT n;),\n"
      "  reaper_headroom (slots the fleet's role has left; the ALTER ROLE ...\n"
      "  CONNECTION LIMIT and reaper role setup that keep a reaper able to log\n"
      "  in), leased_zombies, reaper_lock (who holds the service's lock), pooler (a\n"
      "  transaction pooler in between makes leases meaningless), startup_options\n"
      "  (whether the startup parameter `options`, which carries a manager's\n"
      "  server-side backstops, is refused or dropped on the way), options\n"
      "  (settings that contradict each other).\n"
      "The coordination secret ($AEQUOR_COORDINATION_SECRET, or the file named by\n"
      "$AEQUOR_COORDINATION_SECRET_FILE; never a flag) is optional here: without\n"
      "it, leased zombies cannot be counted.",
      DoctorFlagDefs(),
      "Pooler heuristics: application_name sent at connect vs SHOW\n"
      "application_name (fix); pg_backend_pid() across two statements (fix); a\n"
      "session SET surviving to the next statement (fix); a second connection's\n"
      "pg_backend_pid() vs this session's (fix when they share one server session);\n"
      "the startup's backend pid vs pg_backend_pid() (warn); inet_server_port() vs\n"
      "the port connected to (warn). A busy transaction pooler may still pass them\n"
      "all. doctor connects twice more with the same settings: once as that\n"
      "second client, once with the startup options a manager sends.\n"
      "\n"
      "--json: one object {service, role, database, status, findings: [{check,\n"
      "severity, message, fix}], clock_offset: {offset_us, uncertainty_us, samples,\n"
      "margin_us}, headroom: {..., app_roles: [...], suggested_connection_limit,\n"
      "sql: [...]}}; fix is null when there is nothing to do.\n"
      "\n"
      "Exit status: 0 nothing to fix (warnings allowed), 1 something must be\n"
      "fixed, 2 usage or connection error."};
}

// What the flags and the environment ask for.
struct DoctorInput {
  DoctorSettings settings;
  std::optional<std::string> reaper_conninfo;  // never printed
};

// The input, or the usage error (checked in this order).
absl::StatusOr<DoctorInput> InputFromFlags(const Flags& flags) {
  DoctorInput input;
  DoctorSettings& settings = input.settings;
  // Contradicting values are findings here, not usage errors.
  absl::StatusOr<ReaperFlags> reaper = ParseReaperFlags(flags, /*check_relations=*/false);
  if (!reaper.ok()) return reaper.status();
  settings.reaper = *reaper;
  // The margin a manager built with defaults uses, read from the library.
  if (!flags.Has("clock-skew-s")) settings.reaper.clock_skew = ManagerOptions().reap_clock_skew;
  input.reaper_conninfo = flags.Get("reaper-conninfo");
  if (input.reaper_conninfo.has_value() && input.reaper_conninfo->empty()) {
    return absl::InvalidArgumentError("--reaper-conninfo is empty");
  }
  if (const char* from_env = std::getenv(kReaperConninfoEnvVar);
      !input.reaper_conninfo.has_value() && from_env != nullptr && from_env[0] != '\0') {
    input.reaper_conninfo = from_env;
  }
  if (std::optional<std::string> text = flags.Get("lease-ttl-s"); text.has_value()) {
    absl::StatusOr<absl::Duration> ttl = ParseSeconds("lease-ttl-s", *text);
    if (!ttl.ok() || *ttl < absl::Seconds(1) || *ttl > absl::Hours(24)) {
      return absl::InvalidArgumentError(
          "--lease-ttl-s must be a number of seconds from 1 to 86400");
    }
    settings.lease_ttl = *ttl;
  }
  absl::StatusOr<ServiceChoice> service = ServiceFromFlags(flags);
  if (!service.ok()) return service.status();
  settings.service = *std::move(service);
  return input;
}

}  // namespace

int RunDoctorCommand(const std::vector<std::string>& args, CliEnv& env) {
  absl::StatusOr<Flags> flags = ParseFlags(args, DoctorFlagDefs());
  if (!flags.ok()) return Fail(env, kCommand, flags.status().message(), /*hint=*/true);
  if (flags->help) {
    *env.out << HelpText(DoctorHelp());
    return kExitOk;
  }
  absl::StatusOr<DoctorInput> input = InputFromFlags(*flags);
  if (!input.ok()) return Fail(env, kCommand, input.status().message(), /*hint=*/true);

  const SecretState secret = SignerFromEnvironment(RegistryOf(env));
  Redactor redactor;
  absl::StatusOr<pg::Conn> conn = Connect(flags->Get("dsn"), kToolApplicationName, redactor);
  if (!conn.ok()) return Fail(env, kCommand, conn.status().message());
  absl::StatusOr<DoctorFacts> facts = GatherDoctorFacts(
      conn->get(), input->settings, input->reaper_conninfo, secret, redactor, *env.clock);
  if (!facts.ok()) {
    return Fail(env, kCommand,
                absl::StrCat("cannot read the server's settings: ", facts.status().message()));
  }
  const std::vector<Finding> findings = RunDoctorChecks(*facts);
  if (flags->Has("json")) {
    WriteJson(*env.out, DoctorJson(*facts, findings));
  } else {
    *env.out << DoctorText(*facts, findings);
  }
  return WorstSeverity(findings) == Severity::kFix ? kExitInvalid : kExitOk;
}

Command DoctorCommand() {
  return {"doctor", "check what the reaper needs and say how to fix it", &RunDoctorCommand};
}

}  // namespace cli
}  // namespace aequor
