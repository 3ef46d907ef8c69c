// Fuzz target: the storm harness's side of its line protocol
// (bench/storm/protocol.h): ParseInstanceLine on what an instance printed (any
// --client-cmd, so any bytes), ParseInvokeCommand on what an instance reads,
// and FailLine, which the built-in clients print.
//
// Input: lines; each is parsed as an instance's line and as a command. The
// whole input is also a failure message for FailLine, with line 1 as its
// SQLSTATE when it looks like one.
//
// Checks:
//   - `ok` and `fail ...` are answers, `#`/`# ...` comments, everything else
//     is ignored with no field set;
//   - a failure key is never empty; it is the SQLSTATE, "unknown_outcome" or
//     a prefix of the text cut at white space to at most 80 bytes (a longer
//     first word stays whole);
//   - a "# pid" comment gives a positive pid, a "# reap" comment a source and
//     a count of at least 0;
//   - ParseInvokeCommand gives a positive id, the previous one + 1 for a bare
//     "invoke", and reads InvokeCommand(id) back as id;
//   - FailLine gives one line that parses as a failure, keyed by the SQLSTATE
//     when one is given.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "bench/storm/protocol.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace aequor {
namespace fuzz {
namespace {

using storm::InstanceLine;

constexpr size_t kMaxKeyBytes = 80;

bool HasSpaceOrTab(absl::string_view s) {
  return s.find_first_of(" \t") != absl::string_view::npos;
}

void CheckFailure(absl::string_view line, const InstanceLine& parsed) {
  const absl::string_view rest = absl::StripAsciiWhitespace(line.substr(4));
  const std::string& key = parsed.failure_key;
  FUZZ_CHECK(!key.empty(), "empty failure key for '" << line << "'");
  if (rest.empty()) {
    FUZZ_CHECK(key == "unspecified", "key '" << key << "' for a bare fail");
    return;
  }
  if (parsed.outcome_unknown) {
    FUZZ_CHECK(key == storm::kUnknownOutcome && absl::StartsWith(rest, storm::kUnknownOutcome),
               "outcome unknown with key '" << key << "'");
    return;
  }
  if (storm::LooksLikeSqlState(key) && absl::StartsWith(rest, key) &&
      (rest.size() == key.size() || rest[key.size()] == ' ')) {
    return;  // keyed by its SQLSTATE
  }
  FUZZ_CHECK(absl::StartsWith(rest, key),
             "key '" << key << "' is not a prefix of '" << rest << "'");
  FUZZ_CHECK(key.size() == rest.size() ||
                 absl::ascii_isspace(static_cast<unsigned char>(rest[key.size()])),
             "key '" << key << "' cuts a word of '" << rest << "'");
  FUZZ_CHECK(key.size() <= kMaxKeyBytes || !HasSpaceOrTab(key),
             "key of " << key.size() << " bytes holds several words");
  FUZZ_CHECK(key == absl::StripTrailingAsciiWhitespace(key), "key ends in white space");
}

void CheckLine(absl::string_view line) {
  const InstanceLine parsed = storm::ParseInstanceLine(line);
  absl::string_view bare = line;
  if (absl::EndsWith(bare, "\r")) bare.remove_suffix(1);
  switch (parsed.kind) {
    case InstanceLine::Kind::kOk: FUZZ_CHECK(bare == "ok", "'" << line << "' read as ok"); break;
    case InstanceLine::Kind::kFail:
      FUZZ_CHECK(bare == "fail" || absl::StartsWith(bare, "fail "),
                 "'" << line << "' read as fail");
      CheckFailure(bare, parsed);
      break;
    case InstanceLine::Kind::kComment:
      FUZZ_CHECK(bare == "#" || absl::StartsWith(bare, "# "), "'" << line << "' read as comment");
      FUZZ_CHECK(!parsed.backend_pid.has_value() || *parsed.backend_pid > 0, "pid <= 0");
      FUZZ_CHECK(!parsed.backend_pid.has_value() || !parsed.reap.has_value(), "pid and reap");
      if (parsed.reap.has_value()) {
        FUZZ_CHECK(!parsed.reap->source.empty() && parsed.reap->killed >= 0,
                   "reap comment without a source or with killed < 0: '" << line << "'");
      }
      break;
    case InstanceLine::Kind::kOther:
      FUZZ_CHECK(!(bare == "ok" || bare == "fail" || absl::StartsWith(bare, "fail ") ||
                   bare == "#" || absl::StartsWith(bare, "# ")),
                 "'" << line << "' ignored");
      FUZZ_CHECK(parsed.failure_key.empty() && parsed.detail.empty() && !parsed.outcome_unknown &&
                     !parsed.backend_pid.has_value() && !parsed.reap.has_value(),
                 "an ignored line set a field");
      break;
  }
  if (parsed.kind != InstanceLine::Kind::kFail) {
    FUZZ_CHECK(parsed.failure_key.empty() && !parsed.outcome_unknown, "a key outside a failure");
  }
}

void CheckCommand(absl::string_view line, int previous) {
  const std::optional<int> id = storm::ParseInvokeCommand(line, previous);
  if (!id.has_value()) return;
  const absl::string_view bare = absl::StripAsciiWhitespace(line);
  FUZZ_CHECK(absl::StartsWith(bare, storm::kCommandInvoke), "'" << line << "' read as invoke");
  if (bare == storm::kCommandInvoke) {
    FUZZ_CHECK(*id == previous + 1, "a bare invoke gave " << *id << " after " << previous);
    return;
  }
  FUZZ_CHECK(*id > 0, "invoke id " << *id);
  FUZZ_CHECK(storm::ParseInvokeCommand(storm::InvokeCommand(*id), previous) == id,
             "InvokeCommand(" << *id << ") does not read back");
}

void CheckFailLine(absl::string_view message, absl::string_view sqlstate_line) {
  const absl::string_view sqlstate =
      storm::LooksLikeSqlState(sqlstate_line) ? sqlstate_line : absl::string_view();
  const std::string line = storm::FailLine(sqlstate, message);
  FUZZ_CHECK(line.find_first_of("\r\n") == std::string::npos, "FailLine wrote several lines");
  const InstanceLine parsed = storm::ParseInstanceLine(line);
  FUZZ_CHECK(parsed.kind == InstanceLine::Kind::kFail, "FailLine's '" << line << "' is no failure");
  if (!sqlstate.empty()) {
    FUZZ_CHECK(parsed.failure_key == sqlstate,
               "FailLine's '" << line << "' is keyed '" << parsed.failure_key << "'");
  }
}

}  // namespace
}  // namespace fuzz
}  // namespace aequor

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const aequor::fuzz::FuzzInput in(data, size);
  int previous = 0;
  for (size_t i = 0; i < in.line_count(); ++i) {
    aequor::fuzz::CheckLine(in.Line(i));
    aequor::fuzz::CheckCommand(in.Line(i), previous);
    previous = static_cast<int>(i % 3 == 2 ? 2147483646 : i);
  }
  aequor::fuzz::CheckFailLine(in.text(), in.Line(1));
  return 0;
}
