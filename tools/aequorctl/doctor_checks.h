// tools/aequorctl/doctor_checks.h: the judgements of `aequorctl doctor` that
// need no server: pure functions from measured facts to findings, so that
// each rule is unit-tested without a database (tests/aequorctl_doctor_test.cc)
// and doctor_command.cc only gathers facts and prints.
//
//   std::optional<ClockOffset> offset = BestClockOffset(samples);
//   Finding f = CheckClockOffset(*offset, ManagerOptions().reap_clock_skew);
//   // f.severity == Severity::kFix when |offset| + uncertainty > the margin
//
// Checks here (their `check` names are stable, as doctor's others):
//   clock_offset     this machine's clock against the server's, measured as
//                    NTP does over one round trip: offset = S - (t0 + t1) / 2,
//                    uncertainty (t1 - t0) / 2, best of a few samples (the
//                    smallest round trip). |offset| + uncertainty above the
//                    reaper's clock-skew margin is `fix` (a fleet on such
//                    clocks kills live sessions early or keeps zombies late),
//                    else `ok`, saying by how much it is within the margin.
//   reaper_headroom  the slots the fleet's role(s) have left, and whether a
//                    dedicated reaper role can always log in when they fill
//                    the server (the emergency path, reaper_conninfo). `warn`
//                    when an app role has no CONNECTION LIMIT that leaves
//                    room (the fix: ALTER ROLE ... CONNECTION LIMIT n, the
//                    reaper role's CREATE/GRANT, and where its conninfo goes);
//                    `fix` when a reaper conninfo is given but cannot log in
//                    or lacks pg_read_all_stats / pg_signal_backend.
//
// The suggested app-role limit keeps kReaperReservedSlots slots free:
//   n = (max_connections - superuser_reserved_connections
//        - reserved_connections - kReaperReservedSlots
//        - client sessions of other roles now) / number of app roles,
// at least 1. The reaper role gets CONNECTION LIMIT kReaperRoleConnectionLimit
// (one pass at a time holds the lock; the second slot lets a pass run while
// an operator's `aequorctl reap` is connected), the third reserved slot is
// for an administrator or doctor itself.
//
// Role names in the SQL come quoted by the server's quote_ident() (the
// `name_sql` facts), never pasted raw. No password is ever printed: the
// reaper role's is a placeholder.
//
// Thread-safety: pure functions and plain values.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CHECKS_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CHECKS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aequor {
namespace cli {

// How bad a finding is, in increasing order (the JSON spells them "ok",
// "warn", "fix"). Exit status 1 when any finding is kFix.
enum class Severity { kOk = 0, kWarn = 1, kFix = 2 };
const char* SeverityName(Severity severity);

struct Finding {
  std::string check;
  Severity severity = Severity::kOk;
  std::string message;
  std::string fix;  // "" when there is nothing to do; may hold several lines
};

// ---- clock_offset ----------------------------------------------------------

// One round trip: the local wall clock read before sending, the server's
// clock_timestamp() in microseconds since the epoch, the local clock after
// the answer came.
struct ClockSample {
  absl::Time local_before;
  int64_t server_us = 0;
  absl::Time local_after;
};

struct ClockOffset {
  // The server's clock minus this machine's: positive when the server is
  // ahead (this machine's leases then look expired early to the server).
  absl::Duration offset;
  // Half the round trip of the sample used: the true offset lies within
  // offset +- uncertainty.
  absl::Duration uncertainty;
  int samples = 0;  // samples taken (the best one is used)
};

// The sample with the smallest round trip; nullopt when there is none whose
// local clock did not go backwards.
std::optional<ClockOffset> BestClockOffset(const std::vector<ClockSample>& samples);

// `margin` is the reaper's clock-skew margin (ManagerOptions::reap_clock_skew
// or doctor's --clock-skew-s). kFix when |offset| + uncertainty > margin, the
// fix naming NTP/chrony and the reap_clock_skew that would cover it; else kOk
// with the room left.
Finding CheckClockOffset(const ClockOffset& measured, absl::Duration margin);

// ---- reaper_headroom -------------------------------------------------------

// Slots the suggested app-role limits keep free for the reaper role.
inline constexpr int kReaperReservedSlots = 3;
// The CONNECTION LIMIT suggested for the reaper role.
inline constexpr int kReaperRoleConnectionLimit = 2;
// The reaper role's name in the SQL doctor suggests.
inline constexpr char kReaperRoleName[] = "aequor_reaper";

struct RoleUsage {
  std::string name;
  std::string name_sql;       // quote_ident(name), from the server
  int connection_limit = -1;  // rolconnlimit; -1 none
  int sessions = 0;           // its client sessions on the whole server
  bool superuser = false;     // limits do not apply to superusers
};

// What the reaper conninfo's connection found (when one was given).
struct ReaperRoleFacts {
  bool connected = false;
  std::string connect_error;  // redacted, when !connected
  RoleUsage role;             // when connected; sessions include doctor's own
  bool read_all_stats = false;
  bool signal_backend = false;
};

struct HeadroomFacts {
  int max_connections = 0;
  int superuser_reserved = 0;  // superuser_reserved_connections
  int reserved = 0;            // reserved_connections (PostgreSQL 16+)
  int client_backends = 0;     // client sessions in use, doctor's own included
  // The roles that own the service's leased sessions; the connecting role
  // when none does (then `app_roles_guessed`).
  std::vector<RoleUsage> app_roles;
  bool app_roles_guessed = false;
  std::string service;
  // Client sessions of roles that are not app roles, doctor's own excluded.
  int other_sessions = 0;
  bool reaper_role_exists = false;  // a role named kReaperRoleName exists
  // The connecting role when it is not an app role and has pg_read_all_stats
  // and pg_signal_backend: the reaper role the SQL then names (no CREATE ROLE
  // or GRANT suggested). Ignored when `reaper` is set.
  std::optional<RoleUsage> reaper_candidate;
  // Set when a reaper conninfo was given (--reaper-conninfo or
  // $AEQUOR_REAPER_CONNINFO).
  std::optional<ReaperRoleFacts> reaper;
};

// What ComputeHeadroom() derives; also printed in doctor's JSON.
struct RoleHeadroom {
  std::string role;
  int connection_limit = -1;
  int sessions = 0;
  std::optional<int> free;  // connection_limit - sessions; nullopt without a limit
  int fleet_free = 0;       // min(server free, free)
};
struct Headroom {
  int available = 0;    // slots for non-superusers
  int server_free = 0;  // available - client_backends
  std::vector<RoleHeadroom> roles;
  // Slots other roles keep when every app role is at its limit; nullopt when
  // some app role has no limit (or is a superuser): nothing then keeps room.
  std::optional<int> room_when_full;
  int suggested_limit = 1;  // per app role, see the file comment
  // The SQL (and setting) that makes sure a reaper role can log in: one
  // statement or instruction per line. Empty when nothing is to be done.
  std::vector<std::string> sql;
};

Headroom ComputeHeadroom(const HeadroomFacts& facts);
Finding CheckReaperHeadroom(const HeadroomFacts& facts);

// ---- doctor's JSON (doctor_command.h gives the shape) ----------------------

// {"offset_us", "uncertainty_us", "samples", "margin_us"}, or null.
std::string ClockOffsetJson(const std::optional<ClockOffset>& offset, absl::Duration margin);
// The figures of reaper_headroom and its SQL, or null.
std::string HeadroomJson(const std::optional<HeadroomFacts>& facts);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_CHECKS_H_
