// bench/manager_bench.cc: the manager against raw libpq, on the same server
// and the same kind of socket, in one process.
//
//   bazel run -c opt //bench:manager_bench -- --benchmark_repetitions=15
//       --benchmark_enable_random_interleaving=true
//
// select1/paired and connect/paired report `ratio`: the median of ratios of
// back-to-back batches (manager / raw), the figure quoted in the README.
// Groups (see bench/ratio_reporter.h for the ratio lines):
//   select1/baseline  PQexecParams("SELECT 1") on a raw connection
//   select1/aequor    ConnectionManager::Query("SELECT 1")
//   connect/baseline  PQconnectdbParams + PQfinish
//   connect/aequor    ConnectionManager::Connect + Close (lease signed, no reaper pass)
//
// A throwaway PostgreSQL is started for the run (unix socket, scram auth),
// or set AEQUOR_BENCH_DSN to use another server.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
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

// Paired measurement, robust to a busy machine: each iteration times a batch
// on the raw connection and a batch through the manager back to back (order
// alternating), and the counter `ratio` is the median of the per-pair
// ratios, so drift in machine load cancels out.
template <typename Base, typename Variant>
void Paired(benchmark::State& state, int batch, Base base, Variant variant) {
  std::vector<double> ratios, base_times, variant_times;
  bool base_first = true;
  for (auto _ : state) {
    auto time = [&](auto& fn) {
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < batch; ++i) fn();
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    double b, v;
    if (base_first) {
      b = time(base);
      v = time(variant);
    } else {
      v = time(variant);
      b = time(base);
    }
    base_first = !base_first;
    ratios.push_back(v / b);
    base_times.push_back(b);
    variant_times.push_back(v);
  }
  std::sort(ratios.begin(), ratios.end());
  if (!ratios.empty()) state.counters["ratio"] = ratios[ratios.size() / 2];
  std::sort(base_times.begin(), base_times.end());
  std::sort(variant_times.begin(), variant_times.end());
  if (!base_times.empty()) {
    state.counters["base_us"] = base_times[base_times.size() / 2] / batch * 1e6;
    state.counters["variant_us"] = variant_times[variant_times.size() / 2] / batch * 1e6;
  }
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
      state, 200,
      [&] {
        PGresult* r = PQexecParams(conn, "SELECT 1", 0, nullptr, nullptr, nullptr, nullptr, 0);
        benchmark::DoNotOptimize(PQgetvalue(r, 0, 0)[0]);
        PQclear(r);
      },
      [&] {
        absl::StatusOr<QueryResult> r = m->Query("SELECT 1");
        benchmark::DoNotOptimize(r->Get(0, 0).data());
      });
  PQfinish(conn);
}

// Control for select1/paired: raw libpq against raw libpq on a second
// connection made with the manager's startup options and a lease-sized
// application_name, to tell client overhead from server-side differences.
void Select1PairedControl(benchmark::State& state) {
  const char* keywords[] = {"dbname", nullptr};
  const char* values[] = {g_dsn.c_str(), nullptr};
  PGconn* a = PQconnectdbParams(keywords, values, 1);
  const char* keywords_b[] = {"dbname", "options", "application_name", nullptr};
  const char* values_b[] = {g_dsn.c_str(), "-c idle_in_transaction_session_timeout=60000",
                            "s=bench;i=AbCdEfGh;e=1795758993526;g=B_9fJ8NP_OE", nullptr};
  PGconn* b = PQconnectdbParams(keywords_b, values_b, 1);
  auto select = [](PGconn* c) {
    PGresult* r = PQexecParams(c, "SELECT 1", 0, nullptr, nullptr, nullptr, nullptr, 0);
    benchmark::DoNotOptimize(PQgetvalue(r, 0, 0)[0]);
    PQclear(r);
  };
  Paired(state, 200, [&] { select(a); }, [&] { select(b); });
  PQfinish(a);
  PQfinish(b);
}

void ConnectPaired(benchmark::State& state) {
  std::unique_ptr<ConnectionManager> m = NewManager();
  const char* keywords[] = {"dbname", "application_name", nullptr};
  const char* values[] = {g_dsn.c_str(), "bench-baseline", nullptr};
  Paired(
      state, 5,
      [&] { PQfinish(PQconnectdbParams(keywords, values, 1)); },
      [&] {
        (void)m->Connect();
        m->Close();
      });
}

BENCHMARK(Select1Paired)->Name("select1/paired")->Iterations(100)->UseRealTime();
BENCHMARK(Select1PairedControl)->Name("select1/paired_control")->Iterations(100)->UseRealTime();
BENCHMARK(ConnectPaired)->Name("connect/paired")->Iterations(60)->UseRealTime();

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
