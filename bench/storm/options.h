// bench/storm/options.h: what one storm run does (StormOptions), with each
// field's default and REQUIRES. The command line (bench/storm/flags.h) fills
// it; tests fill it directly and pass it to RunStorm (bench/storm/run.h).
//
//   StormOptions o;
//   o.client = ClientKind::kLibpq;
//   o.invocations = 12;
//   o.max_connections = 8;
//
// Thread-safety: plain structs.
#ifndef AEQUOR_BENCH_STORM_OPTIONS_H_
#define AEQUOR_BENCH_STORM_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "bench/storm/faults.h"

namespace aequor {
namespace storm {

enum class ClientKind {
  kAequor,      // storm_instance --client=aequor: a ConnectionManager
  kAequorPool,  // storm_instance --client=aequor-pool: a long-running service
                // with an aequor::Pool under live traffic (the service mode)
  kLibpq,    // storm_instance --client=libpq: PQconnectdb + SELECT 1, no reaper
  kCommand,  // --client-cmd: /bin/sh -c <client_cmd>
};

absl::string_view ClientKindName(ClientKind kind);  // "aequor", "aequor-pool", "libpq", "cmd"

enum class Workload {
  kRead,   // SELECT 1 (libpq) / SELECT pg_backend_pid() (aequor)
  kWrite,  // INSERT one row carrying the invocation id into storm_writes
};

absl::string_view WorkloadName(Workload workload);  // "read", "write"

struct StormOptions {
  // Invocations in total (cold and warm). Default 40. REQUIRES: 1..10000.
  int invocations = 40;
  // Between the starts of two new instances. Default 400. REQUIRES: 0..600000.
  int interval_ms = 400;
  // Invocations per instance: 1 (default) is a cold instance per
  // invocation; K > 1 resumes each instance K - 1 times. REQUIRES: 1..10000;
  // > 1 needs thaw_after_ms.
  int invocations_per_instance = 1;
  // From an instance's freeze to its resumption for its next invocation.
  // Default 0: not set. REQUIRES: 0 (unset) or 1..600000 with
  // invocations_per_instance > 1.
  int thaw_after_ms = 0;
  // What each invocation does. Default kRead.
  Workload workload = Workload::kRead;
  // Default: none.
  StormFaults faults;
  // The fleet's max_connections on the throwaway server. Default 30.
  // REQUIRES: 4..10000. Not with --dsn. The fleet gets max_connections - 3
  // (superuser_reserved_connections); the server runs with one more, for the
  // monitor's session (a superuser session takes an ordinary slot).
  int max_connections = 30;
  // AEQUOR_LEASE_TTL_MS. Default 2000. REQUIRES: 1000..86400000 (aequor's range).
  int lease_ttl_ms = 2000;
  // AEQUOR_MIN_IDLE_S. Default 1. REQUIRES: 0..86400.
  int min_idle_s = 1;
  // From an instance's answer to its SIGSTOP. Default 0. REQUIRES: 0..600000.
  int freeze_delay_ms = 0;
  // An instance that has not answered by then is killed and counts as failed
  // "timeout". Default 10000. REQUIRES: 1..3600000.
  int timeout_ms = 10000;
  // pg_stat_activity polling period. Default 50. REQUIRES: 5..10000.
  int poll_ms = 50;
  // After the last instance answered, keep polling this long (to watch
  // server-side backstops). Default 0. REQUIRES: 0..600000.
  int tail_ms = 0;

  // Default "": start a throwaway server. Else a libpq conninfo or URI for the
  // fleet, on a loopback host over TCP; the harness neither starts nor stops
  // that server and cannot set its max_connections.
  std::string dsn;
  // The monitoring connection with --dsn. Default: `dsn` itself. Should be a
  // superuser (a reserved slot, not a fleet slot) or have pg_read_all_stats.
  std::string monitor_dsn;

  // Default kAequor.
  ClientKind client = ClientKind::kAequor;
  // REQUIRES: non-empty when client == kCommand.
  std::string client_cmd;
  // AEQUOR_SERVICE. Default "storm". REQUIRES: non-empty, one line.
  std::string service = "storm";
  // AEQUOR_REAPER_SCHEDULER (plugin spec text). Default "": the library default.
  std::string reaper_scheduler;
  // --reaper-role: the throwaway server keeps reaper_slots of the fleet's
  // slots for a dedicated reaper role. The fleet's role (aequor_app) gets
  // ALTER ROLE ... CONNECTION LIMIT <fleet slots - reaper_slots>; the reaper
  // role (aequor_reaper) is granted pg_read_all_stats and pg_signal_backend,
  // and its conninfo goes to every instance as AEQUOR_REAPER_CONNINFO: the
  // library's emergency path (a connect refused with 53300 runs a pass as
  // that role, then retries). Default false. REQUIRES: not with --dsn.
  bool reaper_role = false;
  // The reaper role's headroom. Default 2. REQUIRES: 1..10000, fewer than
  // the fleet's slots (max_connections - 3); only with reaper_role.
  int reaper_slots = 2;
  // --frozen-leader: right before the first instance starts, the harness
  // opens one more connection as the fleet's role (the instances' host,
  // port, user and password) whose application_name is a lease of `service`
  // (normalised as the manager does), signed with the coordination secret
  // by aequor's default signer and expiring lease_ttl_ms later; it takes
  // pg-aequor's session-level lock pg_advisory_lock(1346847057,
  // hashtext(<service>)) and is never used again: a frozen pg-aequor leader
  // as the server sees it. Every aequor pass must free it first (it is an
  // expired lease of the service once its lease is over). Reported in
  // StormSummary::frozen_leader, never as a zombie, false kill or
  // unattributed backend. Default false. REQUIRES: no restart fault (a
  // restart would end the leader's session).
  bool frozen_leader = false;
  // AEQUOR_COORDINATION_SECRET. Default "": derived from the seed (a
  // throwaway secret). REQUIRES: empty or at least 16 bytes.
  std::string coordination_secret;
  // Seeds the secret and the instances' AEQUOR_STORM_SEED. Default: random.
  std::optional<uint64_t> seed;

  // Only the JSON line on the output stream. Default false.
  bool json_only = false;
  // Where to write the CSV "t_ms,connections". Default "": none.
  std::string series_out;
  // The service mode (client == kAequorPool; bench/storm/service_run.h):
  // service_instances long-running instances, each with a pool of pool_size
  // (min_size = max_size) and `workers` threads sending one statement every
  // request_interval_ms each, for duration_s. A quarter into the run the
  // last freeze_for_good instances are frozen for good; every
  // short_freeze_every_ms one of the others (in turn) is frozen for
  // short_freeze_ms, then resumed. Defaults 6, 4, 2, 20, 60, 2, 1000,
  // 3000. REQUIRES: service_instances 2..64, pool_size 1..64, workers
  // 1..64, request_interval_ms 1..10000, duration_s 5..3600,
  // freeze_for_good 0..service_instances-1, short_freeze_ms 0 (none) or
  // 1..(lease_ttl_ms * 3/4 - 250), short_freeze_every_ms 100..600000.
  int service_instances = 6;
  int pool_size = 4;
  int workers = 2;
  int request_interval_ms = 20;
  int duration_s = 60;
  int freeze_for_good = 2;
  int short_freeze_ms = 1000;
  int short_freeze_every_ms = 3000;

  // The storm_instance binary (built-in clients). Default "":
  // FindInstanceBinary("") (storm_main passes its argv[0]).
  std::string instance_binary;
};

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_OPTIONS_H_
