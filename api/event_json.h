// api/event_json.h: an Event as one line of JSON, for exporters that ship
// events to a log pipeline or a collector, so that none escapes strings by
// hand (SQL text and server messages hold quotes, backslashes, newlines and
// bytes that are not UTF-8).
//
//   void Export(absl::Span<const aequor::Event> batch) override {
//     for (const aequor::Event& e : batch) out_ << aequor::EventToJson(e) << '\n';
//   }
//
// The object, members in this order, each only when it has a value (a
// string not empty, a number not zero, an optional set):
//   kind        "query_end", ... (EventKindName)
//   time        RFC 3339 UTC with milliseconds, "2026-12-03T17:00:00.123Z"
//   service, instance, label
//   duration_ms, attempt, delay_ms, sql, sqlstate, message,
//   source      "thaw_check", ... (EventSourceName)
//   rows
//   reap        kReap: {"outcome","scanned","candidates","killed",
//               "frozen_leader_killed","skipped":{reason:n},
//               "connection_usage","under_pressure","duration_ms","message"}
//   clock_offset_ms, clock_uncertainty_ms   kClockOffset
// Strings that are not valid UTF-8 have the bad bytes replaced by U+FFFD.
// Parameters are never in an Event, so never in its JSON.
//
// To write JSON of your own, use the library this one uses, nlohmann/json
// (Debian's nlohmann-json3-dev; in Bazel "@aequor_system//:nlohmann_json"), and
// dump with error_handler_t::replace so that a stray byte never throws:
// docs/EXPORTERS.md, "Writing JSON".
//
// Thread-safety: a pure function.
#ifndef AEQUOR_API_EVENT_JSON_H_
#define AEQUOR_API_EVENT_JSON_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <string>

#include "api/events.h"

namespace aequor {

// `event` as one JSON object, without a newline.
std::string EventToJson(const Event& event);

}  // namespace aequor

#endif  // AEQUOR_API_EVENT_JSON_H_
