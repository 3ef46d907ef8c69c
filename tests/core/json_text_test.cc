#include "core/json_text.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

TEST(JsonQuote, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("\n\r\t\x01\x7f"), "\"\\n\\r\\t\\u0001\\u007f\"");
  EXPECT_EQ(JsonQuote(absl::string_view("a\0b", 3)), "\"a\\u0000b\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
}

TEST(JsonQuote, KeepsValidUtf8AndReplacesEveryInvalidByte) {
  EXPECT_EQ(JsonQuote("caf\xC3\xA9"), "\"caf\xC3\xA9\"");              // é
  EXPECT_EQ(JsonQuote("\xE2\x82\xAC"), "\"\xE2\x82\xAC\"");            // €
  EXPECT_EQ(JsonQuote("\xF0\x9F\x98\x80"), "\"\xF0\x9F\x98\x80\"");    // an emoji
  EXPECT_EQ(JsonQuote("\xC3"), "\"\\ufffd\"");                         // truncated
  EXPECT_EQ(JsonQuote("\xFF\xFE"), "\"\\ufffd\\ufffd\"");              // never valid
  EXPECT_EQ(JsonQuote("\xC0\xAF"), "\"\\ufffd\\ufffd\"");              // overlong '/'
  EXPECT_EQ(JsonQuote("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");   // a surrogate
  EXPECT_EQ(JsonQuote("\xF4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
  EXPECT_EQ(JsonQuote("a\x80z"), "\"a\\ufffdz\"");
}

TEST(JsonQuoteTo, AppendsWhatJsonQuoteReturns) {
  std::string out = "{\"k\":";
  JsonQuoteTo("x\"y\xC3\xA9\x01\xFFz", &out);
  out += ',';
  JsonQuoteTo("", &out);
  EXPECT_EQ(out, absl::StrCat("{\"k\":", JsonQuote("x\"y\xC3\xA9\x01\xFFz"), ",\"\""));
  EXPECT_EQ(JsonQuote("x\"y\xC3\xA9\x01\xFFz"), "\"x\\\"y\xC3\xA9\\u0001\\ufffdz\"");
}

}  // namespace
}  // namespace aequor
