#include "core/classify.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "api/errors.h"

namespace aequor {
namespace {

bool RolledBack(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

}  // namespace

bool LooksLikeCommit(absl::string_view sql) {
  sql = absl::StripLeadingAsciiWhitespace(sql);
  auto starts = [&](absl::string_view word) {
    if (!absl::StartsWithIgnoreCase(sql, word)) return false;
    return sql.size() == word.size() ||
           !absl::ascii_isalnum(static_cast<unsigned char>(sql[word.size()]));
  };
  return starts("commit") || starts("end");
}

namespace {

Verdict ClassifyInTime(const FailureFacts& f) {
  const std::string sqlstate = SqlState(f.status);
  switch (f.phase) {
    case Phase::kConnect:
      switch (f.status.code()) {
        case absl::StatusCode::kUnauthenticated:
        case absl::StatusCode::kNotFound:
        case absl::StatusCode::kInvalidArgument:
        case absl::StatusCode::kPermissionDenied: return Verdict::kFail;
        default: return Verdict::kRetry;
      }
    case Phase::kStatement:
      if (f.connection_lost) {
        if (f.in_transaction) return f.is_commit ? Verdict::kOutcomeUnknown : Verdict::kFail;
        if (f.nothing_sent || f.idempotent) return Verdict::kRetry;
        return Verdict::kOutcomeUnknown;
      }
      return RolledBack(sqlstate) && !f.in_transaction ? Verdict::kRetry : Verdict::kFail;
    case Phase::kTransactionBody:
      return f.connection_lost || RolledBack(sqlstate) ? Verdict::kRetry : Verdict::kFail;
    case Phase::kCommit:
      if (f.connection_lost) return f.nothing_sent ? Verdict::kRetry : Verdict::kOutcomeUnknown;
      return RolledBack(sqlstate) ? Verdict::kRetry : Verdict::kFail;
  }
  return Verdict::kFail;
}

}  // namespace

Verdict Classify(const FailureFacts& f) {
  const Verdict verdict = ClassifyInTime(f);
  return f.timed_out && verdict == Verdict::kRetry ? Verdict::kFail : verdict;
}

}  // namespace aequor
