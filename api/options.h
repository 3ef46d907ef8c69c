// api/options.h: every setting of a ConnectionManager, with its default.
//
// The defaults are pg-aequor's, validated. ConnectionManagerBuilder::Build()
// checks every value and every relation between values and refuses to build
// with InvalidArgument naming the option (e.g. "lease_renew_before (5s) must
// be less than lease_ttl (4s)").
//
// Plugin-specific settings (the retry count, the reaper probability, ...)
// belong to the plugin's PluginSpec parameters; each plugin documents its own.
//
// Thread-safety: plain value.
#ifndef AEQUOR_API_OPTIONS_H_
#define AEQUOR_API_OPTIONS_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "api/hook_exporter.h"
#include "api/lease_signer.h"
#include "api/plugin.h"
#include "api/reaper_scheduler.h"
#include "api/retry_policy.h"
#include "api/secret.h"

namespace aequor {

enum class LeaseMode {
  // A coordination secret is mandatory: Build() fails without one. (default)
  kRequired,
  // Without a secret, leases, the reaper and renewal are off and the manager
  // is a plain connection with retries; with one, as kRequired.
  kOptional,
};

struct ManagerOptions {
  // libpq connection string or URI. Empty: libpq's defaults and the PG*
  // environment variables. While leases are on, the lease replaces any
  // application_name given here. Never logged (it may hold a password).
  std::string conninfo;

  // Default: $AWS_LAMBDA_FUNCTION_NAME if set, else "sls_pg". Normalised for
  // the lease (see NormalizeService in api/lease.h).
  std::string service;

  // Default kRequired.
  LeaseMode lease_mode = LeaseMode::kRequired;

  // Keys every lease's tag. REQUIRES: at least 16 bytes; never the database
  // password. Default: none.
  Secret coordination_secret;

  // Older secrets still accepted when verifying other instances' leases
  // (rotation). Used by "aequor.signer.key_ring". Each at least 16 bytes.
  std::vector<Secret> previous_secrets;

  // How long a lease stays valid after it is written. Default 90 s.
  // REQUIRES: lease_renew_before < lease_ttl.
  absl::Duration lease_ttl = absl::Seconds(90);

  // Renew the lease when less than this is left. Default 30 s.
  // REQUIRES: lease_block_before < lease_renew_before.
  absl::Duration lease_renew_before = absl::Seconds(30);

  // Renew before sending anything when less than this is left. Default 5 s.
  // REQUIRES: > 0.
  absl::Duration lease_block_before = absl::Seconds(5);

  // Give up a blocking renewal after this long. Default 2 s. REQUIRES: > 0.
  absl::Duration lease_renew_timeout = absl::Seconds(2);

  // A session must have been idle this long before a reaper pass may kill it.
  // Default 180 s. REQUIRES: >= 0.
  absl::Duration reap_min_idle = absl::Seconds(180);

  // At most this many kills per reaper pass while the database is not under
  // pressure (see reap_pressure_threshold). Default 10. REQUIRES: 1..1000.
  int reap_max_kills = 10;

  // Sessions idle *in transaction* are reaped only when this is set, once
  // idle in transaction this long. Default 0 (never). REQUIRES: 0 or
  // >= reap_min_idle.
  absl::Duration reap_idle_in_transaction_after = absl::ZeroDuration();

  // A lease counts as expired only once the server's clock is this far past
  // its expiry. Each manager measures its own clock against the server's
  // (from statements it sends anyway) and signs later leases compensated, so
  // this margin only has to cover a process's first lease and a clock that
  // moves between measurements: what NTP-synchronised clocks need. Offsets
  // above it are reported (EventKind::kClockOffset with a warning). Default
  // 100 ms (docs/RELIABILITY.md, "The clock margin", says why).
  // REQUIRES: 0..24 h (the longest lease; it is added to expiries in SQL).
  absl::Duration reap_clock_skew = absl::Milliseconds(100);

  // The database is under pressure when this role's connection usage (slots
  // in use / slots it may use: the larger of the database's, less the
  // superuser reserve, and the role's own CONNECTION LIMIT) is at least this,
  // or when a connect was refused because it was full. Under pressure a
  // reaper pass kills every eligible zombie (reap_max_kills does not apply),
  // and the default scheduler (aequor.reaper.adaptive) runs a pass at every
  // connect and warm invocation that may find one. Default 0.25.
  // REQUIRES: 0 < value <= 1.
  double reap_pressure_threshold = 0.25;

  // statement_timeout for each statement of a reaper pass. Default 2 s.
  // REQUIRES: 1 ms..2147483647 ms (INT_MAX ms, about 24.8 days: PostgreSQL's
  // range; a larger value would make every pass fail).
  absl::Duration reap_statement_timeout = absl::Seconds(2);

  // idle_in_transaction_session_timeout inside a pass: how soon the server
  // cuts off an instance frozen mid-pass, freeing the reaper lock. Default 1 s.
  // REQUIRES: 1 ms..2147483647 ms, as reap_statement_timeout.
  absl::Duration reap_lock_timeout = absl::Seconds(1);

  // A query that comes after the connection has been unused this long starts
  // a new (warm) invocation: the manager asks the reaper scheduler whether to
  // run a pass. Default 1 s. REQUIRES: >= 0.
  absl::Duration invocation_gap = absl::Seconds(1);

  // Thaw detection: before a statement on a connection unused this long, the
  // manager checks without blocking (one poll(), about 0.4 us here) whether
  // the server closed it meanwhile (a reaper, a timeout, a restart while the
  // process was frozen) and if so reconnects first, since nothing was sent.
  // Statements sent back to back skip the check. Default 10 ms.
  // REQUIRES: >= 0 (0: check before every statement).
  absl::Duration thaw_check_after = absl::Milliseconds(10);

  // The emergency path: when connecting fails because the database or the
  // role is full (53300), connect with this conninfo (a role with headroom,
  // e.g. its own CONNECTION LIMIT, pg_read_all_stats and pg_signal_backend),
  // run a reaper pass, close it, and retry within connect_budget.
  // Default "" (off). Never logged.
  std::string reaper_conninfo;

  // --- Server-side backstops, sent in the startup packet's `options`. ---
  // They need no privilege and clean up even where no reaper ever runs.
  // Settings the user's own conninfo `options` give win over these. The
  // server refuses the whole connection for a value outside a setting's
  // range (1 .. INT_MAX), so Build() refuses such values first.

  // idle_in_transaction_session_timeout for the session, rounded up to whole
  // milliseconds. Default 60 s; 0 leaves the server's setting.
  // REQUIRES: 0 or 1 ms..2147483647 ms (INT_MAX ms, about 24.8 days).
  absl::Duration idle_in_transaction_timeout = absl::Seconds(60);

  // idle_session_timeout (PostgreSQL 14+) for the session, rounded up to
  // whole milliseconds. Default 0 (off): leases let the reaper pick only dead
  // instances; this would also close live but quiet ones (which then
  // reconnect transparently). REQUIRES: 0 or 1 ms..2147483647 ms.
  absl::Duration idle_session_timeout = absl::ZeroDuration();

  // Server-side TCP keepalives, so the server notices a client whose host is
  // gone (a frozen micro-VM does not answer). Default off (the Linux default
  // is 2 hours). When on: idle, interval and count as below.
  bool server_keepalives = false;
  // --- The client's socket (libpq keywords; the user's conninfo wins). ---
  // Client-side TCP keepalives (libpq's keepalives, keepalives_idle,
  // keepalives_interval, keepalives_count), so this process's kernel notices
  // a server or network that is gone while a connection sits idle.
  // Default on.
  bool client_keepalives = true;
  // Keepalive timing for both sides, whole seconds (rounded up). Defaults
  // 30 s, 10 s, 3. REQUIRES (when either side is on): idle and interval
  // 1 s..32767 s (about 9 h: Linux refuses larger TCP_KEEPIDLE and
  // TCP_KEEPINTVL, and libpq then fails every TCP connect); count 1..100.
  absl::Duration keepalives_idle = absl::Seconds(30);
  absl::Duration keepalives_interval = absl::Seconds(10);
  int keepalives_count = 3;
  // libpq's tcp_user_timeout (TCP_USER_TIMEOUT): the kernel closes the
  // connection when data it sent stays unacknowledged this long (a server
  // whose host or network is gone). Default 30 s; 0 leaves the kernel's
  // (about 15 minutes of retransmissions). REQUIRES: 0 or 1 ms..1 h.
  absl::Duration tcp_user_timeout = absl::Seconds(30);

  // Total time for connecting, retries included (a deadline), also when a
  // query or transaction has to connect first (then within its own budget
  // too). A refused, full or starting server is retried until this budget is
  // spent, not just for the retry policy's `retries`: once those are used up
  // the policy's last delay is repeated (a failover takes seconds to tens of
  // seconds). A policy that allows no retry (aequor.retry.none) means none.
  // Default 15 s. REQUIRES: > 0; InfiniteDuration() is allowed and means no
  // deadline of its own (connects are retried until the call's deadline, or
  // for ever; each attempt still ends after connect_timeout).
  absl::Duration connect_budget = absl::Seconds(15);

  // Total time for one query or transaction, retries included: a deadline
  // that also bounds a statement already sent. When it passes while the
  // server has not answered, the statement is cancelled (PQcancel, waited
  // for at most cancel_timeout), the connection closed, and the call
  // returns kDeadlineExceeded, with IsOutcomeUnknown() true when what was
  // sent may have run (a non-idempotent statement, a COMMIT). A call may
  // give its own (QueryOptions::timeout, TransactionOptions::timeout).
  // Default 15 s. REQUIRES: > 0; InfiniteDuration() is allowed and means no
  // deadline for a call that gives none of its own (its statement is never
  // cancelled).
  absl::Duration query_budget = absl::Seconds(15);
  // How long a call whose deadline passed waits for the server to accept
  // its cancel request, on top of the deadline (the request is a new
  // connection, which a dead network never answers). Default 1 s.
  // REQUIRES: 1 ms..60 s.
  absl::Duration cancel_timeout = absl::Seconds(1);

  // libpq's connect_timeout for one attempt, whole seconds, at least 2 (libpq
  // raises smaller values to 2). An attempt with less of its call's
  // deadline left gets what is left, rounded up to whole seconds (so it may
  // end up to a second after the deadline, or 2 s after it with libpq's
  // floor). A connect_timeout in the conninfo (or $PGCONNECT_TIMEOUT) wins
  // over this one, and over the deadline. Default 5 s.
  // REQUIRES: 2 s..2147483647 s (libpq reads an int), and <= connect_budget;
  // never infinite, even with an infinite connect_budget.
  absl::Duration connect_timeout = absl::Seconds(5);

  // Statements prepared per connection (core/statement_cache.h): a
  // statement run a second time on a connection is prepared there, in the
  // same round trip, and run by name from then on, so the server parses and
  // plans it once. The first use of a statement on a connection (a cold
  // serverless invocation's) is never prepared and costs nothing; a
  // statement that is not cached runs as without the cache. 0 turns it off.
  // Statements inside RunTransaction() bodies are not cached. Behind a
  // transaction-mode pooler a connection's cache turns itself off at the
  // first name the server does not know (that statement runs again,
  // unnamed: it had not run). Default 0 (off). REQUIRES: 0..10000.
  int statement_cache_size = 0;

  // The plugins, by name and parameters.
  PluginSpec signer = PluginSpec(std::string(kDefaultSigner));
  PluginSpec reaper_scheduler = DefaultReaperSchedulerSpec();  // kDefaultReaperScheduler
  PluginSpec retry_policy = PluginSpec(std::string(kDefaultRetryPolicy));
  std::vector<PluginSpec> exporters;  // default: none

  // --- Exporter delivery (api/hook_exporter.h). ---

  // Events waiting for the dispatcher thread; beyond this many, new events
  // are dropped and counted (MetricsSnapshot::events_dropped). Default 1024.
  // REQUIRES: 1..1000000.
  int exporter_queue_capacity = 1024;

  // The dispatcher hands queued events and fresh metrics to the queued
  // exporters at least this often (sooner when half the queue is full, and
  // on Flush()). Default 1 s. REQUIRES: 10 ms..1 h.
  absl::Duration exporter_interval = absl::Seconds(1);
};

// Checks every value and relation of `options` that does not involve plugins.
// InvalidArgument naming the option; the secret itself is never quoted.
absl::Status ValidateOptions(const ManagerOptions& options);

}  // namespace aequor

#endif  // AEQUOR_API_OPTIONS_H_
