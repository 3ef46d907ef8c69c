// tools/aequorctl/doctor_finding.h: what one check of `aequorctl doctor`
// concludes: its name, a severity, what it saw and what to do about it.
//
//   Finding f = {"server_version", Severity::kFix, "PostgreSQL 13.4 ...",
//                "upgrade the server to PostgreSQL 14 or later"};
//   SeverityName(f.severity);  // "fix", as the text and the JSON spell it
//
// Thread-safety: plain values and pure functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_FINDING_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_FINDING_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace cli {

// How bad a finding is, in increasing order. doctor exits 1 when any finding
// is kFix.
enum class Severity { kOk = 0, kWarn = 1, kFix = 2 };

// "ok", "warn", "fix".
const char* SeverityName(Severity severity);

struct Finding {
  std::string check;  // a stable name: "connection", "clock_offset", ...
  Severity severity = Severity::kOk;
  std::string message;
  std::string fix;  // "" when there is nothing to do; may hold several lines
};

// A kWarn finding of `check` saying that it could not be made, and why.
Finding CouldNotCheck(absl::string_view check, const absl::Status& why);

// The worst severity among `findings` (kOk for none).
Severity WorstSeverity(const std::vector<Finding>& findings);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_FINDING_H_
