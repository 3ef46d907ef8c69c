#include "api/event_json.h"

#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace aequor {
namespace {

using Json = nlohmann::ordered_json;

double Millis(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

void PutString(Json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

Json ReapJson(const ReapReport& r) {
  Json j = Json::object();
  j["outcome"] = std::string(ReapOutcomeName(r.outcome));
  j["scanned"] = r.scanned;
  j["candidates"] = r.candidates;
  j["killed"] = r.killed;
  if (r.frozen_leader_killed) j["frozen_leader_killed"] = true;
  if (!r.skipped.empty()) j["skipped"] = r.skipped;
  if (r.connection_usage.has_value()) j["connection_usage"] = *r.connection_usage;
  if (r.under_pressure) j["under_pressure"] = true;
  j["duration_ms"] = Millis(r.duration);
  PutString(j, "message", r.message);
  return j;
}

}  // namespace

std::string EventToJson(const Event& e) {
  Json j = Json::object();
  j["kind"] = std::string(EventKindName(e.kind));
  j["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", e.time, absl::UTCTimeZone());
  PutString(j, "service", e.service);
  PutString(j, "instance", e.instance);
  PutString(j, "label", e.label);
  if (e.duration != absl::ZeroDuration()) j["duration_ms"] = Millis(e.duration);
  if (e.attempt != 0) j["attempt"] = e.attempt;
  if (e.delay != absl::ZeroDuration()) j["delay_ms"] = Millis(e.delay);
  PutString(j, "sql", e.sql);
  PutString(j, "sqlstate", e.sqlstate);
  PutString(j, "message", e.message);
  if (e.source != EventSource::kNone) j["source"] = std::string(EventSourceName(e.source));
  if (e.rows != 0) j["rows"] = e.rows;
  if (e.kind == EventKind::kReap) j["reap"] = ReapJson(e.reap);
  if (e.kind == EventKind::kClockOffset) {
    j["clock_offset_ms"] = Millis(e.clock_offset.offset);
    j["clock_uncertainty_ms"] = Millis(e.clock_offset.uncertainty);
  }
  // Invalid UTF-8 (a server message in another encoding, bytes in the SQL
  // text) becomes U+FFFD instead of an exception.
  return j.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace aequor
