#include "bench/storm/environment.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/storm/faults.h"
#include "bench/storm/protocol.h"

namespace aequor {
namespace storm {

bool IsLibpqEnvironmentVariable(absl::string_view name) {
  // libpq's documentation, "Environment Variables" (PostgreSQL 15), plus the
  // deprecated PGREQUIRESSL; every envvar PQconndefaults() names is added
  // below, so a newer libpq's additions are covered too.
  static const std::set<std::string, std::less<>>* const kNames = [] {
    auto* names = new std::set<std::string, std::less<>>{
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGDATABASE",
        "PGUSER",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGCHANNELBINDING",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGOPTIONS",
        "PGAPPNAME",
        "PGSSLMODE",
        "PGREQUIRESSL",
        "PGSSLCOMPRESSION",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGSSLROOTCERT",
        "PGSSLCRL",
        "PGSSLCRLDIR",
        "PGSSLSNI",
        "PGREQUIREPEER",
        "PGSSLMINPROTOCOLVERSION",
        "PGSSLMAXPROTOCOLVERSION",
        "PGGSSENCMODE",
        "PGKRBSRVNAME",
        "PGGSSLIB",
        "PGCONNECT_TIMEOUT",
        "PGCLIENTENCODING",
        "PGTARGETSESSIONATTRS",
        "PGDATESTYLE",
        "PGTZ",
        "PGGEQO",
        "PGSYSCONFDIR",
        "PGLOCALEDIR",
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

std::vector<std::string> InstanceEnvironment(const char* const* base,
                                             const std::map<std::string, std::string>& fleet,
                                             const StormOptions& o, const std::string& secret,
                                             uint64_t seed, int number, int invocation) {
  std::map<std::string, std::string> env;
  for (const char* const* e = base; e != nullptr && *e != nullptr; ++e) {
    absl::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view name = kv.substr(0, eq);
    // The fleet's connection and lease settings come only from the harness;
    // other PG-prefixed names (a PG_AEQUOR_DIR a Node.js instance needs) pass.
    if (IsLibpqEnvironmentVariable(name) || absl::StartsWith(name, "AEQUOR_")) continue;
    env[std::string(name)] = std::string(kv.substr(eq + 1));
  }
  for (const auto& [k, v] : fleet) env[k] = v;
  env[kEnvSecret] = secret;
  env[kEnvService] = o.service;
  env[kEnvLeaseTtlMs] = absl::StrCat(o.lease_ttl_ms);
  env[kEnvMinIdleS] = absl::StrCat(o.min_idle_s);
  if (!o.reaper_scheduler.empty()) env[kEnvReaperScheduler] = o.reaper_scheduler;
  env[kEnvInvocation] = absl::StrCat(invocation);
  env[kEnvInstance] = absl::StrCat(number);
  env[kEnvSeed] = absl::StrCat(seed + static_cast<uint64_t>(number));
  env[kEnvWorkload] = std::string(WorkloadName(o.workload));
  if (o.client == ClientKind::kAequorPool) {
    env[kEnvPoolSize] = absl::StrCat(o.pool_size);
    env[kEnvWorkers] = absl::StrCat(o.workers);
    env[kEnvRequestIntervalMs] = absl::StrCat(o.request_interval_ms);
    // Idle leases renewed with 3/4 of the TTL left, so that a freeze shorter
    // than that (less the renewal's own time) never lets one run out.
    env["AEQUOR_LEASE_RENEW_BEFORE_MS"] = absl::StrCat(o.lease_ttl_ms * 3 / 4);
    env["AEQUOR_LEASE_BLOCK_BEFORE_MS"] = absl::StrCat(o.lease_ttl_ms / 4);
    if (o.reaper_scheduler.empty()) env[kEnvReaperScheduler] = kServiceReaperScheduler;
  }
  if (o.workload == Workload::kWrite && o.faults.terminate_active) {
    env[kEnvWriteDelayS] = absl::StrFormat("%g", kActiveWriteDelayS);
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(absl::StrCat(k, "=", v));
  return out;
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

}  // namespace storm
}  // namespace aequor
