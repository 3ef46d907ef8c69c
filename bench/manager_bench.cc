// bench/manager_bench.cc: the manager against raw libpq, on the same server
// and the same kind of socket, in one process.
//
//   bazel run -c opt //bench:manager_bench -- --benchmark_repetitions=15
//       --benchmark_enable_random_interleaving=true
//
// select1/paired and connect/paired report `ratio`: the median of ratios of
// back-to-back batches (manager / raw), the figure quoted in the README.
// The select1 groups time 400 pairs of 200-query batches: with 100, one
// run's median moved by up to 2% between runs on this VM.
// Groups (see bench/ratio_reporter.h for the ratio lines):
//   select1/baseline  PQexecParams("SELECT 1") on a raw connection
//   select1/aequor    ConnectionManager::Query("SELECT 1")
//   select1/aequor_emf  the same with the EMF exporter, Flush() per 1,000
//   select1/paired_emf  select1/paired with the "aequor.exporter.emf" exporter
//                     on (writing to /dev/null) and Flush() once per 1,000
//                     queries, as a Lambda handler would per invocation
//   select1_flush/aequor_emf  one Query and one Flush() per iteration, EMF
//                     on: minus select1/aequor, the cost of a Flush()
//   connect/baseline  PQconnectdbParams + PQfinish
//   connect/aequor    ConnectionManager::Connect + Close (lease signed, no reaper pass)
//   select1/paired_deadline  raw PQexecParams against pg::Run with a deadline
//                     (util/pg.h) on raw connections: what bounding every
//                     statement by a deadline costs
//   connect_fresh/paired_no_probe, connect_fresh/paired_default: a new
//                     manager per connect (a cold instance), without and with
//                     the default scheduler's connect-time probe
//
// A throwaway PostgreSQL is started for the run (unix socket, scram auth),
// or set AEQUOR_BENCH_DSN to use another server.
#include <fcntl.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "api/connection_manager.h"
#include "bench/ratio_reporter.h"
#include "util/pg.h"
#include "benchmark/benchmark.h"
#include "exporters/emf/emf.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

std::string g_dsn;  // set in main before any benchmark runs

// `emf_fd` >= 0: with the EMF exporter writing there. `scheduler`: the
// reaper scheduler (default: never a pass, and no connect-time probe).
std::unique_ptr<ConnectionManager> NewManager(
    int emf_fd = -1, PluginSpec scheduler = PluginSpec("aequor.reaper.probability", {{"p", "0"}}),
    int statement_cache_size = 0) {
  ConnectionManagerBuilder builder;
  builder.mutable_options().statement_cache_size = statement_cache_size;
  builder.SetConninfo(g_dsn)
      .SetService("bench")
      .SetCoordinationSecret("bench-coordination-secret")
      .UseReaperScheduler(std::move(scheduler));
  if (emf_fd >= 0) {
    EmfOptions emf;
    emf.service = "bench";
    emf.fd = emf_fd;
    builder.AddExporter(MakeEmfExporter(std::move(emf)));
  }
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = builder.Build();
  if (!m.ok()) {
    std::fprintf(stderr, "build: %s\n", std::string(m.status().message()).c_str());
    std::abort();
  }
  return *std::move(m);
}

void Select1Baseline(benchmark::State& state) {
  const char* keywords[] = {"dbname", nullptr};
  const char* values[] = {g_dsn.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (PQstatus(conn) != CONNECTION_OK) {
    state.SkipWithError(PQerrorMessage(conn));
    PQfinish(conn);
    return;
  }
  for (auto _ : state) {
    PGresult* r = PQexecParams(conn, "SELECT 1", 0, nullptr, nullptr, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQgetvalue(r, 0, 0)[0] != '1') {
      state.SkipWithError("SELECT 1 failed");
    }
    PQclear(r);
  }
  PQfinish(conn);
}

void Select1Aequor(benchmark::State& state) {
  std::unique_ptr<ConnectionManager> m = NewManager();
  if (absl::Status s = m->Connect(); !s.ok()) {
    state.SkipWithError(std::string(s.message()).c_str());
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<QueryResult> r = m->Query("SELECT 1");
    if (!r.ok() || r->Get(0, 0) != "1") state.SkipWithError("SELECT 1 failed");
  }
}

// select1/aequor with the EMF exporter on (writing to /dev/null) and
// Flush() after every `flush_every` queries.
void Select1AequorEmfFlushingEvery(benchmark::State& state, int flush_every) {
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  std::unique_ptr<ConnectionManager> m = NewManager(devnull);
  if (absl::Status s = m->Connect(); !s.ok()) {
    state.SkipWithError(std::string(s.message()).c_str());
    close(devnull);
    return;
  }
  int queries = 0;
  for (auto _ : state) {
    absl::StatusOr<QueryResult> r = m->Query("SELECT 1");
    if (!r.ok() || r->Get(0, 0) != "1") state.SkipWithError("SELECT 1 failed");
    if (++queries % flush_every == 0 && !m->Flush(absl::Seconds(1)).ok()) {
      state.SkipWithError("Flush failed");
    }
  }
  m.reset();
  close(devnull);
}

void Select1AequorEmf(benchmark::State& state) { Select1AequorEmfFlushingEvery(state, 1000); }

// One Query then one Flush() per iteration: minus select1/aequor, what a
// Flush() at the end of an invocation costs.
void QueryFlushEmf(benchmark::State& state) { Select1AequorEmfFlushingEvery(state, 1); }

void ConnectBaseline(benchmark::State& state) {
  const char* keywords[] = {"dbname", "application_name", nullptr};
  const char* values[] = {g_dsn.c_str(), "bench-baseline", nullptr};
  for (auto _ : state) {
    PGconn* conn = PQconnectdbParams(keywords, values, 1);
    if (PQstatus(conn) != CONNECTION_OK) state.SkipWithError(PQerrorMessage(conn));
    PQfinish(conn);
  }
}

void ConnectAequor(benchmark::State& state) {
  std::unique_ptr<ConnectionManager> m = NewManager();
  for (auto _ : state) {
    if (absl::Status s = m->Connect(); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
    }
    m->Close();
  }
}

// Paired measurement, robust to a busy machine: each iteration times a batch
// on the raw connection and a batch through the manager back to back (order
// alternating), and the counter `ratio` is the median of the per-pair
// ratios, so drift in machine load cancels out.
template <typename Base, typename Variant>
void Paired(benchmark::State& state, int batch, Base base, Variant variant) {
  bench::RunPaired(
      state, [&] { for (int i = 0; i < batch; ++i) base(); },
      [&] { for (int i = 0; i < batch; ++i) variant(); }, batch);
}

// The raw side of the paired SELECT 1 benchmarks.
void RawSelect1(PGconn* conn) {
  PGresult* r = PQexecParams(conn, "SELECT 1", 0, nullptr, nullptr, nullptr, nullptr, 0);
  benchmark::DoNotOptimize(PQgetvalue(r, 0, 0)[0]);
  PQclear(r);
}

void Select1Paired(benchmark::State& state) {
  const char* keywords[] = {"dbname", nullptr};
  const char* values[] = {g_dsn.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  std::unique_ptr<ConnectionManager> m = NewManager();
  if (PQstatus(conn) != CONNECTION_OK || !m->Connect().ok()) {
    state.SkipWithError("connect failed");
    PQfinish(conn);
    return;
  }
  Paired(
      state, 200, [&] { RawSelect1(conn); },
      [&] {
        absl::StatusOr<QueryResult> r = m->Query("SELECT 1");
        benchmark::DoNotOptimize(r->Get(0, 0).data());
      });
  PQfinish(conn);
}

// select1/paired with the EMF exporter on, flushed every 1,000 queries (the
// line goes to /dev/null: the cost measured is the manager's, not a pipe's).
void Select1PairedEmf(benchmark::State& state) {
  const char* keywords[] = {"dbname", nullptr};
  const char* values[] = {g_dsn.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  std::unique_ptr<ConnectionManager> m = NewManager(devnull);
  if (PQstatus(conn) != CONNECTION_OK || devnull < 0 || !m->Connect().ok()) {
    state.SkipWithError("connect failed");
    PQfinish(conn);
    if (devnull >= 0) close(devnull);
    return;
  }
  int queries = 0;
  int flush_errors = 0;
  Paired(
      state, 200, [&] { RawSelect1(conn); },
      [&] {
        absl::StatusOr<QueryResult> r = m->Query("SELECT 1");
        benchmark::DoNotOptimize(r->Get(0, 0).data());
        if (++queries % 1000 == 0) flush_errors += !m->Flush(absl::Seconds(1)).ok();
      });
  if (flush_errors > 0) state.SkipWithError("Flush failed");
  if (m->metrics().queries != queries) state.SkipWithError("the metrics missed queries");
  m.reset();
  PQfinish(conn);
  close(devnull);
}

// Two raw connections: `plain` as the raw side of every pair, and `managed`
// made with the manager's startup options and a lease-sized
// application_name, so that server-side differences are the same as the
// manager's.
struct RawPair {
  RawPair() {
    const char* keywords[] = {"dbname", nullptr};
    const char* values[] = {g_dsn.c_str(), nullptr};
    plain = PQconnectdbParams(keywords, values, 1);
    const char* keywords_b[] = {"dbname", "options", "application_name", nullptr};
    const char* values_b[] = {g_dsn.c_str(), "-c idle_in_transaction_session_timeout=60000",
                              "s=bench;i=AbCdEfGh;e=1795758993526;g=B_9fJ8NP_OE", nullptr};
    managed = PQconnectdbParams(keywords_b, values_b, 1);
  }
  ~RawPair() {
    PQfinish(plain);
    PQfinish(managed);
  }
  PGconn* plain;
  PGconn* managed;
};

// Control for select1/paired: raw libpq against raw libpq on the second
// connection, to tell client overhead from server-side differences.
void Select1PairedControl(benchmark::State& state) {
  RawPair c;
  Paired(
      state, 200, [&] { RawSelect1(c.plain); }, [&] { RawSelect1(c.managed); });
}

// The cost of ending every statement by a deadline (util/pg.h: non-blocking
// send, a socket wait with a timeout) alone: PQexecParams against pg::Run
// with a 15 s deadline, on the two raw connections of the control.
void Select1PairedDeadline(benchmark::State& state) {
  RawPair c;
  Clock* clock = Clock::Real();
  Paired(
      state, 200, [&] { RawSelect1(c.plain); },
      [&] {
        const pg::Deadline deadline(*clock, clock->MonotonicNow() + absl::Seconds(15),
                                    absl::Seconds(1));
        pg::Reply r = pg::Run(c.managed, pg::Statement{"SELECT 1"}, deadline);
        benchmark::DoNotOptimize(PQgetvalue(r.result.get(), 0, 0)[0]);
      });
}

// Pairs batches of 5 raw connects with batches of 5 `aequor_connect` calls.
template <typename AequorConnect>
void PairedAgainstRawConnect(benchmark::State& state, AequorConnect aequor_connect) {
  const char* keywords[] = {"dbname", "application_name", nullptr};
  const char* values[] = {g_dsn.c_str(), "bench-baseline", nullptr};
  Paired(
      state, 5, [&] { PQfinish(PQconnectdbParams(keywords, values, 1)); }, aequor_connect);
}

void ConnectPaired(benchmark::State& state) {
  std::unique_ptr<ConnectionManager> m = NewManager();
  PairedAgainstRawConnect(state, [&] {
    (void)m->Connect();
    m->Close();
  });
}

// A cold instance's connect: a new manager each time, as a new process has.
// With the default scheduler it runs the connect-time probe (one small
// statement; on this empty database it finds nothing to reap, so no pass);
// with p=0 it does not. The difference of the two ratios is the probe.
void ConnectFreshPaired(benchmark::State& state, bool default_scheduler) {
  PairedAgainstRawConnect(state, [&] {
    std::unique_ptr<ConnectionManager> m =
        default_scheduler ? NewManager(-1, DefaultReaperSchedulerSpec()) : NewManager();
    (void)m->Connect();
  });
}
void ConnectFreshNoProbe(benchmark::State& state) { ConnectFreshPaired(state, false); }
void ConnectFreshDefault(benchmark::State& state) { ConnectFreshPaired(state, true); }

BENCHMARK(ConnectFreshNoProbe)
    ->Name("connect_fresh/paired_no_probe")
    ->Iterations(60)
    ->UseRealTime();
BENCHMARK(ConnectFreshDefault)->Name("connect_fresh/paired_default")->Iterations(60)->UseRealTime();

BENCHMARK(Select1Paired)->Name("select1/paired")->Iterations(400)->UseRealTime();
BENCHMARK(Select1PairedEmf)->Name("select1/paired_emf")->Iterations(400)->UseRealTime();
BENCHMARK(Select1PairedControl)->Name("select1/paired_control")->Iterations(400)->UseRealTime();
BENCHMARK(Select1PairedDeadline)->Name("select1/paired_deadline")->Iterations(400)->UseRealTime();
BENCHMARK(ConnectPaired)->Name("connect/paired")->Iterations(60)->UseRealTime();

// A parameterised query with a join to plan, through a manager without and
// with the statement cache (prepared on its second run, by name after).
void ParamQuery(benchmark::State& state, int cache_size) {
  std::unique_ptr<ConnectionManager> m =
      NewManager(-1, PluginSpec("aequor.reaper.probability", {{"p", "0"}}), cache_size);
  if (absl::Status s = m->Connect(); !s.ok()) {
    state.SkipWithError(std::string(s.message()).c_str());
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<QueryResult> r = m->Query(
        "SELECT c.relname, n.nspname, c.relkind FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = $2",
        {"pg_class", "pg_catalog"});
    if (!r.ok() || r->rows() != 1) state.SkipWithError("query failed");
  }
}

BENCHMARK_CAPTURE(ParamQuery, unprepared, 0)->Name("param_query/baseline")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(ParamQuery, prepared, 16)->Name("param_query/prepared")->MinTime(0.5)->UseRealTime();
BENCHMARK(Select1Baseline)->Name("select1/baseline")->MinTime(0.5)->UseRealTime();
BENCHMARK(Select1Aequor)->Name("select1/aequor")->MinTime(0.5)->UseRealTime();
BENCHMARK(Select1AequorEmf)->Name("select1/aequor_emf")->MinTime(0.5)->UseRealTime();
BENCHMARK(QueryFlushEmf)->Name("select1_flush/aequor_emf")->MinTime(0.5)->UseRealTime();
BENCHMARK(ConnectBaseline)->Name("connect/baseline")->MinTime(0.5)->UseRealTime();
BENCHMARK(ConnectAequor)->Name("connect/aequor")->MinTime(0.5)->UseRealTime();

}  // namespace
}  // namespace aequor

int main(int argc, char** argv) {
  std::unique_ptr<aequor::testing::ThrowawayPostgres> server;
  if (const char* dsn = std::getenv("AEQUOR_BENCH_DSN"); dsn != nullptr && dsn[0] != '\0') {
    aequor::g_dsn = dsn;
  } else {
    absl::StatusOr<std::unique_ptr<aequor::testing::ThrowawayPostgres>> started =
        aequor::testing::ThrowawayPostgres::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "starting PostgreSQL: %s\n",
                   std::string(started.status().message()).c_str());
      return 1;
    }
    server = *std::move(started);
    aequor::g_dsn = server->SocketConninfoFor("aequor_app");
  }
  return aequor::bench::RunWithRatios(argc, argv);
}
