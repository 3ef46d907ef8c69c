#include "tools/demo_report/summary.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aequor {
namespace demo {
namespace {

TEST(ParseStormSummary, ReadsTheFieldsTheDemoShows) {
  auto s = ParseStormSummary(
      R"({"client":"libpq","invocations":40,"ok":27,"failed":13,"failures":{"53300":13},)"
      R"("peak_connections":27,"zombies_reaped":0,"false_kills":0,"p50_ms":21.9,"p99_ms":29.9,)"
      R"("reaped_by":{},"fleet_slots":27,"series_out":"/tmp/a b.csv","interrupted":false,)"
      R"("extra":[1,{"x":[true,null]}]})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->client, "libpq");
  EXPECT_EQ(s->failed, 13);
  EXPECT_EQ(s->failures.at("53300"), 13);
  EXPECT_DOUBLE_EQ(s->p99_ms, 29.9);
  EXPECT_EQ(s->fleet_slots, 27);
}

TEST(ParseStormSummary, RejectsWhatIsNotASummary) {
  EXPECT_EQ(ParseStormSummary("ok").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStormSummary(R"({"client":"x"})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStormSummary(R"({"client":"x",)").status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string deep(100, '[');
  EXPECT_FALSE(ParseStormSummary(absl::StrCat(R"({"a":)", deep)).ok());
}

}  // namespace
}  // namespace demo
}  // namespace aequor
