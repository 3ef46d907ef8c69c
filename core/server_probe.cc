#include "core/server_probe.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aequor {
namespace {

std::string Seconds(absl::Duration d) { return absl::StrFormat("%.6f", absl::ToDoubleSeconds(d)); }

}  // namespace

std::string ProbeSql(const ProbeSettings& s, bool check_lock) {
  // The service is normalised to [A-Za-z0-9:_-] (api/lease.h), so it is safe
  // inside a literal; the prefix is compared exactly (never LIKE: '_').
  const std::string prefix = absl::StrCat("s=", s.service, ";");
  std::string idle = absl::StrCat("(s.state = 'idle' AND s.state_change <= clock_timestamp() - ",
                                  "make_interval(secs => ", Seconds(s.min_idle), "))");
  if (s.idle_in_transaction_min_idle > absl::ZeroDuration()) {
    absl::StrAppend(&idle, " OR (s.state IN ('idle in transaction', ",
                    "'idle in transaction (aborted)') AND s.state_change <= clock_timestamp() - ",
                    "make_interval(secs => ", Seconds(s.idle_in_transaction_min_idle), "))");
  }
  // One read of pg_stat_get_activity(NULL) (the function, not the view: a
  // new backend's first use of the view's joins cost about 3x as much here,
  // docs/BENCHMARKS.md), counted three ways. Aggregates without GROUP BY:
  // always exactly one row.
  return absl::StrCat(
      "SELECT greatest(a.used / greatest(1, current_setting('max_connections')::int - "
      "CASE WHEN a.su THEN 0 ELSE current_setting('superuser_reserved_connections')::int END), "
      "CASE WHEN a.lim > 0 AND NOT a.su THEN a.mine / a.lim ELSE 0 END) AS usage, "
      "a.reapable::int AS reapable, "
      "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint AS clock_us, ",
      check_lock ? absl::StrCat("NOT pg_try_advisory_xact_lock(", kProbeLockNamespace,
                                ", hashtext('", s.service, "'))")
                 : std::string("NULL::bool"),
      " AS lock_busy FROM (SELECT "
      "count(*) FILTER (WHERE s.datid IS NOT NULL"
      " AND coalesce(s.backend_type, 'client backend') = 'client backend')::float8 AS used, "
      "count(*) FILTER (WHERE s.usesysid = r.oid)::float8 AS mine, "
      // at most 15 digits of expiry, so the cast cannot overflow
      "count(*) FILTER (WHERE s.datid = d.oid AND s.pid <> pg_backend_pid()"
      " AND left(s.application_name, ",
      prefix.size(), ") = '", prefix, "' AND (", idle,
      ") AND substring(s.application_name from ';e=([0-9]{1,15});g=')::bigint + ",
      absl::ToInt64Milliseconds(s.clock_skew),
      " < (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint) AS reapable, "
      "bool_or(r.rolsuper) AS su, max(r.rolconnlimit) AS lim "
      "FROM pg_roles r JOIN pg_database d ON d.datname = current_database() "
      "CROSS JOIN pg_stat_get_activity(NULL) s WHERE r.rolname = current_user) a");
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
  if (const char* t = text(3); t != nullptr) reading.lock_busy = std::string(t) == "t";
  return reading;
}

ClockOffset OffsetFromSample(int64_t server_us, absl::Time sent, absl::Time received) {
  if (received < sent) std::swap(sent, received);  // a wall-clock step backwards
  const absl::Duration half = (received - sent) / 2;
  const absl::Time mid = sent + half;
  return ClockOffset{absl::FromUnixMicros(server_us) - mid, half};
}

}  // namespace aequor
