// bench/storm/summary.h: the storm's JSON line (nlohmann-json), its field
// names, their order and their numbers, as scripts and tests read them.
#include "bench/storm/summary.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/bench/storm/storm_testing.h"

namespace aequor {
namespace storm {
namespace {

using namespace ::aequor::storm::storm_testing;  // NOLINT: the shared helpers

TEST(StormSummaryTest, PercentileIsNearestRank) {
  EXPECT_FALSE(Percentile({}, 50).has_value());
  EXPECT_EQ(*Percentile({5}, 99), 5);
  EXPECT_EQ(*Percentile({4, 1, 3, 2}, 50), 2);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(*Percentile(hundred, 99), 99);
}

TEST(StormSummaryTest, JsonEscapesAndPutsTheContractFieldsFirst) {
  StormSummary s;
  s.client = "cmd";
  s.client_cmd = "echo \"ok\"\n";
  s.invocations = 2;
  s.ok = 1;
  s.failed = 1;
  s.failures["too \"many\""] = 1;
  std::string json = StormSummaryToJson(s);
  EXPECT_TRUE(
      absl::StartsWith(json, "{\"client\":\"cmd\",\"invocations\":2,\"ok\":1,\"failed\":1,"))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"p50_ms\":null")) << json;
  absl::StatusOr<Json> j = ParseSummary(json);
  ASSERT_TRUE(j.ok()) << j.status() << "\n" << json;
  EXPECT_EQ(String(*j, "client_cmd"), "echo \"ok\"\n");
  for (const char* key :
       {"rows", "duplicated_invocations", "ok_without_row", "unknown_outcome", "fault_kills"}) {
    ASSERT_TRUE(Has(*j, key)) << key;
    EXPECT_EQ(Number(*j, key), 0) << key;
  }
  // The write-workload fields come right after the original contract fields.
  EXPECT_TRUE(absl::StrContains(
      json,
      "\"p99_ms\":null,\"rows\":0,\"duplicated_invocations\":0,\"ok_without_row\":0,"
      "\"unknown_outcome\":0,\"fault_kills\":0,"))
      << json;
  EXPECT_EQ(Number(Member(*j, "failures"), "too \"many\""), 1);
  // --reaper-role's fields: off, and null where nothing was measured.
  EXPECT_FALSE(Bool(*j, "reaper_role"));
  EXPECT_EQ(Number(*j, "reaper_slots"), 0);
  EXPECT_TRUE(IsNull(*j, "app_connection_limit"));
  EXPECT_TRUE(IsNull(*j, "full_at_ms"));
  EXPECT_TRUE(IsNull(*j, "full_recovery_ms"));
  EXPECT_EQ(Number(*j, "refused_connections"), 0);
  EXPECT_TRUE(Member(*j, "reaper_passes").is_object());
  EXPECT_TRUE(Member(*j, "reaper_kills").is_object());
  EXPECT_TRUE(Member(*j, "false_kills_by").is_object());
  s.reaper_role = true;
  s.reaper_slots = 2;
  s.app_connection_limit = 25;
  s.full_at_ms = 4012.4;
  s.full_recovery_ms = 31;
  s.reaper_kills["emergency"] = 4;
  j = ParseSummary(StormSummaryToJson(s));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_TRUE(Bool(*j, "reaper_role"));
  EXPECT_EQ(Number(*j, "app_connection_limit"), 25);
  EXPECT_EQ(Number(*j, "full_at_ms"), 4012.4);
  EXPECT_EQ(Number(*j, "full_recovery_ms"), 31);
  EXPECT_EQ(Number(Member(*j, "reaper_kills"), "emergency"), 4);
}

TEST(StormSummaryTest, FrozenLeaderIsNullWithoutTheFlagAndAnObjectWithIt) {
  StormSummary s;
  s.client = "aequor";
  absl::StatusOr<Json> j = ParseSummary(StormSummaryToJson(s));
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_TRUE(Has(*j, "frozen_leader"));
  EXPECT_TRUE(IsNull(*j, "frozen_leader"));

  FrozenLeaderReport f;
  f.backend_pid = 4242;
  f.lease_ttl_ms = 2000;
  f.lease_expires_ms = 1953;
  s.frozen_leader = f;
  j = ParseSummary(StormSummaryToJson(s));
  ASSERT_TRUE(j.ok()) << j.status();
  const Json& never = Member(*j, "frozen_leader");
  ASSERT_TRUE(never.is_object());
  EXPECT_EQ(Number(never, "backend_pid"), 4242);
  EXPECT_EQ(Number(never, "lease_ttl_ms"), 2000);
  EXPECT_EQ(Number(never, "lease_expires_ms"), 1953);
  for (const char* key : {"killed_ms", "killed_by", "freed_by_instance", "reaping_resumed_ms",
                          "first_zombie_reaped_ms"}) {
    ASSERT_TRUE(Has(never, key)) << key;
    EXPECT_TRUE(IsNull(never, key)) << key;
  }
  EXPECT_FALSE(Bool(never, "within_ttl_plus_1s"));

  f.killed_ms = 2170;
  f.killed_by = "administrator command";
  f.freed_by_instance = 9;
  f.reaping_resumed_ms = 217;
  f.first_zombie_reaped_ms = 2482.5;
  f.within_ttl_plus_1s = true;
  f.passes_while_valid = 3;
  f.busy_while_valid = 3;
  s.frozen_leader = f;
  j = ParseSummary(StormSummaryToJson(s));
  ASSERT_TRUE(j.ok()) << j.status();
  const Json& freed = Member(*j, "frozen_leader");
  EXPECT_EQ(Number(freed, "killed_ms"), 2170);
  EXPECT_EQ(String(freed, "killed_by"), "administrator command");
  EXPECT_EQ(Number(freed, "freed_by_instance"), 9);
  EXPECT_EQ(Number(freed, "reaping_resumed_ms"), 217);
  EXPECT_EQ(Number(freed, "first_zombie_reaped_ms"), 2482.5);
  EXPECT_TRUE(Bool(freed, "within_ttl_plus_1s"));
  EXPECT_EQ(Number(freed, "passes_while_valid"), 3);
  EXPECT_EQ(Number(freed, "busy_while_valid"), 3);
  EXPECT_EQ(Number(freed, "kills_while_valid"), 0);
}

// The whole document's members, in order: the contract first, then the
// rest, client_cmd and series_out only when set, interrupted last.
TEST(StormSummaryTest, MembersComeInTheDocumentedOrder) {
  const std::vector<std::string> kContract = {"client",
                                              "invocations",
                                              "ok",
                                              "failed",
                                              "failures",
                                              "peak_connections",
                                              "zombies_reaped",
                                              "false_kills",
                                              "p50_ms",
                                              "p99_ms",
                                              "rows",
                                              "duplicated_invocations",
                                              "ok_without_row",
                                              "unknown_outcome",
                                              "fault_kills"};
  const std::vector<std::string> kRest = {"false_kills_by",
                                          "reaper_role",
                                          "reaper_slots",
                                          "app_connection_limit",
                                          "reaper_passes",
                                          "reaper_kills",
                                          "refused_connections",
                                          "full_at_ms",
                                          "full_recovery_ms",
                                          "frozen_leader",
                                          "reaped_by",
                                          "zombies_left",
                                          "final_connections",
                                          "unattributed_backends",
                                          "max_connections",
                                          "fleet_slots",
                                          "server_max_connections",
                                          "superuser_reserved_connections",
                                          "server",
                                          "kill_evidence",
                                          "seed",
                                          "duration_ms",
                                          "workload",
                                          "faults",
                                          "fault_kills_by",
                                          "restarts",
                                          "restart_ms",
                                          "failed_with_row",
                                          "unknown_with_row",
                                          "instances",
                                          "warm_invocations",
                                          "invocations_per_instance",
                                          "thaw_after_ms",
                                          "service"};
  auto keys_of = [](const std::string& json) {
    std::vector<std::string> keys;
    const nlohmann::ordered_json j = nlohmann::ordered_json::parse(json);
    for (const auto& item : j.items()) keys.push_back(item.key());
    return keys;
  };
  std::vector<std::string> expected = kContract;
  expected.insert(expected.end(), kRest.begin(), kRest.end());
  expected.push_back("interrupted");
  StormSummary s;
  EXPECT_EQ(keys_of(StormSummaryToJson(s)), expected);

  s.client_cmd = "node handler.js";
  s.series_out = "/tmp/s.csv";
  expected.insert(expected.end() - 1, {"client_cmd", "series_out"});
  EXPECT_EQ(keys_of(StormSummaryToJson(s)), expected);

  FrozenLeaderReport f;
  s.frozen_leader = f;
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(StormSummaryToJson(s));
  std::vector<std::string> leader_keys;
  for (const auto& item : j.at("frozen_leader").items()) leader_keys.push_back(item.key());
  EXPECT_EQ(leader_keys, (std::vector<std::string>{
                             "backend_pid", "lease_ttl_ms", "lease_expires_ms", "killed_ms",
                             "killed_by", "freed_by_instance", "reaping_resumed_ms",
                             "first_zombie_reaped_ms", "within_ttl_plus_1s", "passes_while_valid",
                             "busy_while_valid", "kills_while_valid"}));
}

// One line, no spaces, times with one decimal ("%.1f"), counts as integers,
// the seed as an unsigned 64-bit integer.
TEST(StormSummaryTest, NumbersAreWrittenAsTheScriptsReadThem) {
  StormSummary s;
  s.client = "libpq";
  s.invocations = 40;
  s.p50_ms = 23.25;
  s.p99_ms = 41;
  s.full_at_ms = 4012.449;
  s.restart_ms = 0.04;
  s.seed = 18446744073709551615ull;
  s.duration_ms = 15600;
  s.failures["53300"] = 13;
  const std::string json = StormSummaryToJson(s);
  EXPECT_FALSE(absl::StrContains(json, "\n")) << json;
  EXPECT_FALSE(absl::StrContains(json, " ")) << json;
  EXPECT_TRUE(absl::StartsWith(json,
                               "{\"client\":\"libpq\",\"invocations\":40,\"ok\":0,\"failed\":0,"
                               "\"failures\":{\"53300\":13},"))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"p50_ms\":23.2,\"p99_ms\":41.0,")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"full_at_ms\":4012.4,")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"restart_ms\":0.0,")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"seed\":18446744073709551615,\"duration_ms\":15600,"))
      << json;
  EXPECT_TRUE(absl::EndsWith(json, ",\"interrupted\":false}")) << json;
}

// Text from a server or a client may be anything: the line stays valid JSON.
TEST(StormSummaryTest, TextThatIsNotUtf8StillGivesValidJson) {
  StormSummary s;
  s.client = "cmd";
  s.client_cmd = std::string("echo \xff\xfe ok\t\x01");
  s.failures[std::string("bad \xc3 byte")] = 2;
  absl::StatusOr<Json> j = ParseSummary(StormSummaryToJson(s));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(String(*j, "client_cmd"), "echo \xef\xbf\xbd\xef\xbf\xbd ok\t\x01");
  EXPECT_EQ(Number(Member(*j, "failures"), "bad \xef\xbf\xbd byte"), 2);
}

}  // namespace
}  // namespace storm
}  // namespace aequor
