// tools/aequorctl/doctor_checks.h: the judgements of `aequorctl doctor`:
// pure functions from DoctorFacts to findings, unit-tested without a server.
//
//   absl::StatusOr<DoctorFacts> facts = GatherDoctorFacts(...);
//   std::vector<Finding> findings = RunDoctorChecks(*facts);
//   if (WorstSeverity(findings) == Severity::kFix) ...exit 1...
//
// The checks, in RunDoctorChecks()'s order (their names are stable):
//   connection             who and where: always ok
//   server_version         PostgreSQL 14+ ok (pg_terminate_backend(pid,
//                          timeout), idle_session_timeout), older fix
//   clock_offset           doctor_clock.h, against --clock-skew-s
//   secret                 the coordination secret: set ok, absent warn,
//                          unusable fix
//   pg_read_all_stats      membership of the role (superusers have both): fix
//   pg_signal_backend      with `GRANT <grant> TO <role>;`
//   visibility             sessions of other roles in this database whose
//                          state the role cannot see: warn with the GRANT
//   headroom               free slots for non-superusers: fix when none is
//                          free or the database is at its CONNECTION LIMIT,
//                          warn below 10% (at least 3)
//   role_connection_limit  one per role (the connecting one and the app roles,
//                          which own sessions with leases of the service): fix
//                          at the limit, warn when an app role has none
//   reaper_headroom        doctor_headroom.h
//   leased_zombies         sessions a pass would kill now: warn when any, or
//                          when they cannot be counted without the secret
//   reaper_lock            free or a pass in progress ok; a live session lock
//                          (pg-aequor's), a frozen leader or an unseen holder warn
//   pooler                 fix on a strong sign of a transaction pooler in
//                          between, warn on a weak one (see CheckPooler)
//   startup_options        the startup parameter `options` a manager sends
//                          its backstops in: refused (fix), dropped on the
//                          way (warn), arrives (ok)
//   options                fix for settings the manager refuses, warn for ones
//                          that contradict each other, else one ok
// A check whose facts could not be read is a warning that says why.
//
// Thread-safety: pure functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CHECKS_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CHECKS_H_

#include <optional>
#include <vector>

#include "tools/aequorctl/doctor_clock.h"
#include "tools/aequorctl/doctor_facts.h"
#include "tools/aequorctl/doctor_finding.h"
#include "tools/aequorctl/doctor_headroom.h"

namespace aequor {
namespace cli {

// Every check, in the order above.
std::vector<Finding> RunDoctorChecks(const DoctorFacts& facts);

Finding CheckConnection(const DoctorFacts& facts);
Finding CheckServerVersion(const DoctorFacts& facts);
Finding CheckClockOffset(const DoctorFacts& facts);
Finding CheckSecret(const DoctorFacts& facts);
// pg_read_all_stats, then pg_signal_backend.
std::vector<Finding> CheckGrants(const DoctorFacts& facts);
Finding CheckVisibility(const DoctorFacts& facts);
Finding CheckHeadroom(const DoctorFacts& facts);
// One per role of DoctorFacts::roles.
std::vector<Finding> CheckRoleConnectionLimits(const DoctorFacts& facts);
Finding CheckReaperHeadroom(const DoctorFacts& facts);
Finding CheckLeasedZombies(const DoctorFacts& facts);
Finding CheckReaperLock(const DoctorFacts& facts);
// Strong signs (fix): application_name sent at connect differs from the
// server's; pg_backend_pid() differs between statements; a session setting
// does not survive to the next statement; a second client connected
// meanwhile ran on the server session this one had just used (an idle
// PgBouncer in transaction mode does that every time). Weak signs (warn):
// the startup's backend pid differs from pg_backend_pid() (something
// answered the startup, e.g. PgBouncer in any mode); inet_server_port()
// differs from the TCP port connected to (a proxy or a port mapping). A
// busy transaction pooler may still pass them all.
Finding CheckPooler(const DoctorFacts& facts);
// A connection made with the startup `options` a manager built with
// defaults sends: refused by the server or a pooler in between (fix: every
// connect of an instance carries its backstops there); connected but the
// setting did not reach the server session (warn: a pooler drops it, e.g.
// PgBouncer's ignore_startup_parameters = options); arrived (ok). The fix
// sets the backstop on the app roles (the connecting role when none is
// known) instead.
Finding CheckStartupOptions(const DoctorFacts& facts);
// --reap-idle-in-transaction-after-s below --min-idle-s (fix: the manager
// refuses it); with --lease-ttl-s: --min-idle-s below the TTL, a TTL <= 30 s,
// --clock-skew-s >= the TTL (warn each).
std::vector<Finding> CheckOptions(const DoctorFacts& facts);

// The clock offset the samples measured; nullopt when they could not be read.
std::optional<ClockOffset> MeasuredClockOffset(const DoctorFacts& facts);

// The fleet's headroom as reaper_headroom judges it: the app roles (the
// connecting role when no session carries the service's leases, unless it is
// a superuser or the reaper conninfo's role), the other sessions, the reaper
// role. nullopt when the roles or the connections in use could not be read.
std::optional<HeadroomFacts> HeadroomFactsOf(const DoctorFacts& facts);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CHECKS_H_
