// testing/strict_json.h: reading JSON in tests with nlohmann-json, plus the
// two checks its DOM cannot make: that no object names a member twice (the
// DOM keeps only one), and how each number was written ("-3.250", not -3.25).
//
//   absl::StatusOr<nlohmann::ordered_json> doc = ParseStrictJson(line);
//   ASSERT_TRUE(doc.ok()) << doc.status();
//   EXPECT_EQ(doc->at("Service"), "orders-api");
//   absl::StatusOr<std::map<std::string, std::string>> texts = JsonNumberTexts(line);
//   EXPECT_EQ(texts->at("/ClockOffset"), "-3.250");
//
// Members keep the order they were written in (nlohmann::ordered_json).
// Look members up with at() or contains(): operator[] on a const document
// asserts that the member exists.
//
// Thread-safety: pure functions.
#ifndef AEQUOR_TESTING_STRICT_JSON_H_
#define AEQUOR_TESTING_STRICT_JSON_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace aequor {
namespace testing {

// `text` as exactly one JSON document (RFC 8259; white space around it
// allowed). InvalidArgument with the parser's message when it is not one, or
// `JSON: member "<name>" twice at <pointer>` when an object repeats a name.
absl::StatusOr<nlohmann::ordered_json> ParseStrictJson(absl::string_view text);

// Every number of the document `text` as written, keyed by its JSON Pointer
// (RFC 6901): {"/_aws/Timestamp": "1767225600123", "/a/0": "-0.250e1"}.
// Errors as ParseStrictJson().
absl::StatusOr<std::map<std::string, std::string>> JsonNumberTexts(absl::string_view text);

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_STRICT_JSON_H_
