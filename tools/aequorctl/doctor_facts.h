// tools/aequorctl/doctor_facts.h: everything `aequorctl doctor` knows before
// it judges anything: what it was asked (DoctorSettings) and what it read
// from the server and the environment. Plain values; doctor_gather.h fills
// them, doctor_checks.h judges them, tests make them up.
//
//   DoctorFacts facts;
//   facts.server.server_version_num = 130004;
//   CheckServerVersion(facts).severity;  // Severity::kFix
//
// A part that could not be read holds the error instead; its check then says
// "could not check: ...".
//
// Thread-safety: plain values.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_FACTS_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_FACTS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/aequorctl/doctor_clock.h"
#include "tools/aequorctl/doctor_headroom.h"
#include "tools/aequorctl/ops_flags.h"

namespace aequor {
namespace cli {

// What doctor is asked to check against: its flags and the environment.
struct DoctorSettings {
  ServiceChoice service;
  ReaperFlags reaper;                       // reaper.clock_skew is also the clock_offset margin
  std::optional<absl::Duration> lease_ttl;  // --lease-ttl-s
};

// The server, the connecting role and the database (one query).
struct ServerFacts {
  std::string role;
  std::string role_sql;  // quote_ident(role)
  std::string database;
  std::string database_sql;  // quote_ident(database)
  std::string server_version;
  int server_version_num = 0;
  bool superuser = false;
  int role_connlimit = -1;
  bool read_all_stats = false;  // member of pg_read_all_stats
  bool signal_backend = false;  // member of pg_signal_backend
  int max_connections = 0;
  int superuser_reserved = 0;  // superuser_reserved_connections
  int reserved = 0;            // reserved_connections, PostgreSQL 16+
  int database_connlimit = -1;
  std::optional<int> server_port;   // inet_server_port(); null over a unix socket
  int backend_pid = 0;              // pg_backend_pid()
  std::string application_name;     // as the server shows doctor's own
  bool reaper_role_exists = false;  // a role named kReaperRoleName exists
};

// Sessions of other roles in this database whose state the role cannot see.
struct HiddenSessions {
  int count = 0;
  std::string roles;  // "a, b"
};

// Client connections in use now, doctor's own included.
struct ConnectionsInUse {
  int server = 0;
  int database = 0;
};

// The connecting role, or a role that owns sessions with leases of the
// service (an app role).
struct RoleRow {
  RoleUsage usage;
  bool is_current = false;  // the connecting role
  bool is_app = false;      // owns sessions with leases of the service
};

// The service's leases among the database's sessions.
struct LeaseCounts {
  int leased = 0;               // sessions carrying a lease of the service
  std::vector<int> would_kill;  // pids a pass would kill now (leased zombies)
};

// The session holding the service's reaper lock.
struct LockHolder {
  int pid = 0;
  std::optional<std::string> state;  // nullopt when the role cannot see it
};

// What the pooler heuristics compare with ServerFacts.
struct PoolerProbe {
  std::string sent_application_name;      // what doctor's session sent at connect
  std::optional<int> second_backend_pid;  // pg_backend_pid() of a later statement
  std::optional<bool> setting_survived;   // a session SET seen by the next statement
  int startup_backend_pid = 0;            // the startup's BackendKeyData (PQbackendPID)
  bool unix_socket = false;
  int port = 5432;  // the TCP port connected to
  // pg_backend_pid() of a second client connection (same settings) made
  // while doctor's session stayed connected, right after that session's
  // last statement (second_backend_pid); nullopt when it could not connect.
  std::optional<int> other_client_backend_pid;
  // That client ran on the server session doctor's session had just used
  // (core/pooler.h SharesServerSession): transaction pooling.
  bool other_client_shared = false;
};

// What a connection made with the startup `options` a manager sends learned.
struct StartupOptionsFacts {
  // The manager's part of what was sent (without the DSN's or $PGOPTIONS'
  // own options, which followed it when there were any).
  std::string sent;
  // The refusal (libpq's message on one line) when the server or a pooler
  // in between refused the parameter (core/pooler.h RefusesStartupOptions).
  std::optional<std::string> refusal;
  // It connected, and a setting sent in `options` reached the server session.
  bool arrived = false;
};

struct DoctorFacts {
  DoctorSettings settings;
  ServerFacts server;
  absl::StatusOr<std::vector<ClockSample>> clock_samples = absl::UnknownError("not read");
  // OK: the coordination secret is usable; NotFound: not set; another code:
  // set but unusable. The message never holds the secret.
  absl::Status secret;
  absl::StatusOr<LeaseCounts> leases = absl::UnknownError("not read");
  absl::StatusOr<HiddenSessions> hidden = absl::UnknownError("not read");
  absl::StatusOr<ConnectionsInUse> in_use = absl::UnknownError("not read");
  absl::StatusOr<std::vector<RoleRow>> roles = absl::UnknownError("not read");  // current first
  std::optional<ReaperRoleFacts> reaper_role;  // set when a reaper conninfo was given
  absl::StatusOr<std::optional<LockHolder>> reaper_lock = absl::UnknownError("not read");
  PoolerProbe pooler;
  // Another status: that connection failed for another reason.
  absl::StatusOr<StartupOptionsFacts> startup_options = absl::UnknownError("not read");
};

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_FACTS_H_
