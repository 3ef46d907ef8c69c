// tools/aequorctl/leases_command.h: `aequorctl leases`, every session of the
// database with what its lease says and what a reaper pass would do with it.
//
//   $ export AEQUOR_COORDINATION_SECRET_FILE=/run/secrets/aequor
//   $ aequorctl leases --dsn 'host=db dbname=app user=reaper' --service orders --json
//   {"pid":4711,"role":"app","application_name":"s=orders;i=AbCdEfGh;e=...;g=...",
//    "service":"orders","instance":"AbCdEfGh","lease":"expired","expires_ms":...,
//    "expires_in_ms":null,"expired_for_ms":61234,"state":"idle","idle_s":312.5,
//    "would_kill":true,"reason":null}
//
// One row per client session of the current database except aequorctl's own.
// Whether a pass would kill a session comes from core's ReapDecision() with
// the settings a pass of the connection manager would use (the service and
// --min-idle-s, --clock-skew-s, --reap-idle-in-transaction-after-s); the
// per-pass limit (--max-kills of `reap`) is not applied: a pass kills at
// most that many of the would_kill sessions, oldest expiry first.
//
// JSON lines (--json): one object per session, every key always present:
//   pid               number
//   role              the session's role (visible to every role)
//   application_name  string, as the server shows it
//   service, instance the lease's fields, null when not a lease
//   lease             "valid"       signed with the secret, not expired
//                     "expired"     signed with the secret, server clock past expiry
//                     "bad_tag"     parses but another secret signed it (or forged)
//                     "not_a_lease" application_name is not a lease
//                     "unverified"  parses; no secret to check the tag with
//   expires_ms        number (ms since the epoch), null when not a lease
//   expires_in_ms     ms until expiry by the server's clock, null unless not expired
//   expired_for_ms    ms since expiry by the server's clock, null unless expired
//   state             pg_stat_activity.state; null when this role may not see it
//                     (needs pg_read_all_stats)
//   idle_s            seconds since the last state change (for idle sessions,
//                     the idle time); null when state is null
//   would_kill        bool: a pass would pick it now
//   reason            null when would_kill; else why not: a core skip reason
//                     (not_visible, bad_lease, other_service, bad_tag,
//                     not_expired, active, idle_in_transaction,
//                     idle_too_short, superuser, not_permitted) or
//                     "no_secret" (a lease of the service, not verifiable)
// Notes about what is limited (no secret, sessions not visible) go to stderr.
//
// Exit status: 0 listed; 2 usage error, unusable secret (set but unreadable,
// short, or both variables set) or connection error. A missing secret is not
// an error here.
//
// Thread-safety: each call uses only its arguments and `env`.
#ifndef AEQUOR_TOOLS_AEQUORCTL_LEASES_COMMAND_H_
#define AEQUOR_TOOLS_AEQUORCTL_LEASES_COMMAND_H_

#include <string>
#include <vector>

#include "tools/aequorctl/cli.h"
#include "tools/aequorctl/dispatch.h"

namespace aequor {
namespace cli {

// `aequorctl leases [flags]`.
int RunLeasesCommand(const std::vector<std::string>& args, CliEnv& env);

// The `leases` entry for a top-level command table.
Command LeasesCommand();

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_LEASES_COMMAND_H_
