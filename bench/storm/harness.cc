#include "bench/storm/harness.h"

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
#include "api/plugin.h"
#include "bench/storm/procfs.h"
#include "bench/storm/protocol.h"
#include "bench/storm/server_log.h"
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
    {"max-connections", &StormOptions::max_connections, 4, 10000},
    {"lease-ttl-ms", &StormOptions::lease_ttl_ms, 1000, 86400000},
    {"min-idle-s", &StormOptions::min_idle_s, 0, 86400},
    {"freeze-delay-ms", &StormOptions::freeze_delay_ms, 0, 600000},
    {"timeout-ms", &StormOptions::timeout_ms, 1, 3600000},
    {"poll-ms", &StormOptions::poll_ms, 5, 10000},
    {"tail-ms", &StormOptions::tail_ms, 0, 600000},
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

}  // namespace

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
    if (!seen.insert(name).second) return Bad(name, "given twice");

    if (name == "json-only") {
      if (!value.has_value() || *value == "true" || *value == "1") {
        o.json_only = true;
      } else if (*value == "false" || *value == "0") {
        o.json_only = false;
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
                       name == "seed";
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
  if (absl::StrContains(o.service, '\n') || absl::StrContains(o.service, '\0')) {
    return Bad("service", "must be one line");
  }
  return out;
}

std::string StormHelpText() {
  return R"(storm: plays a serverless fleet against a real PostgreSQL and reports what happened.

Every --interval-ms a new instance process runs one invocation (connect, query,
answer) and is then frozen with SIGSTOP, as a serverless runtime freezes a
container after the handler returns. Its connection stays open on the server
(a zombie) unless something terminates it. At the end every instance is killed
with SIGKILL and the server is stopped.

Usage: storm [--client=aequor|libpq | --client-cmd='...'] [options]

Fleet:
  --client=aequor|libpq   built-in client (default aequor): a ConnectionManager with
                          leases and reaper, or plain libpq (no reaper)
  --client-cmd='CMD'      run CMD through /bin/sh -c as each instance instead
  --invocations=N         instances to start, one invocation each (default 40)
  --interval-ms=MS        between two instance starts (default 400)
  --freeze-delay-ms=MS    from an instance's answer to its SIGSTOP (default 0)
  --timeout-ms=MS         an instance that has not answered by then is killed and
                          counts as failed "timeout" (default 10000)
  --lease-ttl-ms=MS       AEQUOR_LEASE_TTL_MS, 1000.. (default 2000)
  --min-idle-s=S          AEQUOR_MIN_IDLE_S (default 1)
  --service=NAME          AEQUOR_SERVICE (default storm)
  --reaper-scheduler=SPEC AEQUOR_REAPER_SCHEDULER, a plugin spec such as
                          'aequor.reaper.probability(p=1)' (default: the library's,
                          or $AEQUOR_REAPER_SCHEDULER)
  --instance-binary=PATH  storm_instance for the built-in clients (default: found in
                          the runfiles or next to this program)
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
  --seed=N                seeds the throwaway secret and AEQUOR_STORM_SEED
  --json-only             print only the JSON line
  --help                  this text

Instance contract (--client-cmd; the built-in clients obey it too): the environment
has PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE (TCP loopback), AEQUOR_COORDINATION_SECRET
AEQUOR_SERVICE AEQUOR_LEASE_TTL_MS AEQUOR_MIN_IDLE_S [AEQUOR_REAPER_SCHEDULER]
AEQUOR_STORM_INVOCATION AEQUOR_STORM_SEED. The instance prints one line, "ok" or
"fail <SQLSTATE or text>", and is then frozen; lines starting "# " may come before
it ("# pid <backend_pid>" names its backend), other lines are ignored. It may then
block reading stdin (commands "invoke" and "exit", for resumed instances).

Output: a line per invocation ("#12 ok 41.0 ms conns=17") and per terminated
backend, then one JSON line: client, invocations, ok, failed, failures (SQLSTATE or
text -> count), peak_connections (client backends, the monitor excluded),
zombies_reaped (terminated while their instance was frozen), false_kills
(terminated while their instance was alive), p50_ms and p99_ms (from starting the
instance to its answer; timeouts count as --timeout-ms), and more.

Environment: AEQUOR_COORDINATION_SECRET (default: a throwaway secret derived from
the seed), AEQUOR_REAPER_SCHEDULER, STORM_INSTANCE_BINARY.
Exit status: 0 the storm ran (failed invocations are results, not errors), 1 it
could not run, 2 bad options, 128+N interrupted by signal N (JSON still printed).
)";
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

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

std::string JsonCounts(const std::map<std::string, int>& m) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : m) parts.push_back(absl::StrCat(JsonString(k), ":", v));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

std::string JsonMs(const std::optional<double>& v) {
  if (!v.has_value()) return "null";
  return absl::StrFormat("%.1f", *v);
}

}  // namespace

std::string StormSummaryToJson(const StormSummary& s) {
  std::string out = absl::StrCat(
      "{\"client\":", JsonString(s.client), ",\"invocations\":", s.invocations, ",\"ok\":", s.ok,
      ",\"failed\":", s.failed, ",\"failures\":", JsonCounts(s.failures),
      ",\"peak_connections\":", s.peak_connections, ",\"zombies_reaped\":", s.zombies_reaped,
      ",\"false_kills\":", s.false_kills, ",\"p50_ms\":", JsonMs(s.p50_ms),
      ",\"p99_ms\":", JsonMs(s.p99_ms));
  absl::StrAppend(&out, ",\"reaped_by\":", JsonCounts(s.reaped_by),
                  ",\"zombies_left\":", s.zombies_left,
                  ",\"final_connections\":", s.final_connections,
                  ",\"unattributed_backends\":", s.unattributed_backends,
                  ",\"max_connections\":", s.max_connections,
                  ",\"fleet_slots\":", s.fleet_slots,
                  ",\"server_max_connections\":", s.server_max_connections,
                  ",\"superuser_reserved_connections\":", s.superuser_reserved_connections,
                  ",\"server\":", JsonString(s.server),
                  ",\"kill_evidence\":", JsonString(s.kill_evidence), ",\"seed\":", s.seed,
                  ",\"duration_ms\":", s.duration_ms);
  if (!s.client_cmd.empty()) absl::StrAppend(&out, ",\"client_cmd\":", JsonString(s.client_cmd));
  if (!s.series_out.empty()) absl::StrAppend(&out, ",\"series_out\":", JsonString(s.series_out));
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

 private:
  std::chrono::steady_clock::time_point start_;
  int64_t wall_start_ms_;
};

enum class Phase {
  kRunning,   // started, no answer yet
  kAnswered,  // answered, alive, not frozen yet (freeze delay)
  kFrozen,    // SIGSTOPped
  kEnded,     // exited by itself or killed by the harness
};

struct Instance {
  int number = 0;
  pid_t pid = -1;  // also its process group
  int out_fd = -1;
  int in_fd = -1;  // kept open: the future "invoke" command goes here
  std::string buffer;
  std::string last_other_line;
  Phase phase = Phase::kRunning;
  double started_ms = 0;
  double answered_ms = -1;
  double frozen_ms = -1;
  double ended_ms = -1;
  bool waited = false;
  bool resolved = false;  // counted as ok or failed
};

struct Backend {
  int pid = 0;
  int64_t start_ms = 0;  // backend_start, epoch ms
  int client_port = -1;
  std::string application_name;
  int instance = 0;  // 0: not attributed (yet)
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
    "coalesce(application_name, '') FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";

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
  std::vector<std::string> FleetEnvironment(int number) const;
  absl::Status Spawn(int number);
  void ReadOutput(Instance& inst);
  void HandleLine(Instance& inst, absl::string_view line);
  void Resolve(Instance& inst, bool ok, const std::string& key, const std::string& detail,
               double latency_ms);
  void Advance(Instance& inst, double now);
  void ReapExit(Instance& inst, double now);
  void Poll(double now);
  void Attribute(double now);
  void Disappeared(const Backend& b, double now);
  void KillGroup(Instance& inst, double now);
  void KillAll();
  bool AllSettled() const;
  void WriteSeries();

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
  std::vector<Instance> instances_;  // index = number - 1
  std::map<BackendKey, Backend> backends_;
  std::map<int, int> reported_pids_;  // backend pid -> instance number ("# pid N")
  std::set<BackendKey> counted_unattributed_;
  int connections_ = 0;  // at the last good poll
  bool monitor_ok_ = false;
  std::vector<std::pair<double, int>> series_;
  std::vector<double> latencies_;
  std::FILE* series_file_ = nullptr;
};

absl::Status Storm::Prepare() {
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
  return absl::OkStatus();
}

std::vector<std::string> Storm::FleetEnvironment(int number) const {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view name = kv.substr(0, eq);
    // The fleet's connection and lease settings come only from the harness.
    if (absl::StartsWith(name, "PG") || absl::StartsWith(name, "AEQUOR_")) continue;
    env[std::string(name)] = std::string(kv.substr(eq + 1));
  }
  for (const auto& [k, v] : fleet_env_) env[k] = v;
  env[kEnvSecret] = secret_;
  env[kEnvService] = o_.service;
  env[kEnvLeaseTtlMs] = absl::StrCat(o_.lease_ttl_ms);
  env[kEnvMinIdleS] = absl::StrCat(o_.min_idle_s);
  if (!o_.reaper_scheduler.empty()) env[kEnvReaperScheduler] = o_.reaper_scheduler;
  env[kEnvInvocation] = absl::StrCat(number);
  env[kEnvSeed] = absl::StrCat(seed_ + static_cast<uint64_t>(number));
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(absl::StrCat(k, "=", v));
  return out;
}

absl::Status Storm::Spawn(int number) {
  std::vector<std::string> argv;
  if (o_.client == ClientKind::kCommand) {
    argv = {"/bin/sh", "-c", o_.client_cmd};
  } else {
    argv = {instance_binary_, absl::StrCat("--client=", ClientKindName(o_.client))};
  }
  std::vector<std::string> envs = FleetEnvironment(number);
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
  Instance inst;
  inst.number = number;
  inst.pid = pid;
  inst.out_fd = out[0];
  inst.in_fd = in[1];
  inst.started_ms = started;
  instances_.push_back(std::move(inst));
  summary_.invocations = number;
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
      return;
    case InstanceLine::Kind::kOther:
      inst.last_other_line = OneLine(line.substr(0, 200));
      return;
    case InstanceLine::Kind::kOk:
    case InstanceLine::Kind::kFail:
      break;
  }
  if (inst.phase != Phase::kRunning || inst.resolved) return;  // one answer per invocation
  const double now = clock_.Now();
  inst.answered_ms = now;
  inst.phase = Phase::kAnswered;
  Resolve(inst, parsed.kind == InstanceLine::Kind::kOk, parsed.failure_key, parsed.detail,
          now - inst.started_ms);
}

void Storm::Resolve(Instance& inst, bool ok, const std::string& key, const std::string& detail,
                    double latency_ms) {
  if (inst.resolved) return;
  inst.resolved = true;
  latencies_.push_back(latency_ms);
  if (ok) {
    ++summary_.ok;
    Say("#", inst.number, " ok ", FormatMs(latency_ms), " conns=", connections_);
  } else {
    ++summary_.failed;
    ++summary_.failures[key];
    Say("#", inst.number, " fail ", key, " ", FormatMs(latency_ms), " conns=", connections_,
        detail.empty() ? "" : absl::StrCat(" (", detail, ")"));
  }
}

void Storm::KillGroup(Instance& inst, double now) {
  if (inst.waited) return;
  kill(-inst.pid, SIGKILL);
  kill(inst.pid, SIGKILL);
  if (inst.phase != Phase::kEnded) {
    inst.phase = Phase::kEnded;
    inst.ended_ms = now;
  }
}

void Storm::ReapExit(Instance& inst, double now) {
  if (inst.waited) return;
  int status = 0;
  pid_t r = waitpid(inst.pid, &status, WNOHANG);
  if (r != inst.pid) return;
  inst.waited = true;
  ReadOutput(inst);  // an answer written just before exiting
  if (!inst.resolved) {
    std::string key = WIFEXITED(status) ? absl::StrCat("exited ", WEXITSTATUS(status))
                                        : absl::StrCat("killed by signal ", WTERMSIG(status));
    Resolve(inst, false, key, inst.last_other_line, now - inst.started_ms);
  }
  if (inst.phase != Phase::kEnded) {
    inst.phase = Phase::kEnded;
    inst.ended_ms = now;
  }
  // Whatever else of its group is left (a --client-cmd's children) goes too.
  kill(-inst.pid, SIGKILL);
}

void Storm::Advance(Instance& inst, double now) {
  if (inst.phase == Phase::kRunning && now - inst.started_ms >= o_.timeout_ms) {
    Resolve(inst, false, "timeout", "", static_cast<double>(o_.timeout_ms));
    KillGroup(inst, now);
    return;
  }
  if (inst.phase == Phase::kAnswered && now - inst.answered_ms >= o_.freeze_delay_ms) {
    if (inst.waited) {
      inst.phase = Phase::kEnded;
      inst.ended_ms = now;
    } else {
      kill(-inst.pid, SIGSTOP);
      inst.phase = Phase::kFrozen;
      inst.frozen_ms = now;
    }
  }
}

void Storm::Attribute(double now) {
  (void)now;
  std::vector<Backend*> pending;
  for (auto& [key, b] : backends_) {
    if (b.instance != 0) continue;
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
  if (b.instance == 0) {
    ++summary_.unattributed_backends;
    return;
  }
  const Instance& inst = instances_[static_cast<size_t>(b.instance - 1)];
  auto frozen_at = [&](double t) { return inst.frozen_ms >= 0 && inst.frozen_ms <= t; };
  auto ended_at = [&](double t) { return inst.ended_ms >= 0 && inst.ended_ms <= t; };
  bool zombie = false;
  bool false_kill = false;
  std::string reason;
  double when = now;
  if (log_ != nullptr) {
    log_->Poll();
    if (std::optional<Termination> t = log_->Find(b.pid, b.start_ms - 5)) {
      when = clock_.FromEpochMs(t->epoch_ms);
      reason = t->reason;
      if (ended_at(when)) {
        // Already gone (exited or killed by the harness): not a kill of a live session.
      } else if (frozen_at(when)) {
        zombie = true;
      } else {
        false_kill = true;
      }
    } else if (frozen_at(b.last_seen_ms) && !ended_at(now)) {
      zombie = true;  // a frozen process cannot close its connection
      reason = "not in the server log";
    }
  } else if (!ended_at(now)) {
    if (frozen_at(now)) {
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
    Say("  reaped: backend ", b.pid, " of #", inst.number, ", frozen for ",
        absl::StrFormat("%.1f s", (when - inst.frozen_ms) / 1000.0), " (", reason, ") conns=",
        connections_);
  } else if (false_kill) {
    ++summary_.false_kills;
    Say("  FALSE KILL: backend ", b.pid, " of #", inst.number, ", instance alive (",
        inst.phase == Phase::kRunning ? "invocation in flight" : "answered, not frozen yet", "; ",
        reason, ") conns=", connections_);
  }
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
    if (inserted) it->second.first_seen_ms = now;
    it->second.last_seen_ms = now;
    if (!it->second.application_name.empty() || !b.application_name.empty()) {
      it->second.application_name = b.application_name;
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
}

bool Storm::AllSettled() const {
  if (summary_.invocations < o_.invocations) return false;
  for (const Instance& inst : instances_) {
    if (inst.phase == Phase::kRunning || inst.phase == Phase::kAnswered) return false;
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
  if (absl::Status s = Prepare(); !s.ok()) return s;
  SignalScope signals;
  Say("storm: client=",
      o_.client == ClientKind::kCommand ? absl::StrCat("cmd (", o_.client_cmd, ")")
                                        : summary_.client,
      ", ", o_.invocations, " invocations, one every ", o_.interval_ms, " ms, frozen ",
      o_.freeze_delay_ms, " ms after answering, timeout ", o_.timeout_ms, " ms, seed ", seed_);
  Say("lease: service=", o_.service, " ttl=", o_.lease_ttl_ms, " ms min_idle=", o_.min_idle_s,
      " s reaper_scheduler=", o_.reaper_scheduler.empty() ? "(library default)" : o_.reaper_scheduler);
  absl::Status s = o_.dsn.empty() ? StartServer() : UseDsn();
  if (s.ok()) s = ConnectMonitor();
  if (!s.ok()) {
    if (series_file_ != nullptr) std::fclose(series_file_);
    series_file_ = nullptr;
    return s;
  }

  clock_ = Clock();  // t = 0: the first instance starts now
  const double start = clock_.Now();
  const double hard_deadline = start + static_cast<double>(o_.invocations) * o_.interval_ms +
                               o_.timeout_ms + o_.freeze_delay_ms + o_.tail_ms + 60000.0;
  double next_poll = start;
  double settled_at = -1;
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
    // Start the next instance on schedule (start + k * interval).
    if (summary_.invocations < o_.invocations &&
        now >= start + static_cast<double>(summary_.invocations) * o_.interval_ms) {
      if (absl::Status spawn = Spawn(summary_.invocations + 1); !spawn.ok()) {
        KillAll();
        WriteSeries();
        return spawn;
      }
    }
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
    if (summary_.invocations < o_.invocations) {
      wake = std::min(wake, start + static_cast<double>(summary_.invocations) * o_.interval_ms);
    }
    for (const Instance& inst : instances_) {
      if (inst.phase == Phase::kRunning) wake = std::min(wake, inst.started_ms + o_.timeout_ms);
      if (inst.phase == Phase::kAnswered) wake = std::min(wake, inst.answered_ms + o_.freeze_delay_ms);
    }
    std::vector<struct pollfd> fds;
    if (signals.read_fd() >= 0) fds.push_back({signals.read_fd(), POLLIN, 0});
    // An exiting instance wakes us by closing its stdout; exits themselves are
    // seen by waitpid, so once the pipe is closed, check every few ms.
    double cap = o_.poll_ms;
    for (const Instance& inst : instances_) {
      if (inst.out_fd >= 0) fds.push_back({inst.out_fd, POLLIN, 0});
      if (inst.out_fd < 0 && !inst.waited && inst.phase != Phase::kFrozen) cap = std::min(cap, 5.0);
    }
    const double wait = std::max(0.0, std::min(wake - clock_.Now(), cap));
    ::poll(fds.data(), fds.size(), static_cast<int>(std::ceil(wait)));
    signals.Drain();
  }

  // Final state, then tear down.
  const double end = clock_.Now();
  Poll(end);
  for (Instance& inst : instances_) {
    if (!inst.resolved) {
      Resolve(inst, false, summary_.interrupted ? "interrupted" : "harness deadline", "",
              end - inst.started_ms);
    }
  }
  for (const auto& [key, b] : backends_) {
    if (b.instance == 0) {
      ++summary_.unattributed_backends;
      continue;
    }
    const Instance& inst = instances_[static_cast<size_t>(b.instance - 1)];
    if (inst.phase == Phase::kFrozen) ++summary_.zombies_left;
  }
  summary_.final_connections = connections_;
  KillAll();
  WriteSeries();
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
  if (summary_.interrupted) summary_.interrupted_signal = signals.signal();
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
