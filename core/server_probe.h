// core/server_probe.h (internal): what a statement the manager sends anyway
// can bring back from the server at no extra round trip.
//
// ProbeSql() is one SELECT of one row and four columns. It is sent alone as
// the connect-time probe of schedulers that want it, and used as a subquery
// by statements sent for another reason (a reaper pass's first statement, a
// lease renewal):
//   usage      connection slots in use / slots this role may use: the larger
//              of the database's (max_connections, less
//              superuser_reserved_connections unless the role is a superuser)
//              and the role's own CONNECTION LIMIT
//   reapable   sessions of this service a pass would probably kill: idle at
//              least min_idle (idle in transaction at least its own minimum,
//              when enabled), their lease's expiry (parsed in SQL, the tag
//              not verified) older than the server's clock minus the margin
//   clock_us   the server's clock_timestamp() in microseconds since the epoch
//   lock_busy  with check_lock: pg-aequor's reaper lock is held by another
//              session (tried with pg_try_advisory_xact_lock, so it is held
//              only for the statement, and only outside a transaction). A
//              frozen pg-aequor leader holds it for good, a live pass for
//              milliseconds. NULL without check_lock.
//
//   pg::Result r(PQexec(conn, ProbeSql(settings, /*check_lock=*/true).c_str()));
//   ProbeReading reading = ReadProbe(r.get(), 0, 0);
//   ClockOffset offset = OffsetFromSample(*reading.server_us, sent, received);
//
// Sessions of other roles count towards usage even without pg_read_all_stats:
// their backend_type is NULL then, so a row counts when it is connected to a
// database (datid, visible to every role) and its backend_type is NULL or
// 'client backend'. That leaves out the launchers and auxiliary processes
// (no database); parallel and autovacuum workers of other roles, which do
// not take max_connections slots, are counted while they run
// (docs/POSTGRES_FACTS.md).
//
// Thread-safety: pure functions.
#ifndef AEQUOR_CORE_SERVER_PROBE_H_
#define AEQUOR_CORE_SERVER_PROBE_H_

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/events.h"

namespace aequor {

struct ProbeSettings {
  std::string service;  // normalised ([A-Za-z0-9:_-] only)
  absl::Duration min_idle;
  absl::Duration idle_in_transaction_min_idle;  // 0: never reaped
  absl::Duration clock_skew;
};

// pg-aequor's advisory lock namespace (core/reaper.h kReaperLockNamespace).
inline constexpr int kProbeLockNamespace = 1346847057;
inline constexpr int kProbeColumns = 4;

// The probe (see above). check_lock only for a statement sent outside a
// transaction: inside one the lock would be held until it ends.
std::string ProbeSql(const ProbeSettings& settings, bool check_lock);

struct ProbeReading {
  std::optional<double> usage;
  std::optional<int> reapable;
  std::optional<int64_t> server_us;
  std::optional<bool> lock_busy;
};

// Reads the four columns of row `row` starting at column `first_column`;
// a column that is missing or NULL stays nullopt.
ProbeReading ReadProbe(const PGresult* result, int row, int first_column);

// The offset of this host's wall clock to the server's from one round trip:
// `sent` and `received` are this host's wall clock around the statement that
// read the server's clock as `server_us`.
ClockOffset OffsetFromSample(int64_t server_us, absl::Time sent, absl::Time received);

// What to add to this host's clock when it signs a lease, so that the server
// never sees the lease expire early: the largest offset the sample allows
// (offset + uncertainty).
inline absl::Duration LeaseCompensation(const ClockOffset& o) { return o.offset + o.uncertainty; }

}  // namespace aequor

#endif  // AEQUOR_CORE_SERVER_PROBE_H_
