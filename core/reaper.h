// core/reaper.h (internal): one reaper pass on a given connection.
//
// A pass frees the connections of frozen or dead instances of this service,
// and never a live one:
//
//  1. BEGIN; SET LOCAL statement_timeout and idle_in_transaction_session_timeout;
//     pg_try_advisory_xact_lock(1346847057, hashtext(service)): pg-aequor's key,
//     so mixed fleets elect one leader, but transaction-scoped, so a leader
//     frozen mid-pass is cut off by the server and the lock freed. The same
//     statement reads the connection usage and the server's clock
//     (core/server_probe.h): the report carries both.
//  2. Not locked: if the holder is itself an idle, signed, expired lease of
//     this service (a frozen leader, e.g. a pg-aequor instance holding a
//     session lock), it is a zombie: terminate it (same guards as below) and
//     try the lock once more. Otherwise ROLLBACK and report kBusy.
//  3. pg_stat_clear_snapshot(); scan pg_stat_activity of this database for
//     application_name starting exactly with "s=<service>;" (text compare, not
//     LIKE, whose '_' is a wildcard), not this backend.
//  4. In the client: parse, verify the tag, check the service, expiry older
//     than the server's clock_timestamp() minus the skew margin, idle (or idle
//     in transaction, when enabled) for at least the minimum; sort by expiry
//     then idle time; keep at most max_kills, unless under pressure (the
//     manager says so, or usage >= pressure_threshold): then keep all.
//  5. pg_stat_clear_snapshot(); one statement terminates only the rows whose
//     pid, application_name, backend_start, state and state_change are still
//     what the scan saw, and only those this role may signal, so one
//     forbidden row cannot abort the batch and a session that turned active
//     (even briefly) between scan and kill is spared.
//  6. COMMIT; report scanned, candidates, killed, skipped by reason, duration.
//
// Thread-safety: uses `conn` exclusively for the duration of the call.
#ifndef AEQUOR_CORE_REAPER_H_
#define AEQUOR_CORE_REAPER_H_

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "api/clock.h"
#include "api/events.h"
#include "api/lease_signer.h"
#include "api/options.h"
#include "core/reap_decision.h"
#include "core/server_probe.h"
#include "util/pg.h"

namespace aequor {

// Runs one pass on `conn`, which must be idle (not in a transaction).
// `clock` times the pass (monotonic) and the clock sample (wall). Every
// statement ends by `deadline`: one still unanswered then is cancelled and
// the connection closed (util/pg.h).
// Never throws; a failure is reported as ReapOutcome::kError with `message`,
// and the transaction is rolled back. The connection stays usable unless
// the server closed it or the deadline passed.
ReapReport RunReaperPass(PGconn* conn, const ReaperSettings& settings, const LeaseSigner& signer,
                         Clock& clock, const pg::Deadline& deadline = pg::Deadline::None());

}  // namespace aequor

#endif  // AEQUOR_CORE_REAPER_H_
