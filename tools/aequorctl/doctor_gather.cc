#include "tools/aequorctl/doctor_gather.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api/options.h"
#include "core/pooler.h"
#include "core/reap_decision.h"
#include "tools/aequorctl/connection.h"
#include "tools/aequorctl/session_scan.h"

namespace aequor {
namespace cli {
namespace {

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

// The placeholder setting the startup options probe sends and reads back.
constexpr char kStartupProbeSetting[] = "aequor.doctor_startup_probe";

// A client connection, also when this role may not see its backend_type
// (then usesysid still tells a role's session from a server process).
constexpr char kClientSql[] =
    "(backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT NULL))";

// kClientSql for pg_stat_activity aliased as `a`.
std::string ClientSqlOfA() {
  return absl::StrReplaceAll(kClientSql,
                             {{"backend_type", "a.backend_type"}, {"usesysid", "a.usesysid"}});
}

// A whole result as text cells (NULL as nullopt).
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

// The row of a query that answers exactly one, or why not (`no_row` when the
// server answered another number of rows).
absl::StatusOr<Row> OneRow(PGconn* conn, const std::string& sql,
                           absl::Span<const std::string> params, const Redactor& redactor,
                           absl::string_view no_row = "the server answered no row") {
  absl::StatusOr<pg::Result> r = Exec(conn, sql, params, redactor);
  if (!r.ok()) return r.status();
  std::vector<Row> rows = Rows(*r);
  if (rows.size() != 1) return absl::InternalError(no_row);
  return std::move(rows[0]);
}

absl::StatusOr<ServerFacts> ReadServer(PGconn* conn, const Redactor& redactor) {
  absl::StatusOr<Row> row =
      OneRow(conn, kFactsSql, {}, redactor, "the role or database is not in the catalog");
  if (!row.ok()) return row.status();
  const Row& f = *row;
  ServerFacts s;
  s.role = Text(f[0]);
  s.role_sql = Text(f[1]);
  s.database = Text(f[2]);
  s.database_sql = Text(f[3]);
  s.server_version = Text(f[4]);
  s.server_version_num = Int(f[5]);
  s.superuser = Bool(f[6]);
  s.role_connlimit = Int(f[7], -1);
  s.read_all_stats = Bool(f[8]);
  s.signal_backend = Bool(f[9]);
  s.max_connections = Int(f[10]);
  s.superuser_reserved = Int(f[11]);
  s.reserved = Int(f[12]);
  s.database_connlimit = Int(f[13], -1);
  if (f[14].has_value()) s.server_port = Int(f[14]);
  s.backend_pid = Int(f[15]);
  s.application_name = Text(f[16]);
  s.reaper_role_exists = Bool(f[17]);
  return s;
}

// kClockSamples round trips of one statement each, timed by `clock`.
absl::StatusOr<std::vector<ClockSample>> SampleClock(PGconn* conn, const Redactor& redactor,
                                                     Clock& clock) {
  std::vector<ClockSample> samples;
  for (int i = 0; i < kClockSamples; ++i) {
    ClockSample s;
    s.local_before = clock.Now();
    absl::StatusOr<Row> row = OneRow(
        conn, "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint", {}, redactor);
    s.local_after = clock.Now();
    if (!row.ok()) return row.status();
    if (!(*row)[0].has_value() || !absl::SimpleAtoi(*(*row)[0], &s.server_us)) {
      return absl::InternalError("clock_timestamp() came back unreadable");
    }
    samples.push_back(s);
  }
  return samples;
}

absl::StatusOr<LeaseCounts> CountLeases(PGconn* conn, const DoctorSettings& settings,
                                        const LeaseSigner* signer, const Redactor& redactor) {
  absl::StatusOr<SessionScan> scan = ScanSessions(
      conn, SettingsFor(settings.service, settings.reaper, /*dry_run=*/true), signer, redactor);
  if (!scan.ok()) return scan.status();
  LeaseCounts counts;
  for (const SessionView& s : scan->sessions) {
    if (s.would_kill) counts.would_kill.push_back(s.row.pid);
    if (s.is_lease && s.lease.service == settings.service.normalized) ++counts.leased;
  }
  return counts;
}

absl::StatusOr<HiddenSessions> ReadHidden(PGconn* conn, const Redactor& redactor) {
  absl::StatusOr<Row> row =
      OneRow(conn,
             "SELECT count(*), coalesce(string_agg(DISTINCT usename::text, ', '), '')"
             " FROM pg_stat_activity WHERE datname = current_database()"
             " AND backend_type IS NULL AND usesysid IS NOT NULL",
             {}, redactor);
  if (!row.ok()) return row.status();
  return HiddenSessions{Int((*row)[0]), Text((*row)[1])};
}

absl::StatusOr<ConnectionsInUse> ReadInUse(PGconn* conn, const Redactor& redactor) {
  absl::StatusOr<Row> row = OneRow(
      conn,
      absl::StrCat("SELECT count(*) FILTER (WHERE ", kClientSql, "), count(*) FILTER (WHERE ",
                   kClientSql, " AND datname = current_database()) FROM pg_stat_activity"),
      {}, redactor);
  if (!row.ok()) return row.status();
  return ConnectionsInUse{Int((*row)[0]), Int((*row)[1])};
}

// The connecting role and the roles owning the service's leased sessions.
absl::StatusOr<std::vector<RoleRow>> ReadRoles(PGconn* conn, const ServiceChoice& service,
                                               const Redactor& redactor) {
  const std::string prefix = absl::StrCat("s=", service.normalized, ";");
  absl::StatusOr<pg::Result> r = Exec(
      conn,
      absl::StrCat("SELECT r.rolname::text, quote_ident(r.rolname), r.rolconnlimit, r.rolsuper,"
                   " (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid AND ",
                   ClientSqlOfA(),
                   "), r.rolname = current_user,"
                   " EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.usesysid = r.oid"
                   "   AND a.datname = current_database()"
                   "   AND left(a.application_name, length($1)) = $1)"
                   " FROM pg_roles r WHERE r.rolname = current_user OR r.oid IN"
                   " (SELECT usesysid FROM pg_stat_activity WHERE datname = current_database()"
                   "   AND left(application_name, length($1)) = $1)"
                   " ORDER BY r.rolname = current_user DESC, r.rolname"),
      {prefix}, redactor);
  if (!r.ok()) return r.status();
  std::vector<RoleRow> roles;
  for (const Row& row : Rows(*r)) {
    RoleRow role;
    role.usage.name = Text(row[0]);
    role.usage.name_sql = Text(row[1]);
    role.usage.connection_limit = Int(row[2], -1);
    role.usage.superuser = Bool(row[3]);
    role.usage.sessions = Int(row[4]);
    role.is_current = Bool(row[5]);
    role.is_app = Bool(row[6]);
    roles.push_back(std::move(role));
  }
  return roles;
}

absl::StatusOr<std::optional<LockHolder>> ReadLockHolder(PGconn* conn, const ServiceChoice& service,
                                                         const Redactor& redactor) {
  absl::StatusOr<pg::Result> r =
      Exec(conn,
           absl::StrCat("SELECT l.pid, a.state, a.pid = pg_backend_pid()"
                        " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE l.locktype = 'advisory' AND l.classid = ",
                        kReaperLockNamespace,
                        " AND l.objid = hashtext($1)::oid AND l.objsubid = 2 AND l.granted"),
           {service.normalized}, redactor);
  if (!r.ok()) return r.status();
  const std::vector<Row> rows = Rows(*r);
  if (rows.empty()) return std::optional<LockHolder>();
  return std::optional<LockHolder>(LockHolder{Int(rows[0][0]), rows[0][1]});
}

// Waits (at most 2 s) until the server no longer counts backend `pid`, which
// exits just after its client leaves, so that the slot figures are
// doctor-free.
void AwaitBackendGone(PGconn* conn, int pid, const Redactor& redactor, Clock& clock) {
  const absl::Time deadline = clock.MonotonicNow() + absl::Seconds(2);
  while (pid != 0 && clock.MonotonicNow() < deadline) {
    absl::StatusOr<Row> row = OneRow(conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                     {absl::StrCat(pid)}, redactor);
    if (!row.ok() || Int((*row)[0]) == 0) break;
    clock.SleepFor(absl::Milliseconds(5));
  }
}

// A second connection made with `conn`'s own settings (PQconninfo: host,
// port, user, password, database, sslmode, ...), as aequorctl's session;
// `options`, when given, replaces its startup options. The status holds
// libpq's message, redacted, on one line.
absl::StatusOr<pg::Conn> ConnectLike(PGconn* conn, const std::optional<std::string>& options,
                                     const Redactor& redactor) {
  PQconninfoOption* settings = PQconninfo(conn);
  if (settings == nullptr) return absl::ResourceExhaustedError("PQconninfo: out of memory");
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (PQconninfoOption* o = settings; o->keyword != nullptr; ++o) {
    const std::string keyword = o->keyword;
    if (o->val == nullptr || o->val[0] == '\0' || keyword == "application_name" ||
        (options.has_value() && keyword == "options")) {
      continue;
    }
    keywords.push_back(o->keyword);
    values.push_back(o->val);
  }
  keywords.push_back("application_name");
  values.push_back(kToolApplicationName);
  if (options.has_value()) {
    keywords.push_back("options");
    values.push_back(options->c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  pg::Conn again(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/0));
  PQconninfoFree(settings);
  if (again != nullptr && PQstatus(again.get()) == CONNECTION_OK) return again;
  return absl::UnavailableError(absl::StrReplaceAll(redactor.Apply(pg::ErrorMessage(again.get())),
                                                    {{"\n", " "}, {"\t", " "}}));
}

// Statements whose answers a pooler in between would change, where this
// session is connected, and what a second client of the same settings runs
// on meanwhile. Leaves no setting behind.
PoolerProbe ProbePooler(PGconn* conn, int backend_pid, const Redactor& redactor, Clock& clock) {
  PoolerProbe probe;
  probe.sent_application_name = kToolApplicationName;
  const std::string token = absl::StrCat("probe-", backend_pid);
  absl::StatusOr<pg::Result> set =
      Exec(conn, "SELECT set_config('aequor.doctor_probe', $1, false)", {token}, redactor);
  absl::StatusOr<Row> get =
      OneRow(conn, "SELECT current_setting('aequor.doctor_probe', true)", {}, redactor);
  if (set.ok() && get.ok()) {
    probe.setting_survived = Text((*get)[0]) == token;
    (void)Exec(conn, "RESET aequor.doctor_probe", {}, redactor);
  }
  // This session's last statement before the second client's first.
  const absl::StatusOr<PoolerSighting> seen = DetectPooler(conn);
  probe.startup_backend_pid = PQbackendPID(conn);
  if (seen.ok()) {
    probe.second_backend_pid = seen->server_pid;
    if (absl::StatusOr<pg::Conn> other = ConnectLike(conn, std::nullopt, redactor); other.ok()) {
      if (absl::StatusOr<PoolerSighting> other_seen = DetectPooler(other->get()); other_seen.ok()) {
        probe.other_client_backend_pid = other_seen->server_pid;
        probe.other_client_shared = SharesServerSession(*seen, *other_seen);
      }
      const int other_pid = PQbackendPID(other->get());
      other->reset();
      if (!seen->pooler_in_between()) AwaitBackendGone(conn, other_pid, redactor, clock);
    }
  }
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  if (port != nullptr && port[0] != '\0') (void)absl::SimpleAtoi(port, &probe.port);
  probe.unix_socket = host == nullptr || host[0] == '/' || host[0] == '@';
  return probe;
}

// Connects again with the startup `options` a manager built with defaults
// sends (its backstop, a probe setting, then the user's own options, as the
// manager puts them last) and reads whether the probe setting arrived.
// `direct`: no pooler answered doctor's own startup, so the probe's backend
// is waited for after it leaves.
absl::StatusOr<StartupOptionsFacts> ProbeStartupOptions(PGconn* conn, bool direct,
                                                        const Redactor& redactor, Clock& clock) {
  StartupOptionsFacts facts;
  facts.sent =
      absl::StrCat("-c idle_in_transaction_session_timeout=",
                   absl::ToInt64Milliseconds(ManagerOptions().idle_in_transaction_timeout));
  const std::string token = absl::StrCat("startup-", PQbackendPID(conn));
  std::string options = absl::StrCat(facts.sent, " -c ", kStartupProbeSetting, "=", token);
  if (const char* user = PQoptions(conn); user != nullptr && user[0] != '\0') {
    absl::StrAppend(&options, " ", user);
  }
  absl::StatusOr<pg::Conn> probe = ConnectLike(conn, options, redactor);
  if (!probe.ok()) {
    if (!RefusesStartupOptions(probe.status().message())) return probe.status();
    facts.refusal = std::string(probe.status().message());
    return facts;
  }
  absl::StatusOr<Row> row = OneRow(
      probe->get(), absl::StrCat("SELECT current_setting('", kStartupProbeSetting, "', true)"), {},
      redactor);
  if (!row.ok()) return row.status();
  facts.arrived = Text((*row)[0]) == token;
  const int pid = PQbackendPID(probe->get());
  probe->reset();
  if (direct) AwaitBackendGone(conn, pid, redactor, clock);
  return facts;
}

// The reaper role's facts, read over its own connection.
absl::Status ReadReaperRole(PGconn* conn, const Redactor& redactor, ReaperRoleFacts& rr) {
  absl::StatusOr<Row> row = OneRow(
      conn,
      absl::StrCat("SELECT current_user::text, quote_ident(current_user), r.rolsuper,"
                   " r.rolconnlimit, pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'),"
                   " pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'),"
                   " (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid AND ",
                   ClientSqlOfA(), ") FROM pg_roles r WHERE r.rolname = current_user"),
      {}, redactor, "its role is not in the catalog");
  if (!row.ok()) return row.status();
  const Row& f = *row;
  rr.role.name = Text(f[0]);
  rr.role.name_sql = Text(f[1]);
  rr.role.superuser = Bool(f[2]);
  rr.role.connection_limit = Int(f[3], -1);
  rr.read_all_stats = Bool(f[4]);
  rr.signal_backend = Bool(f[5]);
  rr.role.sessions = Int(f[6]);
  return absl::OkStatus();
}

// Logs in with the reaper conninfo as the emergency path would, reads the
// role's facts and logs out again (so that doctor does not hold one of the
// reaper role's few slots while it checks). `pid` is its backend's pid (0
// when it did not log in).
ReaperRoleFacts ProbeReaperRole(const std::string& conninfo, Redactor& redactor, int& pid) {
  ReaperRoleFacts rr;
  pid = 0;
  redactor.AddSensitive(conninfo);
  absl::StatusOr<pg::Conn> conn = Connect(conninfo, kToolApplicationName, redactor);
  if (!conn.ok()) {
    rr.connect_error = absl::StrReplaceAll(conn.status().message(),
                                           {{"--dsn", "the reaper conninfo"}, {"\n  ", " "}});
    rr.connect_error = absl::StrReplaceAll(rr.connect_error, {{"\n", " "}});
    return rr;
  }
  pid = PQbackendPID(conn->get());
  if (absl::Status s = ReadReaperRole(conn->get(), redactor, rr); !s.ok()) {
    rr.connect_error = absl::StrCat("logged in, but ", s.message());
  } else {
    rr.connected = true;
  }
  return rr;
}

}  // namespace

absl::StatusOr<DoctorFacts> GatherDoctorFacts(PGconn* conn, const DoctorSettings& settings,
                                              const std::optional<std::string>& reaper_conninfo,
                                              const SecretState& secret, Redactor& redactor,
                                              Clock& clock) {
  DoctorFacts facts;
  facts.settings = settings;
  facts.secret = secret.status;
  if (reaper_conninfo.has_value()) {
    int pid = 0;
    facts.reaper_role = ProbeReaperRole(*reaper_conninfo, redactor, pid);
    AwaitBackendGone(conn, pid, redactor, clock);
  }
  absl::StatusOr<ServerFacts> server = ReadServer(conn, redactor);
  if (!server.ok()) return server.status();
  facts.server = *std::move(server);
  facts.clock_samples = SampleClock(conn, redactor, clock);
  facts.leases = CountLeases(conn, settings, secret.signer.get(), redactor);
  facts.hidden = ReadHidden(conn, redactor);
  facts.in_use = ReadInUse(conn, redactor);
  facts.roles = ReadRoles(conn, settings.service, redactor);
  facts.reaper_lock = ReadLockHolder(conn, settings.service, redactor);
  facts.pooler = ProbePooler(conn, facts.server.backend_pid, redactor, clock);
  // No pooler answered the startup: the startup's pid is the server's.
  const bool direct = facts.pooler.second_backend_pid == facts.pooler.startup_backend_pid;
  facts.startup_options = ProbeStartupOptions(conn, direct, redactor, clock);
  return facts;
}

}  // namespace cli
}  // namespace aequor
