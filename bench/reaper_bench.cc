// bench/reaper_bench.cc: the time of one reaper pass with 25, 100 and 250
// idle leased sessions of the service in pg_stat_activity.
//
//   bazel run -c opt //bench:reaper_bench -- --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
//
// The sessions hold valid, unexpired leases, so every pass scans, parses and
// verifies all of them and kills none: the pass's whole cost, repeatable.
// Groups (ratio lines against a plain `SELECT 1` round trip, same server):
//   pass/baseline   SELECT 1
//   pass/25, pass/100, pass/250   one pass (lock, scan, verify, commit)
#include <libpq-fe.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/lease.h"
#include "bench/ratio_reporter.h"
#include "benchmark/benchmark.h"
#include "core/reaper.h"
#include "signers/hmac_sha256_botan.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "reaper-bench-secret-0123456789";
testing::ThrowawayPostgres* g_server = nullptr;

PGconn* Connect(const std::string& application_name) {
  std::string conninfo = g_server->SocketConninfoFor(testing::ThrowawayPostgres::kAppRole);
  const char* kw[] = {"dbname", "application_name", nullptr};
  const char* vals[] = {conninfo.c_str(), application_name.c_str(), nullptr};
  return PQconnectdbParams(kw, vals, 1);
}

void Baseline(benchmark::State& state) {
  PGconn* conn = Connect("bench-baseline");
  for (auto _ : state) PQclear(PQexec(conn, "SELECT 1"));
  PQfinish(conn);
}

void Pass(benchmark::State& state) {
  const int sessions = static_cast<int>(state.range(0));
  auto signer = NewHmacSha256BotanSigner(Secret(kSecret));
  const int64_t expires = absl::ToUnixMillis(absl::Now() + absl::Hours(1));
  std::vector<PGconn*> idle;
  for (int i = 0; i < sessions; ++i) {
    std::string instance = absl::StrCat("inst", 1000 + i);
    absl::StatusOr<std::string> lease = SignLease(**signer, "bench", instance, expires);
    PGconn* c = Connect(*lease);
    if (PQstatus(c) != CONNECTION_OK) {
      state.SkipWithError(PQerrorMessage(c));
      PQfinish(c);
      break;
    }
    idle.push_back(c);
  }
  PGconn* reaper = Connect("bench-reaper");
  ReaperSettings settings;
  settings.service = "bench";
  settings.min_idle = absl::ZeroDuration();
  int scanned = 0;
  for (auto _ : state) {
    ReapReport report = RunReaperPass(reaper, settings, **signer, *Clock::Real());
    if (report.outcome != ReapOutcome::kCompleted) state.SkipWithError(report.message.c_str());
    scanned = report.scanned;
  }
  state.counters["scanned"] = scanned;
  PQfinish(reaper);
  for (PGconn* c : idle) PQfinish(c);
}

BENCHMARK(Baseline)->Name("pass/baseline")->UseRealTime();
BENCHMARK(Pass)->Name("pass")->Arg(25)->Arg(100)->Arg(250)->UseRealTime();

}  // namespace
}  // namespace aequor

int main(int argc, char** argv) {
  aequor::testing::ThrowawayPostgresOptions options;
  options.max_connections = 300;
  auto server = aequor::testing::ThrowawayPostgres::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "starting PostgreSQL: %s\n", server.status().ToString().c_str());
    return 1;
  }
  aequor::g_server = server->get();
  return aequor::bench::RunWithRatios(argc, argv);
}
