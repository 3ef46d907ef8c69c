// tools/aequorctl/doctor_headroom.h: doctor's reaper_headroom check: the
// slots the fleet's role(s) have left, and whether a dedicated reaper role
// can always log in when they fill the server (the emergency path,
// ManagerOptions::reaper_conninfo).
//
//   HeadroomFacts facts = ...;  // max_connections, app roles, reaper role
//   Headroom h = ComputeHeadroom(facts);      // figures and the SQL
//   Finding f = CheckReaperHeadroom(facts);   // ok, warn or fix
//
// `warn` when an app role has no CONNECTION LIMIT that leaves room (the fix:
// ALTER ROLE ... CONNECTION LIMIT n, the reaper role's CREATE/GRANT, and
// where its conninfo goes); `fix` when a reaper conninfo is given but cannot
// log in or lacks pg_read_all_stats / pg_signal_backend.
//
// The suggested app-role limit keeps kReaperReservedSlots slots free:
//   n = (max_connections - superuser_reserved_connections
//        - reserved_connections - kReaperReservedSlots
//        - client sessions of other roles now) / number of app roles,
// at least 1. The reaper role gets CONNECTION LIMIT kReaperRoleConnectionLimit
// (one pass at a time holds the lock; the second slot lets a pass run while
// an operator's `aequorctl reap` is connected), the third reserved slot is
// for an administrator or doctor itself. Role names in the SQL come quoted by
// the server's quote_ident() (the `name_sql` facts), never pasted raw; the
// reaper role's password is a placeholder.
//
// Thread-safety: plain values and pure functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_HEADROOM_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_HEADROOM_H_

#include <optional>
#include <string>
#include <vector>

#include "tools/aequorctl/doctor_finding.h"

namespace aequor {
namespace cli {

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

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_HEADROOM_H_
