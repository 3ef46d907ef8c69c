#include "tools/aequorctl/doctor_report.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tools/aequorctl/doctor_checks.h"

namespace aequor {
namespace cli {
namespace {

nlohmann::ordered_json OptionalInt(std::optional<int> value) {
  if (!value.has_value()) return nullptr;
  return *value;
}

}  // namespace

std::string DoctorText(const DoctorFacts& facts, const std::vector<Finding>& findings) {
  const ServiceChoice& service = facts.settings.service;
  std::string out =
      absl::StrCat("aequorctl doctor: service ", service.normalized, " (", service.source,
                   "), role ", facts.server.role, ", database ", facts.server.database, "\n\n");
  int fixes = 0;
  int warnings = 0;
  for (const Finding& f : findings) {
    fixes += f.severity == Severity::kFix ? 1 : 0;
    warnings += f.severity == Severity::kWarn ? 1 : 0;
    const std::string tag = absl::StrCat("[", SeverityName(f.severity), "]");
    absl::StrAppend(&out, tag, std::string(7 - tag.size(), ' '), f.check, ": ", f.message, "\n");
    if (!f.fix.empty()) {
      absl::StrAppend(&out, "       fix: ", absl::StrReplaceAll(f.fix, {{"\n", "\n            "}}),
                      "\n");
    }
  }
  absl::StrAppend(&out, "\n");
  if (fixes == 0 && warnings == 0) {
    absl::StrAppend(&out, "All is well.\n");
  } else {
    absl::StrAppend(&out, fixes, " to fix, ", warnings, " warning(s).\n");
  }
  return out;
}

nlohmann::ordered_json DoctorJson(const DoctorFacts& facts, const std::vector<Finding>& findings) {
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const Finding& f : findings) {
    items.push_back(
        {{"check", f.check},
         {"severity", SeverityName(f.severity)},
         {"message", f.message},
         {"fix", f.fix.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(f.fix)}});
  }
  nlohmann::ordered_json doc;
  doc["service"] = facts.settings.service.normalized;
  doc["role"] = facts.server.role;
  doc["database"] = facts.server.database;
  doc["status"] = SeverityName(WorstSeverity(findings));
  doc["findings"] = std::move(items);
  doc["clock_offset"] =
      ClockOffsetJson(MeasuredClockOffset(facts), facts.settings.reaper.clock_skew);
  doc["headroom"] = HeadroomJson(HeadroomFactsOf(facts));
  return doc;
}

nlohmann::ordered_json ClockOffsetJson(const std::optional<ClockOffset>& offset,
                                       absl::Duration margin) {
  if (!offset.has_value()) return nullptr;
  nlohmann::ordered_json doc;
  doc["offset_us"] = absl::ToInt64Microseconds(offset->offset);
  doc["uncertainty_us"] = absl::ToInt64Microseconds(offset->uncertainty);
  doc["samples"] = offset->samples;
  doc["margin_us"] = absl::ToInt64Microseconds(margin);
  return doc;
}

nlohmann::ordered_json HeadroomJson(const std::optional<HeadroomFacts>& facts) {
  if (!facts.has_value()) return nullptr;
  const Headroom h = ComputeHeadroom(*facts);
  nlohmann::ordered_json roles = nlohmann::ordered_json::array();
  for (const RoleHeadroom& r : h.roles) {
    nlohmann::ordered_json role;
    role["role"] = r.role;
    role["connection_limit"] = OptionalInt(
        r.connection_limit >= 0 ? std::optional<int>(r.connection_limit) : std::nullopt);
    role["sessions"] = r.sessions;
    role["free"] = OptionalInt(r.free);
    role["fleet_free"] = r.fleet_free;
    roles.push_back(std::move(role));
  }
  const bool reaper_in = facts->reaper.has_value() && facts->reaper->connected;
  nlohmann::ordered_json doc;
  doc["max_connections"] = facts->max_connections;
  doc["superuser_reserved_connections"] = facts->superuser_reserved;
  doc["reserved_connections"] = facts->reserved;
  doc["available"] = h.available;
  doc["client_connections"] = facts->client_backends;
  doc["free"] = h.server_free;
  doc["app_roles"] = std::move(roles);
  doc["app_roles_guessed"] = facts->app_roles_guessed;
  doc["other_sessions"] = facts->other_sessions;
  doc["room_when_full"] = OptionalInt(h.room_when_full);
  doc["reserved_for_reaper"] = kReaperReservedSlots;
  doc["suggested_connection_limit"] = h.suggested_limit;
  doc["reaper_conninfo"] = facts->reaper.has_value();
  doc["reaper_role"] = reaper_in ? nlohmann::ordered_json(facts->reaper->role.name)
                                 : nlohmann::ordered_json(nullptr);
  doc["sql"] = h.sql;
  return doc;
}

}  // namespace cli
}  // namespace aequor
