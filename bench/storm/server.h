// bench/storm/server.h: the server a storm plays against: a throwaway
// PostgreSQL 15 it starts (and stops when the StormServer goes), or a --dsn
// server it neither starts nor stops; where the fleet connects (its PG*
// variables), as which role, and where the monitor connects.
//
//   absl::StatusOr<StormServer> server = options.dsn.empty()
//       ? StartThrowawayServer(options.max_connections)
//       : UseDsnServer(options.dsn, options.monitor_dsn);
//
// The throwaway server runs with max_connections = --max-connections + 1:
// the monitor is a superuser, but a superuser session takes an ordinary
// slot (superuser_reserved_connections only keeps the last N free of
// non-superusers), so one more slot keeps the fleet's share what
// --max-connections promises. Its log_line_prefix is kStormLogLinePrefix
// (bench/storm/server_log.h), the kill evidence.
//
// Thread-safety: not thread-safe.
#ifndef AEQUOR_BENCH_STORM_SERVER_H_
#define AEQUOR_BENCH_STORM_SERVER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/storm/monitor.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace storm {

struct StormServer {
  std::unique_ptr<testing::ThrowawayPostgres> throwaway;  // null with --dsn
  // The fleet's PG* variables (and AEQUOR_REAPER_CONNINFO with --reaper-role:
  // a password, never printed).
  std::map<std::string, std::string> fleet_env;
  int port = 0;
  std::string fleet_role;  // the fleet's user ("" if unknown)
  std::string monitor_conninfo;
  std::string kind;           // summary "server": "throwaway" or "dsn"
  std::string kill_evidence;  // summary "kill_evidence": "server_log" or "poll"
};

// Starts a throwaway server for a fleet of `max_connections` (see above).
// The fleet is its app role over TCP; the monitor its superuser over the
// unix socket. Errors: "starting the throwaway server: ...".
absl::StatusOr<StormServer> StartThrowawayServer(int max_connections);

// Uses the server of `dsn` (the fleet connects as it says, PG* variables
// filling what it leaves out); the monitor connects to `monitor_dsn`, or
// `dsn` when empty. InvalidArgument "--dsn: ..." when it does not parse.
absl::StatusOr<StormServer> UseDsnServer(const std::string& dsn, const std::string& monitor_dsn);

// --reaper-role on a throwaway server: ALTER ROLE <app> CONNECTION LIMIT
// <fleet_slots - reaper_slots>, GRANT pg_read_all_stats, pg_signal_backend TO
// <reaper>, and the reaper role's conninfo into the fleet's environment as
// AEQUOR_REAPER_CONNINFO. Returns the limit. InvalidArgument
// "--reaper-slots: ..." when no slot would be left to the fleet.
absl::StatusOr<int> SetUpReaperRole(Monitor& monitor, int fleet_slots, int reaper_slots,
                                    StormServer* server);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_SERVER_H_
