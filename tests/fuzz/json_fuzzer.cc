// Fuzz target: the JSON our tests read from other processes, through
// testing/strict_json (ParseStrictJson, JsonNumberTexts: how the tests read
// every JSON line aequorctl, storm and the EMF exporter print). aequorctl
// reads no JSON; the storm harness reads its instances' output as text lines
// (instance_line_fuzzer.cc); tools/demo_report's ParseStormSummary is not
// reachable from here yet (docs/FUZZING.md, "Not fuzzed").
//
// Input: one JSON text.
//
// Checks:
//   - nothing throws or crashes, whatever the input;
//   - ParseStrictJson accepts exactly what nlohmann-json accepts, less the
//     documents that repeat a member name (refused naming it), and refuses
//     with InvalidArgument "JSON: ..."; JsonNumberTexts refuses the same
//     texts with the same status;
//   - a document it accepts dumps to text it accepts again as an equal
//     document;
//   - JsonNumberTexts gives one entry per number of the document, keyed by a
//     JSON Pointer that leads to that number, whose text reads back as the
//     same value.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "testing/strict_json.h"
#include "tests/fuzz/fuzz_check.h"

namespace aequor {
namespace fuzz {
namespace {

using Json = nlohmann::ordered_json;

size_t CountNumbers(const Json& doc) {
  if (doc.is_number()) return 1;
  size_t n = 0;
  if (doc.is_structured()) {
    for (const Json& child : doc) n += CountNumbers(child);
  }
  return n;
}

void CheckNumbers(absl::string_view text, const Json& doc) {
  absl::StatusOr<std::map<std::string, std::string>> numbers =
      aequor::testing::JsonNumberTexts(text);
  FUZZ_CHECK(numbers.ok(),
             "JsonNumberTexts refuses what ParseStrictJson accepts: " << numbers.status());
  FUZZ_CHECK(
      numbers->size() == CountNumbers(doc),
      "JsonNumberTexts has " << numbers->size() << " numbers, the document " << CountNumbers(doc));
  for (const auto& [pointer, number] : *numbers) {
    const Json::json_pointer ptr(pointer);
    FUZZ_CHECK(doc.contains(ptr) && doc.at(ptr).is_number(),
               "pointer '" << pointer << "' does not lead to a number");
    const Json value = Json::parse(number, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(value.is_number(),
               "number text '" << number << "' at " << pointer << " is not a number");
    FUZZ_CHECK(value.get<double>() == doc.at(ptr).get<double>(),
               "number text '" << number << "' at " << pointer << " is not the document's "
                               << doc.at(ptr).dump());
  }
}

void CheckStrict(absl::string_view text) {
  absl::StatusOr<Json> doc = aequor::testing::ParseStrictJson(text);
  const bool accepted = Json::accept(text.begin(), text.end());
  if (!doc.ok()) {
    FUZZ_CHECK(doc.status().code() == absl::StatusCode::kInvalidArgument &&
                   absl::StartsWith(doc.status().message(), "JSON: "),
               "refused with " << doc.status());
    FUZZ_CHECK(!accepted || absl::StrContains(doc.status().message(), "\" twice at "),
               "refused a document nlohmann-json accepts: " << doc.status());
    absl::StatusOr<std::map<std::string, std::string>> numbers =
        aequor::testing::JsonNumberTexts(text);
    FUZZ_CHECK(numbers.status() == doc.status(),
               "JsonNumberTexts refuses otherwise: " << numbers.status());
    return;
  }
  FUZZ_CHECK(accepted, "accepted a document nlohmann-json refuses");
  const std::string dumped = doc->dump();
  absl::StatusOr<Json> again = aequor::testing::ParseStrictJson(dumped);
  FUZZ_CHECK(again.ok() && *again == *doc, "the dump '" << dumped << "' does not read back");
  CheckNumbers(text, *doc);
}

}  // namespace
}  // namespace fuzz
}  // namespace aequor

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  aequor::fuzz::CheckStrict(text);
  return 0;
}
