#include "bench/storm/server.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/storm/conninfo.h"
#include "bench/storm/protocol.h"
#include "bench/storm/server_log.h"

namespace aequor {
namespace storm {

using ::aequor::testing::ThrowawayPostgres;
using ::aequor::testing::ThrowawayPostgresOptions;

absl::StatusOr<StormServer> StartThrowawayServer(int max_connections) {
  ThrowawayPostgresOptions options;
  options.max_connections = max_connections + 1;  // the monitor's session
  options.extra_settings = {{"log_line_prefix", kStormLogLinePrefix}};
  absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> started = ThrowawayPostgres::Start(options);
  if (!started.ok()) {
    return absl::Status(started.status().code(), absl::StrCat("starting the throwaway server: ",
                                                              started.status().message()));
  }
  StormServer server;
  server.throwaway = *std::move(started);
  server.port = server.throwaway->port();
  server.fleet_env = {
      {"PGHOST", "127.0.0.1"},
      {"PGPORT", absl::StrCat(server.port)},
      {"PGUSER", ThrowawayPostgres::kAppRole},
      {"PGPASSWORD", ThrowawayPostgres::PasswordFor(ThrowawayPostgres::kAppRole)},
      {"PGDATABASE", ThrowawayPostgres::kDatabase},
  };
  server.fleet_role = ThrowawayPostgres::kAppRole;
  server.monitor_conninfo = server.throwaway->SocketConninfoFor(ThrowawayPostgres::kSuperRole);
  server.kind = "throwaway";
  server.kill_evidence = "server_log";
  return server;
}

absl::StatusOr<StormServer> UseDsnServer(const std::string& dsn, const std::string& monitor_dsn) {
  StormServer server;
  absl::StatusOr<std::map<std::string, std::string>> env = LibpqEnvironmentFor(dsn);
  if (!env.ok()) {
    if (env.status().code() != absl::StatusCode::kInvalidArgument) return env.status();
    return absl::InvalidArgumentError(absl::StrCat("--dsn: ", env.status().message()));
  }
  server.fleet_env = *std::move(env);
  server.port = 5432;
  if (auto it = server.fleet_env.find("PGPORT"); it != server.fleet_env.end()) {
    if (!absl::SimpleAtoi(it->second, &server.port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dsn: port '", it->second, "' is not a number"));
    }
  }
  if (auto it = server.fleet_env.find("PGUSER"); it != server.fleet_env.end()) {
    server.fleet_role = it->second;
  }
  server.monitor_conninfo = monitor_dsn.empty() ? dsn : monitor_dsn;
  server.kind = "dsn";
  server.kill_evidence = "poll";
  return server;
}

absl::StatusOr<int> SetUpReaperRole(Monitor& monitor, int fleet_slots, int reaper_slots,
                                    StormServer* server) {
  using T = ThrowawayPostgres;
  const int limit = fleet_slots - reaper_slots;
  if (limit < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--reaper-slots: must leave the fleet at least one of its ", fleet_slots,
                     " slots, got ", reaper_slots));
  }
  // The role names are the throwaway server's constants (no quoting needed).
  const std::string sql =
      absl::StrCat("ALTER ROLE ", T::kAppRole, " CONNECTION LIMIT ", limit,
                   "; GRANT pg_read_all_stats, pg_signal_backend TO ", T::kReaperRole);
  if (absl::Status s = monitor.Exec(sql); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("--reaper-role: setting up the roles: ", s.message()));
  }
  // Never printed: it holds the reaper role's password.
  server->fleet_env[kEnvReaperConninfo] = server->throwaway->ConninfoFor(T::kReaperRole);
  return limit;
}

}  // namespace storm
}  // namespace aequor
