// testing/strict_json.h: RFC 8259 documents through nlohmann-json, repeated
// member names refused, numbers as written.
#include "testing/strict_json.h"

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace aequor {
namespace testing {
namespace {

TEST(ParseStrictJson, ReadsEveryKindOfValueInWrittenOrder) {
  absl::StatusOr<nlohmann::ordered_json> doc = ParseStrictJson(
      " {\"s\":\"a\\\"b\\n\",\"n\":-0.250e1,\"t\":true,\"f\":false,\"z\":null,"
      "\"a\":[1,{}],\"o\":{\"k\":[]}} ");
  ASSERT_TRUE(doc.ok()) << doc.status();
  ASSERT_TRUE(doc->is_object());
  EXPECT_EQ(doc->at("s"), "a\"b\n");
  EXPECT_EQ(doc->at("n").get<double>(), -2.5);
  EXPECT_TRUE(doc->at("t").get<bool>());
  EXPECT_TRUE(doc->at("z").is_null());
  EXPECT_TRUE(doc->at("a").at(1).is_object());
  EXPECT_TRUE(doc->at("o").at("k").is_array());
  std::string order;
  for (const auto& [key, value] : doc->items()) order += key;
  EXPECT_EQ(order, "sntfzao");
}

TEST(ParseStrictJson, RefusesWhatRfc8259Does) {
  for (const char* bad : {"",
                          "{",
                          "{\"a\":1,}",
                          "[1,]",
                          "{'a':1}",
                          "{a:1}",
                          "01",
                          "1.",
                          ".5",
                          "+1",
                          "1e",
                          "-",
                          "tru",
                          "nul",
                          "\"a",
                          "\"\\x\"",
                          "\"\\u12G4\"",
                          "\"\\u12\"",
                          "\"tab\there\"",
                          "1 2",
                          "{} x",
                          "NaN",
                          "\"\\ud83d\"",
                          "\"\\ude00\"",
                          "/* c */ 1"}) {
    EXPECT_EQ(ParseStrictJson(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseStrictJson, DecodesUnicodeEscapesAsUtf8) {
  absl::StatusOr<nlohmann::ordered_json> doc =
      ParseStrictJson("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->get<std::string>(), "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(ParseStrictJson, RefusesAMemberNamedTwiceAtAnyDepth) {
  absl::Status flat = ParseStrictJson("{\"a\":1,\"a\":2}").status();
  EXPECT_EQ(flat.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(flat.message(), "JSON: member \"a\" twice at /a");

  absl::Status deep = ParseStrictJson("[{\"x\":{\"b\":1,\"c\":2,\"b\":3}}]").status();
  EXPECT_EQ(deep.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(deep.message(), "\"b\" twice at /0/x/b")) << deep;

  EXPECT_TRUE(ParseStrictJson("{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}").ok())
      << "the same name in other objects is fine";
}

TEST(JsonNumberTexts, GivesEachNumberAsWrittenByPointer) {
  absl::StatusOr<std::map<std::string, std::string>> texts = JsonNumberTexts(
      "{\"t\":1767225600123,\"o\":-3.250,\"a\":[0.4,{\"x/y\":-7,\"~\":1e3}],\"s\":\"9\"}");
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_EQ(*texts, (std::map<std::string, std::string>{{"/t", "1767225600123"},
                                                        {"/o", "-3.250"},
                                                        {"/a/0", "0.4"},
                                                        {"/a/1/x~1y", "-7"},
                                                        {"/a/1/~0", "1e3"}}));
  EXPECT_EQ(JsonNumberTexts("[1,]").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace testing
}  // namespace aequor
