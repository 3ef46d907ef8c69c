// Lease signing and verification cost per signer, plus the codec around it.
//
//   bazel run -c opt //bench:lease_bench -- --benchmark_repetitions=9
//     --benchmark_report_aggregates_only=true
//
// Target: Sign and Verify each <= 2 µs median on the 2-core build machine.
// A manager signs once per connect and renewal and verifies once per
// candidate row of a reaper pass, so these bound the lease's CPU cost.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/registry.h"
#include "api/secret.h"
#include "benchmark/benchmark.h"
#include "signers/builtin.h"
#include "signers/hmac_sha256_botan.h"
#include "signers/hmac_sha256_openssl.h"
#include "signers/key_ring.h"

namespace aequor {
namespace {

constexpr char kPayload[] = "s=my-service;i=AbCdEfGh;e=1767225600000";
constexpr char kLease[] = "s=my-service;i=AbCdEfGh;e=1767225600000;g=jqYuPhbNIxo";
constexpr char kSecret[] = "coord-secret-0123456789";
constexpr char kOldSecret[] = "old-coordination-secret-2024";

std::shared_ptr<const Registry> BuildSigners() {
  RegistryBuilder builder;
  if (!RegisterBuiltinSigners(builder).ok()) std::abort();
  return std::move(builder).Build();
}

const Registry& Signers() {
  static const auto* const registry = new std::shared_ptr<const Registry>(BuildSigners());
  return **registry;
}

std::unique_ptr<LeaseSigner> MakeSigner(absl::string_view which) {
  absl::StatusOr<std::unique_ptr<LeaseSigner>> signer;
  if (which == "botan") {
    signer = NewHmacSha256BotanSigner(Secret(kSecret));
  } else if (which == "openssl") {
    signer = NewHmacSha256OpensslSigner(Secret(kSecret));
  } else if (which == "key_ring_botan_2keys") {
    signer = NewKeyRingSigner({{Secret(kSecret), Secret(kOldSecret)}, &Signers()});
  } else {
    signer = NewKeyRingSigner({{Secret(kSecret), Secret(kOldSecret)}, &Signers()},
                              PluginSpec(std::string(kHmacSha256OpensslSignerName)));
  }
  if (!signer.ok()) std::abort();
  return *std::move(signer);
}

void BM_Sign(benchmark::State& state, const char* which) {
  std::unique_ptr<LeaseSigner> signer = MakeSigner(which);
  for (auto _ : state) {
    absl::StatusOr<std::string> tag = signer->Sign(kPayload);
    benchmark::DoNotOptimize(tag);
  }
}

// Verifies a tag made with the newest key (for the key rings, the worst case
// is the same: every key is tried).
void BM_Verify(benchmark::State& state, const char* which) {
  std::unique_ptr<LeaseSigner> signer = MakeSigner(which);
  const std::string tag = *signer->Sign(kPayload);
  for (auto _ : state) {
    bool ok = signer->Verify(kPayload, tag);
    benchmark::DoNotOptimize(ok);
  }
}

#define AEQUOR_SIGNER_BENCH(which)           \
  BENCHMARK_CAPTURE(BM_Sign, which, #which); \
  BENCHMARK_CAPTURE(BM_Verify, which, #which)

AEQUOR_SIGNER_BENCH(botan);
AEQUOR_SIGNER_BENCH(openssl);
AEQUOR_SIGNER_BENCH(key_ring_botan_2keys);
AEQUOR_SIGNER_BENCH(key_ring_openssl_2keys);

// Four threads sharing one signer: the mutex around the keyed MAC under
// contention (2 cores, so this shows the cost of sharing, not a speed-up).
void BM_SignShared(benchmark::State& state, const char* which) {
  static LeaseSigner* shared = nullptr;
  if (state.thread_index() == 0) shared = MakeSigner(which).release();
  // The benchmark library starts all threads' loops together.
  for (auto _ : state) {
    absl::StatusOr<std::string> tag = shared->Sign(kPayload);
    benchmark::DoNotOptimize(tag);
  }
  if (state.thread_index() == 0) {
    delete shared;
    shared = nullptr;
  }
}
BENCHMARK_CAPTURE(BM_SignShared, botan, "botan")->Threads(4);
BENCHMARK_CAPTURE(BM_SignShared, openssl, "openssl")->Threads(4);

// The codec around the signer.
void BM_SignLease(benchmark::State& state) {
  std::unique_ptr<LeaseSigner> signer = MakeSigner("botan");
  for (auto _ : state) {
    absl::StatusOr<std::string> lease = SignLease(*signer, "my-service", "AbCdEfGh", 1767225600000);
    benchmark::DoNotOptimize(lease);
  }
}
BENCHMARK(BM_SignLease);

void BM_ParseLease(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<ParsedLease> lease = ParseLease(kLease);
    benchmark::DoNotOptimize(lease);
  }
}
BENCHMARK(BM_ParseLease);

void BM_ParseAndVerifyLease(benchmark::State& state) {
  std::unique_ptr<LeaseSigner> signer = MakeSigner("botan");
  for (auto _ : state) {
    absl::StatusOr<ParsedLease> lease = ParseLease(kLease);
    bool ok = lease.ok() && VerifyLeaseTag(*signer, *lease);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_ParseAndVerifyLease);

void BM_NormalizeService(benchmark::State& state) {
  for (auto _ : state) {
    std::string service = NormalizeService("payments-ledger-reconciler-nightly");
    benchmark::DoNotOptimize(service);
  }
}
BENCHMARK(BM_NormalizeService);

}  // namespace
}  // namespace aequor
