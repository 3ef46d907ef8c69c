// bench/storm/harness.h: the storm harness, a serverless fleet played against
// a real PostgreSQL. storm_main.cc is its command line; tests drive it here.
//
// Every interval_ms a new instance process runs one invocation (connect,
// query, answer `ok` or `fail ...`, see bench/storm/protocol.h) and is then
// frozen with SIGSTOP, as a serverless runtime freezes a container after the
// handler returns. Its connection stays open on the server: a zombie, unless
// something (aequor's reaper, a server timeout) terminates it. A monitoring
// connection polls pg_stat_activity every poll_ms and attributes each backend
// to the instance that opened it, so the run can tell:
//   zombies reaped  backends terminated while their instance was frozen
//   false kills     backends terminated while their instance was alive
//                   (running, answered but not yet frozen)
//
//   absl::StatusOr<StormArgs> args = ParseStormArgs({"--client=libpq"});
//   absl::StatusOr<StormSummary> summary = RunStorm(args->options, &std::cout);
//   std::cout << StormSummaryToJson(*summary) << "\n";
//
// Attribution: built-in instances print "# pid <backend_pid>"; every backend
// not named that way is matched by its client TCP port: the local port of a
// socket in /proc/net/tcp{,6} whose inode is an open fd of a process in the
// instance's process group. Backends that match no instance (other clients
// of a --dsn server, unix-socket sessions) count in `peak_connections` and in
// `unattributed_backends`, never as kills.
//
// Kill evidence: with the harness's own server, the server log (log_line_prefix
// "%n [%p] ") says which backend was terminated when ("terminating connection
// due to <reason>"), so a client closing its own connection is never a kill,
// and a kill is classified by the instance's state at the logged instant. With
// --dsn there is no log: a backend gone while its instance was frozen is a
// reaped zombie, one gone while its instance was alive counts as a false kill.
//
// Warm instances (invocations_per_instance > 1): a frozen instance is
// resumed (SIGCONT, then "invoke <id>" on its stdin) thaw_after_ms after it
// was frozen, for its next invocation, as a runtime reuses a warm container.
// The fleet is ceil(invocations / invocations_per_instance) "slots"; slot k
// starts its instance at k * interval_ms and runs its invocations on it. An
// instance that is gone when its thaw comes (it exited, or was killed after a
// timeout) is replaced by a new, cold one for the slot's next invocation.
//
// --reaper-role: the fleet's role gets a CONNECTION LIMIT that leaves slots
// to a reaper role, whose conninfo every instance gets for aequor's
// emergency path; the summary shows when the database filled and how long
// the fleet was locked out (full_at_ms, full_recovery_ms).
//
// Faults (StormFaults) are the harness's own kills: the backends it
// terminates (pg_terminate_backend from the monitor, or a fast restart of the
// throwaway server) count as fault_kills, never as zombies_reaped or
// false_kills.
//
// Write workload: every invocation inserts one row with its invocation id
// into storm_writes (no unique key, so a duplicate shows); at the end the
// harness counts rows, duplicated ids, invocations that answered ok without
// a row, and so on (StormSummary).
//
// Processes: each instance runs in its own process group, with
// PR_SET_PDEATHSIG=SIGKILL; every exit path of RunStorm (including SIGINT,
// SIGTERM and SIGHUP, which it handles while it runs) SIGKILLs every group
// and waits for every child. Instances that do not answer within timeout_ms
// are killed (as a runtime resets a timed-out environment) and count as
// failed with "timeout".
//
// Thread-safety: RunStorm() installs signal handlers and forks; call it from
// one thread at a time, preferably the main thread (PR_SET_PDEATHSIG is tied
// to the forking thread).
#ifndef AEQUOR_BENCH_STORM_HARNESS_H_
#define AEQUOR_BENCH_STORM_HARNESS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

enum class ClientKind {
  kAequor,   // storm_instance --client=aequor: a ConnectionManager
  kLibpq,    // storm_instance --client=libpq: PQconnectdb + SELECT 1, no reaper
  kCommand,  // --client-cmd: /bin/sh -c <client_cmd>
};

absl::string_view ClientKindName(ClientKind kind);  // "aequor", "libpq", "cmd"

enum class Workload {
  kRead,   // SELECT 1 (libpq) / SELECT pg_backend_pid() (aequor)
  kWrite,  // INSERT one row carrying the invocation id into storm_writes
};

absl::string_view WorkloadName(Workload workload);  // "read", "write"

// The harness's own faults (--fault, may be given more than once). Every
// random choice is drawn from the run's seed and the invocation id, so a
// seed gives the same choices whatever the timing.
struct StormFaults {
  // terminate-idle:P. While a warm instance is frozen before a thaw, with
  // probability P its backends are terminated (pg_terminate_backend from the
  // monitor) at a random moment of the frozen time, at least
  // min(200 ms, thaw_after_ms / 4) before the thaw. REQUIRES: [0, 1];
  // invocations_per_instance >= 2.
  std::optional<double> terminate_idle;
  // terminate-active:P. With probability P per invocation, the monitor
  // terminates the invocation's backend when a poll sees it `active` running
  // the write statement (which then waits write_delay_s in pg_sleep before it
  // inserts, so that it can be seen in flight). REQUIRES: [0, 1];
  // workload == kWrite.
  std::optional<double> terminate_active;
  // restart-at:S. S seconds after the first instance started, the throwaway
  // server is restarted (fast shutdown, same port); the harness's loop waits
  // for it. The storm lasts at least S seconds. REQUIRES: [0, 86400]; not
  // with --dsn.
  std::optional<double> restart_at_s;
  // restart-after-backends:N. The same restart, as soon as the polls have
  // seen N distinct client backends (a condition, not a time: the restart
  // comes after connections exist however slow the machine is). No restart
  // if the storm ends first (restarts stays 0). REQUIRES: 1..1000000; not
  // with restart_at_s; not with --dsn.
  std::optional<int> restart_after_backends;

  bool any() const {
    return terminate_idle.has_value() || terminate_active.has_value() || restart_at_s.has_value() ||
           restart_after_backends.has_value();
  }
  bool restart() const { return restart_at_s.has_value() || restart_after_backends.has_value(); }
  // "terminate-idle:1,restart-at:3" ("" when none), in that order
  // (restart-after-backends:N where restart-at would be).
  std::string ToString() const;
};

// The pg_sleep of the write statement with terminate-active, in seconds.
inline constexpr double kActiveWriteDelayS = 0.2;

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

  ClientKind client = ClientKind::kAequor;
  // REQUIRES: non-empty when client == kCommand.
  std::string client_cmd;
  // AEQUOR_SERVICE. Default "storm". REQUIRES: non-empty.
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

  // Only the JSON line on the output stream.
  bool json_only = false;
  // Where to write the CSV "t_ms,connections". Default "": none.
  std::string series_out;
  // The storm_instance binary (built-in clients). Default "":
  // FindInstanceBinary("") (storm_main passes its argv[0]).
  std::string instance_binary;
};

// The parsed command line: options, or a request for --help.
struct StormArgs {
  StormOptions options;
  bool help = false;
};

// Parses `args` (without the program name): --name=value or --name value.
// InvalidArgument naming the option for every problem (unknown option,
// missing or malformed value, out of range, conflicting options).
absl::StatusOr<StormArgs> ParseStormArgs(const std::vector<std::string>& args);

// The --help text.
std::string StormHelpText();

// True for the environment variables libpq itself reads (its documentation's
// "Environment Variables": PGHOST ... PGLOCALEDIR, and whatever
// PQconndefaults() names). The harness removes exactly these (and AEQUOR_*)
// from its own environment before it passes it to an instance; any other
// name, PG-prefixed or not (PG_AEQUOR_DIR, PGDATA), passes unchanged.
bool IsLibpqEnvironmentVariable(absl::string_view name);

// The storm_instance binary: $STORM_INSTANCE_BINARY, else in the runfiles of
// this program ($RUNFILES_DIR, $TEST_SRCDIR, <argv0>.runfiles,
// /proc/self/exe.runfiles), else next to this program. "" when not found.
std::string FindInstanceBinary(absl::string_view argv0);

// --frozen-leader: what became of the leader (run times are ms after t = 0,
// when the first instance started).
struct FrozenLeaderReport {
  int backend_pid = 0;
  int lease_ttl_ms = 0;         // its lease's TTL: --lease-ttl-ms
  double lease_expires_ms = 0;  // negative if it expired before t = 0 (never)
  // When it was terminated: the server log's time (throwaway server), or the
  // poll that saw it gone (--dsn). nullopt: it was alive at the end, or it
  // went without a logged termination.
  std::optional<double> killed_ms;
  std::string killed_by;  // the server log's reason ("administrator command"), "" if none
  // The instance whose reaper pass reported freeing it ("# reap ...
  // frozen_leader_killed=1"); nullopt if none did.
  std::optional<int> freed_by_instance;
  // From lease_expires_ms to the first kill at or after it, the leader's own
  // (a pass frees it first) or any zombie's: when reaping resumed (nothing,
  // the leader included, can be reaped while the lock is held and its lease
  // valid). nullopt if nothing was killed after the expiry.
  std::optional<double> reaping_resumed_ms;
  // The first zombie of the fleet's instances reaped after the leader's
  // kill (run time); nullopt if none.
  std::optional<double> first_zombie_reaped_ms;
  // Reaping resumed no later than lease_ttl_ms + 1000 after the lease was
  // signed, i.e. reaping_resumed_ms <= 1000 (false when it never resumed).
  bool within_ttl_plus_1s = false;
  // Reaper passes reported ("# reap ...") before lease_expires_ms, so that
  // they ran entirely while the leader's lease was valid; of them, those
  // with outcome=busy; and the sessions they terminated (must be 0).
  int passes_while_valid = 0;
  int busy_while_valid = 0;
  int kills_while_valid = 0;
};

struct StormSummary {
  std::string client;      // "aequor", "libpq" or "cmd"
  std::string client_cmd;  // kCommand only
  int invocations = 0;     // invocations started (cold and warm)
  int ok = 0;
  int failed = 0;  // ok + failed == invocations
  std::map<std::string, int> failures;  // SQLSTATE or text -> count
  int peak_connections = 0;             // client backends, the monitor excluded
  int zombies_reaped = 0;  // not counting fault_kills
  int false_kills = 0;     // not counting fault_kills
  // False kills by the instance's phase at the logged kill time:
  // "in_flight" (invocation running) or "answered_not_frozen".
  std::map<std::string, int> false_kills_by;
  std::optional<double> p50_ms;  // over answered and timed-out invocations
  std::optional<double> p99_ms;

  // The write workload (all 0 with kRead).
  int rows = 0;                    // rows in storm_writes at the end
  int duplicated_invocations = 0;  // invocation ids with more than one row
  int ok_without_row = 0;          // answered ok, no row
  int unknown_outcome = 0;         // answered "fail unknown_outcome ..."
  int failed_with_row = 0;         // answered another failure, yet a row exists
  int unknown_with_row = 0;        // outcome unknown, and the row exists

  // Backends terminated by the harness's own faults, and by which.
  int fault_kills = 0;
  // "terminate-idle", "terminate-active", "restart-at", "restart-after-backends"
  std::map<std::string, int> fault_kills_by;
  int restarts = 0;                           // server restarts done (restart-*)
  std::optional<double> restart_ms;           // how long the restart took

  std::string workload = "read";
  std::string faults;           // StormFaults::ToString()
  int instances = 0;            // instance processes started
  int warm_invocations = 0;     // invocations run on a resumed instance
  int invocations_per_instance = 1;
  int thaw_after_ms = 0;

  // --reaper-role (see StormOptions::reaper_role).
  bool reaper_role = false;
  int reaper_slots = 0;                       // 0 without reaper_role
  std::optional<int> app_connection_limit;    // the fleet role's CONNECTION LIMIT
  // Reaper passes the instances reported ("# reap source=S ... killed=N"):
  // passes and sessions terminated, by source ("connect", "invocation",
  // "emergency", ...).
  std::map<std::string, int> reaper_passes;
  std::map<std::string, int> reaper_kills;
  // The database full: connections refused for lack of slots (53300, from the
  // server log; 0 with --dsn), the run time of the first one (with --dsn: of
  // the first answer "fail 53300"), and the time from then to the start of
  // the next fleet backend the server accepted (backend_start of the
  // fleet's role, seen by a poll): how long the fleet was locked out. Both
  // null when the database never filled; full_recovery_ms null when no fleet
  // connection got in after it.
  int refused_connections = 0;
  std::optional<double> full_at_ms;
  std::optional<double> full_recovery_ms;

  // --frozen-leader; nullopt without it.
  std::optional<FrozenLeaderReport> frozen_leader;

  // Beyond the contract.
  std::map<std::string, int> reaped_by;  // reason from the server log -> count
  int zombies_left = 0;                  // frozen instances' backends alive at the end
  int unattributed_backends = 0;
  int final_connections = 0;
  // --max-connections (throwaway server) or the server's max_connections (--dsn).
  int max_connections = 0;
  // Slots the fleet can use: server_max_connections - superuser_reserved_connections
  // - 1 for the monitor's session (a superuser session takes an ordinary slot).
  int fleet_slots = 0;
  // The server's setting: --max-connections + 1 on the throwaway server.
  int server_max_connections = 0;
  int superuser_reserved_connections = 0;
  std::string server;         // "throwaway" or "dsn"
  std::string kill_evidence;  // "server_log" or "poll"
  uint64_t seed = 0;
  int64_t duration_ms = 0;
  std::string series_out;
  bool interrupted = false;
  int interrupted_signal = 0;  // the signal that cut the run short
};

// Runs the storm. Human progress lines go to `progress` (null or json_only:
// none). Errors (server, monitor, instance binary, series file) are returned
// after every process was cleaned up; a run cut short by a signal returns
// its summary with interrupted = true.
absl::StatusOr<StormSummary> RunStorm(const StormOptions& options, std::ostream* progress);

// One line of JSON, no newline. Contract fields first: client, invocations,
// ok, failed, failures, peak_connections, zombies_reaped, false_kills,
// p50_ms, p99_ms (null without samples), rows, duplicated_invocations,
// ok_without_row, unknown_outcome, fault_kills; then the others.
std::string StormSummaryToJson(const StormSummary& summary);

// Nearest-rank percentile (p in (0, 100]) of `samples`; nullopt when empty.
std::optional<double> Percentile(std::vector<double> samples, double p);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_HARNESS_H_
