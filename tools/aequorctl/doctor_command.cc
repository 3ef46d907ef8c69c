#include "tools/aequorctl/doctor_command.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "api/clock.h"
#include "api/lease.h"
#include "api/options.h"
#include "api/secret.h"
#include "core/reaper.h"
#include "tools/aequorctl/doctor_checks.h"
#include "tools/aequorctl/leases_command.h"
#include "tools/aequorctl/ops_common.h"

namespace aequor {
namespace cli {
namespace {

constexpr Severity kOk = Severity::kOk;
constexpr Severity kWarn = Severity::kWarn;
constexpr Severity kFix = Severity::kFix;

// Round trips sampled to measure the clock offset (the shortest one counts).
constexpr int kClockSamples = 5;

// Where doctor reads the reaper role's conninfo when --reaper-conninfo is
// not given.
constexpr char kReaperConninfoEnvVar[] = "AEQUOR_REAPER_CONNINFO";

std::string DoctorUsage() {
  return absl::StrCat(
      "Usage: aequorctl doctor [--dsn DSN] [--service S] [--json] [--lease-ttl-s N]\n"
      "                        [--min-idle-s N] [--clock-skew-s N]\n"
      "                        [--reap-idle-in-transaction-after-s N]\n"
      "                        [--reaper-conninfo DSN]\n"
      "\n"
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
      "  transaction pooler in between makes leases meaningless), options\n"
      "  (settings that contradict each other).\n"
      "The coordination secret ($AEQUOR_COORDINATION_SECRET, or the file named by\n"
      "$AEQUOR_COORDINATION_SECRET_FILE; never a flag) is optional here: without\n"
      "it, leased zombies cannot be counted.\n"
      "\n",
      kConnectionFlagsHelp, kReaperFlagsHelp,
      "                   (here --clock-skew-s defaults to the library's\n"
      "                   ManagerOptions::reap_clock_skew, now ",
      absl::FormatDuration(ManagerOptions().reap_clock_skew),
      ", and is also the\n"
      "                   margin the clock_offset check holds this machine to)\n",
      "  --lease-ttl-s N  the lease TTL your instances use (1..86400; the manager's\n"
      "                   default is 90), to check it against the other settings\n"
      "  --reaper-conninfo DSN\n"
      "                   the reaper role's conninfo (ManagerOptions::reaper_conninfo);\n"
      "                   default $AEQUOR_REAPER_CONNINFO. doctor logs in with it and\n"
      "                   checks the role's grants and headroom; never printed\n"
      "\n"
      "Pooler heuristics: application_name sent at connect vs SHOW\n"
      "application_name (fix); pg_backend_pid() across two statements (fix); a\n"
      "session SET surviving to the next statement (fix); the startup's backend\n"
      "pid vs pg_backend_pid() (warn); inet_server_port() vs the port connected to\n"
      "(warn). A quiet transaction pooler may still pass them all.\n"
      "\n"
      "--json: one object {service, role, database, status, findings: [{check,\n"
      "severity, message, fix}], clock_offset: {offset_us, uncertainty_us, samples,\n"
      "margin_us}, headroom: {..., app_roles: [...], suggested_connection_limit,\n"
      "sql: [...]}}; fix is null when there is nothing to do.\n"
      "\n"
      "Exit status: 0 nothing to fix (warnings allowed), 1 something must be\n"
      "fixed, 2 usage or connection error.");
}

int Fail(CliEnv& env, absl::string_view message, bool hint = false) {
  *env.err << "aequorctl doctor: " << message << "\n";
  if (hint) *env.err << "Run 'aequorctl doctor --help' for usage.\n";
  return kExitUsage;
}

std::string Seconds(absl::Duration d) { return absl::FormatDuration(d); }

// Reads a whole result into text cells (NULL as nullopt).
using Row = std::vector<std::optional<std::string>>;
std::vector<Row> Rows(const pg::Result& r) {
  std::vector<Row> rows;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    Row row;
    for (int c = 0; c < PQnfields(r.get()); ++c) {
      if (PQgetisnull(r.get(), i, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(PQgetvalue(r.get(), i, c));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

int Int(const std::optional<std::string>& text, int fallback = 0) {
  int value = fallback;
  if (text.has_value() && absl::SimpleAtoi(*text, &value)) return value;
  return fallback;
}

bool Bool(const std::optional<std::string>& text) { return text.has_value() && *text == "t"; }

std::string Text(const std::optional<std::string>& text) { return text.value_or(""); }

// What the facts query reads about the server, the role and the database.
struct Facts {
  std::string role;
  std::string role_sql;  // quote_ident
  std::string database;
  std::string database_sql;
  std::string server_version;
  int server_version_num = 0;
  bool superuser = false;
  int role_connlimit = -1;
  bool read_all_stats = false;
  bool signal_backend = false;
  int max_connections = 0;
  int superuser_reserved = 0;
  int reserved = 0;  // reserved_connections, PostgreSQL 16+
  int database_connlimit = -1;
  std::optional<int> server_port;  // inet_server_port(); null over a unix socket
  int backend_pid = 0;
  std::string application_name;  // SHOW application_name
  bool reaper_role_exists = false;  // a role named kReaperRoleName exists
};

constexpr char kFactsSql[] = R"sql(
SELECT current_user::text, quote_ident(current_user), current_database()::text,
       quote_ident(current_database()), current_setting('server_version'),
       current_setting('server_version_num')::int, r.rolsuper, r.rolconnlimit,
       pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'),
       pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'),
       current_setting('max_connections')::int,
       current_setting('superuser_reserved_connections')::int,
       coalesce(current_setting('reserved_connections', true), '0')::int,
       d.datconnlimit, inet_server_port(), pg_backend_pid(),
       current_setting('application_name'),
       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aequor_reaper')
FROM pg_roles r, pg_database d
WHERE r.rolname = current_user AND d.datname = current_database())sql";

// A client connection, also when this role may not see its backend_type
// (then usesysid still tells a role's session from a server process).
constexpr char kClientSql[] =
    "(backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT NULL))";

// The reaper role's facts, read over its own connection.
absl::Status ReadReaperRole(PGconn* conn, const Redactor& redactor, ReaperRoleFacts* rr) {
  absl::StatusOr<pg::Result> r = Exec(
      conn,
      absl::StrCat("SELECT current_user::text, quote_ident(current_user), r.rolsuper,"
                   " r.rolconnlimit, pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'),"
                   " pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'),"
                   " (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid AND ",
                   absl::StrReplaceAll(kClientSql, {{"backend_type", "a.backend_type"},
                                                    {"usesysid", "a.usesysid"}}),
                   ") FROM pg_roles r WHERE r.rolname = current_user"),
      {}, redactor);
  if (!r.ok()) return r.status();
  const std::vector<Row> rows = Rows(*r);
  if (rows.size() != 1) return absl::InternalError("its role is not in the catalog");
  rr->role.name = Text(rows[0][0]);
  rr->role.name_sql = Text(rows[0][1]);
  rr->role.superuser = Bool(rows[0][2]);
  rr->role.connection_limit = Int(rows[0][3], -1);
  rr->read_all_stats = Bool(rows[0][4]);
  rr->signal_backend = Bool(rows[0][5]);
  rr->role.sessions = Int(rows[0][6]);
  return absl::OkStatus();
}

// Logs in with the reaper conninfo as the emergency path would, reads the
// role's facts and logs out again (so that doctor does not hold one of the
// reaper role's few slots while it checks). Its password joins `redactor`.
// `*pid` is its backend's pid (0 when it did not log in).
ReaperRoleFacts ProbeReaperRole(const std::string& conninfo, Redactor& redactor, int* pid) {
  ReaperRoleFacts rr;
  *pid = 0;
  redactor.AddSensitive(conninfo);
  Flags flags;
  flags.values["dsn"] = conninfo;
  absl::StatusOr<pg::Conn> conn = ConnectFromFlags(flags, kToolApplicationName, redactor);
  if (!conn.ok()) {
    rr.connect_error = absl::StrReplaceAll(conn.status().message(),
                                           {{"--dsn", "the reaper conninfo"}, {"\n  ", " "}});
    rr.connect_error = absl::StrReplaceAll(rr.connect_error, {{"\n", " "}});
    return rr;
  }
  *pid = PQbackendPID(conn->get());
  if (absl::Status s = ReadReaperRole(conn->get(), redactor, &rr); !s.ok()) {
    rr.connect_error = absl::StrCat("logged in, but ", s.message());
  } else {
    rr.connected = true;
  }
  return rr;
}

class Doctor {
 public:
  // `reaper_role`: what ProbeReaperRole() found, nullopt when no reaper conninfo
  // was given.
  Doctor(PGconn* conn, const Redactor& redactor, const ServiceChoice& service,
         const ReaperFlags& reaper, std::optional<absl::Duration> lease_ttl,
         const SecretState& secret, Clock* clock,
         const std::optional<ReaperRoleFacts>& reaper_role)
      : conn_(conn),
        redactor_(redactor),
        service_(service),
        reaper_(reaper),
        lease_ttl_(lease_ttl),
        secret_(secret),
        clock_(clock),
        reaper_role_(reaper_role),
        settings_(SettingsFor(service, reaper, /*dry_run=*/true)) {}

  absl::Status ReadFacts() {
    absl::StatusOr<pg::Result> r = Exec(conn_, kFactsSql, {}, redactor_);
    if (!r.ok()) return r.status();
    std::vector<Row> rows = Rows(*r);
    if (rows.size() != 1) return absl::InternalError("the role or database is not in the catalog");
    const Row& f = rows[0];
    facts_.role = Text(f[0]);
    facts_.role_sql = Text(f[1]);
    facts_.database = Text(f[2]);
    facts_.database_sql = Text(f[3]);
    facts_.server_version = Text(f[4]);
    facts_.server_version_num = Int(f[5]);
    facts_.superuser = Bool(f[6]);
    facts_.role_connlimit = Int(f[7], -1);
    facts_.read_all_stats = Bool(f[8]);
    facts_.signal_backend = Bool(f[9]);
    facts_.max_connections = Int(f[10]);
    facts_.superuser_reserved = Int(f[11]);
    facts_.reserved = Int(f[12]);
    facts_.database_connlimit = Int(f[13], -1);
    if (f[14].has_value()) facts_.server_port = Int(f[14]);
    facts_.backend_pid = Int(f[15]);
    facts_.application_name = Text(f[16]);
    facts_.reaper_role_exists = Bool(f[17]);
    return absl::OkStatus();
  }

  const Facts& facts() const { return facts_; }
  // What the clock_offset and reaper_headroom checks measured (nullopt when
  // they could not).
  const std::optional<ClockOffset>& clock_offset() const { return clock_offset_; }
  const std::optional<HeadroomFacts>& headroom_facts() const { return headroom_facts_; }

  std::vector<Finding> Run() {
    Add("connection", kOk,
        absl::StrCat("connected as role ", facts_.role, " to database ", facts_.database,
                     " (PostgreSQL ", facts_.server_version, ")"));
    CheckServerVersion();
    CheckClock();
    CheckSecret();
    CheckGrants();
    scan_ = ScanSessions(conn_, settings_, secret_.signer.get(), redactor_);
    CheckVisibility();
    CheckHeadroom();
    ReadRoles();
    ReadHeadroomFacts();
    CheckRoleLimits();
    CheckReaperHeadroom();
    CheckZombies();
    CheckReaperLock();
    CheckPooler();
    CheckOptions();
    return std::move(findings_);
  }

 private:
  void Add(std::string check, Severity severity, std::string message, std::string fix = "") {
    findings_.push_back({std::move(check), severity, std::move(message), std::move(fix)});
  }

  // NTP's estimate over kClockSamples round trips of one statement each.
  void CheckClock() {
    std::vector<ClockSample> samples;
    for (int i = 0; i < kClockSamples; ++i) {
      ClockSample s;
      s.local_before = clock_->Now();
      absl::StatusOr<pg::Result> r =
          Exec(conn_, "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint", {},
               redactor_);
      s.local_after = clock_->Now();
      if (!r.ok()) return CouldNotCheck("clock_offset", r.status());
      const std::optional<std::string> text = Rows(*r).at(0).at(0);
      if (!text.has_value() || !absl::SimpleAtoi(*text, &s.server_us)) {
        return CouldNotCheck("clock_offset",
                             absl::InternalError("clock_timestamp() came back unreadable"));
      }
      samples.push_back(s);
    }
    clock_offset_ = BestClockOffset(samples);
    if (!clock_offset_.has_value()) {
      return CouldNotCheck("clock_offset",
                           absl::InternalError("this machine's clock went backwards meanwhile"));
    }
    findings_.push_back(CheckClockOffset(*clock_offset_, reaper_.clock_skew));
  }

  void CheckReaperHeadroom() {
    if (!headroom_facts_.has_value()) {
      return CouldNotCheck("reaper_headroom",
                           !roles_.ok() ? roles_.status()
                                        : absl::UnavailableError(
                                              "the connections in use could not be counted"));
    }
    findings_.push_back(aequor::cli::CheckReaperHeadroom(*headroom_facts_));
  }

  // The fleet's headroom and its reaper role, from the roles ReadRoles()
  // read, the headroom's count and the reaper conninfo's connection.
  void ReadHeadroomFacts() {
    if (!roles_.ok() || !in_use_known_) return;
    HeadroomFacts h;
    h.max_connections = facts_.max_connections;
    h.superuser_reserved = facts_.superuser_reserved;
    h.reserved = facts_.reserved;
    h.client_backends = in_use_;
    h.service = service_.normalized;
    h.reaper_role_exists = facts_.reaper_role_exists;
    h.reaper = reaper_role_;
    std::optional<std::string> reaper_role;
    if (reaper_role_.has_value() && reaper_role_->connected) reaper_role = reaper_role_->role.name;
    int app_sessions = 0;
    bool current_is_app = false;
    const RoleUsage* current = nullptr;
    std::vector<RoleUsage> roles;
    for (const Row& row : *roles_) {
      RoleUsage r;
      r.name = Text(row[0]);
      r.name_sql = Text(row[1]);
      r.connection_limit = Int(row[2], -1);
      r.superuser = Bool(row[3]);
      r.sessions = Int(row[4]);
      roles.push_back(r);
      if (Bool(row[6])) {
        h.app_roles.push_back(r);
        app_sessions += r.sessions;
        current_is_app = current_is_app || Bool(row[5]);
      }
    }
    for (size_t i = 0; i < roles.size(); ++i) {
      if (Bool((*roles_)[i][5])) current = &roles[i];
    }
    // No session carries the service's leases: take the connecting role as
    // the fleet's, unless it is a superuser or the reaper conninfo's role.
    if (h.app_roles.empty() && current != nullptr && !current->superuser &&
        current->name != reaper_role.value_or("")) {
      h.app_roles.push_back(*current);
      h.app_roles_guessed = true;
      app_sessions = current->sessions;
      current_is_app = true;
    }
    if (current != nullptr && !current_is_app && !current->superuser &&
        facts_.read_all_stats && facts_.signal_backend) {
      h.reaper_candidate = *current;
    }
    h.other_sessions = std::max(0, in_use_ - app_sessions - (current_is_app ? 0 : 1));
    headroom_facts_ = h;
  }


  void CouldNotCheck(const char* check, const absl::Status& status) {
    Add(check, kWarn, absl::StrCat("could not check: ", status.message()));
  }

  // Slots left for roles without superuser (and, on 16+, reserved_connections).
  int AvailableSlots() const {
    return facts_.max_connections - facts_.superuser_reserved - facts_.reserved;
  }

  void CheckServerVersion() {
    if (facts_.server_version_num >= 140000) {
      Add("server_version", kOk,
          absl::StrCat("PostgreSQL ", facts_.server_version, " (server_version_num ",
                       facts_.server_version_num,
                       "): pg_terminate_backend(pid, timeout) and idle_session_timeout "
                       "(PostgreSQL 14+) are available"));
    } else {
      Add("server_version", kFix,
          absl::StrCat("PostgreSQL ", facts_.server_version, " (server_version_num ",
                       facts_.server_version_num,
                       "): a reaper pass calls pg_terminate_backend(pid, timeout) and the "
                       "idle_session_timeout backstop needs PostgreSQL 14 or later"),
          "upgrade the server to PostgreSQL 14 or later");
    }
  }

  void CheckSecret() {
    if (secret_.signer != nullptr) {
      Add("secret", kOk,
          absl::StrCat("coordination secret set (", kSecretEnvVar, " or ", kSecretFileEnvVar,
                       "): leases are verified"));
    } else if (secret_.status.code() == absl::StatusCode::kNotFound) {
      Add("secret", kWarn,
          absl::StrCat(secret_.status.message(),
                       ": leases cannot be verified here, so leased zombies are not counted "
                       "and 'aequorctl reap' cannot run"),
          absl::StrCat("export ", kSecretFileEnvVar,
                       "=<file holding the fleet's coordination secret> (or ", kSecretEnvVar,
                       "; never on the command line)"));
    } else {
      Add("secret", kFix,
          absl::StrCat("the coordination secret is set but unusable: ", secret_.status.message()),
          absl::StrCat("set exactly one of ", kSecretEnvVar, " and ", kSecretFileEnvVar,
                       " to the fleet's secret (at least ", kMinSecretBytes, " bytes)"));
    }
  }

  void CheckGrants() {
    if (facts_.superuser) {
      for (const char* grant : {"pg_read_all_stats", "pg_signal_backend"}) {
        Add(grant, kOk,
            absl::StrCat("role ", facts_.role,
                         " is a superuser: it sees and may stop every session (a dedicated "
                         "reaper role with pg_read_all_stats and pg_signal_backend is safer)"));
      }
      return;
    }
    if (facts_.read_all_stats) {
      Add("pg_read_all_stats", kOk,
          absl::StrCat("role ", facts_.role,
                       " has pg_read_all_stats: it sees the state of every session"));
    } else {
      Add("pg_read_all_stats", kFix,
          absl::StrCat("role ", facts_.role,
                       " lacks pg_read_all_stats: sessions of other roles show no state in "
                       "pg_stat_activity, so a pass counts them as not_visible and never "
                       "reaps them"),
          absl::StrCat("GRANT pg_read_all_stats TO ", facts_.role_sql, ";"));
    }
    if (facts_.signal_backend) {
      Add("pg_signal_backend", kOk,
          absl::StrCat("role ", facts_.role,
                       " has pg_signal_backend: it may terminate sessions of any role but "
                       "superusers"));
    } else {
      Add("pg_signal_backend", kFix,
          absl::StrCat("role ", facts_.role,
                       " lacks pg_signal_backend: a pass can only terminate sessions of roles "
                       "it is a member of (others are skipped as not_permitted)"),
          absl::StrCat("GRANT pg_signal_backend TO ", facts_.role_sql, ";"));
    }
  }

  void CheckVisibility() {
    absl::StatusOr<pg::Result> r =
        Exec(conn_,
             "SELECT count(*), coalesce(string_agg(DISTINCT usename::text, ', '), '')"
             " FROM pg_stat_activity WHERE datname = current_database()"
             " AND backend_type IS NULL AND usesysid IS NOT NULL",
             {}, redactor_);
    if (!r.ok()) return CouldNotCheck("visibility", r.status());
    const Row row = Rows(*r).at(0);
    const int hidden = Int(row[0]);
    if (hidden == 0) {
      Add("visibility", kOk,
          absl::StrCat("every session of database ", facts_.database, " is visible to role ",
                       facts_.role));
      return;
    }
    Add("visibility", kWarn,
        absl::StrCat(hidden, " session(s) of other roles (", Text(row[1]), ") in database ",
                     facts_.database, " are not visible to role ", facts_.role,
                     ": their state is unknown, so a pass cannot judge them (not_visible)"),
        absl::StrCat("GRANT pg_read_all_stats TO ", facts_.role_sql, ";"));
  }

  std::string ZombiesText() const {
    if (!scan_.ok()) return "unknown (could not read pg_stat_activity)";
    if (secret_.signer == nullptr) return "unknown without the coordination secret";
    int zombies = 0;
    for (const SessionView& s : scan_->sessions) zombies += s.would_kill ? 1 : 0;
    return absl::StrCat(zombies, zombies > 0 ? " (a reaper pass would kill them now)" : "");
  }

  void CheckHeadroom() {
    absl::StatusOr<pg::Result> r =
        Exec(conn_,
             absl::StrCat("SELECT count(*) FILTER (WHERE ", kClientSql,
                          "),"
                          " count(*) FILTER (WHERE ",
                          kClientSql, " AND datname = current_database()) FROM pg_stat_activity"),
             {}, redactor_);
    if (!r.ok()) return CouldNotCheck("headroom", r.status());
    const Row row = Rows(*r).at(0);
    in_use_ = Int(row[0]);
    in_use_known_ = true;
    const int in_database = Int(row[1]);
    const int available = AvailableSlots();
    const int free_slots = available - in_use_;
    std::string message = absl::StrCat(
        "max_connections ", facts_.max_connections, ", superuser_reserved_connections ",
        facts_.superuser_reserved,
        facts_.reserved > 0 ? absl::StrCat(", reserved_connections ", facts_.reserved) : "", ": ",
        available, " slots for other roles; ", in_use_,
        " client connection(s) in use on the server (this one included), ", free_slots,
        " free; database ", facts_.database, ": ", in_database, " in use, connection limit ",
        facts_.database_connlimit < 0 ? std::string("none")
                                      : absl::StrCat(facts_.database_connlimit),
        "; leased zombies of service ", service_.normalized, " now: ", ZombiesText());
    const std::string raise =
        absl::StrCat("free slots with 'aequorctl reap --service ", service_.normalized,
                     "', or raise the limit: ALTER SYSTEM SET max_connections = ",
                     std::max(facts_.max_connections * 2, facts_.max_connections + 10),
                     "; (then restart PostgreSQL)");
    if (facts_.database_connlimit >= 0 && in_database >= facts_.database_connlimit) {
      Add("headroom", kFix, absl::StrCat(message, ". The database is at its connection limit."),
          absl::StrCat("free slots with 'aequorctl reap --service ", service_.normalized,
                       "', or ALTER DATABASE ", facts_.database_sql, " CONNECTION LIMIT ",
                       facts_.database_connlimit + std::max(10, facts_.database_connlimit / 2),
                       ";"));
    } else if (free_slots <= 0) {
      Add("headroom", kFix, absl::StrCat(message, ". No slot is free for non-superusers."), raise);
    } else if (free_slots < std::max(3, available / 10)) {
      Add("headroom", kWarn, absl::StrCat(message, ". Less than 10% is free."), raise);
    } else {
      Add("headroom", kOk, message);
    }
  }

  // The connecting role and the roles owning the service's leased sessions
  // (app roles): name, quote_ident, rolconnlimit, rolsuper, client sessions
  // on the server, is the connecting role, is an app role.
  void ReadRoles() {
    const std::string prefix = absl::StrCat("s=", service_.normalized, ";");
    absl::StatusOr<pg::Result> r = Exec(
        conn_,
        absl::StrCat("SELECT r.rolname::text, quote_ident(r.rolname), r.rolconnlimit, r.rolsuper,"
                     " (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid AND ",
                     absl::StrReplaceAll(kClientSql, {{"backend_type", "a.backend_type"},
                                                      {"usesysid", "a.usesysid"}}),
                     "), r.rolname = current_user,"
                     " EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.usesysid = r.oid"
                     "   AND a.datname = current_database()"
                     "   AND left(a.application_name, length($1)) = $1)"
                     " FROM pg_roles r WHERE r.rolname = current_user OR r.oid IN"
                     " (SELECT usesysid FROM pg_stat_activity WHERE datname = current_database()"
                     "   AND left(application_name, length($1)) = $1)"
                     " ORDER BY r.rolname = current_user DESC, r.rolname"),
        {prefix}, redactor_);
    if (!r.ok()) {
      roles_ = r.status();
      return;
    }
    roles_ = Rows(*r);
  }

  void CheckRoleLimits() {
    if (!roles_.ok()) return CouldNotCheck("role_connection_limit", roles_.status());
    const std::vector<Row>& rows = *roles_;
    // What non-superusers may use, split among the app roles, leaving
    // kReaperReservedSlots for a reaper role (doctor_checks.h).
    int app_roles = 0;
    for (const Row& row : rows) app_roles += Bool(row[6]) ? 1 : 0;
    const int suggested =
        headroom_facts_.has_value()
            ? ComputeHeadroom(*headroom_facts_).suggested_limit
            : std::max(1, (AvailableSlots() - kReaperReservedSlots) / std::max(1, app_roles));
    for (const Row& row : rows) {
      const std::string role = Text(row[0]);
      const std::string role_sql = Text(row[1]);
      const int limit = Int(row[2], -1);
      const bool superuser = Bool(row[3]);
      const int in_use = Int(row[4]);
      const bool is_current = Bool(row[5]);
      const bool is_app = Bool(row[6]);
      const std::string who = absl::StrCat(is_current && is_app ? "role "
                                           : is_current         ? "reaper role "
                                                                : "app role ",
                                           role);
      const std::string usage = absl::StrCat(who, ": connection limit ",
                                             limit < 0 ? std::string("none") : absl::StrCat(limit),
                                             ", ", in_use, " in use");
      if (limit >= 0 && in_use >= limit) {
        Add("role_connection_limit", kFix,
            absl::StrCat(usage, ": at its limit, new sessions of ", role,
                         " fail with 'too many connections for role'"),
            absl::StrCat(is_app ? absl::StrCat("free slots with 'aequorctl reap --service ",
                                               service_.normalized, "' (as another role), or ")
                                : std::string(),
                         "ALTER ROLE ", role_sql, " CONNECTION LIMIT ",
                         limit + std::max(5, limit / 2), ";"));
      } else if (is_app && is_current && limit < 0 && !superuser) {
        Add("role_connection_limit", kWarn,
            absl::StrCat(usage,
                         ". The reaper runs as the role that owns the service's leased "
                         "sessions and nothing caps it: when the app fills the server, no "
                         "session of ",
                         role, " can log in to reap"),
            absl::StrCat("give the reaper its own role and cap the app's: CREATE ROLE "
                         "aequor_reaper LOGIN; GRANT pg_read_all_stats, pg_signal_backend TO "
                         "aequor_reaper; ALTER ROLE ",
                         role_sql, " CONNECTION LIMIT ", suggested,
                         "; (and point ManagerOptions::reaper_conninfo at aequor_reaper)"));
      } else if (is_app && !is_current && limit < 0 && !superuser) {
        Add("role_connection_limit", kWarn,
            absl::StrCat(usage,
                         ": its sessions can take every slot, including the one the "
                         "reaper (role ",
                         facts_.role, ") needs to log in and free them"),
            absl::StrCat("ALTER ROLE ", role_sql, " CONNECTION LIMIT ", suggested,
                         "; (the app roles' limits together should leave room for the reaper "
                         "role)"));
      } else {
        Add("role_connection_limit", kOk, usage);
      }
    }
  }

  void CheckZombies() {
    if (!scan_.ok()) return CouldNotCheck("leased_zombies", scan_.status());
    if (secret_.signer == nullptr) {
      Add("leased_zombies", kWarn,
          "cannot tell leased zombies from live sessions without the coordination secret",
          absl::StrCat("export ", kSecretFileEnvVar, "=<file holding the fleet's secret>"));
      return;
    }
    int zombies = 0;
    int leased = 0;
    for (const SessionView& s : scan_->sessions) {
      zombies += s.would_kill ? 1 : 0;
      leased += s.is_lease && s.lease.service == service_.normalized ? 1 : 0;
    }
    if (zombies == 0) {
      Add("leased_zombies", kOk,
          absl::StrCat("no leased zombies of service ", service_.normalized, " now (", leased,
                       " session(s) carry its leases)"));
      return;
    }
    Add("leased_zombies", kWarn,
        absl::StrCat(
            zombies, " of the ", leased, " session(s) with leases of service ", service_.normalized,
            " are leased zombies now (signed, expired, idle at least ", Seconds(reaper_.min_idle),
            "): a pass would kill them; if they stay, no instance is running passes"),
        absl::StrCat("aequorctl reap --service ", service_.normalized,
                     " (and check the instances' reaper scheduler)"));
  }

  void CheckReaperLock() {
    absl::StatusOr<pg::Result> r =
        Exec(conn_,
             absl::StrCat("SELECT l.pid, a.state, a.pid = pg_backend_pid()"
                          " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                          " WHERE l.locktype = 'advisory' AND l.classid = ",
                          kReaperLockNamespace,
                          " AND l.objid = hashtext($1)::oid AND l.objsubid = 2 AND l.granted"),
             {service_.normalized}, redactor_);
    if (!r.ok()) return CouldNotCheck("reaper_lock", r.status());
    const std::vector<Row> rows = Rows(*r);
    if (rows.empty()) {
      Add("reaper_lock", kOk,
          absl::StrCat("the reaper lock of service ", service_.normalized, " is free"));
      return;
    }
    const int pid = Int(rows[0][0]);
    const std::optional<std::string> state = rows[0][1];
    const SessionView* holder = nullptr;
    if (scan_.ok()) {
      for (const SessionView& s : scan_->sessions) {
        if (s.row.pid == pid) holder = &s;
      }
    }
    if (holder != nullptr && holder->would_kill) {
      Add("reaper_lock", kWarn,
          absl::StrCat("the reaper lock of service ", service_.normalized, " is held by pid ", pid,
                       ", a leased zombie (a frozen leader): the next pass terminates it "
                       "and takes the lock"),
          absl::StrCat("aequorctl reap --service ", service_.normalized));
    } else if (!state.has_value()) {
      Add("reaper_lock", kWarn,
          absl::StrCat("the reaper lock of service ", service_.normalized, " is held by pid ", pid,
                       ", whose state role ", facts_.role, " cannot see"),
          absl::StrCat("GRANT pg_read_all_stats TO ", facts_.role_sql, ";"));
    } else if (*state == "idle") {
      Add("reaper_lock", kWarn,
          absl::StrCat("the reaper lock of service ", service_.normalized, " is held by pid ", pid,
                       ", an idle session outside any transaction: a session-level lock (as "
                       "pg-aequor takes), so every pass reports busy until that session "
                       "unlocks, ends, or becomes a leased zombie"),
          "");
    } else {
      Add("reaper_lock", kOk,
          absl::StrCat("the reaper lock of service ", service_.normalized, " is held by pid ", pid,
                       " (", *state, "): a pass is probably running now"));
    }
  }

  void CheckPooler() {
    std::vector<std::string> strong;
    std::vector<std::string> weak;
    std::vector<std::string> fine;
    if (facts_.application_name != kToolApplicationName) {
      strong.push_back(absl::StrCat("application_name sent at connect (", kToolApplicationName,
                                    ") arrived as '", facts_.application_name, "'"));
    } else {
      fine.push_back("application_name arrived intact");
    }
    absl::StatusOr<pg::Result> again = Exec(conn_, "SELECT pg_backend_pid()", {}, redactor_);
    if (again.ok()) {
      const int second = Int(Rows(*again).at(0)[0]);
      if (second != facts_.backend_pid) {
        strong.push_back(absl::StrCat("pg_backend_pid() changed between two statements (",
                                      facts_.backend_pid, " then ", second, ")"));
      } else {
        fine.push_back("pg_backend_pid() stayed the same across statements");
      }
    }
    const std::string token = absl::StrCat("probe-", facts_.backend_pid);
    absl::StatusOr<pg::Result> set =
        Exec(conn_, "SELECT set_config('aequor.doctor_probe', $1, false)", {token}, redactor_);
    absl::StatusOr<pg::Result> get =
        Exec(conn_, "SELECT current_setting('aequor.doctor_probe', true)", {}, redactor_);
    if (set.ok() && get.ok()) {
      if (Text(Rows(*get).at(0)[0]) != token) {
        strong.push_back("a session setting did not survive to the next statement");
      } else {
        fine.push_back("a session setting survived");
      }
      (void)Exec(conn_, "RESET aequor.doctor_probe", {}, redactor_);
    }
    const int startup_pid = PQbackendPID(conn_);
    if (startup_pid != facts_.backend_pid) {
      weak.push_back(absl::StrCat("the startup reported backend pid ", startup_pid,
                                  " but the server says ", facts_.backend_pid,
                                  " (something answered the startup for the server)"));
    } else {
      fine.push_back("the startup's backend pid is the server's");
    }
    const char* host = PQhost(conn_);
    const char* port_text = PQport(conn_);
    int port = 5432;
    if (port_text != nullptr && port_text[0] != '\0') (void)absl::SimpleAtoi(port_text, &port);
    const bool unix_socket = host == nullptr || host[0] == '/' || host[0] == '@';
    if (!unix_socket && facts_.server_port.has_value()) {
      if (*facts_.server_port != port) {
        weak.push_back(absl::StrCat("connected to port ", port, " but the server listens on ",
                                    *facts_.server_port, " (a proxy, pooler or port mapping)"));
      } else {
        fine.push_back(absl::StrCat("the server's port is the one connected to (", port, ")"));
      }
    }
    const std::string advice =
        "connect the instances (and their reaper) to PostgreSQL directly or through a "
        "session-mode pooler; leases and the reaper lock need one server session per client";
    if (!strong.empty()) {
      Add("pooler", kFix,
          absl::StrCat(
              "a transaction-mode pooler seems to be in between: ", absl::StrJoin(strong, "; "),
              ". Leases in application_name then describe pooled server sessions, "
              "not clients"),
          advice);
    } else if (!weak.empty()) {
      Add("pooler", kWarn,
          absl::StrCat("a pooler or proxy may be in between: ", absl::StrJoin(weak, "; "),
                       ". Harmless for a session-mode pooler or a plain TCP proxy"),
          advice);
    } else {
      Add("pooler", kOk,
          absl::StrCat("no pooler detected: ", absl::StrJoin(fine, "; "),
                       " (a quiet transaction pooler may still pass these checks)"));
    }
  }

  void CheckOptions() {
    std::vector<std::pair<std::string, std::string>> warnings;  // message, fix
    bool refused = false;
    if (reaper_.idle_in_transaction_after > absl::ZeroDuration() &&
        reaper_.idle_in_transaction_after < reaper_.min_idle) {
      refused = true;
      Add("options", kFix,
          absl::StrCat("--reap-idle-in-transaction-after-s (",
                       Seconds(reaper_.idle_in_transaction_after), ") is below --min-idle-s (",
                       Seconds(reaper_.min_idle),
                       "): the connection manager refuses this (reap_idle_in_transaction_after "
                       "must be 0 or at least reap_min_idle)"),
          absl::StrCat("set reap_idle_in_transaction_after to 0 (never) or at least ",
                       Seconds(reaper_.min_idle)));
    }
    if (lease_ttl_.has_value()) {
      const absl::Duration ttl = *lease_ttl_;
      if (reaper_.min_idle < ttl) {
        warnings.emplace_back(
            absl::StrCat("--min-idle-s (", Seconds(reaper_.min_idle), ") is below the lease TTL (",
                         Seconds(ttl),
                         "): a session whose lease expired has been quiet about that long "
                         "anyway, so the idle check adds no margin over expiry (pg-aequor's "
                         "defaults: TTL 90s, min idle 180s)"),
            absl::StrCat("reap_min_idle of at least ", Seconds(2 * ttl), " (twice the TTL)"));
      }
      if (ttl <= absl::Seconds(30)) {
        warnings.emplace_back(
            absl::StrCat("the lease TTL (", Seconds(ttl),
                         ") is not above the manager's default lease_renew_before (30s): the "
                         "manager refuses to build unless lease_renew_before (and "
                         "lease_block_before) are lowered"),
            "set lease_renew_before to about a third of lease_ttl, lease_block_before below it");
      }
      if (reaper_.clock_skew >= ttl) {
        warnings.emplace_back(
            absl::StrCat("--clock-skew-s (", Seconds(reaper_.clock_skew),
                         ") is not below the lease TTL (", Seconds(ttl),
                         "): leases are reaped a whole TTL or more after they expire"),
            absl::StrCat("reap_clock_skew well below the TTL (the manager's default is ",
                         Seconds(ManagerOptions().reap_clock_skew), ")"));
      }
    }
    for (auto& [message, fix] : warnings) Add("options", kWarn, message, fix);
    if (!refused && warnings.empty()) {
      Add("options", kOk,
          absl::StrCat("consistent: min idle ", Seconds(reaper_.min_idle), ", clock skew ",
                       Seconds(reaper_.clock_skew), ", idle in transaction ",
                       reaper_.idle_in_transaction_after > absl::ZeroDuration()
                           ? absl::StrCat("after ", Seconds(reaper_.idle_in_transaction_after))
                           : std::string("never"),
                       lease_ttl_.has_value()
                           ? absl::StrCat(", lease TTL ", Seconds(*lease_ttl_))
                           : std::string(" (pass --lease-ttl-s to check the TTL too)")));
    }
  }

  PGconn* conn_;
  const Redactor& redactor_;
  const ServiceChoice& service_;
  const ReaperFlags& reaper_;
  const std::optional<absl::Duration> lease_ttl_;
  const SecretState& secret_;
  Clock* const clock_;
  const std::optional<ReaperRoleFacts>& reaper_role_;
  const ReaperSettings settings_;
  Facts facts_;
  absl::StatusOr<SessionScan> scan_ = absl::UnknownError("not scanned");
  int in_use_ = 0;
  bool in_use_known_ = false;
  absl::StatusOr<std::vector<Row>> roles_ = absl::UnknownError("not read");
  std::optional<ClockOffset> clock_offset_;
  std::optional<HeadroomFacts> headroom_facts_;
  std::vector<Finding> findings_;
};

}  // namespace

int RunDoctorCommand(const std::vector<std::string>& args, CliEnv& env) {
  absl::StatusOr<Flags> flags =
      ParseFlags(args, OpsFlagSpec({{"lease-ttl-s", true}, {"reaper-conninfo", true}}));
  if (!flags.ok()) return Fail(env, flags.status().message(), /*hint=*/true);
  if (flags->help) {
    *env.out << DoctorUsage() << "\n";
    return kExitOk;
  }
  // Contradicting values are findings here, not usage errors.
  absl::StatusOr<ReaperFlags> reaper = ParseReaperFlags(*flags, /*check_relations=*/false);
  if (!reaper.ok()) return Fail(env, reaper.status().message(), /*hint=*/true);
  // The margin a manager built with defaults uses, read from the library.
  if (!flags->Has("clock-skew-s")) reaper->clock_skew = ManagerOptions().reap_clock_skew;
  std::optional<std::string> reaper_conninfo = flags->Get("reaper-conninfo");
  if (reaper_conninfo.has_value() && reaper_conninfo->empty()) {
    return Fail(env, "--reaper-conninfo is empty", /*hint=*/true);
  }
  if (const char* from_env = std::getenv(kReaperConninfoEnvVar);
      !reaper_conninfo.has_value() && from_env != nullptr && from_env[0] != '\0') {
    reaper_conninfo = from_env;
  }
  std::optional<absl::Duration> lease_ttl;
  if (std::optional<std::string> text = flags->Get("lease-ttl-s"); text.has_value()) {
    absl::StatusOr<absl::Duration> ttl = ParseSeconds("lease-ttl-s", *text);
    if (!ttl.ok() || *ttl < absl::Seconds(1) || *ttl > absl::Hours(24)) {
      return Fail(env, "--lease-ttl-s must be a number of seconds from 1 to 86400", true);
    }
    lease_ttl = *ttl;
  }
  absl::StatusOr<ServiceChoice> service = ServiceFromFlags(*flags);
  if (!service.ok()) return Fail(env, service.status().message(), /*hint=*/true);
  const bool json = flags->Has("json");

  const SecretState secret = SignerFromEnvironment();
  Redactor redactor;
  absl::StatusOr<pg::Conn> conn = ConnectFromFlags(*flags, kToolApplicationName, redactor);
  if (!conn.ok()) return Fail(env, conn.status().message());
  std::optional<ReaperRoleFacts> reaper_role;
  if (reaper_conninfo.has_value()) {
    int pid = 0;
    reaper_role = ProbeReaperRole(*reaper_conninfo, redactor, &pid);
    // Its backend exits just after the client leaves: wait (briefly) until
    // the server no longer counts it, so the slot figures are doctor-free.
    const absl::Time deadline = env.clock->MonotonicNow() + absl::Seconds(2);
    while (pid != 0 && env.clock->MonotonicNow() < deadline) {
      absl::StatusOr<pg::Result> r =
          Exec(conn->get(), "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
               {absl::StrCat(pid)}, redactor);
      if (!r.ok() || Int(Rows(*r).at(0).at(0)) == 0) break;
      env.clock->SleepFor(absl::Milliseconds(5));
    }
  }

  Doctor doctor(conn->get(), redactor, *service, *reaper, lease_ttl, secret, env.clock,
                reaper_role);
  if (absl::Status s = doctor.ReadFacts(); !s.ok()) {
    return Fail(env, absl::StrCat("cannot read the server's settings: ", s.message()));
  }
  const std::vector<Finding> findings = doctor.Run();
  Severity worst = kOk;
  int fixes = 0;
  int warnings = 0;
  for (const Finding& f : findings) {
    worst = std::max(worst, f.severity);
    fixes += f.severity == kFix ? 1 : 0;
    warnings += f.severity == kWarn ? 1 : 0;
  }
  const char* status = SeverityName(worst);
  const Facts& facts = doctor.facts();
  if (json) {
    std::vector<std::string> items;
    for (const Finding& f : findings) {
      items.push_back(
          absl::StrCat("{\"check\":", JsonQuote(f.check),
                       ",\"severity\":", JsonQuote(SeverityName(f.severity)),
                       ",\"message\":", JsonQuote(f.message),
                       ",\"fix\":", f.fix.empty() ? std::string("null") : JsonQuote(f.fix), "}"));
    }
    *env.out << "{\"service\":" << JsonQuote(service->normalized)
             << ",\"role\":" << JsonQuote(facts.role)
             << ",\"database\":" << JsonQuote(facts.database)
             << ",\"status\":" << JsonQuote(status) << ",\"findings\":["
             << absl::StrJoin(items, ",") << "]"
             << ",\"clock_offset\":" << ClockOffsetJson(doctor.clock_offset(), reaper->clock_skew)
             << ",\"headroom\":" << HeadroomJson(doctor.headroom_facts()) << "}\n";
  } else {
    *env.out << "aequorctl doctor: service " << service->normalized << " (" << service->source
             << "), role " << facts.role << ", database " << facts.database << "\n\n";
    for (const Finding& f : findings) {
      const std::string tag = absl::StrCat("[", SeverityName(f.severity), "]");
      *env.out << tag << std::string(7 - tag.size(), ' ') << f.check << ": " << f.message << "\n";
      if (!f.fix.empty()) {
        *env.out << "       fix: " << absl::StrReplaceAll(f.fix, {{"\n", "\n            "}})
                 << "\n";
      }
    }
    *env.out << "\n";
    if (fixes == 0 && warnings == 0) {
      *env.out << "All is well.\n";
    } else {
      *env.out << fixes << " to fix, " << warnings << " warning(s).\n";
    }
  }
  return fixes > 0 ? kExitInvalid : kExitOk;
}

Command DoctorCommand() {
  return {"doctor", "check what the reaper needs and say how to fix it", &RunDoctorCommand};
}

}  // namespace cli
}  // namespace aequor
