#include "tools/aequorctl/doctor_finding.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace aequor {
namespace cli {

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kFix: return "fix";
    case Severity::kWarn: return "warn";
    case Severity::kOk: break;
  }
  return "ok";
}

Finding CouldNotCheck(absl::string_view check, const absl::Status& why) {
  return {std::string(check), Severity::kWarn, absl::StrCat("could not check: ", why.message()),
          ""};
}

Severity WorstSeverity(const std::vector<Finding>& findings) {
  Severity worst = Severity::kOk;
  for (const Finding& f : findings) worst = std::max(worst, f.severity);
  return worst;
}

}  // namespace cli
}  // namespace aequor
