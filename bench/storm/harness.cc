#include "bench/storm/harness.h"

#include "core/json_text.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/plugin.h"
#include "api/secret.h"
#include "bench/storm/phases.h"
#include "bench/storm/procfs.h"
#include "bench/storm/protocol.h"
#include "bench/storm/server_log.h"
#include "core/reaper.h"
#include "signers/hmac_sha256_botan.h"
#include "testing/throwaway_postgres.h"

extern char** environ;

namespace aequor {
namespace storm {
namespace {

using ::aequor::testing::ThrowawayPostgres;
using ::aequor::testing::ThrowawayPostgresOptions;

// ---------------------------------------------------------------------------
// Command line.

struct IntFlag {
  const char* name;
  int StormOptions::*field;
  int64_t min;
  int64_t max;
};

constexpr IntFlag kIntFlags[] = {
    {"invocations", &StormOptions::invocations, 1, 10000},
    {"interval-ms", &StormOptions::interval_ms, 0, 600000},
    {"invocations-per-instance", &StormOptions::invocations_per_instance, 1, 10000},
    {"thaw-after-ms", &StormOptions::thaw_after_ms, 1, 600000},
    {"max-connections", &StormOptions::max_connections, 4, 10000},
    {"lease-ttl-ms", &StormOptions::lease_ttl_ms, 1000, 86400000},
    {"min-idle-s", &StormOptions::min_idle_s, 0, 86400},
    {"freeze-delay-ms", &StormOptions::freeze_delay_ms, 0, 600000},
    {"timeout-ms", &StormOptions::timeout_ms, 1, 3600000},
    {"poll-ms", &StormOptions::poll_ms, 5, 10000},
    {"tail-ms", &StormOptions::tail_ms, 0, 600000},
    {"reaper-slots", &StormOptions::reaper_slots, 1, 10000},
};

struct StringFlag {
  const char* name;
  std::string StormOptions::*field;
};

constexpr StringFlag kStringFlags[] = {
    {"dsn", &StormOptions::dsn},
    {"monitor-dsn", &StormOptions::monitor_dsn},
    {"client-cmd", &StormOptions::client_cmd},
    {"service", &StormOptions::service},
    {"reaper-scheduler", &StormOptions::reaper_scheduler},
    {"series-out", &StormOptions::series_out},
    {"instance-binary", &StormOptions::instance_binary},
};

absl::Status Bad(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" ||
         absl::StartsWith(host, "127.");
}

// The keyword=value pairs of a conninfo or URI, or the parse error.
absl::StatusOr<std::map<std::string, std::string>> ParseConninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    return absl::InvalidArgumentError(std::string(absl::StripTrailingAsciiWhitespace(message)));
  }
  std::map<std::string, std::string> out;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') out[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return out;
}

// The fleet must reach the server over TCP loopback (attribution by client
// port, and a storm is never aimed at a shared server by accident).
absl::Status CheckLoopback(absl::string_view flag, const std::string& conninfo) {
  absl::StatusOr<std::map<std::string, std::string>> kv = ParseConninfo(conninfo);
  if (!kv.ok()) return Bad(flag, absl::StrCat("not a valid conninfo or URI: ", kv.status().message()));
  std::string host;
  if (auto it = kv->find("hostaddr"); it != kv->end()) {
    host = it->second;
  } else if (auto it2 = kv->find("host"); it2 != kv->end()) {
    host = it2->second;
  } else if (const char* env = std::getenv("PGHOST"); env != nullptr) {
    host = env;
  }
  if (host.empty()) {
    return Bad(flag, "needs host=127.0.0.1 (or localhost, ::1): the fleet connects over TCP "
                     "loopback so that backends can be attributed by client port");
  }
  if (!IsLoopbackHost(host)) {
    return Bad(flag, absl::StrCat("host '", host,
                                  "' is not loopback; the storm exhausts and kills connections, so "
                                  "it only runs against 127.0.0.1, localhost or ::1"));
  }
  return absl::OkStatus();
}

constexpr char kFaultForms[] =
    "terminate-idle:P, terminate-active:P, restart-at:S or restart-after-backends:N";

// One --fault value into `faults`.
absl::Status ParseFault(absl::string_view value, StormFaults* faults) {
  const size_t colon = value.find(':');
  if (colon == absl::string_view::npos) {
    return Bad("fault", absl::StrCat("must be ", kFaultForms, ", got '", value, "'"));
  }
  const absl::string_view kind = value.substr(0, colon);
  const absl::string_view arg = value.substr(colon + 1);
  if (kind == "restart-after-backends") {
    if (faults->restart_after_backends.has_value()) return Bad("fault", absl::StrCat(kind, " given twice"));
    int64_t n = 0;
    if (!absl::SimpleAtoi(arg, &n) || n < 1 || n > 1000000) {
      return Bad("fault", absl::StrCat("restart-after-backends: must be a number of backends in "
                                       "[1, 1000000], got '", arg, "'"));
    }
    faults->restart_after_backends = static_cast<int>(n);
    return absl::OkStatus();
  }
  std::optional<double>* slot = nullptr;
  if (kind == "terminate-idle") {
    slot = &faults->terminate_idle;
  } else if (kind == "terminate-active") {
    slot = &faults->terminate_active;
  } else if (kind == "restart-at") {
    slot = &faults->restart_at_s;
  } else {
    return Bad("fault", absl::StrCat("unknown fault '", kind, "' (", kFaultForms, ")"));
  }
  if (slot->has_value()) return Bad("fault", absl::StrCat(kind, " given twice"));
  double v = 0;
  const bool number = absl::SimpleAtod(arg, &v) && std::isfinite(v);
  if (kind == "restart-at") {
    if (!number || v < 0 || v > 86400) {
      return Bad("fault", absl::StrCat("restart-at: must be a number of seconds in [0, 86400], got '",
                                       arg, "'"));
    }
  } else if (!number || v < 0 || v > 1) {
    return Bad("fault", absl::StrCat(kind, ": probability must be a number in [0, 1], got '", arg, "'"));
  }
  *slot = v;
  return absl::OkStatus();
}

}  // namespace

std::string StormFaults::ToString() const {
  std::vector<std::string> parts;
  if (terminate_idle) parts.push_back(absl::StrFormat("terminate-idle:%g", *terminate_idle));
  if (terminate_active) parts.push_back(absl::StrFormat("terminate-active:%g", *terminate_active));
  if (restart_at_s) parts.push_back(absl::StrFormat("restart-at:%g", *restart_at_s));
  if (restart_after_backends) {
    parts.push_back(absl::StrCat("restart-after-backends:", *restart_after_backends));
  }
  return absl::StrJoin(parts, ",");
}

absl::string_view WorkloadName(Workload workload) {
  return workload == Workload::kWrite ? "write" : "read";
}

absl::string_view ClientKindName(ClientKind kind) {
  switch (kind) {
    case ClientKind::kAequor:
      return "aequor";
    case ClientKind::kLibpq:
      return "libpq";
    case ClientKind::kCommand:
      return "cmd";
  }
  return "?";
}

absl::StatusOr<StormArgs> ParseStormArgs(const std::vector<std::string>& args) {
  StormArgs out;
  StormOptions& o = out.options;
  std::set<std::string> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      out.help = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--") || arg.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", args[i], "' (options look like --name=value; see --help)"));
    }
    std::string name;
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg);
    }
    if (!seen.insert(name).second && name != "fault") return Bad(name, "given twice");

    if (name == "json-only" || name == "reaper-role" || name == "frozen-leader") {
      bool& flag = name == "json-only"       ? o.json_only
                   : name == "reaper-role"   ? o.reaper_role
                                             : o.frozen_leader;
      if (!value.has_value() || *value == "true" || *value == "1") {
        flag = true;
      } else if (*value == "false" || *value == "0") {
        flag = false;
      } else {
        return Bad(name, absl::StrCat("takes no value (or true/false), got '", *value, "'"));
      }
      continue;
    }
    if (name == "help") {
      out.help = true;
      continue;
    }

    const IntFlag* int_flag = nullptr;
    for (const IntFlag& f : kIntFlags) {
      if (name == f.name) int_flag = &f;
    }
    const StringFlag* string_flag = nullptr;
    for (const StringFlag& f : kStringFlags) {
      if (name == f.name) string_flag = &f;
    }
    const bool known = int_flag != nullptr || string_flag != nullptr || name == "client" ||
                       name == "seed" || name == "workload" || name == "fault";
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name, " (see --help)"));
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size() || absl::StartsWith(args[i + 1], "--")) {
        return Bad(name, "missing value");
      }
      value = args[++i];
    }

    if (int_flag != nullptr) {
      int64_t v = 0;
      if (!absl::SimpleAtoi(*value, &v) || v < int_flag->min || v > int_flag->max) {
        return Bad(name, absl::StrCat("must be an integer in [", int_flag->min, ", ",
                                      int_flag->max, "], got '", *value, "'"));
      }
      o.*(int_flag->field) = static_cast<int>(v);
    } else if (string_flag != nullptr) {
      if (value->empty()) return Bad(name, "must not be empty");
      o.*(string_flag->field) = *value;
    } else if (name == "client") {
      if (*value == "aequor") {
        o.client = ClientKind::kAequor;
      } else if (*value == "libpq") {
        o.client = ClientKind::kLibpq;
      } else {
        return Bad(name, absl::StrCat("must be 'aequor' or 'libpq' (or use --client-cmd), got '",
                                      *value, "'"));
      }
    } else if (name == "workload") {
      if (*value == "read") {
        o.workload = Workload::kRead;
      } else if (*value == "write") {
        o.workload = Workload::kWrite;
      } else {
        return Bad(name, absl::StrCat("must be 'read' or 'write', got '", *value, "'"));
      }
    } else if (name == "fault") {
      if (absl::Status s = ParseFault(*value, &o.faults); !s.ok()) return s;
    } else if (name == "seed") {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(*value, &v)) {
        return Bad(name, absl::StrCat("must be an unsigned 64-bit integer, got '", *value, "'"));
      }
      o.seed = v;
    }
  }
  if (out.help) return out;

  if (seen.count("client-cmd") != 0) {
    if (seen.count("client") != 0) {
      return Bad("client-cmd", "cannot be combined with --client (it replaces the built-in client)");
    }
    o.client = ClientKind::kCommand;
  }
  if (!o.dsn.empty()) {
    if (seen.count("max-connections") != 0) {
      return Bad("max-connections",
                 "cannot be used with --dsn: the harness does not start that server, so it cannot "
                 "set max_connections (it reports the server's own value)");
    }
    if (absl::Status s = CheckLoopback("dsn", o.dsn); !s.ok()) return s;
    if (!o.monitor_dsn.empty()) {
      if (absl::StatusOr<std::map<std::string, std::string>> kv = ParseConninfo(o.monitor_dsn);
          !kv.ok()) {
        return Bad("monitor-dsn", absl::StrCat("not a valid conninfo or URI: ", kv.status().message()));
      }
    }
  } else if (!o.monitor_dsn.empty()) {
    return Bad("monitor-dsn", "only with --dsn (the throwaway server is watched as aequor_super)");
  }
  if (!o.reaper_scheduler.empty()) {
    if (o.client == ClientKind::kLibpq) {
      return Bad("reaper-scheduler", "has no effect with --client=libpq (no reaper)");
    }
    if (absl::StatusOr<PluginSpec> spec = ParsePluginSpec(o.reaper_scheduler); !spec.ok()) {
      return Bad("reaper-scheduler", spec.status().message());
    }
  }
  if (o.reaper_role && !o.dsn.empty()) {
    return Bad("reaper-role",
               "needs the throwaway server: the harness does not alter roles on a --dsn server "
               "(give the fleet's role a CONNECTION LIMIT and set up a reaper role yourself)");
  }
  if (seen.count("reaper-slots") != 0 && !o.reaper_role) {
    return Bad("reaper-slots", "only with --reaper-role");
  }
  if (o.reaper_role && o.reaper_slots >= o.max_connections - 3) {
    return Bad("reaper-slots",
               absl::StrCat("must leave the fleet at least one of its ", o.max_connections - 3,
                            " slots (--max-connections - 3), got ", o.reaper_slots));
  }
  if (absl::StrContains(o.service, '\n') || absl::StrContains(o.service, '\0')) {
    return Bad("service", "must be one line");
  }
  if (o.invocations_per_instance > 1 && o.thaw_after_ms == 0) {
    return Bad("invocations-per-instance",
               "needs --thaw-after-ms (when a frozen instance is resumed for its next invocation)");
  }
  if (o.thaw_after_ms > 0 && o.invocations_per_instance == 1) {
    return Bad("thaw-after-ms",
               "has no effect with --invocations-per-instance=1 (each instance runs once and is "
               "never resumed); give --invocations-per-instance=K with K >= 2");
  }
  if (o.faults.terminate_idle && o.invocations_per_instance == 1) {
    return Bad("fault",
               "terminate-idle needs warm instances (--invocations-per-instance >= 2 and "
               "--thaw-after-ms): it kills a frozen instance's backend before its thaw");
  }
  if (o.faults.terminate_active && o.workload != Workload::kWrite) {
    return Bad("fault", "terminate-active needs --workload=write (it kills the write in flight)");
  }
  if (o.faults.restart_at_s && !o.dsn.empty()) {
    return Bad("fault",
               "restart-at needs the throwaway server: the harness does not restart a --dsn server");
  }
  if (o.faults.restart_after_backends && !o.dsn.empty()) {
    return Bad("fault",
               "restart-after-backends needs the throwaway server: the harness does not restart a "
               "--dsn server");
  }
  if (o.faults.restart_at_s && o.faults.restart_after_backends) {
    return Bad("fault", "restart-at and restart-after-backends cannot be combined (one restart)");
  }
  if (o.frozen_leader && o.faults.restart()) {
    return Bad("frozen-leader",
               "cannot be combined with a restart fault (the restart would end the leader's "
               "session, and with it the lock)");
  }
  if (o.frozen_leader && o.client == ClientKind::kLibpq) {
    return Bad("frozen-leader", "has no effect with --client=libpq (no reaper to free it)");
  }
  return out;
}

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

Fleet:
  --client=aequor|libpq   built-in client (default aequor): a ConnectionManager with
                          leases and reaper, or plain libpq (no reaper)
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

bool IsLibpqEnvironmentVariable(absl::string_view name) {
  // libpq's documentation, "Environment Variables" (PostgreSQL 15), plus the
  // deprecated PGREQUIRESSL; every envvar PQconndefaults() names is added
  // below, so a newer libpq's additions are covered too.
  static const std::set<std::string, std::less<>>* const kNames = [] {
    auto* names = new std::set<std::string, std::less<>>{
        "PGHOST",          "PGHOSTADDR",        "PGPORT",
        "PGDATABASE",      "PGUSER",            "PGPASSWORD",
        "PGPASSFILE",      "PGCHANNELBINDING",  "PGSERVICE",
        "PGSERVICEFILE",   "PGOPTIONS",         "PGAPPNAME",
        "PGSSLMODE",       "PGREQUIRESSL",      "PGSSLCOMPRESSION",
        "PGSSLCERT",       "PGSSLKEY",          "PGSSLROOTCERT",
        "PGSSLCRL",        "PGSSLCRLDIR",       "PGSSLSNI",
        "PGREQUIREPEER",   "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION",
        "PGGSSENCMODE",    "PGKRBSRVNAME",      "PGGSSLIB",
        "PGCONNECT_TIMEOUT", "PGCLIENTENCODING", "PGTARGETSESSIONATTRS",
        "PGDATESTYLE",     "PGTZ",              "PGGEQO",
        "PGSYSCONFDIR",    "PGLOCALEDIR",
    };
    if (PQconninfoOption* defaults = PQconndefaults(); defaults != nullptr) {
      for (PQconninfoOption* d = defaults; d->keyword != nullptr; ++d) {
        if (d->envvar != nullptr) names->insert(d->envvar);
      }
      PQconninfoFree(defaults);
    }
    return names;
  }();
  return kNames->count(name) != 0;
}

std::string FindInstanceBinary(absl::string_view argv0) {
  constexpr absl::string_view kRel = "aequor/bench/storm/storm_instance";
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("STORM_INSTANCE_BINARY"); env != nullptr && env[0] != '\0') {
    return env;
  }
  for (const char* var : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(var); dir != nullptr && dir[0] != '\0') {
      candidates.push_back(absl::StrCat(dir, "/", kRel));
    }
  }
  std::string self;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) self.assign(buf, static_cast<size_t>(n));
  if (!argv0.empty()) candidates.push_back(absl::StrCat(argv0, ".runfiles/", kRel));
  if (!self.empty()) candidates.push_back(absl::StrCat(self, ".runfiles/", kRel));
  for (absl::string_view base : {absl::string_view(self), argv0}) {
    size_t slash = base.rfind('/');
    if (slash != absl::string_view::npos) {
      candidates.push_back(absl::StrCat(base.substr(0, slash), "/storm_instance"));
    }
  }
  for (const std::string& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) return c;
  }
  return "";
}

std::optional<double> Percentile(std::vector<double> samples, double p) {
  if (samples.empty() || !(p > 0) || p > 100) return std::nullopt;
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  rank = std::max<size_t>(1, std::min(rank, samples.size()));
  return samples[rank - 1];
}

namespace {


std::string JsonCounts(const std::map<std::string, int>& m) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : m) parts.push_back(absl::StrCat(JsonQuote(k), ":", v));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

std::string JsonMs(const std::optional<double>& v) {
  if (!v.has_value()) return "null";
  return absl::StrFormat("%.1f", *v);
}

std::string JsonFrozenLeader(const std::optional<FrozenLeaderReport>& f) {
  if (!f.has_value()) return "null";
  return absl::StrCat(
      "{\"backend_pid\":", f->backend_pid, ",\"lease_ttl_ms\":", f->lease_ttl_ms,
      ",\"lease_expires_ms\":", JsonMs(f->lease_expires_ms),
      ",\"killed_ms\":", JsonMs(f->killed_ms), ",\"killed_by\":",
      f->killed_by.empty() ? std::string("null") : JsonQuote(f->killed_by),
      ",\"freed_by_instance\":",
      f->freed_by_instance ? absl::StrCat(*f->freed_by_instance) : std::string("null"),
      ",\"reaping_resumed_ms\":", JsonMs(f->reaping_resumed_ms),
      ",\"first_zombie_reaped_ms\":", JsonMs(f->first_zombie_reaped_ms),
      ",\"within_ttl_plus_1s\":", f->within_ttl_plus_1s ? "true" : "false",
      ",\"passes_while_valid\":", f->passes_while_valid,
      ",\"busy_while_valid\":", f->busy_while_valid,
      ",\"kills_while_valid\":", f->kills_while_valid, "}");
}

}  // namespace

std::string StormSummaryToJson(const StormSummary& s) {
  std::string out = absl::StrCat(
      "{\"client\":", JsonQuote(s.client), ",\"invocations\":", s.invocations, ",\"ok\":", s.ok,
      ",\"failed\":", s.failed, ",\"failures\":", JsonCounts(s.failures),
      ",\"peak_connections\":", s.peak_connections, ",\"zombies_reaped\":", s.zombies_reaped,
      ",\"false_kills\":", s.false_kills, ",\"p50_ms\":", JsonMs(s.p50_ms),
      ",\"p99_ms\":", JsonMs(s.p99_ms));
  absl::StrAppend(&out, ",\"rows\":", s.rows, ",\"duplicated_invocations\":", s.duplicated_invocations,
                  ",\"ok_without_row\":", s.ok_without_row,
                  ",\"unknown_outcome\":", s.unknown_outcome, ",\"fault_kills\":", s.fault_kills);
  absl::StrAppend(&out, ",\"false_kills_by\":", JsonCounts(s.false_kills_by),
                  ",\"reaper_role\":", s.reaper_role ? "true" : "false",
                  ",\"reaper_slots\":", s.reaper_slots, ",\"app_connection_limit\":",
                  s.app_connection_limit ? absl::StrCat(*s.app_connection_limit) : "null",
                  ",\"reaper_passes\":", JsonCounts(s.reaper_passes),
                  ",\"reaper_kills\":", JsonCounts(s.reaper_kills),
                  ",\"refused_connections\":", s.refused_connections,
                  ",\"full_at_ms\":", JsonMs(s.full_at_ms),
                  ",\"full_recovery_ms\":", JsonMs(s.full_recovery_ms),
                  ",\"frozen_leader\":", JsonFrozenLeader(s.frozen_leader));
  absl::StrAppend(&out, ",\"reaped_by\":", JsonCounts(s.reaped_by),
                  ",\"zombies_left\":", s.zombies_left,
                  ",\"final_connections\":", s.final_connections,
                  ",\"unattributed_backends\":", s.unattributed_backends,
                  ",\"max_connections\":", s.max_connections,
                  ",\"fleet_slots\":", s.fleet_slots,
                  ",\"server_max_connections\":", s.server_max_connections,
                  ",\"superuser_reserved_connections\":", s.superuser_reserved_connections,
                  ",\"server\":", JsonQuote(s.server),
                  ",\"kill_evidence\":", JsonQuote(s.kill_evidence), ",\"seed\":", s.seed,
                  ",\"duration_ms\":", s.duration_ms);
  absl::StrAppend(&out, ",\"workload\":", JsonQuote(s.workload),
                  ",\"faults\":", JsonQuote(s.faults),
                  ",\"fault_kills_by\":", JsonCounts(s.fault_kills_by),
                  ",\"restarts\":", s.restarts, ",\"restart_ms\":", JsonMs(s.restart_ms),
                  ",\"failed_with_row\":", s.failed_with_row,
                  ",\"unknown_with_row\":", s.unknown_with_row,
                  ",\"instances\":", s.instances, ",\"warm_invocations\":", s.warm_invocations,
                  ",\"invocations_per_instance\":", s.invocations_per_instance,
                  ",\"thaw_after_ms\":", s.thaw_after_ms);
  if (!s.client_cmd.empty()) absl::StrAppend(&out, ",\"client_cmd\":", JsonQuote(s.client_cmd));
  if (!s.series_out.empty()) absl::StrAppend(&out, ",\"series_out\":", JsonQuote(s.series_out));
  absl::StrAppend(&out, ",\"interrupted\":", s.interrupted ? "true" : "false", "}");
  return out;
}

// ---------------------------------------------------------------------------
// The run.

namespace {

// Signal plumbing: the handler only writes one byte to a pipe and records the
// signal; both are plain ints (trivially destructible, async-signal-safe).
volatile sig_atomic_t g_signal = 0;
int g_wake_fd = -1;

void OnSignal(int sig) {
  if (g_signal == 0) g_signal = sig;
  if (g_wake_fd >= 0) {
    const char byte = 1;
    ssize_t ignored = write(g_wake_fd, &byte, 1);
    (void)ignored;
  }
}

// Installs the handlers for the lifetime of a run, restores them after.
class SignalScope {
 public:
  SignalScope() {
    if (pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) fds_[0] = fds_[1] = -1;
    g_signal = 0;
    g_wake_fd = fds_[1];
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &old_[i]);
    struct sigaction ignore;
    std::memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &old_pipe_);
  }
  ~SignalScope() {
    for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &old_[i], nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
    g_wake_fd = -1;
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

  int read_fd() const { return fds_[0]; }
  int signal() const { return g_signal; }
  void Drain() const {
    char buf[64];
    while (fds_[0] >= 0 && read(fds_[0], buf, sizeof(buf)) > 0) {
    }
  }

 private:
  static constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};
  int fds_[2] = {-1, -1};
  struct sigaction old_[3];
  struct sigaction old_pipe_;
};

class Clock {
 public:
  Clock()
      : start_(std::chrono::steady_clock::now()),
        wall_start_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()) {}
  // Milliseconds since the run started.
  double Now() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }
  // Run time of a wall-clock instant (epoch ms), e.g. from the server log.
  double FromEpochMs(int64_t epoch_ms) const {
    return static_cast<double>(epoch_ms - wall_start_ms_);
  }
  int64_t ToEpochMs(double run_ms) const {
    return wall_start_ms_ + static_cast<int64_t>(std::llround(run_ms));
  }

 private:
  std::chrono::steady_clock::time_point start_;
  int64_t wall_start_ms_;
};

using Phase = InstancePhase;

enum class Outcome { kPending, kOk, kFailed, kUnknown };

struct Invocation {
  int id = 0;        // 1-based, in start order
  int slot = 0;      // index into Storm::slots_
  int instance = 0;  // the instance number that runs it
  int nth = 1;       // 1 = the instance's cold invocation, 2.. warm ones
  bool warm = false;
  double started_ms = 0;  // spawn or SIGCONT
  bool resolved = false;  // counted as ok or failed
  Outcome outcome = Outcome::kPending;
  bool kill_active = false;       // terminate-active drawn for it
  bool kill_active_done = false;  // the monitor terminated (or tried) its backend
};

// A sequence of invocations_per_instance invocations served by one warm
// instance (by a new one if that instance is gone).
struct Slot {
  int size = 0;          // invocations it runs
  int started = 0;       // of them, started so far
  int instance = 0;      // the instance serving it (0: none yet)
  double next_due = -1;  // when its next invocation starts; -1: none scheduled
};

struct Instance {
  int number = 0;
  int slot = 0;
  pid_t pid = -1;  // also its process group
  int out_fd = -1;
  int in_fd = -1;  // "invoke <id>" goes here
  std::string buffer;
  std::string last_other_line;
  // Every phase change with its time (kRunning from the spawn on): a kill
  // found later is judged and labelled by the phase at its logged time.
  PhaseHistory history;
  int invocation = 0;  // the current (or last) invocation's id
  int invocations = 0;  // invocations it ran
  double answered_ms = -1;
  double idle_kill_ms = -1;  // terminate-idle scheduled for this frozen span
  bool waited = false;

  Phase phase() const { return history.current(); }
  bool FrozenAt(double t) const { return history.At(t) == Phase::kFrozen; }
  // Frozen without a break from t0 to t1.
  bool FrozenThroughout(double t0, double t1) const {
    return history.Throughout(Phase::kFrozen, t0, t1);
  }
  bool EndedAt(double t) const { return history.At(t) == Phase::kEnded; }
};

struct Backend {
  int pid = 0;
  int64_t start_ms = 0;  // backend_start, epoch ms
  int client_port = -1;
  std::string application_name;
  std::string state;  // pg_stat_activity.state at the last poll
  std::string query;  // its first 200 characters
  std::string user;   // pg_stat_activity.usename
  int instance = 0;  // 0: not attributed (yet)
  bool leader = false;  // --frozen-leader's session: never attributed or counted
  double first_seen_ms = 0;
  double last_seen_ms = 0;
};

using BackendKey = std::pair<int, int64_t>;  // pid, backend_start

struct PGconnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PGresultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, PGconnDeleter>;
using Result = std::unique_ptr<PGresult, PGresultDeleter>;

std::string OneLine(absl::string_view s) {
  std::string out(absl::StripAsciiWhitespace(s));
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

std::string FormatMs(double ms) { return absl::StrFormat("%.1f ms", ms); }

constexpr char kPollSql[] =
    "SELECT pid, (extract(epoch FROM backend_start) * 1000)::bigint, coalesce(client_port, -1), "
    "coalesce(application_name, ''), coalesce(state, ''), left(coalesce(query, ''), 200), "
    "coalesce(usename::text, '') "
    "FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";

// Random choices: a pure function of the seed, a stream and an index (an
// invocation id), so that they do not depend on the timing of the run.
uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1).
double Draw(uint64_t seed, uint64_t stream, uint64_t index) {
  const uint64_t h = SplitMix64(seed ^ SplitMix64(stream * 0x100000001b3ull ^ SplitMix64(index)));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

enum Stream : uint64_t {
  kStreamIdleHit = 1,     // terminate-idle: kill this frozen span?
  kStreamIdleMoment = 2,  // terminate-idle: when
  kStreamActiveHit = 3,   // terminate-active: kill this invocation's write?
};

constexpr char kFaultIdle[] = "terminate-idle";
constexpr char kFaultActive[] = "terminate-active";
constexpr char kFaultRestart[] = "restart-at";
constexpr char kFaultRestartAfterBackends[] = "restart-after-backends";

// A reaper pass an instance reported, and when its line was read.
struct ReapLine {
  double read_ms = 0;
  int instance = 0;
  ReapComment reap;
};

class Storm {
 public:
  Storm(const StormOptions& options, std::ostream* progress)
      : o_(options), out_(options.json_only ? nullptr : progress) {}

  ~Storm() {
    KillAll();
    if (series_file_ != nullptr) std::fclose(series_file_);
  }

  absl::StatusOr<StormSummary> Run();

 private:
  template <typename... A>
  void Say(const A&... parts) {
    if (out_ != nullptr) *out_ << absl::StrCat(parts...) << "\n" << std::flush;
  }

  absl::Status Prepare();
  absl::Status StartServer();
  absl::Status UseDsn();
  absl::Status ConnectMonitor();
  absl::Status CreateWritesTable();
  absl::Status SetUpReaperRole();
  absl::Status StartFrozenLeader();
  void LeaderGone(const Backend& b, double now);
  void SummarizeFrozenLeader();
  void SummarizeFullDatabase();
  absl::Status CountWrites();
  std::vector<std::string> FleetEnvironment(int number, int invocation) const;
  absl::Status StartDue(double now);
  absl::Status StartInvocation(size_t slot, double now);
  absl::Status Spawn(int number, size_t slot, Invocation& inv);
  void Thaw(Instance& inst, Invocation& inv);
  void ReadOutput(Instance& inst);
  void HandleLine(Instance& inst, absl::string_view line);
  void Resolve(Invocation& inv, bool ok, bool unknown, const std::string& key,
               const std::string& detail, double latency_ms);
  void Advance(Instance& inst, double now);
  void ReapExit(Instance& inst, double now);
  void InvocationDone(Instance& inst, double now);
  void Poll(double now);
  void Attribute(double now);
  void Disappeared(const Backend& b, double now);
  bool Terminate(const Backend& b, const char* fault);
  void TerminateIdle(Instance& inst, double now);
  void TerminateActive();
  absl::Status RestartServer(double now);
  void KillGroup(Instance& inst, double now);
  void KillAll();
  bool AllSettled() const;
  void WriteSeries();
  Instance* InstanceOf(int number) {
    return number >= 1 && static_cast<size_t>(number) <= instances_.size()
               ? &instances_[static_cast<size_t>(number - 1)]
               : nullptr;
  }

  const StormOptions o_;
  std::ostream* out_;
  Clock clock_;
  StormSummary summary_;
  std::unique_ptr<ThrowawayPostgres> server_;
  std::unique_ptr<ServerLogReader> log_;
  std::string fleet_conninfo_;    // for the fleet (throwaway mode)
  std::string monitor_conninfo_;
  std::map<std::string, std::string> fleet_env_;  // PG* and AEQUOR_* for every instance
  int server_port_ = 0;
  std::string instance_binary_;
  std::string secret_;
  uint64_t seed_ = 0;
  Conn monitor_;
  std::vector<Instance> instances_;      // index = number - 1
  std::vector<Invocation> invocations_;  // index = id - 1
  std::vector<Slot> slots_;
  std::map<BackendKey, Backend> backends_;
  std::map<int, int> reported_pids_;  // backend pid -> instance number ("# pid N")
  // Backends the faults terminated (or are terminating): key -> fault name.
  std::map<BackendKey, std::string> fault_targets_;
  double restart_due_ = -1;  // run time of restart-at; -1: none (or done)
  int connections_ = 0;  // at the last good poll
  bool monitor_ok_ = false;
  std::vector<std::pair<double, int>> series_;
  std::vector<double> latencies_;
  // The fleet's role, and the backend_start (epoch ms) of every backend of
  // it a poll saw: when the fleet got in again after the database was full.
  std::string fleet_role_;
  std::set<int64_t> fleet_backend_starts_;
  double first_53300_answer_ms_ = -1;  // run time of the first answer with 53300
  std::FILE* series_file_ = nullptr;
  // restart-after-backends: distinct client backends the polls have seen
  // (the frozen leader's excluded), and whether the restart was scheduled.
  int backends_seen_ = 0;
  bool restart_scheduled_ = false;
  // --frozen-leader: its connection (never used after the lock), its
  // backend, and its lease's expiry (epoch ms).
  Conn leader_;
  std::optional<BackendKey> leader_key_;
  int64_t leader_expires_epoch_ms_ = 0;
  // Every reaper pass reported, and the run time of every zombie reaped.
  std::vector<ReapLine> reap_lines_;
  std::vector<double> zombie_reaped_ms_;
};

absl::Status Storm::Prepare() {
  if (o_.faults.restart_at_s && !o_.dsn.empty()) {
    return Bad("fault", "restart-at needs the throwaway server: the harness does not restart a --dsn server");
  }
  if (o_.faults.restart_after_backends && !o_.dsn.empty()) {
    return Bad("fault",
               "restart-after-backends needs the throwaway server: the harness does not restart a "
               "--dsn server");
  }
  if (o_.faults.restart_at_s && o_.faults.restart_after_backends) {
    return Bad("fault", "restart-at and restart-after-backends cannot be combined (one restart)");
  }
  if (o_.frozen_leader && o_.faults.restart()) {
    return Bad("frozen-leader",
               "cannot be combined with a restart fault (the restart would end the leader's "
               "session, and with it the lock)");
  }
  if (o_.seed.has_value()) {
    seed_ = *o_.seed;
  } else {
    std::random_device rd;
    seed_ = (uint64_t{rd()} << 32) ^ uint64_t{rd()};
  }
  summary_.seed = seed_;
  if (!o_.coordination_secret.empty()) {
    if (o_.coordination_secret.size() < 16) {
      return absl::InvalidArgumentError("AEQUOR_COORDINATION_SECRET: must be at least 16 bytes");
    }
    secret_ = o_.coordination_secret;
  } else {
    std::mt19937_64 rng(seed_ ^ 0x5eed5ec7e7ull);
    secret_ = absl::StrFormat("storm-%016x%016x", rng(), rng());
  }
  if (o_.client != ClientKind::kCommand) {
    instance_binary_ = o_.instance_binary;
    if (instance_binary_.empty()) instance_binary_ = FindInstanceBinary("");
    if (instance_binary_.empty()) {
      return absl::FailedPreconditionError(
          "storm_instance not found: pass --instance-binary=PATH (bazel build //bench/storm:storm_instance)");
    }
    if (access(instance_binary_.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("--instance-binary: '", instance_binary_, "' is not an executable file"));
    }
    // Resolved once: bazel-bin and runfiles are symlinks that another build
    // may repoint while the storm runs.
    if (char* real = realpath(instance_binary_.c_str(), nullptr); real != nullptr) {
      instance_binary_ = real;
      std::free(real);
    }
  }
  if (!o_.series_out.empty()) {
    series_file_ = std::fopen(o_.series_out.c_str(), "w");
    if (series_file_ == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("--series-out: cannot write '", o_.series_out, "': ", std::strerror(errno)));
    }
    summary_.series_out = o_.series_out;
  }
  return absl::OkStatus();
}

absl::Status Storm::StartServer() {
  ThrowawayPostgresOptions options;
  // The monitor is a superuser, but a superuser session takes an ordinary
  // slot: superuser_reserved_connections only keeps the last N slots free of
  // non-superusers. One more slot keeps the fleet's share what
  // --max-connections promises (max_connections - 3), as without a monitor.
  options.max_connections = o_.max_connections + 1;
  options.extra_settings = {{"log_line_prefix", kStormLogLinePrefix}};
  absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> server = ThrowawayPostgres::Start(options);
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("starting the throwaway server: ", server.status().message()));
  }
  server_ = *std::move(server);
  server_port_ = server_->port();
  fleet_env_ = {
      {"PGHOST", "127.0.0.1"},
      {"PGPORT", absl::StrCat(server_port_)},
      {"PGUSER", ThrowawayPostgres::kAppRole},
      {"PGPASSWORD", ThrowawayPostgres::PasswordFor(ThrowawayPostgres::kAppRole)},
      {"PGDATABASE", ThrowawayPostgres::kDatabase},
  };
  fleet_role_ = ThrowawayPostgres::kAppRole;
  monitor_conninfo_ = server_->SocketConninfoFor(ThrowawayPostgres::kSuperRole);
  log_ = std::make_unique<ServerLogReader>(server_->log_path());
  summary_.server = "throwaway";
  summary_.kill_evidence = "server_log";
  return absl::OkStatus();
}

absl::Status Storm::UseDsn() {
  absl::StatusOr<std::map<std::string, std::string>> kv = ParseConninfo(o_.dsn);
  if (!kv.ok()) return Bad("dsn", kv.status().message());
  // Every keyword libpq reads from a PG* variable: the dsn's value, else the
  // harness's own variable (libpq's rule), so instances connect as the
  // harness would.
  PQconninfoOption* defaults = PQconndefaults();
  if (defaults == nullptr) return absl::ResourceExhaustedError("PQconndefaults: out of memory");
  for (PQconninfoOption* d = defaults; d->keyword != nullptr; ++d) {
    if (d->envvar == nullptr || std::strcmp(d->keyword, "application_name") == 0) continue;
    if (auto it = kv->find(d->keyword); it != kv->end()) {
      fleet_env_[d->envvar] = it->second;
    } else if (const char* env = std::getenv(d->envvar); env != nullptr) {
      fleet_env_[d->envvar] = env;
    }
  }
  PQconninfoFree(defaults);
  server_port_ = 5432;
  if (auto it = fleet_env_.find("PGPORT"); it != fleet_env_.end()) {
    if (!absl::SimpleAtoi(it->second, &server_port_)) {
      return Bad("dsn", absl::StrCat("port '", it->second, "' is not a number"));
    }
  }
  if (auto it = fleet_env_.find("PGUSER"); it != fleet_env_.end()) fleet_role_ = it->second;
  monitor_conninfo_ = o_.monitor_dsn.empty() ? o_.dsn : o_.monitor_dsn;
  summary_.server = "dsn";
  summary_.kill_evidence = "poll";
  return absl::OkStatus();
}

absl::Status Storm::ConnectMonitor() {
  monitor_.reset(PQconnectdb(monitor_conninfo_.c_str()));
  if (monitor_ == nullptr || PQstatus(monitor_.get()) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "monitor connection failed: ",
        monitor_ == nullptr ? "out of memory" : OneLine(PQerrorMessage(monitor_.get()))));
  }
  Result r(PQexec(monitor_.get(),
                  "SELECT current_setting('max_connections'), "
                  "current_setting('superuser_reserved_connections'), "
                  "current_setting('server_version'), "
                  "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
                  "pg_has_role(current_user, 'pg_read_all_stats', 'member')"));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
    return absl::UnavailableError(
        absl::StrCat("monitor: reading the server settings failed: ",
                     OneLine(PQresultErrorMessage(r.get()))));
  }
  (void)absl::SimpleAtoi(PQgetvalue(r.get(), 0, 0), &summary_.max_connections);
  (void)absl::SimpleAtoi(PQgetvalue(r.get(), 0, 1), &summary_.superuser_reserved_connections);
  const std::string version = PQgetvalue(r.get(), 0, 2);
  const bool super = std::string(PQgetvalue(r.get(), 0, 3)) == "t";
  const bool read_all = std::string(PQgetvalue(r.get(), 0, 4)) == "t";
  const int reserved = summary_.superuser_reserved_connections;
  summary_.server_max_connections = summary_.max_connections;
  summary_.fleet_slots = summary_.max_connections - reserved - 1;  // the monitor's session
  if (server_ != nullptr) {
    summary_.max_connections = o_.max_connections;
    Say("server: throwaway PostgreSQL ", version, " on 127.0.0.1:", server_port_,
        ", max_connections=", o_.max_connections, ": ", summary_.fleet_slots, " slots for the fleet, ",
        reserved, " reserved for superusers (the server runs with ", summary_.server_max_connections,
        ": one more for this monitor's session); log ", server_->log_path());
  } else {
    Say("server: --dsn, PostgreSQL ", version, " on port ", server_port_,
        ", not started or stopped by the harness; --max-connections does not apply: the server "
        "has max_connections=",
        summary_.max_connections, ", superuser_reserved_connections=", reserved,
        "; this monitor's session takes one of the fleet's slots, leaving ", summary_.fleet_slots,
        "; kills are inferred from polls (no server log)");
    if (!super && !read_all) {
      Say("warning: the monitor role is neither superuser nor member of pg_read_all_stats: it "
          "cannot see other roles' client ports");
    }
  }
  monitor_ok_ = true;
  // Notices (DROP TABLE IF EXISTS, pg_terminate_backend's warnings) are not
  // the storm's output.
  PQsetNoticeProcessor(monitor_.get(), [](void*, const char*) {}, nullptr);
  return absl::OkStatus();
}

absl::Status Storm::CreateWritesTable() {
  // The fleet's role: the throwaway server's app role, or the --dsn's user.
  std::string role;
  if (server_ != nullptr) {
    role = ThrowawayPostgres::kAppRole;
  } else if (auto it = fleet_env_.find("PGUSER"); it != fleet_env_.end()) {
    role = it->second;
  }
  std::string sql = absl::StrCat(
      "DROP TABLE IF EXISTS ", kWritesTable, "; CREATE TABLE ", kWritesTable,
      " (invocation int NOT NULL, instance int NOT NULL, at timestamptz NOT NULL DEFAULT now())");
  if (!role.empty()) {
    char* quoted = PQescapeIdentifier(monitor_.get(), role.c_str(), role.size());
    if (quoted == nullptr) {
      return absl::InternalError(absl::StrCat("quoting role '", role, "': ",
                                              OneLine(PQerrorMessage(monitor_.get()))));
    }
    absl::StrAppend(&sql, "; GRANT SELECT, INSERT ON ", kWritesTable, " TO ", quoted);
    PQfreemem(quoted);
  }
  Result r(PQexec(monitor_.get(), sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    return absl::UnavailableError(absl::StrCat("creating table ", kWritesTable, " for --workload=write: ",
                                               OneLine(PQresultErrorMessage(r.get()))));
  }
  Say("workload: write, one row per invocation into ", kWritesTable, " (created",
      role.empty() ? "" : absl::StrCat(", granted to ", role), ")");
  return absl::OkStatus();
}

absl::Status Storm::SetUpReaperRole() {
  using T = ThrowawayPostgres;
  const int limit = summary_.fleet_slots - o_.reaper_slots;
  if (limit < 1) {
    return Bad("reaper-slots", absl::StrCat("must leave the fleet at least one of its ",
                                            summary_.fleet_slots, " slots, got ", o_.reaper_slots));
  }
  // The role names are the throwaway server's constants (no quoting needed).
  const std::string sql = absl::StrCat("ALTER ROLE ", T::kAppRole, " CONNECTION LIMIT ", limit,
                                       "; GRANT pg_read_all_stats, pg_signal_backend TO ",
                                       T::kReaperRole);
  Result r(PQexec(monitor_.get(), sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    return absl::UnavailableError(absl::StrCat("--reaper-role: setting up the roles: ",
                                               OneLine(PQresultErrorMessage(r.get()))));
  }
  // Never printed: it holds the reaper role's password.
  fleet_env_[kEnvReaperConninfo] = server_->ConninfoFor(T::kReaperRole);
  summary_.reaper_role = true;
  summary_.reaper_slots = o_.reaper_slots;
  summary_.app_connection_limit = limit;
  summary_.fleet_slots = limit;
  Say("reaper role: ALTER ROLE ", T::kAppRole, " CONNECTION LIMIT ", limit, "; ", T::kReaperRole,
      " (pg_read_all_stats, pg_signal_backend) keeps ", o_.reaper_slots,
      " slots and is passed to the fleet as ", kEnvReaperConninfo, " (the emergency path)");
  return absl::OkStatus();
}

// --frozen-leader: a pg-aequor leader frozen holding its session lock, as
// the server sees it. Its lease is signed as an instance's manager signs one
// (the default signer, the normalised service, an 8-character instance id),
// and it connects exactly where the instances connect.
absl::Status Storm::StartFrozenLeader() {
  absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = NewHmacSha256BotanSigner(Secret(secret_));
  if (!signer.ok()) {
    return absl::Status(signer.status().code(),
                        absl::StrCat("--frozen-leader: the lease signer: ", signer.status().message()));
  }
  const std::string service = NormalizeService(o_.service);
  std::mt19937_64 rng(seed_ ^ 0xf0ce1eade7ull);
  const uint64_t bits = rng();
  char id_bytes[6];
  for (int i = 0; i < 6; ++i) id_bytes[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
  const std::string instance = Base64UrlEncode(absl::string_view(id_bytes, sizeof(id_bytes)));
  const int64_t now_epoch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
  leader_expires_epoch_ms_ = now_epoch_ms + o_.lease_ttl_ms;
  absl::StatusOr<std::string> lease = SignLease(**signer, service, instance, leader_expires_epoch_ms_);
  if (!lease.ok()) {
    return absl::Status(lease.status().code(),
                        absl::StrCat("--frozen-leader: signing its lease: ", lease.status().message()));
  }

  // The instances' connection settings (their PG* variables), as keywords.
  std::map<std::string, std::string> params;
  PQconninfoOption* defaults = PQconndefaults();
  if (defaults == nullptr) return absl::ResourceExhaustedError("PQconndefaults: out of memory");
  for (PQconninfoOption* d = defaults; d->keyword != nullptr; ++d) {
    if (d->envvar == nullptr) continue;
    if (auto it = fleet_env_.find(d->envvar); it != fleet_env_.end()) params[d->keyword] = it->second;
  }
  PQconninfoFree(defaults);
  params["application_name"] = *lease;
  // pg_advisory_lock waits for a holder: on a --dsn server a live fleet may
  // hold the lock. A startup option bounds the wait without a statement.
  std::string& options = params["options"];
  absl::StrAppend(&options, options.empty() ? "" : " ", "-c lock_timeout=5000");
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [k, v] : params) {
    keywords.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  leader_.reset(PQconnectdbParams(keywords.data(), values.data(), 0));
  if (leader_ == nullptr || PQstatus(leader_.get()) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "--frozen-leader: connecting as the fleet's role failed: ",
        leader_ == nullptr ? "out of memory" : OneLine(PQerrorMessage(leader_.get()))));
  }
  PQsetNoticeProcessor(leader_.get(), [](void*, const char*) {}, nullptr);
  // pg-aequor's session-level lock, the two-int4 form.
  const std::string lock_sql =
      absl::StrCat("SELECT pg_advisory_lock(", kReaperLockNamespace, ", hashtext($1))");
  const char* lock_values[] = {service.c_str()};
  Result locked(PQexecParams(leader_.get(), lock_sql.c_str(), 1, nullptr, lock_values, nullptr,
                             nullptr, 0));
  if (PQresultStatus(locked.get()) != PGRES_TUPLES_OK) {
    return absl::UnavailableError(absl::StrCat("--frozen-leader: taking the lock: ",
                                               OneLine(PQresultErrorMessage(locked.get()))));
  }
  const int pid = PQbackendPID(leader_.get());
  // Its backend_start as the polls read it, so that a later backend reusing
  // the pid is not taken for it.
  const std::string pid_text = absl::StrCat(pid);
  const char* pid_values[] = {pid_text.c_str()};
  Result started(PQexecParams(
      monitor_.get(),
      "SELECT (extract(epoch FROM backend_start) * 1000)::bigint FROM pg_stat_activity WHERE pid = $1::int",
      1, nullptr, pid_values, nullptr, nullptr, 0));
  int64_t start_ms = 0;
  if (PQresultStatus(started.get()) != PGRES_TUPLES_OK || PQntuples(started.get()) != 1 ||
      !absl::SimpleAtoi(PQgetvalue(started.get(), 0, 0), &start_ms)) {
    return absl::UnavailableError(
        absl::StrCat("--frozen-leader: the monitor cannot see the leader's backend ", pid, ": ",
                     OneLine(PQresultErrorMessage(started.get()))));
  }
  leader_key_ = BackendKey{pid, start_ms};
  FrozenLeaderReport report;
  report.backend_pid = pid;
  report.lease_ttl_ms = o_.lease_ttl_ms;
  summary_.frozen_leader = report;
  Say("frozen leader: backend ", pid, " (", fleet_role_.empty() ? "the fleet's role" : fleet_role_,
      ") holds pg-aequor's lock pg_advisory_lock(", kReaperLockNamespace, ", hashtext('", service,
      "')) with a lease expiring in ", leader_expires_epoch_ms_ - now_epoch_ms,
      " ms, and is never used again");
  return absl::OkStatus();
}

// The leader's backend is gone: when and how, from the server log (or the
// poll, with --dsn).
void Storm::LeaderGone(const Backend& b, double now) {
  FrozenLeaderReport& f = *summary_.frozen_leader;
  std::optional<Termination> logged;
  if (log_ != nullptr) {
    log_->Poll();
    logged = log_->Find(b.pid, b.start_ms - 5);
    if (logged.has_value()) {
      f.killed_ms = clock_.FromEpochMs(logged->epoch_ms);
      f.killed_by = logged->reason;
    }
  } else {
    f.killed_ms = now;
    f.killed_by = "terminated";
  }
  const double expires = clock_.FromEpochMs(leader_expires_epoch_ms_);
  if (f.killed_ms.has_value()) {
    Say("  frozen leader: backend ", b.pid, " terminated (", f.killed_by, ") at ",
        absl::StrFormat("%.3f s", *f.killed_ms / 1000.0), ", ",
        absl::StrFormat("%.0f ms", *f.killed_ms - expires), " after its lease expired; conns=",
        connections_);
  } else {
    Say("  frozen leader: backend ", b.pid, " gone without a logged termination; conns=",
        connections_);
  }
}

void Storm::SummarizeFrozenLeader() {
  if (!summary_.frozen_leader.has_value()) return;
  FrozenLeaderReport& f = *summary_.frozen_leader;
  f.lease_expires_ms = clock_.FromEpochMs(leader_expires_epoch_ms_);
  for (const ReapLine& line : reap_lines_) {
    if (line.reap.frozen_leader_killed && !f.freed_by_instance.has_value()) {
      f.freed_by_instance = line.instance;
    }
    if (line.read_ms >= f.lease_expires_ms) continue;
    ++f.passes_while_valid;
    if (line.reap.outcome == "busy") ++f.busy_while_valid;
    f.kills_while_valid += line.reap.killed;
  }
  // Nothing can be reaped while the lock is held, the leader included: the
  // first kill at or after the expiry (the leader's own, which a pass does
  // first, or any zombie's) is when reaping resumed.
  std::vector<double> kills = zombie_reaped_ms_;
  if (f.killed_ms.has_value()) kills.push_back(*f.killed_ms);
  for (double t : kills) {
    if (t >= f.lease_expires_ms &&
        (!f.reaping_resumed_ms.has_value() || t - f.lease_expires_ms < *f.reaping_resumed_ms)) {
      f.reaping_resumed_ms = t - f.lease_expires_ms;
    }
  }
  for (double t : zombie_reaped_ms_) {
    if (f.killed_ms.has_value() && t >= *f.killed_ms &&
        (!f.first_zombie_reaped_ms.has_value() || t < *f.first_zombie_reaped_ms)) {
      f.first_zombie_reaped_ms = t;
    }
  }
  f.within_ttl_plus_1s = f.reaping_resumed_ms.has_value() && *f.reaping_resumed_ms <= 1000.0;
  Say("frozen leader: lease expired at ", absl::StrFormat("%.3f s", f.lease_expires_ms / 1000.0),
      f.killed_ms.has_value()
          ? absl::StrCat(", terminated at ", absl::StrFormat("%.3f s", *f.killed_ms / 1000.0),
                         f.freed_by_instance.has_value()
                             ? absl::StrCat(" by instance ", *f.freed_by_instance, "'s pass")
                             : std::string(""))
          : std::string(", never terminated"),
      "; reaping resumed ",
      f.reaping_resumed_ms.has_value()
          ? absl::StrFormat("%.0f ms after the expiry (within TTL + 1 s: %s)", *f.reaping_resumed_ms,
                            f.within_ttl_plus_1s ? "yes" : "NO")
          : std::string("never (within TTL + 1 s: NO)"),
      f.first_zombie_reaped_ms.has_value()
          ? absl::StrFormat("; first instance zombie reaped after it at %.3f s",
                            *f.first_zombie_reaped_ms / 1000.0)
          : std::string(""),
      "; while its lease was valid: ", f.passes_while_valid, " passes, ", f.busy_while_valid,
      " busy, ", f.kills_while_valid, " sessions terminated");
}

// full_at_ms and full_recovery_ms, from the server log's refusals (or the
// first answer "fail 53300" with --dsn) and the fleet's backend starts.
void Storm::SummarizeFullDatabase() {
  std::optional<int64_t> full_epoch_ms;
  if (log_ != nullptr) {
    log_->Poll();
    summary_.refused_connections = static_cast<int>(log_->refusals().size());
    if (!log_->refusals().empty()) full_epoch_ms = log_->refusals().front().epoch_ms;
    if (full_epoch_ms.has_value()) summary_.full_at_ms = clock_.FromEpochMs(*full_epoch_ms);
  } else if (first_53300_answer_ms_ >= 0) {
    summary_.full_at_ms = first_53300_answer_ms_;
    full_epoch_ms = clock_.ToEpochMs(first_53300_answer_ms_);
  }
  if (!full_epoch_ms.has_value()) return;
  auto next = fleet_backend_starts_.upper_bound(*full_epoch_ms);
  if (next != fleet_backend_starts_.end()) {
    summary_.full_recovery_ms = static_cast<double>(*next - *full_epoch_ms);
  }
}

absl::Status Storm::CountWrites() {
  if (monitor_ == nullptr || PQstatus(monitor_.get()) != CONNECTION_OK) {
    if (monitor_ != nullptr) PQreset(monitor_.get());
  }
  const std::string sql =
      absl::StrCat("SELECT invocation, count(*) FROM ", kWritesTable, " GROUP BY invocation");
  Result r(monitor_ != nullptr ? PQexec(monitor_.get(), sql.c_str()) : nullptr);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    return absl::UnavailableError(absl::StrCat(
        "counting the rows of ", kWritesTable, ": ",
        monitor_ == nullptr ? "no monitor connection" : OneLine(PQresultErrorMessage(r.get()))));
  }
  std::map<int, int> rows;  // invocation id -> rows
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    int id = 0, n = 0;
    if (!absl::SimpleAtoi(PQgetvalue(r.get(), i, 0), &id) ||
        !absl::SimpleAtoi(PQgetvalue(r.get(), i, 1), &n)) {
      continue;
    }
    rows[id] += n;
    summary_.rows += n;
    if (n > 1) ++summary_.duplicated_invocations;
  }
  for (const Invocation& inv : invocations_) {
    auto it = rows.find(inv.id);
    const int n = it == rows.end() ? 0 : it->second;
    switch (inv.outcome) {
      case Outcome::kOk:
        if (n == 0) ++summary_.ok_without_row;
        break;
      case Outcome::kUnknown:
        if (n > 0) ++summary_.unknown_with_row;
        break;
      case Outcome::kFailed:
        if (n > 0) ++summary_.failed_with_row;
        break;
      case Outcome::kPending:
        break;
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> Storm::FleetEnvironment(int number, int invocation) const {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view name = kv.substr(0, eq);
    // The fleet's connection and lease settings come only from the harness;
    // other PG-prefixed names (a PG_AEQUOR_DIR a Node.js instance needs) pass.
    if (IsLibpqEnvironmentVariable(name) || absl::StartsWith(name, "AEQUOR_")) continue;
    env[std::string(name)] = std::string(kv.substr(eq + 1));
  }
  for (const auto& [k, v] : fleet_env_) env[k] = v;
  env[kEnvSecret] = secret_;
  env[kEnvService] = o_.service;
  env[kEnvLeaseTtlMs] = absl::StrCat(o_.lease_ttl_ms);
  env[kEnvMinIdleS] = absl::StrCat(o_.min_idle_s);
  if (!o_.reaper_scheduler.empty()) env[kEnvReaperScheduler] = o_.reaper_scheduler;
  env[kEnvInvocation] = absl::StrCat(invocation);
  env[kEnvInstance] = absl::StrCat(number);
  env[kEnvSeed] = absl::StrCat(seed_ + static_cast<uint64_t>(number));
  env[kEnvWorkload] = std::string(WorkloadName(o_.workload));
  if (o_.workload == Workload::kWrite && o_.faults.terminate_active) {
    env[kEnvWriteDelayS] = absl::StrFormat("%g", kActiveWriteDelayS);
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(absl::StrCat(k, "=", v));
  return out;
}

absl::Status Storm::StartDue(double now) {
  std::vector<std::pair<double, size_t>> due;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].next_due >= 0 && slots_[i].next_due <= now) due.emplace_back(slots_[i].next_due, i);
  }
  std::sort(due.begin(), due.end());
  for (const auto& [when, slot] : due) {
    if (absl::Status s = StartInvocation(slot, now); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Storm::StartInvocation(size_t slot_index, double now) {
  Slot& slot = slots_[slot_index];
  slot.next_due = -1;
  ++slot.started;
  Invocation inv;
  inv.id = static_cast<int>(invocations_.size()) + 1;
  inv.slot = static_cast<int>(slot_index);
  if (o_.faults.terminate_active) {
    inv.kill_active = Draw(seed_, kStreamActiveHit, static_cast<uint64_t>(inv.id)) <
                      *o_.faults.terminate_active;
  }
  invocations_.push_back(inv);
  summary_.invocations = inv.id;
  Invocation& added = invocations_.back();
  Instance* inst = InstanceOf(slot.instance);
  if (inst != nullptr && inst->phase() == Phase::kFrozen && !inst->waited) {
    Thaw(*inst, added);
    return absl::OkStatus();
  }
  (void)now;
  const int number = static_cast<int>(instances_.size()) + 1;
  return Spawn(number, slot_index, added);
}

void Storm::Thaw(Instance& inst, Invocation& inv) {
  inv.instance = inst.number;
  inv.warm = true;
  inv.nth = ++inst.invocations;
  ++summary_.warm_invocations;
  inst.invocation = inv.id;
  inst.idle_kill_ms = -1;
  inst.answered_ms = -1;
  inv.started_ms = clock_.Now();
  inst.history.Set(Phase::kRunning, inv.started_ms);
  kill(-inst.pid, SIGCONT);
  const std::string line = absl::StrCat(InvokeCommand(inv.id), "\n");
  ssize_t n = inst.in_fd >= 0 ? write(inst.in_fd, line.data(), line.size()) : -1;
  if (n != static_cast<ssize_t>(line.size())) {
    // It will time out (or its exit will be seen): a runtime cannot do better.
    Say("instance ", inst.number, ": cannot send '", InvokeCommand(inv.id), "' on its stdin",
        n < 0 ? absl::StrCat(" (", std::strerror(errno), ")") : "");
  }
}

absl::Status Storm::Spawn(int number, size_t slot, Invocation& inv) {
  std::vector<std::string> argv;
  if (o_.client == ClientKind::kCommand) {
    argv = {"/bin/sh", "-c", o_.client_cmd};
  } else {
    argv = {instance_binary_, absl::StrCat("--client=", ClientKindName(o_.client))};
  }
  std::vector<std::string> envs = FleetEnvironment(number, inv.id);
  std::vector<char*> c_argv;
  for (std::string& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (std::string& e : envs) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const std::string exec_error = absl::StrCat("storm: cannot execute ", argv[0], ": errno ");
  const pid_t parent = getpid();
  const double started = clock_.Now();
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0) _exit(127);
    execve(c_argv[0], c_argv.data(), c_env.data());
    const int error = errno;
    char digits[16];
    int n = 0;
    for (int v = error; n == 0 || v > 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
    ssize_t ignored = write(2, exec_error.data(), exec_error.size());
    while (n > 0) ignored = write(2, &digits[--n], 1);
    ignored = write(2, "\n", 1);
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so that the group exists before any kill
  close(in[0]);
  close(out[1]);
  fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
  // An instance that does not read its stdin must not block the harness.
  fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
  Instance inst;
  inst.number = number;
  inst.slot = static_cast<int>(slot);
  inst.pid = pid;
  inst.out_fd = out[0];
  inst.in_fd = in[1];
  inst.invocation = inv.id;
  inst.invocations = 1;
  inst.history = PhaseHistory(Phase::kRunning, started);
  instances_.push_back(std::move(inst));
  summary_.instances = number;
  slots_[slot].instance = number;
  inv.instance = number;
  inv.nth = 1;
  inv.started_ms = started;
  return absl::OkStatus();
}

void Storm::ReadOutput(Instance& inst) {
  if (inst.out_fd < 0) return;
  char buf[4096];
  for (int rounds = 0; rounds < 64; ++rounds) {
    ssize_t n = read(inst.out_fd, buf, sizeof(buf));
    if (n > 0) {
      inst.buffer.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl = inst.buffer.find('\n'); nl != std::string::npos;
           nl = inst.buffer.find('\n', start)) {
        HandleLine(inst, absl::string_view(inst.buffer).substr(start, nl - start));
        start = nl + 1;
      }
      inst.buffer.erase(0, start);
      if (inst.buffer.size() > 65536) inst.buffer.clear();  // no newline in 64 KiB: drop
      continue;
    }
    if (n == 0) {  // end of file: every writer is gone
      if (!inst.buffer.empty()) {
        HandleLine(inst, inst.buffer);
        inst.buffer.clear();
      }
      close(inst.out_fd);
      inst.out_fd = -1;
    } else if (errno == EINTR) {
      continue;
    }
    return;  // EAGAIN or an error
  }
}

void Storm::HandleLine(Instance& inst, absl::string_view line) {
  InstanceLine parsed = ParseInstanceLine(line);
  switch (parsed.kind) {
    case InstanceLine::Kind::kComment:
      if (parsed.backend_pid.has_value()) reported_pids_[*parsed.backend_pid] = inst.number;
      if (parsed.reap.has_value()) {
        reap_lines_.push_back(ReapLine{clock_.Now(), inst.number, *parsed.reap});
        ++summary_.reaper_passes[parsed.reap->source];
        summary_.reaper_kills[parsed.reap->source] += parsed.reap->killed;
        if (parsed.reap->source == "emergency") {
          Say("  emergency pass in instance ", inst.number, ": ", parsed.reap->killed,
              " sessions terminated");
        }
      }
      return;
    case InstanceLine::Kind::kOther:
      inst.last_other_line = OneLine(line.substr(0, 200));
      return;
    case InstanceLine::Kind::kOk:
    case InstanceLine::Kind::kFail:
      break;
  }
  if (inst.phase() != Phase::kRunning || inst.invocation == 0) return;  // one answer per invocation
  Invocation& inv = invocations_[static_cast<size_t>(inst.invocation - 1)];
  if (inv.resolved) return;
  const double now = clock_.Now();
  inst.answered_ms = now;
  inst.history.Set(Phase::kAnswered, now);
  Resolve(inv, parsed.kind == InstanceLine::Kind::kOk, parsed.outcome_unknown, parsed.failure_key,
          parsed.detail, now - inv.started_ms);
}

void Storm::Resolve(Invocation& inv, bool ok, bool unknown, const std::string& key,
                    const std::string& detail, double latency_ms) {
  if (inv.resolved) return;
  inv.resolved = true;
  latencies_.push_back(latency_ms);
  if (inv.kill_active && !inv.kill_active_done) {
    Say("fault: ", kFaultActive, ": #", inv.id, " was drawn, but no poll saw its write in flight");
  }
  std::string where;
  if (o_.invocations_per_instance > 1) {
    where = absl::StrCat(" (instance ", inv.instance, ", ",
                         inv.warm ? absl::StrCat("warm ", inv.nth) : std::string("cold"), ")");
  }
  if (ok) {
    inv.outcome = Outcome::kOk;
    ++summary_.ok;
    Say("#", inv.id, " ok ", FormatMs(latency_ms), " conns=", connections_, where);
  } else {
    // Only the write workload reports outcomes (see StormSummary).
    inv.outcome = unknown ? Outcome::kUnknown : Outcome::kFailed;
    if (key == "53300" && first_53300_answer_ms_ < 0) first_53300_answer_ms_ = clock_.Now();
    if (unknown && o_.workload == Workload::kWrite) ++summary_.unknown_outcome;
    ++summary_.failed;
    ++summary_.failures[key];
    Say("#", inv.id, " fail ", key, " ", FormatMs(latency_ms), " conns=", connections_, where,
        detail.empty() ? "" : absl::StrCat(" (", detail, ")"));
  }
}

void Storm::KillGroup(Instance& inst, double now) {
  if (inst.waited) return;
  kill(-inst.pid, SIGKILL);
  kill(inst.pid, SIGKILL);
  inst.history.Set(Phase::kEnded, now);
}

// The instance's invocation is over and it is frozen or gone: schedule its
// slot's next invocation, and the terminate-idle fault of this frozen span.
void Storm::InvocationDone(Instance& inst, double now) {
  Slot& slot = slots_[static_cast<size_t>(inst.slot)];
  if (slot.instance != inst.number || slot.started >= slot.size || slot.next_due >= 0) return;
  slot.next_due = now + o_.thaw_after_ms;
  if (inst.phase() != Phase::kFrozen || !o_.faults.terminate_idle) return;
  const uint64_t id = static_cast<uint64_t>(inst.invocation);
  if (Draw(seed_, kStreamIdleHit, id) >= *o_.faults.terminate_idle) return;
  // Well before the thaw, so that the backend has exited and its FATAL and
  // close are in the client's socket when the client wakes up.
  const double guard = std::min(200.0, o_.thaw_after_ms / 4.0);
  inst.idle_kill_ms = now + Draw(seed_, kStreamIdleMoment, id) * (o_.thaw_after_ms - guard);
}

void Storm::ReapExit(Instance& inst, double now) {
  if (inst.waited) return;
  int status = 0;
  pid_t r = waitpid(inst.pid, &status, WNOHANG);
  if (r != inst.pid) return;
  inst.waited = true;
  ReadOutput(inst);  // an answer written just before exiting
  Invocation* inv =
      inst.invocation > 0 ? &invocations_[static_cast<size_t>(inst.invocation - 1)] : nullptr;
  if (inv != nullptr && !inv->resolved) {
    std::string key = WIFEXITED(status) ? absl::StrCat("exited ", WEXITSTATUS(status))
                                        : absl::StrCat("killed by signal ", WTERMSIG(status));
    Resolve(*inv, false, false, key, inst.last_other_line, now - inv->started_ms);
  }
  inst.history.Set(Phase::kEnded, now);
  // Whatever else of its group is left (a --client-cmd's children) goes too.
  kill(-inst.pid, SIGKILL);
  InvocationDone(inst, now);
}

void Storm::Advance(Instance& inst, double now) {
  if (inst.phase() == Phase::kRunning && inst.invocation > 0) {
    Invocation& inv = invocations_[static_cast<size_t>(inst.invocation - 1)];
    if (now - inv.started_ms >= o_.timeout_ms) {
      Resolve(inv, false, false, "timeout", "", static_cast<double>(o_.timeout_ms));
      KillGroup(inst, now);
      InvocationDone(inst, now);
      return;
    }
  }
  if (inst.phase() == Phase::kAnswered && now - inst.answered_ms >= o_.freeze_delay_ms) {
    if (inst.waited) {
      inst.history.Set(Phase::kEnded, now);
    } else {
      kill(-inst.pid, SIGSTOP);
      inst.history.Set(Phase::kFrozen, now);
    }
    InvocationDone(inst, now);
  }
}

void Storm::Attribute(double now) {
  (void)now;
  std::vector<Backend*> pending;
  for (auto& [key, b] : backends_) {
    if (b.instance != 0 || b.leader) continue;
    if (auto it = reported_pids_.find(b.pid); it != reported_pids_.end()) {
      b.instance = it->second;
    } else if (b.client_port > 0) {
      pending.push_back(&b);
    }
  }
  if (pending.empty()) return;
  std::set<pid_t> groups;
  for (const Instance& inst : instances_) {
    if (!inst.waited) groups.insert(inst.pid);
  }
  std::map<int, uint64_t> port_inodes = LocalPortsToInodes(server_port_);
  std::map<uint64_t, pid_t> inode_group;
  for (const auto& [pid, pgid] : ProcessGroupMembers(groups)) {
    for (uint64_t inode : SocketInodes(pid)) inode_group[inode] = pgid;
  }
  std::map<pid_t, int> group_number;
  for (const Instance& inst : instances_) group_number[inst.pid] = inst.number;
  for (Backend* b : pending) {
    auto port = port_inodes.find(b->client_port);
    if (port == port_inodes.end()) continue;
    auto group = inode_group.find(port->second);
    if (group == inode_group.end()) continue;
    b->instance = group_number[group->second];
  }
}

void Storm::Disappeared(const Backend& b, double now) {
  if (b.leader) {
    LeaderGone(b, now);
    return;
  }
  if (b.instance == 0) {
    ++summary_.unattributed_backends;
    return;
  }
  const Instance& inst = instances_[static_cast<size_t>(b.instance - 1)];
  std::optional<Termination> logged;
  if (log_ != nullptr) {
    log_->Poll();
    logged = log_->Find(b.pid, b.start_ms - 5);
  }
  // The harness's own kills are neither reaped zombies nor false kills.
  if (auto fault = fault_targets_.find(BackendKey{b.pid, b.start_ms}); fault != fault_targets_.end()) {
    const std::string name = fault->second;
    fault_targets_.erase(fault);
    if (log_ == nullptr || logged.has_value()) {
      ++summary_.fault_kills;
      ++summary_.fault_kills_by[name];
      Say("  fault: backend ", b.pid, " of instance ", inst.number, " terminated by ", name, " (",
          logged.has_value() ? logged->reason : std::string("terminated"), ") conns=", connections_);
    }
    return;
  }
  bool zombie = false;
  bool false_kill = false;
  std::string reason;
  double when = now;
  if (log_ != nullptr) {
    if (logged.has_value()) {
      when = clock_.FromEpochMs(logged->epoch_ms);
      reason = logged->reason;
      if (inst.EndedAt(when)) {
        // Already gone (exited or killed by the harness): not a kill of a live session.
      } else if (inst.FrozenAt(when)) {
        zombie = true;
      } else {
        false_kill = true;
      }
    } else if (inst.FrozenThroughout(b.last_seen_ms, now) && !inst.EndedAt(now)) {
      zombie = true;  // a frozen process cannot close its connection
      reason = "not in the server log";
    }
  } else if (!inst.EndedAt(now)) {
    if (inst.FrozenAt(now)) {
      zombie = true;
      reason = "terminated";
    } else {
      false_kill = true;
      reason = "terminated";
    }
  }
  if (zombie) {
    ++summary_.zombies_reaped;
    ++summary_.reaped_by[reason];
    zombie_reaped_ms_.push_back(when);
    Say("  reaped: backend ", b.pid, " of instance ", inst.number, ", frozen for ",
        absl::StrFormat("%.1f s", (when - inst.history.SinceAt(when)) / 1000.0), " (", reason, ") conns=",
        connections_);
  } else if (false_kill) {
    ++summary_.false_kills;
    ++summary_.false_kills_by[inst.history.At(when) == Phase::kRunning ? "in_flight"
                                                                       : "answered_not_frozen"];
    Say("  FALSE KILL: backend ", b.pid, " of instance ", inst.number, ", instance alive (",
        InstancePhaseLabel(inst.history.At(when)), "; ",
        reason, ") conns=", connections_);
  }
}

// pg_terminate_backend from the monitor. It does not wait for the backend to
// exit (waiting, with the timeout argument, polls in 100 ms steps and would
// stall the harness's loop and every latency measured meanwhile); an idle
// or sleeping backend exits within milliseconds. The backend is recorded as
// the fault's target whether or not it was still there (one that had gone
// by itself leaves no kill in the log).
bool Storm::Terminate(const Backend& b, const char* fault) {
  if (monitor_ == nullptr || PQstatus(monitor_.get()) != CONNECTION_OK) return false;
  const std::string pid = absl::StrCat(b.pid);
  const char* values[] = {pid.c_str()};
  Result r(PQexecParams(monitor_.get(), "SELECT pg_terminate_backend($1::int)", 1, nullptr, values,
                        nullptr, nullptr, 0));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    Say("fault: ", fault, ": pg_terminate_backend(", b.pid, ") failed: ",
        OneLine(PQresultErrorMessage(r.get())));
    return false;
  }
  fault_targets_[BackendKey{b.pid, b.start_ms}] = fault;
  return true;
}

void Storm::TerminateIdle(Instance& inst, double now) {
  inst.idle_kill_ms = -1;
  auto mine = [&] {
    std::vector<Backend> out;
    for (const auto& [key, b] : backends_) {
      if (b.instance == inst.number) out.push_back(b);
    }
    return out;
  };
  std::vector<Backend> targets = mine();
  if (targets.empty()) {  // opened since the last poll?
    Poll(now);
    targets = mine();
  }
  if (targets.empty()) {
    Say("fault: ", kFaultIdle, ": instance ", inst.number, " has no backend to terminate");
    return;
  }
  for (const Backend& b : targets) {
    Say("fault: ", kFaultIdle, ": terminating backend ", b.pid, " of instance ", inst.number,
        ", frozen for ", absl::StrFormat("%.1f s", (now - inst.history.SinceAt(now)) / 1000.0));
    Terminate(b, kFaultIdle);
  }
}

void Storm::TerminateActive() {
  for (const auto& [key, b] : backends_) {
    if (b.instance == 0 || b.state != "active" || !absl::StrContains(b.query, kWritesTable)) continue;
    Instance& inst = instances_[static_cast<size_t>(b.instance - 1)];
    if (inst.phase() != Phase::kRunning || inst.invocation == 0) continue;
    Invocation& inv = invocations_[static_cast<size_t>(inst.invocation - 1)];
    if (!inv.kill_active || inv.kill_active_done || inv.resolved) continue;
    inv.kill_active_done = true;
    Say("fault: ", kFaultActive, ": terminating backend ", b.pid, " of instance ", inst.number,
        " during the write of #", inv.id);
    Terminate(b, kFaultActive);
  }
}

absl::Status Storm::RestartServer(double now) {
  restart_due_ = -1;
  const char* fault = o_.faults.restart_after_backends ? kFaultRestartAfterBackends : kFaultRestart;
  Poll(now);  // every backend the restart is about to cut off
  for (const auto& [key, b] : backends_) fault_targets_[key] = fault;
  Say("fault: ", fault, ": restarting the server (fast shutdown) at ",
      absl::StrFormat("%.1f s", now / 1000.0), " with ", backends_.size(), " client backends");
  const auto t0 = std::chrono::steady_clock::now();
  absl::Status s = server_->Restart();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("--fault=", fault, ": restarting the server: ", s.message()));
  }
  ++summary_.restarts;
  summary_.restart_ms = ms;
  Say("fault: ", fault, ": the server is back after ", FormatMs(ms));
  if (monitor_ != nullptr) PQreset(monitor_.get());
  return absl::OkStatus();
}

void Storm::Poll(double now) {
  if (monitor_ == nullptr || PQstatus(monitor_.get()) != CONNECTION_OK) {
    if (monitor_ != nullptr) PQreset(monitor_.get());
    if (monitor_ == nullptr || PQstatus(monitor_.get()) != CONNECTION_OK) {
      if (monitor_ok_) Say("monitor: connection lost, retrying every poll");
      monitor_ok_ = false;
      return;
    }
  }
  Result r(PQexec(monitor_.get(), kPollSql));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    if (monitor_ok_) Say("monitor: poll failed: ", OneLine(PQresultErrorMessage(r.get())));
    monitor_ok_ = false;
    return;  // no disappearance is inferred from a failed poll
  }
  if (!monitor_ok_) Say("monitor: polling again");
  monitor_ok_ = true;
  std::set<BackendKey> present;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    Backend b;
    if (!absl::SimpleAtoi(PQgetvalue(r.get(), i, 0), &b.pid)) continue;
    (void)absl::SimpleAtoi(PQgetvalue(r.get(), i, 1), &b.start_ms);
    (void)absl::SimpleAtoi(PQgetvalue(r.get(), i, 2), &b.client_port);
    b.application_name = PQgetvalue(r.get(), i, 3);
    BackendKey key{b.pid, b.start_ms};
    present.insert(key);
    auto [it, inserted] = backends_.emplace(key, b);
    if (inserted) {
      it->second.first_seen_ms = now;
      it->second.leader = leader_key_.has_value() && key == *leader_key_;
      if (!it->second.leader) ++backends_seen_;
    }
    it->second.last_seen_ms = now;
    if (!it->second.application_name.empty() || !b.application_name.empty()) {
      it->second.application_name = b.application_name;
    }
    it->second.state = PQgetvalue(r.get(), i, 4);
    it->second.query = PQgetvalue(r.get(), i, 5);
    if (inserted) {
      it->second.user = PQgetvalue(r.get(), i, 6);
      if (it->second.user == fleet_role_ && !it->second.leader) {
        fleet_backend_starts_.insert(b.start_ms);
      }
    }
  }
  connections_ = static_cast<int>(present.size());
  summary_.peak_connections = std::max(summary_.peak_connections, connections_);
  series_.emplace_back(now, connections_);
  Attribute(now);
  for (auto it = backends_.begin(); it != backends_.end();) {
    if (present.count(it->first) == 0) {
      Disappeared(it->second, now);
      it = backends_.erase(it);
    } else {
      ++it;
    }
  }
  if (o_.faults.terminate_active) TerminateActive();
  if (o_.faults.restart_after_backends && !restart_scheduled_ &&
      backends_seen_ >= *o_.faults.restart_after_backends) {
    restart_scheduled_ = true;
    restart_due_ = now;  // the loop restarts the server at once
    Say("fault: ", kFaultRestartAfterBackends, ": backend ", backends_seen_, " seen at ",
        absl::StrFormat("%.3f s", now / 1000.0));
  }
}

bool Storm::AllSettled() const {
  if (summary_.invocations < o_.invocations || restart_due_ >= 0) return false;
  for (const Instance& inst : instances_) {
    if (inst.phase() == Phase::kRunning || inst.phase() == Phase::kAnswered) return false;
  }
  return true;
}

void Storm::KillAll() {
  const double now = clock_.Now();
  for (Instance& inst : instances_) KillGroup(inst, now);
  // SIGKILL ends stopped processes too; wait for each, bounded.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (Instance& inst : instances_) {
    while (!inst.waited) {
      int status = 0;
      pid_t r = waitpid(inst.pid, &status, WNOHANG);
      if (r == inst.pid || (r < 0 && errno == ECHILD)) {
        inst.waited = true;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "storm: instance #%d (pid %d) did not die after SIGKILL\n",
                     inst.number, static_cast<int>(inst.pid));
        inst.waited = true;
        break;
      }
      usleep(2000);
    }
    for (int* fd : {&inst.out_fd, &inst.in_fd}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }
}

void Storm::WriteSeries() {
  if (series_file_ == nullptr) return;
  std::fprintf(series_file_, "t_ms,connections\n");
  for (const auto& [t, n] : series_) std::fprintf(series_file_, "%.0f,%d\n", t, n);
  std::fclose(series_file_);
  series_file_ = nullptr;
}

absl::StatusOr<StormSummary> Storm::Run() {
  summary_.client = std::string(ClientKindName(o_.client));
  if (o_.client == ClientKind::kCommand) summary_.client_cmd = o_.client_cmd;
  summary_.workload = std::string(WorkloadName(o_.workload));
  summary_.faults = o_.faults.ToString();
  summary_.invocations_per_instance = o_.invocations_per_instance;
  summary_.thaw_after_ms = o_.thaw_after_ms;
  if (absl::Status s = Prepare(); !s.ok()) return s;
  SignalScope signals;
  const int per_instance = o_.invocations_per_instance;
  const int fleet = (o_.invocations + per_instance - 1) / per_instance;
  Say("storm: client=",
      o_.client == ClientKind::kCommand ? absl::StrCat("cmd (", o_.client_cmd, ")")
                                        : summary_.client,
      ", ", o_.invocations, " invocations, ",
      per_instance == 1 ? absl::StrCat("a new instance for each, one every ", o_.interval_ms, " ms")
                        : absl::StrCat(fleet, " instances started one every ", o_.interval_ms,
                                       " ms, each resumed ", o_.thaw_after_ms,
                                       " ms after its freeze for up to ", per_instance,
                                       " invocations"),
      ", frozen ", o_.freeze_delay_ms, " ms after answering, timeout ", o_.timeout_ms, " ms, seed ",
      seed_);
  Say("lease: service=", o_.service, " ttl=", o_.lease_ttl_ms, " ms min_idle=", o_.min_idle_s,
      " s reaper_scheduler=", o_.reaper_scheduler.empty() ? "(library default)" : o_.reaper_scheduler,
      o_.reaper_role ? absl::StrCat(" reaper_role=", o_.reaper_slots, " slots") : "");
  if (o_.faults.any()) Say("faults: ", summary_.faults);
  absl::Status s = o_.dsn.empty() ? StartServer() : UseDsn();
  if (s.ok()) s = ConnectMonitor();
  if (s.ok() && o_.reaper_role) s = SetUpReaperRole();
  if (s.ok() && o_.workload == Workload::kWrite) s = CreateWritesTable();
  if (s.ok() && o_.frozen_leader) s = StartFrozenLeader();  // right before the first instance
  if (!s.ok()) {
    if (series_file_ != nullptr) std::fclose(series_file_);
    series_file_ = nullptr;
    return s;
  }

  clock_ = Clock();  // t = 0: the first instance starts now
  const double start = clock_.Now();
  slots_.resize(static_cast<size_t>(fleet));
  for (int i = 0; i < fleet; ++i) {
    Slot& slot = slots_[static_cast<size_t>(i)];
    slot.size = std::min(per_instance, o_.invocations - i * per_instance);
    slot.next_due = start + static_cast<double>(i) * o_.interval_ms;
  }
  if (o_.faults.restart_at_s) restart_due_ = start + *o_.faults.restart_at_s * 1000.0;
  const double hard_deadline =
      start + static_cast<double>(fleet) * o_.interval_ms +
      static_cast<double>(per_instance) *
          (static_cast<double>(o_.timeout_ms) + o_.freeze_delay_ms + o_.thaw_after_ms) +
      (o_.faults.restart_at_s ? *o_.faults.restart_at_s * 1000.0 : 0.0) + o_.tail_ms + 60000.0;
  double next_poll = start;
  double settled_at = -1;
  absl::Status failure;
  Poll(clock_.Now());
  next_poll = clock_.Now() + o_.poll_ms;
  while (true) {
    if (signals.signal() != 0) {
      summary_.interrupted = true;
      Say("interrupted by signal ", signals.signal(), ": killing every instance");
      break;
    }
    double now = clock_.Now();
    if (now > hard_deadline) {
      Say("harness deadline passed: stopping");
      break;
    }
    if (restart_due_ >= 0 && now >= restart_due_) {
      failure = RestartServer(now);
      if (!failure.ok()) break;
      now = clock_.Now();
    }
    for (Instance& inst : instances_) {
      if (inst.phase() == Phase::kFrozen && inst.idle_kill_ms >= 0 && now >= inst.idle_kill_ms) {
        TerminateIdle(inst, now);
      }
    }
    // New instances on schedule (start + k * interval), warm ones at their thaw.
    failure = StartDue(clock_.Now());
    if (!failure.ok()) break;
    for (Instance& inst : instances_) ReadOutput(inst);
    now = clock_.Now();
    for (Instance& inst : instances_) {
      ReapExit(inst, now);
      Advance(inst, now);
    }
    if (now >= next_poll) {
      Poll(now);
      next_poll = std::max(next_poll + o_.poll_ms, now + 1.0);
    }
    if (AllSettled()) {
      if (settled_at < 0) settled_at = now;
      if (now - settled_at >= o_.tail_ms) break;
    }

    // Sleep until output, a signal, or the next deadline.
    double wake = next_poll;
    for (const Slot& slot : slots_) {
      if (slot.next_due >= 0) wake = std::min(wake, slot.next_due);
    }
    if (restart_due_ >= 0) wake = std::min(wake, restart_due_);
    for (const Instance& inst : instances_) {
      if (inst.phase() == Phase::kRunning && inst.invocation > 0) {
        wake = std::min(wake, invocations_[static_cast<size_t>(inst.invocation - 1)].started_ms +
                                  o_.timeout_ms);
      }
      if (inst.phase() == Phase::kAnswered) wake = std::min(wake, inst.answered_ms + o_.freeze_delay_ms);
      if (inst.phase() == Phase::kFrozen && inst.idle_kill_ms >= 0) wake = std::min(wake, inst.idle_kill_ms);
    }
    std::vector<struct pollfd> fds;
    if (signals.read_fd() >= 0) fds.push_back({signals.read_fd(), POLLIN, 0});
    // An exiting instance wakes us by closing its stdout; exits themselves are
    // seen by waitpid, so once the pipe is closed, check every few ms.
    double cap = o_.poll_ms;
    for (const Instance& inst : instances_) {
      if (inst.out_fd >= 0) fds.push_back({inst.out_fd, POLLIN, 0});
      if (inst.out_fd < 0 && !inst.waited && inst.phase() != Phase::kFrozen) cap = std::min(cap, 5.0);
    }
    const double wait = std::max(0.0, std::min(wake - clock_.Now(), cap));
    ::poll(fds.data(), fds.size(), static_cast<int>(std::ceil(wait)));
    signals.Drain();
  }
  if (!failure.ok()) {
    KillAll();
    WriteSeries();
    return failure;
  }

  // Final state, then tear down.
  const double end = clock_.Now();
  Poll(end);
  for (Invocation& inv : invocations_) {
    if (!inv.resolved) {
      Resolve(inv, false, false, summary_.interrupted ? "interrupted" : "harness deadline", "",
              end - inv.started_ms);
    }
  }
  for (const auto& [key, b] : backends_) {
    if (b.leader) continue;  // reported in frozen_leader
    if (b.instance == 0) {
      ++summary_.unattributed_backends;
      continue;
    }
    const Instance& inst = instances_[static_cast<size_t>(b.instance - 1)];
    if (inst.phase() == Phase::kFrozen) ++summary_.zombies_left;
  }
  summary_.final_connections = connections_;
  SummarizeFullDatabase();
  SummarizeFrozenLeader();
  KillAll();
  WriteSeries();
  if (o_.workload == Workload::kWrite) {
    if (absl::Status counted = CountWrites(); !counted.ok()) return counted;
  }
  summary_.duration_ms = static_cast<int64_t>(end - start);
  summary_.p50_ms = Percentile(latencies_, 50);
  summary_.p99_ms = Percentile(latencies_, 99);
  std::string failures;
  for (const auto& [k, v] : summary_.failures) {
    absl::StrAppend(&failures, failures.empty() ? "" : ", ", k, " x", v);
  }
  Say("done in ", absl::StrFormat("%.1f s", (end - start) / 1000.0), ": ", summary_.ok, " ok, ",
      summary_.failed, " failed", failures.empty() ? "" : absl::StrCat(" (", failures, ")"),
      "; peak ", summary_.peak_connections, " connections, ", summary_.final_connections,
      " at the end; zombies: ", summary_.zombies_reaped, " reaped, ", summary_.zombies_left,
      " left; false kills: ", summary_.false_kills, "; latency p50 ",
      summary_.p50_ms ? FormatMs(*summary_.p50_ms) : "-", ", p99 ",
      summary_.p99_ms ? FormatMs(*summary_.p99_ms) : "-");
  if (summary_.full_at_ms.has_value()) {
    Say("database full at ", absl::StrFormat("%.1f s", *summary_.full_at_ms / 1000.0),
        " (refused connections: ", summary_.refused_connections, "); ",
        summary_.full_recovery_ms.has_value()
            ? absl::StrCat("the fleet got in again ", FormatMs(*summary_.full_recovery_ms), " later")
            : std::string("the fleet never got in again"));
  }
  if (o_.faults.any()) {
    std::string by;
    for (const auto& [k, v] : summary_.fault_kills_by) {
      absl::StrAppend(&by, by.empty() ? "" : ", ", k, " x", v);
    }
    Say("faults: ", summary_.fault_kills, " backends terminated by the harness",
        by.empty() ? "" : absl::StrCat(" (", by, ")"));
  }
  if (o_.workload == Workload::kWrite) {
    Say("writes: ", summary_.rows, " rows; ", summary_.duplicated_invocations,
        " invocations with more than one row, ", summary_.ok_without_row, " ok without a row, ",
        summary_.unknown_outcome, " outcome unknown (", summary_.unknown_with_row,
        " of them wrote their row), ", summary_.failed_with_row,
        " other failures that wrote their row");
  }
  if (summary_.interrupted) summary_.interrupted_signal = signals.signal();
  leader_.reset();
  monitor_.reset();
  server_.reset();  // stops the server and removes its directory
  return summary_;
}

}  // namespace

absl::StatusOr<StormSummary> RunStorm(const StormOptions& options, std::ostream* progress) {
  Storm storm(options, progress);
  return storm.Run();
}

}  // namespace storm
}  // namespace aequor
