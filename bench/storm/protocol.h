// bench/storm/protocol.h: the contract between the storm harness and one
// instance process (a built-in client, storm_instance, or any --client-cmd).
//
// Environment (set by the harness for every instance):
//   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE   where to connect (TCP loopback)
//   AEQUOR_COORDINATION_SECRET AEQUOR_SERVICE    lease settings
//   AEQUOR_LEASE_TTL_MS AEQUOR_MIN_IDLE_S
//   AEQUOR_REAPER_SCHEDULER                      plugin spec text (only when set)
//   AEQUOR_REAPER_CONNINFO                       --reaper-role only: the conninfo of a
//                                                role with its own headroom, for the
//                                                emergency pass when a connect fails
//                                                with 53300 (holds a password: never
//                                                print it)
//   AEQUOR_STORM_INVOCATION                      1-based id of the instance's first
//                                                invocation
//   AEQUOR_STORM_INSTANCE                        1-based number of this instance
//   AEQUOR_STORM_SEED                            per-instance seed (run seed + instance)
//   AEQUOR_STORM_WORKLOAD                        "read" or "write" (see below)
//   AEQUOR_STORM_WRITE_DELAY_S                   write workload, only with the fault
//                                                terminate-active: seconds the write
//                                                statement waits (pg_sleep) before it
//                                                inserts, so that the harness sees it
//                                                in flight
// With --invocations-per-instance=1 the instance number and the invocation id
// are the same (one invocation per instance).
//
// Workloads. read: one statement that reads (the built-in clients run
// SELECT 1 or SELECT pg_backend_pid()). write: one autocommit INSERT of one
// row carrying the invocation id into storm_writes (created by the harness):
//   INSERT INTO storm_writes (invocation, instance) VALUES (<id>, <instance>)
// or, with AEQUOR_STORM_WRITE_DELAY_S=D,
//   INSERT INTO storm_writes (invocation, instance) SELECT <id>, <instance> FROM pg_sleep(D)
// The statement must mention storm_writes: the fault terminate-active kills
// backends seen `active` running such a statement.
//
// Standard output, one line per message:
//   ok                         the invocation succeeded
//   fail <SQLSTATE> <text>     it failed and the SQLSTATE is known (e.g. 53300)
//   fail <text>                it failed, no SQLSTATE (the text is the key)
//   fail unknown_outcome <text>  the connection was lost after the write was
//                              sent: it may or may not have taken effect (the
//                              key is "unknown_outcome"; counted as failed)
//   # pid <backend_pid>        optional, before the answer: the backend serving it
//   # reap source=<s> ... killed=<n> ...
//                              optional: a reaper pass ran in this instance
//                              (<s>: connect, invocation, emergency, ...) and
//                              terminated <n> sessions; optional words
//                              outcome=<completed|busy|error> and
//                              frozen_leader_killed=<0|1> (it terminated a
//                              frozen leader holding the lock, one of the <n>);
//                              other key=value words are ignored. Summed into
//                              reaper_passes and reaper_kills by source.
//   # <anything>               optional comment, shown nowhere, ignored
// Every other line is ignored. The first `ok`/`fail` line ends the invocation;
// the harness then freezes the process group with SIGSTOP (after
// --freeze-delay-ms). Standard error is passed through to the harness's.
//
// Standard input, commands for instances that are resumed (after SIGCONT) for
// a warm invocation (--thaw-after-ms, --invocations-per-instance):
//   invoke <id>  run one more invocation, with invocation id <id>, on the same
//                process, answer as above (a bare "invoke": the previous id + 1)
//   exit         close the connection and exit 0 (end of file does the same)
// The harness sends "invoke <id>" right after SIGCONT; it never sends "exit"
// (it SIGKILLs every instance at the end, as a runtime does).
//
// Service instances (storm_instance --client=aequor-pool, the service mode):
// a long-running service with an aequor::Pool of AEQUOR_STORM_POOL_SIZE
// connections (min_size = max_size, so that some are idle and their leases
// are renewed by the pool's maintenance) and AEQUOR_STORM_WORKERS threads,
// each sending SELECT pg_backend_pid() every
// AEQUOR_STORM_REQUEST_INTERVAL_MS through Pool::Query. It prints
//   # instance <id>            first: the instance id its leases carry
//   ready                      once its pool is open
//   # served <n> failed <m> acquire_timeouts <t> idle_renewals <r> size <s> idle <i>
//                              every 250 ms, cumulative (the last one wins)
//   # error <text>             a failed request (the first 20, then every 100th)
//   # reap ...                 as above, for every pass its pool ran
// and runs until "exit" on its stdin (or end of file): it then stops its
// workers, closes its pool, prints a last "# served ..." and exits 0. The
// harness freezes and resumes it with SIGSTOP and SIGCONT alone.
//
// Thread-safety: pure functions.
#ifndef AEQUOR_BENCH_STORM_PROTOCOL_H_
#define AEQUOR_BENCH_STORM_PROTOCOL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

inline constexpr char kEnvSecret[] = "AEQUOR_COORDINATION_SECRET";
inline constexpr char kEnvService[] = "AEQUOR_SERVICE";
inline constexpr char kEnvLeaseTtlMs[] = "AEQUOR_LEASE_TTL_MS";
inline constexpr char kEnvMinIdleS[] = "AEQUOR_MIN_IDLE_S";
inline constexpr char kEnvReaperScheduler[] = "AEQUOR_REAPER_SCHEDULER";
inline constexpr char kEnvReaperConninfo[] = "AEQUOR_REAPER_CONNINFO";
inline constexpr char kEnvInvocation[] = "AEQUOR_STORM_INVOCATION";
inline constexpr char kEnvSeed[] = "AEQUOR_STORM_SEED";
inline constexpr char kEnvInstance[] = "AEQUOR_STORM_INSTANCE";
inline constexpr char kEnvWorkload[] = "AEQUOR_STORM_WORKLOAD";
inline constexpr char kEnvWriteDelayS[] = "AEQUOR_STORM_WRITE_DELAY_S";
// The service mode (--client=aequor-pool; see "Service instances" above).
inline constexpr char kEnvPoolSize[] = "AEQUOR_STORM_POOL_SIZE";
inline constexpr char kEnvWorkers[] = "AEQUOR_STORM_WORKERS";
inline constexpr char kEnvRequestIntervalMs[] = "AEQUOR_STORM_REQUEST_INTERVAL_MS";
// The service mode's reaper schedule when --reaper-scheduler is not given:
// a pass a second (jittered) in each instance, asked by its pool's
// maintenance round.
inline constexpr char kServiceReaperScheduler[] = "aequor.reaper.periodic(interval_ms=1000)";

// The table of the write workload, and the failure key of an answer
// "fail unknown_outcome ...".
inline constexpr char kWritesTable[] = "storm_writes";
inline constexpr char kUnknownOutcome[] = "unknown_outcome";

inline constexpr char kCommandInvoke[] = "invoke";
inline constexpr char kCommandExit[] = "exit";

// "# reap source=<s> ... killed=<n>": a reaper pass an instance ran.
struct ReapComment {
  std::string source;  // "connect", "invocation", "emergency", ...
  int killed = 0;
  std::string outcome;  // "completed", "busy", "error"; "" when not given
  // frozen_leader_killed=1: the pass terminated a frozen leader holding the
  // lock (counted in `killed` too).
  bool frozen_leader_killed = false;
};

// One line an instance printed.
struct InstanceLine {
  enum class Kind {
    kOther,    // not part of the protocol: ignored
    kComment,  // "# ..." (backend_pid set for "# pid N")
    kOk,       // "ok"
    kFail,     // "fail ..."
  };
  Kind kind = Kind::kOther;
  // kFail: the SQLSTATE when the text starts with one, "unknown_outcome" when
  // it starts with that word, else the text itself (trimmed, cut to at most
  // 80 bytes at a word boundary; a first word longer than that stays whole).
  // "fail" alone gives "unspecified".
  std::string failure_key;
  // kFail: the answer was "fail unknown_outcome ...".
  bool outcome_unknown = false;
  // kFail: the rest of the text after the SQLSTATE or "unknown_outcome"
  // ("" when none).
  std::string detail;
  // kComment "# pid N": N.
  std::optional<int> backend_pid;
  // kComment "# reap source=S ... killed=N".
  std::optional<ReapComment> reap;
};

// Parses one line (without its newline; a trailing '\r' is ignored).
InstanceLine ParseInstanceLine(absl::string_view line);

// True for five characters of [0-9A-Z], the shape of a SQLSTATE.
bool LooksLikeSqlState(absl::string_view token);

// The command that resumes an instance for invocation `id`: "invoke <id>".
std::string InvokeCommand(int id);

// The id of an "invoke" command line: `id` for "invoke <id>", `previous` + 1
// for a bare "invoke", nullopt for anything else (not an invoke command, or
// a malformed id).
std::optional<int> ParseInvokeCommand(absl::string_view line, int previous);

// The write statement of the write workload (see above); `delay_s` > 0 adds
// the pg_sleep. Ids are integers, so they are written into the text.
std::string WriteStatement(int invocation, int instance, double delay_s);

// The line a client prints for a failure: "fail <sqlstate> <message>" or
// "fail <message>" when `sqlstate` is empty. The message is reduced to one
// line (libpq's "FATAL:  " prefix and newlines removed).
std::string FailLine(absl::string_view sqlstate, absl::string_view message);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_PROTOCOL_H_
