// tools/aequorctl/doctor_command.h: `aequorctl doctor`, checks what the reaper
// needs on the database you connect to and says how to fix what is missing.
//
//   $ aequorctl doctor --dsn 'host=db dbname=app user=app' --service orders
//   aequorctl doctor: service orders (from --service), role app, database app
//   [ok]   connection: connected as role app to database app (PostgreSQL 15.6)
//   [fix]  pg_read_all_stats: role app lacks pg_read_all_stats: ...
//          fix: GRANT pg_read_all_stats TO app;
//   ...
//
// Checks, in this order (the `check` names are stable):
//   connection             who and where (always ok once connected)
//   server_version         PostgreSQL 14+ (server_version_num >= 140000): the
//                          pass calls pg_terminate_backend(pid, timeout), and
//                          idle_session_timeout is 14+; older is fix
//   clock_offset           this machine's clock against the server's
//                          clock_timestamp(), best of 5 round trips (NTP's
//                          estimate): fix when |offset| + uncertainty exceeds
//                          --clock-skew-s (default: the library's
//                          ManagerOptions::reap_clock_skew); doctor_checks.h
//   secret                 the coordination secret: set (ok), absent (warn:
//                          leases unverifiable, reap impossible), unusable (fix)
//   pg_read_all_stats      membership of the role (superusers have it): fix
//   pg_signal_backend      with `GRANT <grant> TO <role>;`
//   visibility             sessions of other roles in this database whose state
//                          the role cannot see (count, roles): warn with the GRANT
//   headroom               max_connections, superuser_reserved_connections
//                          (and reserved_connections on 16+), client connections
//                          in use, free slots for non-superusers, the database's
//                          CONNECTION LIMIT and the leased zombies of the service
//                          now; fix when nothing is free (or the database is at
//                          its limit), warn below 10% (at least 3) free
//   role_connection_limit  one per role: the connecting role and every role that
//                          owns sessions with leases of the service (app roles);
//                          fix at the limit; warn when an app role has no limit
//                          (`ALTER ROLE <role> CONNECTION LIMIT n;` leaves room
//                          for a reaper role), or when the reaper is the app role
//   reaper_headroom        slots the fleet's role(s) have left (server and
//                          rolconnlimit), whether a reaper role can still log
//                          in when they fill the server, and the exact SQL:
//                          ALTER ROLE <app> CONNECTION LIMIT n (3 slots kept),
//                          the reaper role's CREATE/GRANT, its conninfo for
//                          ManagerOptions::reaper_conninfo. With a reaper
//                          conninfo (--reaper-conninfo, else
//                          $AEQUOR_REAPER_CONNINFO; its password is never
//                          printed) doctor logs in with it and checks that
//                          role. warn / fix as doctor_checks.h says
//   leased_zombies         sessions a pass would kill now (core ReapDecision,
//                          same settings as `leases`): warn when any, or when
//                          they cannot be counted without the secret
//   reaper_lock            who holds the service's reaper lock: free or a pass
//                          in progress (ok); a live session lock such as
//                          pg-aequor's, a frozen leader, or an unseen holder (warn)
//   pooler                 a pooler between client and server. Heuristics, by
//                          strength: application_name sent at connect differs
//                          from SHOW application_name (fix); pg_backend_pid()
//                          differs between two statements (fix: transaction
//                          pooling); a session setting (SET aequor.doctor_probe)
//                          does not survive to the next statement (fix); the
//                          pid in the startup's BackendKeyData (PQbackendPID)
//                          differs from pg_backend_pid() (warn: something
//                          answered the startup for the server, e.g. PgBouncer
//                          in any mode); inet_server_port() differs from the
//                          TCP port connected to (warn: a proxy, or a port
//                          mapping such as Docker's). An idle transaction
//                          pooler may hand one client the same server
//                          connection every time, so "ok" is not a proof.
//   options                contradicting settings: --reap-idle-in-transaction-
//                          after-s below --min-idle-s (fix: the manager refuses
//                          it); with --lease-ttl-s: --min-idle-s below the TTL
//                          (warn: the idle check then adds no margin over
//                          expiry), a TTL <= 30 s (warn: below the manager's
//                          default lease_renew_before), --clock-skew-s >= TTL
//                          (warn)
//
// --json prints ONE object: {"service", "role", "database", "status" (the
// worst severity), "findings": [{"check", "severity" ("ok"|"warn"|"fix"),
// "message", "fix" (string, or null when there is nothing to do; may hold
// several lines)}], "clock_offset", "headroom"}, where
//   clock_offset: {"offset_us" (server minus this machine), "uncertainty_us",
//                 "samples", "margin_us"}, or null when not measured;
//   headroom:     {"max_connections", "superuser_reserved_connections",
//                 "reserved_connections", "available", "client_connections",
//                 "free", "app_roles": [{"role", "connection_limit" (null:
//                 none), "sessions", "free" (null: no limit), "fleet_free"}],
//                 "app_roles_guessed", "other_sessions", "room_when_full"
//                 (null: an app role has no limit), "reserved_for_reaper",
//                 "suggested_connection_limit", "reaper_conninfo" (given?),
//                 "reaper_role" (null unless it logged in), "sql": [lines]},
//                 or null when the sessions could not be counted.
//
// Exit status: 0 nothing to fix (warnings allowed), 1 something must be fixed,
// 2 usage or connection error (nothing on stdout then).
//
// Thread-safety: each call uses only its arguments and `env`.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_COMMAND_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_COMMAND_H_

#include <string>
#include <vector>

#include "tools/aequorctl/cli.h"

namespace aequor {
namespace cli {

// `aequorctl doctor [flags]`.
int RunDoctorCommand(const std::vector<std::string>& args, CliEnv& env);

// The `doctor` entry for a top-level command table.
Command DoctorCommand();

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_COMMAND_H_
