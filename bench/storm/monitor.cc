#include "bench/storm/monitor.h"

#include <libpq-fe.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/storm/progress.h"
#include "bench/storm/protocol.h"

namespace aequor {
namespace storm {
namespace {

constexpr char kSettingsSql[] =
    "SELECT current_setting('max_connections'), "
    "current_setting('superuser_reserved_connections'), "
    "current_setting('server_version'), "
    "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
    "pg_has_role(current_user, 'pg_read_all_stats', 'member')";

constexpr char kPollSql[] =
    "SELECT pid, (extract(epoch FROM backend_start) * 1000)::bigint, coalesce(client_port, -1), "
    "coalesce(application_name, ''), coalesce(state, ''), left(coalesce(query, ''), 200), "
    "coalesce(usename::text, '') "
    "FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";

constexpr char kBackendStartSql[] =
    "SELECT (extract(epoch FROM backend_start) * 1000)::bigint FROM pg_stat_activity "
    "WHERE pid = $1::int";

}  // namespace

absl::StatusOr<ServerSettings> Monitor::Connect(const std::string& conninfo) {
  conn_.reset(PQconnectdb(conninfo.c_str()));
  if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("monitor connection failed: ",
                     conn_ == nullptr ? "out of memory" : OneLine(PQerrorMessage(conn_.get()))));
  }
  pg::Outcome r = pg::Exec(conn_.get(), kSettingsSql);
  if (!r.ok() || PQntuples(r.get()) != 1) {
    return absl::UnavailableError(
        absl::StrCat("monitor: reading the server settings failed: ", OneLine(r.message())));
  }
  ServerSettings s;
  (void)absl::SimpleAtoi(PQgetvalue(r.get(), 0, 0), &s.max_connections);
  (void)absl::SimpleAtoi(PQgetvalue(r.get(), 0, 1), &s.superuser_reserved_connections);
  s.version = PQgetvalue(r.get(), 0, 2);
  s.superuser = std::string(PQgetvalue(r.get(), 0, 3)) == "t";
  s.reads_all_stats = std::string(PQgetvalue(r.get(), 0, 4)) == "t";
  // Notices (DROP TABLE IF EXISTS, pg_terminate_backend's warnings) are not
  // the storm's output.
  PQsetNoticeProcessor(
      conn_.get(), [](void*, const char*) {}, nullptr);
  return s;
}

bool Monitor::EnsureConnected() {
  if (conn_ == nullptr) return false;
  if (PQstatus(conn_.get()) != CONNECTION_OK) PQreset(conn_.get());
  return PQstatus(conn_.get()) == CONNECTION_OK;
}

void Monitor::Reset() {
  if (conn_ != nullptr) PQreset(conn_.get());
}

absl::StatusOr<std::vector<Backend>> Monitor::Poll() {
  if (conn_ == nullptr) return absl::FailedPreconditionError("no monitor connection");
  pg::Outcome r = pg::Exec(conn_.get(), kPollSql);
  if (!r.ok()) return absl::UnavailableError(OneLine(r.message()));
  std::vector<Backend> out;
  out.reserve(static_cast<size_t>(PQntuples(r.get())));
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    Backend b;
    if (!absl::SimpleAtoi(PQgetvalue(r.get(), i, 0), &b.pid)) continue;
    (void)absl::SimpleAtoi(PQgetvalue(r.get(), i, 1), &b.start_ms);
    (void)absl::SimpleAtoi(PQgetvalue(r.get(), i, 2), &b.client_port);
    b.application_name = PQgetvalue(r.get(), i, 3);
    b.state = PQgetvalue(r.get(), i, 4);
    b.query = PQgetvalue(r.get(), i, 5);
    b.user = PQgetvalue(r.get(), i, 6);
    out.push_back(std::move(b));
  }
  return out;
}

bool Monitor::connected() const {
  return conn_ != nullptr && PQstatus(conn_.get()) == CONNECTION_OK;
}

absl::Status Monitor::Terminate(int pid) {
  if (!connected()) return absl::FailedPreconditionError("no monitor connection");
  pg::Outcome r =
      pg::Exec(conn_.get(), "SELECT pg_terminate_backend($1::int)", {absl::StrCat(pid)});
  if (!r.ok()) return absl::UnavailableError(OneLine(r.message()));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Monitor::BackendStartMs(int pid) {
  if (conn_ == nullptr) return absl::FailedPreconditionError("no monitor connection");
  pg::Outcome r = pg::Exec(conn_.get(), kBackendStartSql, {absl::StrCat(pid)});
  if (!r.ok()) return absl::UnavailableError(OneLine(r.message()));
  int64_t start_ms = 0;
  if (PQntuples(r.get()) != 1 || !absl::SimpleAtoi(PQgetvalue(r.get(), 0, 0), &start_ms)) {
    return absl::NotFoundError("not in pg_stat_activity");
  }
  return start_ms;
}

absl::Status Monitor::CreateWritesTable(const std::string& role) {
  if (conn_ == nullptr) return absl::FailedPreconditionError("no monitor connection");
  std::string sql = absl::StrCat(
      "DROP TABLE IF EXISTS ", kWritesTable, "; CREATE TABLE ", kWritesTable,
      " (invocation int NOT NULL, instance int NOT NULL, at timestamptz NOT NULL DEFAULT now())");
  if (!role.empty()) {
    char* quoted = PQescapeIdentifier(conn_.get(), role.c_str(), role.size());
    if (quoted == nullptr) {
      return absl::InternalError(
          absl::StrCat("quoting role '", role, "': ", OneLine(PQerrorMessage(conn_.get()))));
    }
    absl::StrAppend(&sql, "; GRANT SELECT, INSERT ON ", kWritesTable, " TO ", quoted);
    PQfreemem(quoted);
  }
  return Exec(sql);
}

absl::StatusOr<std::map<int, int>> Monitor::CountWrites() {
  if (conn_ == nullptr) return absl::FailedPreconditionError("no monitor connection");
  const std::string sql =
      absl::StrCat("SELECT invocation, count(*) FROM ", kWritesTable, " GROUP BY invocation");
  pg::Outcome r = pg::Exec(conn_.get(), sql);
  if (!r.ok()) return absl::UnavailableError(OneLine(r.message()));
  std::map<int, int> rows;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    int id = 0;
    int n = 0;
    if (!absl::SimpleAtoi(PQgetvalue(r.get(), i, 0), &id) ||
        !absl::SimpleAtoi(PQgetvalue(r.get(), i, 1), &n)) {
      continue;
    }
    rows[id] += n;
  }
  return rows;
}

absl::Status Monitor::Exec(const std::string& sql) {
  if (conn_ == nullptr) return absl::FailedPreconditionError("no monitor connection");
  pg::Outcome r = pg::Exec(conn_.get(), sql);
  if (!r.ok()) return absl::UnavailableError(OneLine(r.message()));
  return absl::OkStatus();
}

}  // namespace storm
}  // namespace aequor
