#include "core/server_probe.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aequor {
namespace {

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.6f", absl::ToDoubleSeconds(d)); }

}  // namespace

std::string ProbeColumnsSql(const ProbeSettings& s) {
  // The service is normalised to [A-Za-z0-9:_-] (api/lease.h), so it is safe
  // inside a literal; the prefix is compared exactly (never LIKE: '_').
  const std::string prefix = absl::StrCat("s=", s.service, ";");
  std::string idle = absl::StrCat("(a.state = 'idle' AND a.state_change <= clock_timestamp() - ",
                                  "make_interval(secs => ", Seconds(s.min_idle), "))");
  if (s.idle_in_transaction_min_idle > absl::ZeroDuration()) {
    absl::StrAppend(&idle, " OR (a.state IN ('idle in transaction', ",
                    "'idle in transaction (aborted)') AND a.state_change <= clock_timestamp() - ",
                    "make_interval(secs => ", Seconds(s.idle_in_transaction_min_idle), "))");
  }
  // The conditions under which session `a` would be killed (tag unverified).
  const std::string reapable_where = absl::StrCat(
      "a.datname = current_database() AND a.pid <> pg_backend_pid() AND left(a.application_name, ",
      prefix.size(), ") = '", prefix, "' AND (", idle,
      ") AND substring(a.application_name from ';e=([0-9]{1,15});g=')::bigint + ",
      absl::ToInt64Milliseconds(s.clock_skew),
      " < (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint");
  return absl::StrCat(
      // usage
      "(SELECT greatest("
      "(SELECT count(*) FROM pg_stat_activity a WHERE a.datid IS NOT NULL"
      " AND coalesce(a.backend_type, 'client backend') = 'client backend')::float8"
      " / greatest(1, current_setting('max_connections')::int - CASE WHEN r.rolsuper THEN 0"
      " ELSE current_setting('superuser_reserved_connections')::int END),"
      " CASE WHEN r.rolconnlimit > 0 AND NOT r.rolsuper THEN"
      " (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid)::float8"
      " / r.rolconnlimit ELSE 0 END)"
      " FROM pg_roles r WHERE r.rolname = current_user), "
      // reapable: at most 15 digits of expiry, so the cast cannot overflow
      "(SELECT count(*) FROM pg_stat_activity a WHERE ", reapable_where, ")::int, "
      // clock
      "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint, "
      // frozen leader: pg-aequor's session lock (two-int4 key) held by a
      // reapable session
      "EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
      " WHERE l.locktype = 'advisory' AND l.classid = ", kProbeLockNamespace,
      " AND l.objid = hashtext('", s.service, "')::oid AND l.objsubid = 2 AND l.granted AND ",
      reapable_where, ")");
}

ProbeReading ReadProbe(const PGresult* r, int row, int first_column) {
  ProbeReading reading;
  if (r == nullptr || row >= PQntuples(r) || first_column + kProbeColumns > PQnfields(r)) {
    return reading;
  }
  auto text = [&](int c) -> const char* {
    return PQgetisnull(r, row, first_column + c) ? nullptr : PQgetvalue(r, row, first_column + c);
  };
  double usage = 0;
  if (const char* t = text(0); t != nullptr && absl::SimpleAtod(t, &usage)) reading.usage = usage;
  int reapable = 0;
  if (const char* t = text(1); t != nullptr && absl::SimpleAtoi(t, &reapable)) {
    reading.reapable = reapable;
  }
  int64_t us = 0;
  if (const char* t = text(2); t != nullptr && absl::SimpleAtoi(t, &us)) reading.server_us = us;
  if (const char* t = text(3); t != nullptr) reading.frozen_leader = std::string(t) == "t";
  return reading;
}

ClockOffset OffsetFromSample(int64_t server_us, absl::Time sent, absl::Time received) {
  if (received < sent) std::swap(sent, received);  // a wall-clock step backwards
  const absl::Duration half = (received - sent) / 2;
  const absl::Time mid = sent + half;
  return ClockOffset{absl::FromUnixMicros(server_us) - mid, half};
}

}  // namespace aequor
