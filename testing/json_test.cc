// The tests' shared JSON reader (testing/json.h): what it accepts, what it
// refuses as not RFC 8259, \u escapes as UTF-8, and CheckUniqueKeys().
#include "testing/json.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace aequor {
namespace testing {
namespace {

TEST(JsonTest, ReadsEveryKindOfValue) {
  absl::StatusOr<Json> doc = ParseJson(
      " {\"s\":\"a\\\"b\\n\",\"n\":-0.250e1,\"t\":true,\"f\":false,\"z\":null,"
      "\"a\":[1,{}],\"o\":{\"k\":[]}} ");
  ASSERT_TRUE(doc.ok()) << doc.status();
  ASSERT_TRUE(doc->is_object());
  EXPECT_EQ((*doc)["s"].string, "a\"b\n");
  EXPECT_TRUE((*doc)["n"].is_number());
  EXPECT_EQ((*doc)["n"].number, -2.5);
  EXPECT_EQ((*doc)["n"].number_text, "-0.250e1");
  EXPECT_TRUE((*doc)["t"].boolean);
  EXPECT_FALSE((*doc)["f"].boolean);
  EXPECT_TRUE((*doc)["z"].is_null());
  EXPECT_TRUE(doc->has("z"));
  EXPECT_FALSE(doc->has("absent"));
  EXPECT_TRUE((*doc)["absent"].is_null());
  ASSERT_TRUE((*doc)["a"].is_array());
  EXPECT_EQ((*doc)["a"].size(), 2u);
  EXPECT_TRUE((*doc)["a"][1].is_object());
  EXPECT_TRUE((*doc)["o"]["k"].is_array());
}

TEST(JsonTest, RefusesWhatRfc8259Does) {
  for (const char* bad :
       {"", "{", "{\"a\":1,}", "[1,]", "{'a':1}", "{a:1}", "01", "1.", ".5", "+1", "1e", "-",
        "tru", "nul", "\"a", "\"\\x\"", "\"\\u12G4\"", "\"\\u12\"", "\"tab\there\"", "1 2",
        "{} x", "NaN"}) {
    EXPECT_EQ(ParseJson(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(JsonTest, DecodesUnicodeEscapesAsUtf8) {
  absl::StatusOr<Json> doc = ParseJson("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->string, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  for (const char* unpaired :
       {"\"\\ud83d\"", "\"\\ud83dx\"", "\"\\ud83d\\u0041\"", "\"\\ude00\""}) {
    EXPECT_FALSE(ParseJson(unpaired).ok()) << unpaired;
  }
}

TEST(JsonTest, KeepsARepeatedMemberAndCheckUniqueKeysFindsIt) {
  absl::StatusOr<Json> flat = ParseJson("{\"a\":1,\"a\":2}");
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_EQ(flat->size(), 2u);
  EXPECT_EQ((*flat)["a"].number, 1) << "the first one wins";
  EXPECT_FALSE(CheckUniqueKeys(*flat).ok());

  absl::StatusOr<Json> deep = ParseJson("[{\"x\":{\"b\":1,\"c\":2,\"b\":3}}]");
  ASSERT_TRUE(deep.ok()) << deep.status();
  const absl::Status status = CheckUniqueKeys(*deep);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("\"b\""), std::string::npos) << status;

  absl::StatusOr<Json> unique = ParseJson("{\"a\":{\"a\":1},\"b\":[{\"a\":2}]}");
  ASSERT_TRUE(unique.ok()) << unique.status();
  EXPECT_TRUE(CheckUniqueKeys(*unique).ok()) << "the same name in other objects is fine";
}

}  // namespace
}  // namespace testing
}  // namespace aequor
