// The pool (api/pool.h) against raw libpq and a minimal pool, in one process
// against one throwaway server (or $AEQUOR_BENCH_DSN), as ratios
// (bench/ratio_reporter.h):
//
//   acquire/pool            Acquire() and give back, uncontended, against a
//                           mutex-and-vector pool of raw connections
//   select1_xT/pool         SELECT 1 from T threads on a pool of T
//                           connections, against T raw libpq connections
//                           each on its own thread (T = 2, 4, 8; target
//                           time ratio <= 1.031, i.e. throughput >= 0.97)
//   select1_xT/managers     T threads each with a ConnectionManager of its
//                           own (T = 2, 8): the pool's own cost is
//                           pool / managers
//   select1_4per_xC/pool    4C threads on a pool of C connections, against
//                           C raw connections on C threads (target <= 1.053,
//                           throughput >= 0.95); reports the p99 acquire wait
//   select1_xT/paired, select1_4per_x2/paired
//                           the two comparisons above timed in pairs (raw,
//                           pool; order alternating): `ratio` is the median
//                           per-pair ratio, robust to drift in the load
//   select1_4per_x2/paired_batched
//                           the same with idempotent reads, which ride in
//                           batches (PoolOptions::max_batch)
//   select1_4per_x2/batching_ceiling
//                           raw libpq, 4 threads per connection combined
//                           into pipelines by a minimal leader/follower
//                           queue, paired against the raw baseline: what
//                           batching statements could give the pool
//   select1_vs_pgbouncer_8on2/pool  8 threads on a pool of 2, against 8 raw
//                           clients of PgBouncer in transaction mode with 2
//                           server connections (both over TCP loopback)
//
// Each iteration of a select1 benchmark runs kBatch statements spread over
// its threads, so its time is the inverse of the throughput.
//
//   bazel run -c opt //bench:pool_bench -- --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include <libpq-fe.h>

#include <algorithm>
#include <condition_variable>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/pool.h"
#include "bench/ratio_reporter.h"
#include "benchmark/benchmark.h"
#include "testing/pgbouncer.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

constexpr int kBatch = 2000;

std::string g_dsn;          // set in main before any benchmark runs
std::string g_tcp_dsn;      // the same server over TCP loopback ("" with $AEQUOR_BENCH_DSN)
std::string g_bouncer_dsn;  // PgBouncer (transaction mode, 2 server connections) in front

PGconn* RawConnection(const std::string& dsn = g_dsn) {
  const char* keywords[] = {"dbname", "application_name", nullptr};
  const char* values[] = {dsn.c_str(), "bench-raw", nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::fprintf(stderr, "connect: %s\n", PQerrorMessage(conn));
    std::abort();
  }
  return conn;
}

bool RawSelect1(PGconn* conn) {
  PGresult* r = PQexecParams(conn, "SELECT 1", 0, nullptr, nullptr, nullptr, nullptr, 0);
  const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == '1';
  PQclear(r);
  return ok;
}

// A pool of `size` connections, all open before the benchmark's loop.
std::unique_ptr<Pool> NewPool(int size, const std::string& dsn = g_dsn) {
  ConnectionManagerBuilder builder;
  builder.SetConninfo(dsn)
      .SetService("bench")
      .SetCoordinationSecret("bench-coordination-secret")
      .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}));
  PoolOptions options;
  options.max_size = size;
  options.min_size = size;
  absl::StatusOr<std::unique_ptr<Pool>> pool = builder.BuildPool(options);
  if (!pool.ok()) {
    std::fprintf(stderr, "pool: %s\n", pool.status().ToString().c_str());
    std::abort();
  }
  // The maintenance thread may be filling it already: wait for it.
  absl::Status filled = (*pool)->Maintain();
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (filled.ok() && (*pool)->stats().idle != size && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (!filled.ok() || (*pool)->stats().idle != size) {
    std::fprintf(stderr, "pool: %d of %d open: %s\n", (*pool)->stats().idle, size,
                 filled.ToString().c_str());
    std::abort();
  }
  return *std::move(pool);
}

// Runs fn(i) for i in [0, threads) on `threads` threads and waits for them.
void OnThreads(int threads, const std::function<void(int)>& fn) {
  std::vector<std::thread> running;
  running.reserve(threads);
  for (int i = 0; i < threads; ++i) running.emplace_back(fn, i);
  for (std::thread& t : running) t.join();
}

// The smallest pool there is: a mutex and a vector of free connections.
class MiniPool {
 public:
  PGconn* Acquire() {
    std::lock_guard<std::mutex> lock(mu_);
    PGconn* c = free_.back();
    free_.pop_back();
    return c;
  }
  void Release(PGconn* c) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(c);
  }
  std::vector<PGconn*> free_;

 private:
  std::mutex mu_;
};

void AcquireBaseline(benchmark::State& state) {
  MiniPool mini;
  mini.free_.push_back(RawConnection());
  for (auto _ : state) {
    PGconn* c = mini.Acquire();
    benchmark::DoNotOptimize(c);
    mini.Release(c);
  }
  PQfinish(mini.free_.back());
}

void AcquirePool(benchmark::State& state) {
  std::unique_ptr<Pool> pool = NewPool(1);
  for (auto _ : state) {
    absl::StatusOr<PooledConnection> c = pool->Acquire();
    if (!c.ok()) state.SkipWithError("acquire failed");
    benchmark::DoNotOptimize(c);
  }
}

// SELECT 1 on each of `conns` from a thread of its own, kBatch in all per
// iteration; closes them at the end.
void Select1OnRawConnections(benchmark::State& state, const std::vector<PGconn*>& conns) {
  const int n = static_cast<int>(conns.size());
  bool ok = true;
  for (auto _ : state) {
    OnThreads(n, [&](int i) {
      for (int q = 0; q < kBatch / n; ++q) {
        if (!RawSelect1(conns[i])) ok = false;
      }
    });
  }
  if (!ok) state.SkipWithError("SELECT 1 failed");
  for (PGconn* c : conns) PQfinish(c);
}

// `connections` raw connections, each driven by its own thread.
void Select1Raw(benchmark::State& state, int connections) {
  std::vector<PGconn*> conns;
  for (int i = 0; i < connections; ++i) conns.push_back(RawConnection());
  Select1OnRawConnections(state, conns);
}

// `n` threads each with a ConnectionManager of its own: the lanes without
// the pool, to tell the pool's own cost from the manager's.
void Select1Managers(benchmark::State& state, int n) {
  std::vector<std::unique_ptr<ConnectionManager>> managers;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<std::unique_ptr<ConnectionManager>> m =
        ConnectionManagerBuilder()
            .SetConninfo(g_dsn)
            .SetService("bench")
            .SetCoordinationSecret("bench-coordination-secret")
            .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}))
            .Build();
    if (!m.ok() || !(*m)->Connect().ok()) {
      state.SkipWithError("manager failed");
      return;
    }
    managers.push_back(*std::move(m));
  }
  std::atomic<bool> ok{true};
  for (auto _ : state) {
    OnThreads(n, [&](int i) {
      for (int q = 0; q < kBatch / n; ++q) {
        absl::StatusOr<QueryResult> r = managers[i]->Query("SELECT 1");
        if (!r.ok() || r->Get(0, 0) != "1") ok = false;
      }
    });
  }
  if (!ok) state.SkipWithError("SELECT 1 failed");
}

// `connections` raw connections to PgBouncer (transaction mode, 2 server
// connections), each driven by its own thread: the pooler's way.
void Select1Bouncer(benchmark::State& state, int connections) {
  if (g_bouncer_dsn.empty()) {
    state.SkipWithError("no PgBouncer (with $AEQUOR_BENCH_DSN the benchmark starts none)");
    return;
  }
  std::vector<PGconn*> conns;
  for (int i = 0; i < connections; ++i) conns.push_back(RawConnection(g_bouncer_dsn));
  Select1OnRawConnections(state, conns);
}

// The p99 wait for a connection, from the pool's histogram (the upper
// bound of the bucket it falls in, in ms), and the mean wait, as counters.
void ReportWait(benchmark::State& state, const Pool& pool) {
  // (A copy: metrics() returns a snapshot by value.)
  const MetricsSnapshot snapshot = pool.metrics();
  const LatencyHistogram wait = snapshot.pool.has_value() ? snapshot.pool->acquire_wait
                                                          : LatencyHistogram{};
  int64_t seen = 0;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    seen += wait.counts[i];
    if (seen * 100 >= wait.count * 99) {
      state.counters["p99_wait_le_ms"] =
          i < LatencyHistogram::kBoundsMs.size() ? LatencyHistogram::kBoundsMs[i] : 1e9;
      break;
    }
  }
  state.counters["mean_wait_ms"] = wait.count > 0 ? wait.sum_ms / wait.count : 0;
}

// `threads` threads calling Query() on a pool of `size` (to `dsn`).
void Select1Pool(benchmark::State& state, int size, int threads, const std::string& dsn) {
  if (dsn.empty()) {
    state.SkipWithError("no TCP conninfo (with $AEQUOR_BENCH_DSN this pair is skipped)");
    return;
  }
  std::unique_ptr<Pool> pool = NewPool(size, dsn);
  std::atomic<bool> ok{true};
  for (auto _ : state) {
    OnThreads(threads, [&](int) {
      for (int n = 0; n < kBatch / threads; ++n) {
        absl::StatusOr<QueryResult> r = pool->Query("SELECT 1");
        if (!r.ok() || r->Get(0, 0) != "1") ok = false;
      }
    });
  }
  if (!ok) state.SkipWithError("SELECT 1 failed");
  ReportWait(state, *pool);
}

// The same comparison paired, as manager_bench's select1/paired: each
// iteration runs kBatch statements on `size` raw connections (a thread
// each) and kBatch through a pool of `size` on `threads` threads, back to
// back with the order alternating. `ratio` is the median of the per-pair
// time ratios (pool / raw), so drift in the machine's load cancels out;
// raw_us and pool_us are the median batch times per statement.
void Select1PoolPaired(benchmark::State& state, int size, int threads, bool idempotent) {
  QueryOptions options;
  options.idempotent = idempotent;  // lets waiting calls ride in batches
  std::vector<PGconn*> conns;
  for (int i = 0; i < size; ++i) conns.push_back(RawConnection());
  std::unique_ptr<Pool> pool = NewPool(size);
  std::atomic<bool> ok{true};
  auto raw_batch = [&] {
    OnThreads(size, [&](int i) {
      for (int q = 0; q < kBatch / size; ++q) {
        if (!RawSelect1(conns[i])) ok = false;
      }
    });
  };
  auto pool_batch = [&] {
    OnThreads(threads, [&](int) {
      for (int n = 0; n < kBatch / threads; ++n) {
        absl::StatusOr<QueryResult> r = pool->Query("SELECT 1", {}, options);
        if (!r.ok() || r->Get(0, 0) != "1") ok = false;
      }
    });
  };
  bench::RunPaired(state, raw_batch, pool_batch, kBatch, "raw_us", "pool_us");
  if (!ok) state.SkipWithError("SELECT 1 failed");
  ReportWait(state, *pool);
  state.counters["batched"] = static_cast<double>(pool->stats().batched);
  for (PGconn* c : conns) PQfinish(c);
}

// The ceiling of statement batching, for the design of issue 13's next
// step: 4 threads per raw connection, where a thread that finds its
// connection free leads: it sends every statement queued on it (its own
// included) in one libpq pipeline, each followed by a sync, reads the
// results and wakes their threads; the others wait. No leases, events or
// deadlines: what batching could give, not what aequor does.
struct Combined {
  bool done = false;
  bool ok = false;
};
struct CombiningConnection {
  PGconn* conn = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Combined*> queue;
  bool leading = false;
};
void RunPipelined(PGconn* conn, const std::vector<Combined*>& batch) {
  if (PQenterPipelineMode(conn) != 1) return;  // every ok stays false
  for (size_t i = 0; i < batch.size(); ++i) {
    if (PQsendQueryParams(conn, "SELECT 1", 0, nullptr, nullptr, nullptr, nullptr, 0) != 1 ||
        PQpipelineSync(conn) != 1) {
      return;
    }
  }
  if (PQflush(conn) != 0) return;
  for (Combined* c : batch) {
    // Each statement: its result, the nullptr that ends it, and the sync.
    PGresult* r = PQgetResult(conn);
    c->ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == '1';
    PQclear(r);
    for (PGresult* rest = PQgetResult(conn); rest != nullptr; rest = PQgetResult(conn)) {
      PQclear(rest);
    }
    PGresult* sync = PQgetResult(conn);
    if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC) c->ok = false;
    PQclear(sync);
  }
  PQexitPipelineMode(conn);
}
bool CombinedSelect1(CombiningConnection& cc) {
  Combined me;
  std::unique_lock<std::mutex> lock(cc.mu);
  cc.queue.push_back(&me);
  while (!me.done) {
    if (cc.leading) {
      cc.cv.wait(lock);
      continue;
    }
    cc.leading = true;
    std::vector<Combined*> batch;
    batch.swap(cc.queue);
    lock.unlock();
    RunPipelined(cc.conn, batch);
    lock.lock();
    for (Combined* c : batch) c->done = true;
    cc.leading = false;
    cc.cv.notify_all();
  }
  return me.ok;
}
void Select1CombiningCeiling(benchmark::State& state, int size, int threads) {
  std::vector<PGconn*> raw;
  std::vector<std::unique_ptr<CombiningConnection>> combining;
  for (int i = 0; i < size; ++i) {
    raw.push_back(RawConnection());
    combining.push_back(std::make_unique<CombiningConnection>());
    combining.back()->conn = RawConnection();
  }
  std::atomic<bool> ok{true};
  auto raw_batch = [&] {
    OnThreads(size, [&](int i) {
      for (int q = 0; q < kBatch / size; ++q) {
        if (!RawSelect1(raw[i])) ok = false;
      }
    });
  };
  auto combined_batch = [&] {
    OnThreads(threads, [&](int t) {
      for (int n = 0; n < kBatch / threads; ++n) {
        if (!CombinedSelect1(*combining[t % size])) ok = false;
      }
    });
  };
  bench::RunPaired(state, raw_batch, combined_batch, kBatch, "raw_us", "combined_us");
  if (!ok) state.SkipWithError("SELECT 1 failed");
  for (PGconn* c : raw) PQfinish(c);
  for (auto& c : combining) PQfinish(c->conn);
}

BENCHMARK(AcquireBaseline)->Name("acquire/baseline")->MinTime(0.3);
BENCHMARK(AcquirePool)->Name("acquire/pool")->MinTime(0.3);
BENCHMARK_CAPTURE(Select1Raw, x2, 2)->Name("select1_x2/baseline")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Managers, x2, 2)->Name("select1_x2/managers")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Pool, x2, 2, 2, g_dsn)->Name("select1_x2/pool")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Raw, x4, 4)->Name("select1_x4/baseline")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Pool, x4, 4, 4, g_dsn)->Name("select1_x4/pool")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Raw, x8, 8)->Name("select1_x8/baseline")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Managers, x8, 8)->Name("select1_x8/managers")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Pool, x8, 8, 8, g_dsn)->Name("select1_x8/pool")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Raw, c2, 2)->Name("select1_4per_x2/baseline")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1Pool, c2, 2, 8, g_dsn)->Name("select1_4per_x2/pool")->MinTime(0.5)->UseRealTime();
BENCHMARK_CAPTURE(Select1PoolPaired, x2, 2, 2, false)
    ->Name("select1_x2/paired")
    ->MinTime(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(Select1PoolPaired, x4, 4, 4, false)
    ->Name("select1_x4/paired")
    ->MinTime(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(Select1PoolPaired, x8, 8, 8, false)
    ->Name("select1_x8/paired")
    ->MinTime(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(Select1CombiningCeiling, c2, 2, 8)
    ->Name("select1_4per_x2/batching_ceiling")
    ->MinTime(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(Select1PoolPaired, c2, 2, 8, false)
    ->Name("select1_4per_x2/paired")
    ->MinTime(2)
    ->UseRealTime();
BENCHMARK_CAPTURE(Select1PoolPaired, c2b, 2, 8, true)
    ->Name("select1_4per_x2/paired_batched")
    ->MinTime(2)
    ->UseRealTime();
// 8 clients, 2 server connections, over TCP loopback both: 8 raw clients of
// PgBouncer in transaction mode (baseline) against 8 threads on a pool of 2.
BENCHMARK_CAPTURE(Select1Bouncer, b8, 8)
    ->Name("select1_vs_pgbouncer_8on2/baseline")
    ->MinTime(0.5)
    ->UseRealTime();
BENCHMARK_CAPTURE(Select1Pool, b8, 2, 8, g_tcp_dsn)
    ->Name("select1_vs_pgbouncer_8on2/pool")
    ->MinTime(0.5)
    ->UseRealTime();

}  // namespace
}  // namespace aequor

int main(int argc, char** argv) {
  std::unique_ptr<aequor::testing::ThrowawayPostgres> server;
  std::unique_ptr<aequor::testing::PgBouncer> bouncer;  // stopped before the server
  if (const char* dsn = std::getenv("AEQUOR_BENCH_DSN"); dsn != nullptr && dsn[0] != '\0') {
    aequor::g_dsn = dsn;
  } else {
    aequor::testing::ThrowawayPostgresOptions options;
    options.max_connections = 60;
    absl::StatusOr<std::unique_ptr<aequor::testing::ThrowawayPostgres>> started =
        aequor::testing::ThrowawayPostgres::Start(options);
    if (!started.ok()) {
      std::fprintf(stderr, "starting PostgreSQL: %s\n",
                   std::string(started.status().message()).c_str());
      return 1;
    }
    server = *std::move(started);
    aequor::g_dsn = server->SocketConninfoFor("aequor_app");
    aequor::g_tcp_dsn = server->ConninfoFor("aequor_app");
    aequor::testing::PgBouncerOptions bouncer_options;
    bouncer_options.default_pool_size = 2;
    absl::StatusOr<std::unique_ptr<aequor::testing::PgBouncer>> started_bouncer =
        aequor::testing::PgBouncer::Start(*server, bouncer_options);
    if (!started_bouncer.ok()) {
      std::fprintf(stderr, "starting PgBouncer: %s\n",
                   std::string(started_bouncer.status().message()).c_str());
      return 1;
    }
    bouncer = *std::move(started_bouncer);
    aequor::g_bouncer_dsn = bouncer->ConninfoFor("aequor_app");
  }
  return aequor::bench::RunWithRatios(argc, argv);
}
