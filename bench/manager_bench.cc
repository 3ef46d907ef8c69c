// bench/manager_bench.cc: the manager against raw libpq, on the same server
// and the same kind of socket, in one process.
//
//   bazel run -c opt //bench:manager_bench -- --benchmark_repetitions=15 \
//       --benchmark_enable_random_interleaving=true
//
// Groups (see bench/ratio_reporter.h for the ratio lines):
//   select1/baseline  PQexecParams("SELECT 1") on a raw connection
//   select1/aequor    ConnectionManager::Query("SELECT 1")
//   connect/baseline  PQconnectdbParams + PQfinish
//   connect/aequor    ConnectionManager::Connect + Close (lease signed, no reaper pass)
//
// A throwaway PostgreSQL is started for the run (unix socket, scram auth),
// or set AEQUOR_BENCH_DSN to use another server.
#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "api/connection_manager.h"
#include "bench/ratio_reporter.h"
#include "benchmark/benchmark.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

std::string g_dsn;  // set in main before any benchmark runs

std::unique_ptr<ConnectionManager> NewManager() {
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m =
      ConnectionManagerBuilder()
          .SetConninfo(g_dsn)
          .SetService("bench")
          .SetCoordinationSecret("bench-coordination-secret")
          .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}))
          .Build();
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

BENCHMARK(Select1Baseline)->Name("select1/baseline")->MinTime(0.5)->UseRealTime();
BENCHMARK(Select1Aequor)->Name("select1/aequor")->MinTime(0.5)->UseRealTime();
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
