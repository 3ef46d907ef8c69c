// EventToJson (api/event_json.h): one strict JSON object per event, with
// every string escaped, whatever bytes it holds.
#include "api/event_json.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/strict_json.h"

namespace aequor {
namespace {

using Json = nlohmann::ordered_json;
using testing::ParseStrictJson;

Event QueryEnd() {
  Event e;
  e.kind = EventKind::kQueryEnd;
  e.time = absl::FromUnixMillis(1796317200123);  // 2026-12-03T17:00:00.123Z
  e.service = "orders-api";
  e.instance = "AbCdEfGh";
  e.label = "req-42";
  e.duration = absl::Microseconds(1250);
  e.attempt = 1;
  e.sql = "SELECT '\"quoted\"', E'back\\\\slash'\n  FROM t";
  e.rows = 3;
  return e;
}

TEST(EventToJson, AQueryEndIsOneObjectWithItsFieldsInOrder) {
  const std::string line = EventToJson(QueryEnd());
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
  absl::StatusOr<Json> j = ParseStrictJson(line);
  ASSERT_TRUE(j.ok()) << j.status() << "\n" << line;
  std::vector<std::string> keys;
  for (const auto& [key, value] : j->items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"kind", "time", "service", "instance", "label",
                                            "duration_ms", "attempt", "sql", "rows"}))
      << "empty and zero fields are left out";
  EXPECT_EQ(j->at("kind"), "query_end");
  EXPECT_EQ(j->at("time"), "2026-12-03T17:00:00.123Z");
  EXPECT_EQ(j->at("label"), "req-42");
  EXPECT_DOUBLE_EQ(j->at("duration_ms").get<double>(), 1.25);
  EXPECT_EQ(j->at("sql"), QueryEnd().sql) << "quotes, backslashes, newlines come back as they were";
  EXPECT_EQ(j->at("rows"), 3);
}

TEST(EventToJson, BytesThatAreNotUtf8BecomeReplacementCharacters) {
  Event e = QueryEnd();
  e.kind = EventKind::kQueryError;
  e.message = std::string("bad \xff\xfe byte and a \x01 control");
  e.sqlstate = "22021";
  const std::string line = EventToJson(e);
  absl::StatusOr<Json> j = ParseStrictJson(line);
  ASSERT_TRUE(j.ok()) << j.status() << "\n" << line;
  EXPECT_EQ(j->at("message"), "bad \xEF\xBF\xBD\xEF\xBF\xBD byte and a \x01 control");
  EXPECT_EQ(j->at("sqlstate"), "22021");
}

TEST(EventToJson, AReapCarriesItsReport) {
  Event e;
  e.kind = EventKind::kReap;
  e.time = absl::FromUnixMillis(0);
  e.source = EventSource::kReaper;
  e.reap.outcome = ReapOutcome::kCompleted;
  e.reap.scanned = 7;
  e.reap.candidates = 2;
  e.reap.killed = 2;
  e.reap.skipped = {{"not_expired", 5}};
  e.reap.connection_usage = 0.25;
  e.reap.duration = absl::Milliseconds(3);
  absl::StatusOr<Json> j = ParseStrictJson(EventToJson(e));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->at("time"), "1970-01-01T00:00:00.000Z");
  const Json& reap = j->at("reap");
  EXPECT_EQ(reap.at("outcome"), "completed");
  EXPECT_EQ(reap.at("killed"), 2);
  EXPECT_EQ(reap.at("skipped").at("not_expired"), 5);
  EXPECT_DOUBLE_EQ(reap.at("connection_usage").get<double>(), 0.25);
  EXPECT_FALSE(reap.contains("frozen_leader_killed"));
  EXPECT_FALSE(j->contains("label")) << "no call, no label";
}

TEST(EventToJson, AClockOffsetCarriesItsMeasurement) {
  Event e;
  e.kind = EventKind::kClockOffset;
  e.clock_offset.offset = absl::Milliseconds(-3.5);
  e.clock_offset.uncertainty = absl::Microseconds(200);
  absl::StatusOr<Json> j = ParseStrictJson(EventToJson(e));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_DOUBLE_EQ(j->at("clock_offset_ms").get<double>(), -3.5);
  EXPECT_DOUBLE_EQ(j->at("clock_uncertainty_ms").get<double>(), 0.2);
}

}  // namespace
}  // namespace aequor
