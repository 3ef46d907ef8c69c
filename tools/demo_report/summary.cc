#include "tools/demo_report/summary.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace aequor {
namespace demo {
namespace {

// `key` of `summary` as a number; 0 when absent or not a number.
double Number(const nlohmann::json& summary, const char* key) {
  auto it = summary.find(key);
  return it != summary.end() && it->is_number() ? it->get<double>() : 0;
}

}  // namespace

absl::StatusOr<StormSummary> ParseStormSummary(absl::string_view json) {
  nlohmann::json summary;
  try {
    summary = nlohmann::json::parse(json.begin(), json.end());
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("storm summary: ", e.what()));
  }
  if (!summary.is_object()) {
    return absl::InvalidArgumentError("storm summary: not a JSON object");
  }
  for (const char* required : {"client", "invocations", "ok", "failed", "peak_connections"}) {
    if (!summary.contains(required)) {
      return absl::InvalidArgumentError(absl::StrCat("storm summary: no '", required, "' field"));
    }
  }
  StormSummary out;
  const nlohmann::json& client = summary.at("client");
  out.client = client.is_string() ? client.get<std::string>() : client.dump();
  out.invocations = Number(summary, "invocations");
  out.ok = Number(summary, "ok");
  out.failed = Number(summary, "failed");
  out.peak_connections = Number(summary, "peak_connections");
  out.zombies_reaped = Number(summary, "zombies_reaped");
  out.false_kills = Number(summary, "false_kills");
  out.p50_ms = Number(summary, "p50_ms");
  out.p99_ms = Number(summary, "p99_ms");
  out.max_connections = Number(summary, "max_connections");
  out.fleet_slots = Number(summary, "fleet_slots");
  if (auto failures = summary.find("failures");
      failures != summary.end() && failures->is_object()) {
    for (const auto& [what, count] : failures->items()) {
      if (count.is_number()) out.failures[what] = count.get<double>();
    }
  }
  return out;
}

}  // namespace demo
}  // namespace aequor
