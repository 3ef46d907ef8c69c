#include "bench/storm/setup.h"

#include <unistd.h>

#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/storm/environment.h"
#include "bench/storm/plugin_specs.h"
#include "bench/storm/protocol.h"

namespace aequor {
namespace storm {
namespace {

absl::Status ConnectMonitor(const StormOptions& o, const Progress& say, StormSetup* setup,
                            StormSummary* summary) {
  absl::StatusOr<ServerSettings> settings = setup->monitor.Connect(setup->server.monitor_conninfo);
  if (!settings.ok()) return settings.status();
  const int reserved = settings->superuser_reserved_connections;
  summary->max_connections = settings->max_connections;
  summary->superuser_reserved_connections = reserved;
  summary->server_max_connections = settings->max_connections;
  summary->fleet_slots = settings->max_connections - reserved - 1;  // the monitor's session
  if (setup->server.throwaway != nullptr) {
    summary->max_connections = o.max_connections;
    say("server: throwaway PostgreSQL ", settings->version, " on 127.0.0.1:", setup->server.port,
        ", max_connections=", o.max_connections, ": ", summary->fleet_slots,
        " slots for the fleet, ", reserved, " reserved for superusers (the server runs with ",
        summary->server_max_connections, ": one more for this monitor's session); log ",
        setup->server.throwaway->log_path());
  } else {
    say("server: --dsn, PostgreSQL ", settings->version, " on port ", setup->server.port,
        ", not started or stopped by the harness; --max-connections does not apply: the server "
        "has max_connections=",
        summary->max_connections, ", superuser_reserved_connections=", reserved,
        "; this monitor's session takes one of the fleet's slots, leaving ", summary->fleet_slots,
        "; kills are inferred from polls (no server log)");
    if (!settings->superuser && !settings->reads_all_stats) {
      say("warning: the monitor role is neither superuser nor member of pg_read_all_stats: it "
          "cannot see other roles' client ports");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PrepareStorm(const StormOptions& o, StormSetup* setup, StormSummary* summary) {
  // RunStorm() takes options that no command line checked.
  if (o.faults.restart_at_s && !o.dsn.empty()) {
    return absl::InvalidArgumentError(
        "--fault: restart-at needs the throwaway server: the harness does not restart a --dsn "
        "server");
  }
  if (o.faults.restart_after_backends && !o.dsn.empty()) {
    return absl::InvalidArgumentError(
        "--fault: restart-after-backends needs the throwaway server: the harness does not restart "
        "a --dsn server");
  }
  if (o.faults.restart_at_s && o.faults.restart_after_backends) {
    return absl::InvalidArgumentError(
        "--fault: restart-at and restart-after-backends cannot be combined (one restart)");
  }
  if (o.frozen_leader && o.faults.restart()) {
    return absl::InvalidArgumentError(
        "--frozen-leader: cannot be combined with a restart fault (the restart would end the "
        "leader's session, and with it the lock)");
  }
  // Every invocation would fail on a scheduler the library cannot build.
  if (!o.reaper_scheduler.empty() && o.client != ClientKind::kLibpq) {
    if (absl::Status s = CheckReaperSchedulerSpec(o.reaper_scheduler); !s.ok()) return s;
  }
  if (o.seed.has_value()) {
    setup->seed = *o.seed;
  } else {
    std::random_device rd;
    setup->seed = (uint64_t{rd()} << 32) ^ uint64_t { rd() };
  }
  summary->seed = setup->seed;
  if (!o.coordination_secret.empty()) {
    if (o.coordination_secret.size() < 16) {
      return absl::InvalidArgumentError("AEQUOR_COORDINATION_SECRET: must be at least 16 bytes");
    }
    setup->secret = o.coordination_secret;
  } else {
    std::mt19937_64 rng(setup->seed ^ 0x5eed5ec7e7ull);
    setup->secret = absl::StrFormat("storm-%016x%016x", rng(), rng());
  }
  if (o.client != ClientKind::kCommand) {
    setup->instance_binary = o.instance_binary;
    if (setup->instance_binary.empty()) setup->instance_binary = FindInstanceBinary("");
    if (setup->instance_binary.empty()) {
      return absl::FailedPreconditionError(
          "storm_instance not found: pass --instance-binary=PATH (bazel build "
          "//bench/storm:storm_instance)");
    }
    if (access(setup->instance_binary.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--instance-binary: '", setup->instance_binary, "' is not an executable file"));
    }
    // Resolved once: bazel-bin and runfiles are symlinks that another build
    // may repoint while the storm runs.
    if (char* real = realpath(setup->instance_binary.c_str(), nullptr); real != nullptr) {
      setup->instance_binary = real;
      std::free(real);
    }
  }
  if (!o.series_out.empty()) {
    if (absl::Status s = setup->series.Open(o.series_out); !s.ok()) return s;
    summary->series_out = o.series_out;
  }
  return absl::OkStatus();
}

// The server, the monitor, then what the options add, the frozen leader
// last (right before the first instance).
absl::Status SetUpServer(const StormOptions& o, const Progress& say, StormSetup* setup,
                         StormSummary* summary) {
  absl::StatusOr<StormServer> server =
      o.dsn.empty() ? StartThrowawayServer(o.max_connections) : UseDsnServer(o.dsn, o.monitor_dsn);
  if (!server.ok()) return server.status();
  setup->server = *std::move(server);
  summary->server = setup->server.kind;
  summary->kill_evidence = setup->server.kill_evidence;
  if (setup->server.throwaway != nullptr) {
    setup->log = std::make_unique<ServerLogReader>(setup->server.throwaway->log_path());
  }
  if (absl::Status s = ConnectMonitor(o, say, setup, summary); !s.ok()) return s;
  if (o.reaper_role) {
    absl::StatusOr<int> limit =
        SetUpReaperRole(setup->monitor, summary->fleet_slots, o.reaper_slots, &setup->server);
    if (!limit.ok()) return limit.status();
    summary->reaper_role = true;
    summary->reaper_slots = o.reaper_slots;
    summary->app_connection_limit = *limit;
    summary->fleet_slots = *limit;
    using T = testing::ThrowawayPostgres;
    say("reaper role: ALTER ROLE ", T::kAppRole, " CONNECTION LIMIT ", *limit, "; ", T::kReaperRole,
        " (pg_read_all_stats, pg_signal_backend) keeps ", o.reaper_slots,
        " slots and is passed to the fleet as ", kEnvReaperConninfo, " (the emergency path)");
  }
  if (o.workload == Workload::kWrite) {
    if (absl::Status s = setup->monitor.CreateWritesTable(setup->server.fleet_role); !s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("creating table ", kWritesTable, " for --workload=write: ", s.message()));
    }
    say("workload: write, one row per invocation into ", kWritesTable, " (created",
        setup->server.fleet_role.empty() ? ""
                                         : absl::StrCat(", granted to ", setup->server.fleet_role),
        ")");
  }
  if (o.frozen_leader) {
    FrozenLeaderSpec spec;
    spec.secret = setup->secret;
    spec.service = o.service;
    spec.seed = setup->seed;
    spec.lease_ttl_ms = o.lease_ttl_ms;
    spec.fleet_env = setup->server.fleet_env;
    spec.fleet_role = setup->server.fleet_role;
    absl::StatusOr<FrozenLeader> leader = StartFrozenLeader(spec, setup->monitor, say);
    if (!leader.ok()) return leader.status();
    setup->leader = *std::move(leader);
    FrozenLeaderReport report;
    report.backend_pid = setup->leader->key.first;
    report.lease_ttl_ms = o.lease_ttl_ms;
    summary->frozen_leader = report;
  }
  return absl::OkStatus();
}

}  // namespace storm
}  // namespace aequor
