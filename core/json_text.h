// core/json_text.h: quoting text for the JSON that aequor writes (aequorctl
// output, the storm's summary, EMF lines).
//
//   std::string line = absl::StrCat("{\"reason\":", aequor::JsonQuote(reason), "}");
//
// The result is always valid JSON: quotes, backslashes and control characters
// are escaped, valid UTF-8 passes through unchanged, and each byte that is
// not part of a valid UTF-8 sequence becomes \ufffd (text from the server or
// the network is not guaranteed to be UTF-8).
//
// Thread-safety: pure function.
#ifndef AEQUOR_CORE_JSON_TEXT_H_
#define AEQUOR_CORE_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace aequor {

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);
// The same, appended to *out (no temporary string).
void JsonQuoteTo(absl::string_view text, std::string* out);

}  // namespace aequor

#endif  // AEQUOR_CORE_JSON_TEXT_H_
