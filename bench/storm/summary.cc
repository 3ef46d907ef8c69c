#include "bench/storm/summary.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace aequor {
namespace storm {
namespace {

using Json = nlohmann::ordered_json;

// A time in ms as the summary has always written it, with one decimal
// ("%.1f"): the double nearest to that decimal, which nlohmann writes back
// as the same digits.
Json Ms(double ms) {
  double rounded = 0;
  if (!std::isfinite(ms) || !absl::SimpleAtod(absl::StrFormat("%.1f", ms), &rounded))
    return nullptr;
  return rounded;
}

Json Ms(const std::optional<double>& ms) { return ms.has_value() ? Ms(*ms) : Json(nullptr); }

template <typename T>
Json OrNull(const std::optional<T>& v) {
  return v.has_value() ? Json(*v) : Json(nullptr);
}

// A count per key, keys in order.
Json Counts(const std::map<std::string, int>& counts) {
  Json out = Json::object();
  for (const auto& [key, n] : counts) out[key] = n;
  return out;
}

Json FrozenLeader(const std::optional<FrozenLeaderReport>& f) {
  if (!f.has_value()) return nullptr;
  Json out = Json::object();
  out["backend_pid"] = f->backend_pid;
  out["lease_ttl_ms"] = f->lease_ttl_ms;
  out["lease_expires_ms"] = Ms(f->lease_expires_ms);
  out["killed_ms"] = Ms(f->killed_ms);
  out["killed_by"] = f->killed_by.empty() ? Json(nullptr) : Json(f->killed_by);
  out["freed_by_instance"] = OrNull(f->freed_by_instance);
  out["reaping_resumed_ms"] = Ms(f->reaping_resumed_ms);
  out["first_zombie_reaped_ms"] = Ms(f->first_zombie_reaped_ms);
  out["within_ttl_plus_1s"] = f->within_ttl_plus_1s;
  out["passes_while_valid"] = f->passes_while_valid;
  out["busy_while_valid"] = f->busy_while_valid;
  out["kills_while_valid"] = f->kills_while_valid;
  return out;
}

Json Service(const std::optional<ServiceReport>& r) {
  if (!r.has_value()) return nullptr;
  Json out = Json::object();
  out["instances"] = r->instances;
  out["pool_size"] = r->pool_size;
  out["workers"] = r->workers;
  out["duration_s"] = r->duration_s;
  out["frozen_for_good"] = r->frozen_for_good;
  out["short_freezes"] = r->short_freezes;
  out["requests"] = r->requests;
  out["requests_failed"] = r->requests_failed;
  out["acquire_timeouts"] = r->acquire_timeouts;
  out["idle_renewals"] = r->idle_renewals;
  out["frozen_backends"] = r->frozen_backends;
  out["frozen_backends_reaped"] = r->frozen_backends_reaped;
  out["frozen_reaped_within_ms"] = Ms(r->frozen_reaped_within_ms);
  out["closed_by_pools"] = r->closed_by_pools;
  out["error_samples"] = Counts(r->error_samples);
  return out;
}

}  // namespace

std::string StormSummaryToJson(const StormSummary& s) {
  Json j = Json::object();
  // The contract fields, first and in this order.
  j["client"] = s.client;
  j["invocations"] = s.invocations;
  j["ok"] = s.ok;
  j["failed"] = s.failed;
  j["failures"] = Counts(s.failures);
  j["peak_connections"] = s.peak_connections;
  j["zombies_reaped"] = s.zombies_reaped;
  j["false_kills"] = s.false_kills;
  j["p50_ms"] = Ms(s.p50_ms);
  j["p99_ms"] = Ms(s.p99_ms);
  j["rows"] = s.rows;
  j["duplicated_invocations"] = s.duplicated_invocations;
  j["ok_without_row"] = s.ok_without_row;
  j["unknown_outcome"] = s.unknown_outcome;
  j["fault_kills"] = s.fault_kills;
  // The others.
  j["false_kills_by"] = Counts(s.false_kills_by);
  j["reaper_role"] = s.reaper_role;
  j["reaper_slots"] = s.reaper_slots;
  j["app_connection_limit"] = OrNull(s.app_connection_limit);
  j["reaper_passes"] = Counts(s.reaper_passes);
  j["reaper_kills"] = Counts(s.reaper_kills);
  j["refused_connections"] = s.refused_connections;
  j["full_at_ms"] = Ms(s.full_at_ms);
  j["full_recovery_ms"] = Ms(s.full_recovery_ms);
  j["frozen_leader"] = FrozenLeader(s.frozen_leader);
  j["reaped_by"] = Counts(s.reaped_by);
  j["zombies_left"] = s.zombies_left;
  j["final_connections"] = s.final_connections;
  j["unattributed_backends"] = s.unattributed_backends;
  j["max_connections"] = s.max_connections;
  j["fleet_slots"] = s.fleet_slots;
  j["server_max_connections"] = s.server_max_connections;
  j["superuser_reserved_connections"] = s.superuser_reserved_connections;
  j["server"] = s.server;
  j["kill_evidence"] = s.kill_evidence;
  j["seed"] = s.seed;
  j["duration_ms"] = s.duration_ms;
  j["workload"] = s.workload;
  j["faults"] = s.faults;
  j["fault_kills_by"] = Counts(s.fault_kills_by);
  j["restarts"] = s.restarts;
  j["restart_ms"] = Ms(s.restart_ms);
  j["failed_with_row"] = s.failed_with_row;
  j["unknown_with_row"] = s.unknown_with_row;
  j["instances"] = s.instances;
  j["warm_invocations"] = s.warm_invocations;
  j["invocations_per_instance"] = s.invocations_per_instance;
  j["thaw_after_ms"] = s.thaw_after_ms;
  j["service"] = Service(s.service);
  if (!s.client_cmd.empty()) j["client_cmd"] = s.client_cmd;
  if (!s.series_out.empty()) j["series_out"] = s.series_out;
  j["interrupted"] = s.interrupted;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<double> Percentile(std::vector<double> samples, double p) {
  if (samples.empty() || !(p > 0) || p > 100) return std::nullopt;
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  rank = std::max<size_t>(1, std::min(rank, samples.size()));
  return samples[rank - 1];
}

}  // namespace storm
}  // namespace aequor
