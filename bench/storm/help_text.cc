// bench/storm/help_text.cc: the storm's --help text (see flags.h). Tests
// check that it names every contract flag and summary field.
#include "bench/storm/flags.h"

namespace aequor {
namespace storm {

std::string StormHelpText() {
  return R"(storm: plays a serverless fleet against a real PostgreSQL and reports what happened.

Every --interval-ms a new instance process runs one invocation (connect, query,
answer) and is then frozen with SIGSTOP, as a serverless runtime freezes a
container after the handler returns. Its connection stays open on the server
(a zombie) unless something terminates it. With --invocations-per-instance=K
(K >= 2) a frozen instance is resumed --thaw-after-ms later for its next
invocation, like a warm container, K times in all. At the end every instance is
killed with SIGKILL and the server is stopped.

Usage: storm [--client=aequor|libpq | --client-cmd='...'] [options]
       storm --client=aequor-pool [service options]

Fleet:
  --client=aequor|libpq   built-in client (default aequor): a ConnectionManager with
                          leases and reaper, or plain libpq (no reaper)
  --client=aequor-pool    the service mode (below): long-running services on
                          aequor::Pool under live traffic
  --client-cmd='CMD'      run CMD through /bin/sh -c as each instance instead
  --invocations=N         invocations in total, cold and warm (default 40)
  --interval-ms=MS        between two new instances (default 400)
  --invocations-per-instance=K
                          invocations each instance runs (default 1: a new instance
                          per invocation). K >= 2 needs --thaw-after-ms. The fleet is
                          ceil(N/K) instances, started every --interval-ms; each is
                          resumed K-1 times (the last one may run fewer). An instance
                          gone when its thaw comes (it exited, or was killed after
                          a timeout) is replaced by a new, cold one.
  --thaw-after-ms=MS      from an instance's freeze to its resumption (SIGCONT, then
                          "invoke <id>" on its stdin) for its next invocation; only
                          with --invocations-per-instance >= 2. The aequor client
                          checks a connection for a thaw only after 1 s idle (its
                          invocation_gap): below that a connection killed while
                          frozen is found by the next statement.
  --workload=read|write   read (default): SELECT 1 (libpq), SELECT pg_backend_pid()
                          (aequor). write: each invocation inserts one row carrying
                          its invocation id into storm_writes (no unique key, so a
                          duplicate shows; (re)created and granted to the fleet's
                          role by the harness); aequor runs it with a plain,
                          non-idempotent Query and answers "fail unknown_outcome ..."
                          when the connection was lost after it was sent
  --freeze-delay-ms=MS    from an instance's answer to its SIGSTOP (default 0)
  --timeout-ms=MS         an invocation not answered by then is failed "timeout" and
                          its instance killed (default 10000)
  --lease-ttl-ms=MS       AEQUOR_LEASE_TTL_MS, 1000.. (default 2000)
  --min-idle-s=S          AEQUOR_MIN_IDLE_S (default 1)
  --service=NAME          AEQUOR_SERVICE (default storm)
  --reaper-scheduler=SPEC AEQUOR_REAPER_SCHEDULER, a plugin spec such as
                          'aequor.reaper.probability(p=1)' (default: the library's,
                          or $AEQUOR_REAPER_SCHEDULER)
  --reaper-role           the way out of a full database (throwaway server only):
                          ALTER ROLE aequor_app CONNECTION LIMIT <fleet slots -
                          --reaper-slots>, so that the reaper role aequor_reaper
                          (pg_read_all_stats, pg_signal_backend) keeps its own
                          slots; its conninfo goes to every instance as
                          AEQUOR_REAPER_CONNINFO, aequor's emergency path: a
                          connect refused with 53300 runs a pass as that role and
                          retries. The fleet then has fewer slots (fleet_slots)
  --reaper-slots=N        the reaper role's headroom with --reaper-role (default 2)
  --frozen-leader         a frozen pg-aequor leader: right before the first instance,
                          the harness connects as the fleet's role with a lease of
                          --service signed with the coordination secret and expiring
                          --lease-ttl-ms later, takes pg-aequor's session lock
                          pg_advisory_lock(1346847057, hashtext(<service>)) and never
                          uses the connection again. Passes are busy while its lease
                          is valid; once it expired the fleet must terminate it to
                          reap at all. Reported in frozen_leader (not as a zombie,
                          false kill or unattributed backend; it does count in
                          peak_connections). Not with a restart fault
  --instance-binary=PATH  storm_instance for the built-in clients (default: found in
                          the runfiles or next to this program)
Faults (the harness's own kills: counted as fault_kills, never as zombies_reaped
or false_kills; may be given more than once; every random choice comes from --seed):
  --fault=terminate-idle:P    before each thaw, with probability P, terminate the
                          frozen instance's backend (pg_terminate_backend from the
                          monitor) at a random moment of its frozen time, at least
                          min(200 ms, thaw/4) before the thaw. Needs K >= 2
  --fault=terminate-active:P  with probability P per invocation, terminate its
                          backend while its write is in flight: the write then waits
                          0.2 s (INSERT ... SELECT ... FROM pg_sleep(0.2)) and the
                          monitor kills it when a poll sees it active. Needs
                          --workload=write
  --fault=restart-at:S    restart the server (fast shutdown, same port) S seconds
                          after the first instance started; the storm lasts at least
                          S seconds and pauses while the server restarts. Throwaway
                          server only
  --fault=restart-after-backends:N  the same restart, as soon as the polls have
                          seen N distinct client backends (a condition, not a time:
                          it comes after connections exist however slow the machine
                          is; none if the storm ends first). Not with restart-at
Server:
  --max-connections=N     max_connections for the fleet's server (default 30): the
                          fleet gets N-3 slots (3 are reserved for superusers). The
                          server runs with N+1, as the monitor's superuser session
                          takes an ordinary slot.
  --dsn=CONNINFO          use this server instead (TCP loopback only); the harness
                          neither starts nor stops it and cannot set
                          max_connections (the server's value is reported)
  --monitor-dsn=CONNINFO  with --dsn: the monitoring connection (default: --dsn);
                          superuser or pg_read_all_stats, to see every client port;
                          its session takes one of the fleet's slots
Measuring:
  --poll-ms=MS            pg_stat_activity polling period (default 50)
  --tail-ms=MS            keep watching after the last invocation (default 0)
  --series-out=PATH       write the CSV "t_ms,connections" of every poll
  --seed=N                seeds the throwaway secret, AEQUOR_STORM_SEED and the
                          faults' random choices (default: random, reported)
  --json-only             print only the JSON line
  --help                  this text

Service mode (--client=aequor-pool; throwaway server only; none of the
invocation, workload, fault, reaper-role or frozen-leader options apply):
--service-instances instances start together, each a long-running service
with an aequor::Pool of --pool-size connections (min_size = max_size, so that
some stay idle and their leases are renewed by the pool's maintenance) and
--workers threads sending SELECT pg_backend_pid() every --request-interval-ms
each. Once every pool is open the run lasts --duration-s. A quarter in, the
last --freeze-for-good instances are frozen for good: their leases run out
and the others' reaper passes (default scheduler here
aequor.reaper.periodic(interval_ms=1000), asked by each pool's maintenance
round) must free every one of their connections. Every
--short-freeze-every-ms one of the others, in turn, is frozen for
--short-freeze-ms and resumed: idle leases are renewed with 3/4 of the TTL
left (the harness sets AEQUOR_LEASE_RENEW_BEFORE_MS), so none of its
connections may be killed. A backend terminated while its instance was
frozen for good is a reaped zombie; one of a living (or briefly frozen)
instance, a false kill (false_kills_by: running, briefly_frozen).
  --service-instances=N   instances (default 6; 2..64)
  --pool-size=K           each pool's size (default 4)
  --workers=W             traffic threads per instance (default 2)
  --request-interval-ms=MS  between two statements of one worker (default 20)
  --duration-s=S          the run, from the moment every pool is open (default 60)
  --freeze-for-good=F     instances frozen for good a quarter in (default 2;
                          fewer than --service-instances)
  --short-freeze-ms=MS    each brief freeze (default 1000; 0: none; at most
                          --lease-ttl-ms * 3/4 - 250)
  --short-freeze-every-ms=MS  between two brief freezes (default 3000)
The JSON's invocations, ok and failed count requests; its "service" object
(null otherwise) adds instances, pool_size, workers, duration_s,
frozen_for_good, short_freezes, requests, requests_failed, acquire_timeouts,
idle_renewals, frozen_backends, frozen_backends_reaped,
frozen_reaped_within_ms, closed_by_pools and error_samples.

Instance contract (--client-cmd; the built-in clients obey it too): the environment
has PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE (TCP loopback), AEQUOR_COORDINATION_SECRET
AEQUOR_SERVICE AEQUOR_LEASE_TTL_MS AEQUOR_MIN_IDLE_S [AEQUOR_REAPER_SCHEDULER]
[AEQUOR_REAPER_CONNINFO]
AEQUOR_STORM_INVOCATION (id of its first invocation) AEQUOR_STORM_INSTANCE
AEQUOR_STORM_SEED AEQUOR_STORM_WORKLOAD (read|write) [AEQUOR_STORM_WRITE_DELAY_S].
The instance prints one line, "ok" or "fail <SQLSTATE or text>" ("fail
unknown_outcome <text>": the write may or may not have taken effect), and is then
frozen; lines starting "# " may come before it ("# pid <backend_pid>" names its
backend, "# reap source=S ... killed=N" reports a reaper pass), other lines are
ignored. It then blocks reading stdin: "invoke <id>" (run invocation <id>, answer
the same way) or "exit".

Output: a line per invocation ("#12 ok 41.0 ms conns=17") and per terminated
backend, then one JSON line: client, invocations, ok, failed, failures (SQLSTATE or
text -> count), peak_connections (client backends, the monitor excluded),
zombies_reaped (terminated while their instance was frozen), false_kills
(terminated while their instance was alive), p50_ms and p99_ms (from starting or
resuming the instance to its answer; timeouts count as --timeout-ms); rows,
duplicated_invocations (ids with more than one row), ok_without_row (answered ok,
no row) and unknown_outcome (answered "fail unknown_outcome"), all 0 unless
--workload=write; fault_kills (backends the faults terminated, by fault in
fault_kills_by); false_kills_by (in_flight, answered_not_frozen: the phase at the
logged kill time); reaper_role, reaper_slots, app_connection_limit; reaper_passes
and reaper_kills by source (connect, invocation, emergency, ...: from the
instances' "# reap source=S ... killed=N" lines); refused_connections (refused
for lack of slots, 53300, from the server log), full_at_ms (the first refusal)
and full_recovery_ms (from it to the next fleet backend the server accepted;
null if none); frozen_leader (null without --frozen-leader, else backend_pid,
lease_ttl_ms, lease_expires_ms, killed_ms, killed_by, freed_by_instance, reaping_resumed_ms
(from the lease's expiry to the first kill after it: the leader's or a
zombie's), first_zombie_reaped_ms, within_ttl_plus_1s, passes_while_valid,
busy_while_valid, kills_while_valid; times in ms after the first instance
started); and more (instances, warm_invocations, failed_with_row, ...).

Environment: AEQUOR_COORDINATION_SECRET (default: a throwaway secret derived from
the seed), AEQUOR_REAPER_SCHEDULER, STORM_INSTANCE_BINARY. Instances get the
harness's environment minus libpq's own PG* variables (PGHOST ... PGLOCALEDIR;
other PG-prefixed names such as PG_AEQUOR_DIR pass) and AEQUOR_*, plus the
contract's variables.
Exit status: 0 the storm ran (failed invocations are results, not errors), 1 it
could not run, 2 bad options, 128+N interrupted by signal N (JSON still printed).
)";
}

}  // namespace storm
}  // namespace aequor
