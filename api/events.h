// api/events.h: what the manager reports about itself.
//
// Every observable action of a ConnectionManager (connects, queries, retries,
// lease renewals, reaper passes, dead clients) becomes an Event handed to the
// hook exporters (api/hook_exporter.h) and counted in the manager's metrics
// (api/metrics.h). Events never carry the coordination secret, a password or
// a connection string.
//
// Thread-safety: plain values.
#ifndef AEQUOR_API_EVENTS_H_
#define AEQUOR_API_EVENTS_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aequor {

enum class EventKind {
  kConnect,       // a connection was opened (first one)
  kReconnect,     // a connection was opened to replace a lost one
  kDisconnect,    // the manager closed its connection
  kConnectError,  // one connect attempt failed
  kQueryStart,
  kQueryEnd,    // succeeded
  kQueryError,  // failed (after retries, if any)
  kRetry,       // an operation will be tried again after `delay`
  kLeaseRenewed,
  kLeaseRenewFailed,
  kReap,         // a reaper pass ran; see `reap`
  kClientDead,   // the connection was found dead; `source` says how
  kClockOffset,  // this host's clock was measured against the server's;
                 // see `clock_offset`. `message` is set (a warning) when
                 // the offset is larger than reap_clock_skew
  kDegraded,     // a protection is off because of what sits in front of the
                 // server; `source` says which, `message` why and the fix.
                 // Emitted once per manager and source.
};

// "connect", "query_start", ... (stable names, used by exporters).
absl::string_view EventKindName(EventKind kind);

// Where an event came from, for the kinds that say so (see Event::source).
enum class EventSource {
  kNone,  // the kind has no source
  // kClientDead: how the dead connection was found.
  kThawCheck,    // the check of a connection idle for thaw_check_after
  kQuery,        // a statement failed with the connection lost
  kTransaction,  // a transaction statement failed with the connection lost
  kCommit,       // COMMIT failed with the connection lost
  kReaper,       // a reaper pass lost it
  kProbe,        // the connect-time probe lost it
  // kReap: what triggered the pass.
  kConnect,     // a new connection
  kInvocation,  // a warm invocation
  kEmergency,   // a connect refused with 53300 (over reaper_conninfo)
  kManual,      // ConnectionManager::RunReaperPass()
  // kLeaseRenewed: how the lease was renewed.
  kPipeline,  // with a statement, in one pipeline
  kBlocking,  // alone, before a statement
  // kDegraded: what is off.
  kStartupOptions,  // the startup `options` (the server-side backstops) were
                    // refused, so connections go without them
  kPooler,          // a pooler answers for the server: no reaper pass runs
                    // through it
  kPoolLeak,        // a pooled connection was borrowed for longer than
                    // leak_threshold (api/pool.h)
  kPoolMaintenance,  // a pool's maintenance thread could not start: idle
                     // leases are not renewed
};

// "thaw_check", "query", ... ("" for kNone): stable names, used by exporters
// and metrics labels.
absl::string_view EventSourceName(EventSource source);
// The inverse of EventSourceName; nullopt for an unknown name.
std::optional<EventSource> ParseEventSource(absl::string_view name);

// The outcome of one reaper pass.
enum class ReapOutcome {
  kCompleted,  // held the lock and finished the pass (killed may be 0)
  kBusy,       // another instance holds the lock: not an error
  kError,      // the pass failed; `message` says why
};
absl::string_view ReapOutcomeName(ReapOutcome outcome);

// This host's wall clock against the server's, from one statement that
// returned the server's clock_timestamp(): the true offset lies within
// offset +/- uncertainty.
struct ClockOffset {
  absl::Duration offset;       // server minus this host, at the round trip's midpoint
  absl::Duration uncertainty;  // half the round trip
};

struct ReapReport {
  ReapOutcome outcome = ReapOutcome::kError;
  int scanned = 0;     // sessions of this service seen in pg_stat_activity
  int candidates = 0;  // expired, signed, idle long enough
  int killed = 0;
  // The lock was held by a frozen leader (an expired lease of this service)
  // which this pass terminated before taking the lock.
  bool frozen_leader_killed = false;
  std::map<std::string, int> skipped;  // reason -> count (core/reaper.h lists them)
  // Connection slots in use / slots this role may use (the larger of the
  // database's and the role's own CONNECTION LIMIT), read by the pass's first
  // statement, or by the manager's connect-time probe a moment before the
  // pass; nullopt if the pass failed before it.
  std::optional<double> connection_usage;
  // The pass ran under pressure (connection_usage >= reap_pressure_threshold,
  // or the database was full): it killed every eligible zombie, without the
  // reap_max_kills limit.
  bool under_pressure = false;
  // This host's clock offset, measured by the pass's first statement (when
  // it read the usage: not right after a probe, which measured it already).
  std::optional<ClockOffset> clock_offset;
  absl::Duration duration;
  std::string message;  // for kError
};

struct Event {
  EventKind kind = EventKind::kConnect;
  absl::Time time;          // wall clock, from the manager's Clock
  std::string service;      // normalised service
  std::string instance;     // this manager's instance id
  // The label the caller gave the call that emitted it (QueryOptions::label,
  // TransactionOptions::label): every event of that call carries it (its
  // connect, retries, statements, renewals); "" for none and for events of
  // no call (a pool's maintenance).
  std::string label;
  absl::Duration duration;  // of the connect, query or pass, when it has one
  int attempt = 0;          // 1 for the first try
  absl::Duration delay;     // kRetry: the sleep before the next attempt
  std::string sql;          // kQuery*: the statement text (never parameters)
  std::string sqlstate;     // kQueryError/kConnectError/kClientDead/kRetry, if known
  std::string message;      // a short human reason (server message, etc.)
  EventSource source = EventSource::kNone;  // kClientDead, kReap, kLeaseRenewed
  int64_t rows = 0;                         // kQueryEnd: rows returned or affected
  ReapReport reap;                          // kReap
  ClockOffset clock_offset;                 // kClockOffset
};

}  // namespace aequor

#endif  // AEQUOR_API_EVENTS_H_
