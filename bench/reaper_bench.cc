// bench/reaper_bench.cc: the cost of one reaper pass as a function of the
// number of leased sessions of the service in pg_stat_activity (0 to 2,000),
// and where that time goes.
//
//   bazel build -c opt //bench:reaper_bench
//   bazel-bin/bench/reaper_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//       --benchmark_out=reaper.json --benchmark_out_format=json
//   python3 tools/bench_plot/reaper_pass_cost.py reaper.json --svg docs/reaper-pass-cost.svg
//
// One throwaway PostgreSQL 15 with max_connections = the largest size + 100.
// The leased sessions are idle libpq connections of this process (role
// aequor_app, like the reaper's own connection). They are opened in parallel
// and kept from one benchmark to the next, so 2,000 of them are opened once
// per size, not once per run: Ensure() opens or closes sessions until exactly
// the wanted number, of the wanted kind, is in pg_stat_activity.
//
// Benchmarks (ratio lines compare each with pass/baseline):
//   pass/baseline          a `SELECT 1` round trip on the reaper's connection
//   pass/live/N            a whole pass (lock, scan, verify, commit) over N
//                          sessions with valid, unexpired leases: it verifies
//                          every tag and kills none. The steady-state cost.
//   pass/scan/N            the pass's two scan statements alone, as the pass
//                          sends them (pg_stat_clear_snapshot(), then the
//                          scan, N rows to the client), outside a transaction
//   pass/scan_server/N     the same scan counted on the server
//                          (SELECT count(*) FROM (scan)): the server's share,
//                          without sending and parsing the rows
//   pass/verify/N          the client's share: read the N rows of a scan
//                          result and decide each (ReapDecision: parse, HMAC
//                          verify, expiry), no I/O
//   pass/zombies/N         a whole pass over N idle sessions whose leases all
//                          expired: every row is a candidate, the pass sorts
//                          them and kills reap_max_kills (10). The 10 are
//                          replaced by new expired sessions with the timer
//                          paused, once their connections closed (the backend
//                          has exited by then), so every pass sees N. 30
//                          iterations (the untimed refill dominates the run).
//   pass/kill_all/K        a whole pass that kills all K (10, 50, 100) expired
//                          sessions (max_kills = K), as under pressure; the K
//                          are re-created with the timer paused. 10 iterations.
//
// The kill passes' time is wall time on a server with the same cores: it
// includes the signalled backends' exits competing with the pass's last
// round trips. Every benchmark runs its operation once untimed first (a dry
// run for the kill passes), so the reaper backend's caches are warm.
//
// The scan statement is copied from Pass::Scan() in core/reaper.cc (it is not
// exported); keep the two in step.
//
// Flags besides Google Benchmark's: --max_sessions=N (default 2000) registers
// only sizes <= N and starts the server with max_connections = N + 100, e.g.
// --max_sessions=250 for the server size of earlier runs.
#include <libpq-fe.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/lease.h"
#include "bench/ratio_reporter.h"
#include "benchmark/benchmark.h"
#include "core/reaper.h"
#include "signers/hmac_sha256_botan.h"
#include "testing/throwaway_postgres.h"
#include "util/pg.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "reaper-bench-secret-0123456789";
constexpr char kService[] = "bench";
// Connections being opened at once (each costs a fork and a SCRAM exchange).
constexpr size_t kInFlight = 32;
constexpr absl::Duration kWaitLimit = absl::Seconds(60);

testing::ThrowawayPostgres* g_server = nullptr;

const LeaseSigner& Signer() {
  static const LeaseSigner* const signer = NewHmacSha256BotanSigner(Secret(kSecret))->release();
  return *signer;
}

// Mirrors Pass::Scan() in core/reaper.cc.
std::string ScanSql() {
  return absl::StrCat("SELECT ", kSessionColumnsSql,
                      " FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid"
                      " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
                      " AND coalesce(a.backend_type, 'client backend') = 'client backend'"
                      " AND left(a.application_name, length($1)) = $1");
}

std::string ScanPrefix() { return absl::StrCat("s=", kService, ";"); }

pg::Result ExecScan(PGconn* conn, const std::string& sql) {
  const std::string prefix = ScanPrefix();
  const char* values[] = {prefix.c_str()};
  return pg::Result(PQexecParams(conn, sql.c_str(), 1, nullptr, values, nullptr, nullptr, 0));
}

void IgnoreNotice(void*, const char*) {}

pg::Conn ConnectBlocking(const std::string& application_name) {
  const std::string conninfo = g_server->SocketConninfoFor(testing::ThrowawayPostgres::kAppRole);
  const char* kw[] = {"dbname", "application_name", nullptr};
  const char* vals[] = {conninfo.c_str(), application_name.c_str(), nullptr};
  return pg::Conn(PQconnectdbParams(kw, vals, 1));
}

ReaperSettings Settings(int max_kills) {
  ReaperSettings settings;
  settings.service = kService;
  settings.min_idle = absl::ZeroDuration();
  settings.max_kills = max_kills;
  return settings;
}

// The leased sessions currently open: all of one kind.
class Fleet {
 public:
  enum class Kind { kLive, kExpired };

  // Exactly `n` sessions of `kind` (closing the others), and waits until the
  // server's pg_stat_activity shows exactly those n.
  absl::Status Ensure(Kind kind, int n) {
    if (kind != kind_) {
      conns_.clear();
      kind_ = kind;
    }
    if (static_cast<int>(conns_.size()) > n) conns_.resize(static_cast<size_t>(n));
    if (static_cast<int>(conns_.size()) < n) {
      absl::Status opened = Open(n - static_cast<int>(conns_.size()));
      if (!opened.ok()) return opened;
    }
    return WaitForServerCount(n);
  }

  // Waits until `count` sessions were closed by the server (their sockets
  // reached end of file, so their backends have exited), then opens as many
  // new sessions of the same kind in their place.
  absl::Status ReplaceTerminated(int count) {
    const absl::Time deadline = absl::Now() + kWaitLimit;
    int closed = 0;
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    while (closed < count) {
      fds.clear();
      index.clear();
      for (size_t i = 0; i < conns_.size(); ++i) {
        if (conns_[i] == nullptr) continue;
        fds.push_back({PQsocket(conns_[i].get()), POLLIN, 0});
        index.push_back(i);
      }
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (left <= 0) {
        return absl::DeadlineExceededError(
            absl::StrCat("only ", closed, " of ", count, " terminated sessions closed"));
      }
      if (poll(fds.data(), fds.size(), static_cast<int>(left)) < 0) {
        return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
      }
      for (size_t j = 0; j < fds.size(); ++j) {
        if (fds[j].revents == 0) continue;
        pg::Conn& c = conns_[index[j]];
        // Reads the FATAL "terminating connection" notice, then end of file.
        if (PQconsumeInput(c.get()) == 0 || PQstatus(c.get()) == CONNECTION_BAD) {
          c.reset();
          ++closed;
        }
      }
    }
    conns_.erase(std::remove(conns_.begin(), conns_.end(), nullptr), conns_.end());
    return Open(count);
  }

 private:
  std::string NextLease() {
    const absl::Time expires =
        absl::Now() + (kind_ == Kind::kLive ? absl::Hours(1) : -absl::Hours(1));
    absl::StatusOr<std::string> lease = SignLease(
        Signer(), kService, absl::StrCat("inst", next_instance_++), absl::ToUnixMillis(expires));
    return lease.ok() ? *lease : std::string();
  }

  // Opens `n` sessions, kInFlight at a time, with non-blocking libpq.
  absl::Status Open(int n) {
    const std::string conninfo = g_server->SocketConninfoFor(testing::ThrowawayPostgres::kAppRole);
    struct Pending {
      pg::Conn conn;
      PostgresPollingStatusType want;
    };
    std::vector<Pending> pending;
    std::vector<pollfd> fds;
    int started = 0;
    while (started < n || !pending.empty()) {
      while (started < n && pending.size() < kInFlight) {
        const std::string lease = NextLease();
        const char* kw[] = {"dbname", "application_name", nullptr};
        const char* vals[] = {conninfo.c_str(), lease.c_str(), nullptr};
        pg::Conn c(PQconnectStartParams(kw, vals, 1));
        if (c == nullptr || PQstatus(c.get()) == CONNECTION_BAD) {
          return absl::UnavailableError(absl::StrCat("connecting: ", pg::ErrorMessage(c.get())));
        }
        PQsetNoticeProcessor(c.get(), IgnoreNotice, nullptr);
        pending.push_back({std::move(c), PGRES_POLLING_WRITING});
        ++started;
      }
      fds.clear();
      for (const Pending& p : pending) {
        fds.push_back({PQsocket(p.conn.get()),
                       static_cast<short>(p.want == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0});
      }
      const int ready =
          poll(fds.data(), fds.size(), static_cast<int>(absl::ToInt64Milliseconds(kWaitLimit)));
      if (ready < 0) return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
      if (ready == 0) return absl::DeadlineExceededError("connecting: no progress in 60 s");
      for (size_t i = fds.size(); i-- > 0;) {
        if (fds[i].revents == 0) continue;
        Pending& p = pending[i];
        p.want = PQconnectPoll(p.conn.get());
        if (p.want == PGRES_POLLING_FAILED) {
          return absl::UnavailableError(
              absl::StrCat("connecting: ", pg::ErrorMessage(p.conn.get())));
        }
        if (p.want == PGRES_POLLING_OK) {
          conns_.push_back(std::move(p.conn));
          pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status WaitForServerCount(int n) {
    const std::string sql =
        absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE left(application_name, ",
                     ScanPrefix().size(), ") = '", ScanPrefix(), "'");
    const absl::Time deadline = absl::Now() + kWaitLimit;
    std::string seen;
    while (absl::Now() < deadline) {  // each query is a new connection: no spin
      absl::StatusOr<std::string> count = g_server->AdminQuery(sql);
      if (!count.ok()) return count.status();
      seen = *count;
      if (seen == absl::StrCat(n)) return absl::OkStatus();
    }
    return absl::DeadlineExceededError(
        absl::StrCat("pg_stat_activity shows ", seen, " sessions, want ", n));
  }

  Kind kind_ = Kind::kLive;
  std::vector<pg::Conn> conns_;
  int next_instance_ = 0;
};

Fleet& TheFleet() {
  static Fleet* const fleet = new Fleet();
  return *fleet;
}

// The reaper's connection, shared by every benchmark.
PGconn* Reaper() {
  static PGconn* const conn = ConnectBlocking("bench-reaper").release();
  return conn;
}

bool Ready(benchmark::State& state, Fleet::Kind kind, int n) {
  if (PQstatus(Reaper()) != CONNECTION_OK) {
    state.SkipWithError(pg::ErrorMessage(Reaper()).c_str());
    return false;
  }
  absl::Status s = TheFleet().Ensure(kind, n);
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  return s.ok();
}

void Baseline(benchmark::State& state) {
  if (!Ready(state, Fleet::Kind::kLive, 0)) return;
  PQclear(PQexec(Reaper(), "SELECT 1"));  // warm-up, untimed
  for (auto _ : state) PQclear(PQexec(Reaper(), "SELECT 1"));
}

void Live(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  if (!Ready(state, Fleet::Kind::kLive, n)) return;
  const ReaperSettings settings = Settings(10);
  RunReaperPass(Reaper(), settings, Signer(), *Clock::Real());  // warm-up, untimed
  for (auto _ : state) {
    ReapReport report = RunReaperPass(Reaper(), settings, Signer(), *Clock::Real());
    if (report.outcome != ReapOutcome::kCompleted || report.scanned != n || report.killed != 0) {
      state.SkipWithError(absl::StrCat("unexpected pass: scanned ", report.scanned, ", killed ",
                                       report.killed, " ", report.message)
                              .c_str());
      break;
    }
  }
  state.counters["sessions"] = n;
}

void Scan(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  if (!Ready(state, Fleet::Kind::kLive, n)) return;
  const std::string sql = ScanSql();
  ExecScan(Reaper(), sql);  // warm-up, untimed
  for (auto _ : state) {
    pg::Result clear(PQexec(Reaper(), "SELECT pg_stat_clear_snapshot()"));
    pg::Result rows = ExecScan(Reaper(), sql);
    if (PQresultStatus(rows.get()) != PGRES_TUPLES_OK || PQntuples(rows.get()) != n) {
      state.SkipWithError(pg::ErrorMessage(Reaper()).c_str());
      break;
    }
  }
  state.counters["sessions"] = n;
}

void ScanServer(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  if (!Ready(state, Fleet::Kind::kLive, n)) return;
  const std::string sql = absl::StrCat("SELECT count(*) FROM (", ScanSql(), ") s");
  const std::string want = absl::StrCat(n);
  ExecScan(Reaper(), sql);  // warm-up, untimed
  for (auto _ : state) {
    pg::Result clear(PQexec(Reaper(), "SELECT pg_stat_clear_snapshot()"));
    pg::Result count = ExecScan(Reaper(), sql);
    if (PQresultStatus(count.get()) != PGRES_TUPLES_OK || PQgetvalue(count.get(), 0, 0) != want) {
      state.SkipWithError(pg::ErrorMessage(Reaper()).c_str());
      break;
    }
  }
  state.counters["sessions"] = n;
}

void Verify(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  if (!Ready(state, Fleet::Kind::kLive, n)) return;
  pg::Result rows = ExecScan(Reaper(), ScanSql());
  if (PQresultStatus(rows.get()) != PGRES_TUPLES_OK || PQntuples(rows.get()) != n) {
    state.SkipWithError(pg::ErrorMessage(Reaper()).c_str());
    return;
  }
  const ReaperSettings settings = Settings(10);
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      SessionRow row = ReadSessionRow(rows.get(), i);
      const char* reason = ReapDecision(row, settings, Signer(), /*reaper_is_superuser=*/false);
      if (reason != skip_reason::kNotExpired) {
        state.SkipWithError(absl::StrCat("row ", i, ": ", reason ? reason : "candidate").c_str());
        return;
      }
      benchmark::DoNotOptimize(reason);
    }
  }
  state.counters["sessions"] = n;
}

// A whole pass over n expired sessions that kills `kills` of them; they are
// replaced with the timer paused.
void KillPass(benchmark::State& state, int n, int kills) {
  if (!Ready(state, Fleet::Kind::kExpired, n)) return;
  const ReaperSettings settings = Settings(kills);
  ReaperSettings dry_run = settings;
  dry_run.dry_run = true;
  RunReaperPass(Reaper(), dry_run, Signer(), *Clock::Real());  // warm-up, kills none
  for (auto _ : state) {
    ReapReport report = RunReaperPass(Reaper(), settings, Signer(), *Clock::Real());
    state.PauseTiming();
    if (report.outcome != ReapOutcome::kCompleted || report.scanned != n ||
        report.killed != kills) {
      state.SkipWithError(absl::StrCat("unexpected pass: scanned ", report.scanned, " of ", n,
                                       ", killed ", report.killed, " of ", kills, " ",
                                       report.message)
                              .c_str());
      break;  // no ResumeTiming() after an error: Google Benchmark forbids it
    }
    absl::Status replaced = TheFleet().ReplaceTerminated(kills);
    if (!replaced.ok()) {
      state.SkipWithError(replaced.ToString().c_str());
      break;
    }
    state.ResumeTiming();
  }
  state.counters["sessions"] = n;
  state.counters["killed"] = kills;
}

void Zombies(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  KillPass(state, n, std::min(n, 10));
}

void KillAll(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  KillPass(state, k, k);
}

void Register(int max_sessions) {
  const std::vector<int> sizes = {0, 25, 100, 250, 1000, 2000};
  benchmark::RegisterBenchmark("pass/baseline", Baseline)->UseRealTime();
  // Per size, all the live-session benchmarks, so each size is opened once.
  for (int n : sizes) {
    if (n > max_sessions) break;
    benchmark::RegisterBenchmark("pass/live", Live)->Arg(n)->UseRealTime();
    benchmark::RegisterBenchmark("pass/scan", Scan)->Arg(n)->UseRealTime();
    benchmark::RegisterBenchmark("pass/scan_server", ScanServer)->Arg(n)->UseRealTime();
    if (n > 0) benchmark::RegisterBenchmark("pass/verify", Verify)->Arg(n)->UseRealTime();
  }
  // Each iteration replaces the killed sessions (tens of ms, untimed): a
  // fixed count keeps the run's length bounded.
  for (int n : sizes) {
    if (n == 0 || n > max_sessions) continue;
    benchmark::RegisterBenchmark("pass/zombies", Zombies)->Arg(n)->Iterations(30)->UseRealTime();
  }
  for (int k : {10, 50, 100}) {
    if (k > max_sessions) continue;
    benchmark::RegisterBenchmark("pass/kill_all", KillAll)->Arg(k)->Iterations(10)->UseRealTime();
  }
}

// Every session is a file descriptor of this process.
bool RaiseFileLimit(rlim_t needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= needed) return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) return false;
  limit.rlim_cur = needed;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

}  // namespace
}  // namespace aequor

int main(int argc, char** argv) {
  int max_sessions = 2000;
  // Takes --max_sessions=N out of argv before Google Benchmark sees it.
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (absl::ConsumePrefix(&arg, "--max_sessions=")) {
      if (!absl::SimpleAtoi(arg, &max_sessions) || max_sessions < 0) {
        std::fprintf(stderr, "--max_sessions: want a number >= 0\n");
        return 2;
      }
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  if (!aequor::RaiseFileLimit(static_cast<rlim_t>(max_sessions) + 200)) {
    std::fprintf(stderr, "RLIMIT_NOFILE is below %d and cannot be raised: ulimit -n\n",
                 max_sessions + 200);
    return 1;
  }
  aequor::testing::ThrowawayPostgresOptions options;
  // The sessions, the reaper, the admin queries, and room for the sessions
  // that replace killed ones while those exit.
  options.max_connections = max_sessions + 100;
  auto server = aequor::testing::ThrowawayPostgres::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "starting PostgreSQL: %s\n", server.status().ToString().c_str());
    return 1;
  }
  aequor::g_server = server->get();
  aequor::Register(max_sessions);
  return aequor::bench::RunWithRatios(argc, argv);
}
