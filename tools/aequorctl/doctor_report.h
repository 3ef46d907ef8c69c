// tools/aequorctl/doctor_report.h: how `aequorctl doctor` prints what it
// found: lines for people, or one JSON object.
//
//   std::vector<Finding> findings = RunDoctorChecks(facts);
//   *env.out << DoctorText(facts, findings);         // or:
//   WriteJson(*env.out, DoctorJson(facts, findings));
//
// Text: a header naming service, role and database, one "[ok]   check:
// message" line per finding with its "fix:" below, and a count.
//
// JSON, one object: {"service", "role", "database", "status" (the worst
// severity), "findings": [{"check", "severity" ("ok"|"warn"|"fix"),
// "message", "fix" (string, or null when there is nothing to do; may hold
// several lines)}], "clock_offset", "headroom"}, where
//   clock_offset: {"offset_us" (server minus this machine), "uncertainty_us",
//                 "samples", "margin_us"}, or null when not measured;
//   headroom:     {"max_connections", "superuser_reserved_connections",
//                 "reserved_connections", "available", "client_connections",
//                 "free", "app_roles": [{"role", "connection_limit" (null:
//                 none), "sessions", "free" (null: no limit), "fleet_free"}],
//                 "app_roles_guessed", "other_sessions", "room_when_full"
//                 (null: an app role has no limit), "reserved_for_reaper",
//                 "suggested_connection_limit", "reaper_conninfo" (given?),
//                 "reaper_role" (null unless it logged in), "sql": [lines]},
//                 or null when the sessions could not be counted.
// Members always in this order.
//
// Thread-safety: pure functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_REPORT_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tools/aequorctl/doctor_clock.h"
#include "tools/aequorctl/doctor_facts.h"
#include "tools/aequorctl/doctor_finding.h"
#include "tools/aequorctl/doctor_headroom.h"

namespace aequor {
namespace cli {

std::string DoctorText(const DoctorFacts& facts, const std::vector<Finding>& findings);

nlohmann::ordered_json DoctorJson(const DoctorFacts& facts, const std::vector<Finding>& findings);

// The "clock_offset" member: {"offset_us", "uncertainty_us", "samples",
// "margin_us"}, or null.
nlohmann::ordered_json ClockOffsetJson(const std::optional<ClockOffset>& offset,
                                       absl::Duration margin);

// The "headroom" member: the figures of reaper_headroom and its SQL, or null.
nlohmann::ordered_json HeadroomJson(const std::optional<HeadroomFacts>& facts);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_REPORT_H_
