// bench/storm/report.h: what a storm says of itself: the opening progress
// lines (its settings), what the counts add up to at the end (the write
// workload's rows against the answers, how long a full database kept the
// fleet out) and the closing lines ("done in 15.6 s: ...").
//
//   for (const std::string& line : OpeningLines(options, seed)) say(line);
//   TallyWrites({{1, 1}, {2, 2}}, {Answer::kOk, Answer::kOk, Answer::kOk}, &summary);
//   // rows 3, duplicated_invocations 1 (#2), ok_without_row 1 (#3)
//   for (const std::string& line : ClosingLines(summary, options, elapsed_ms)) say(line);
//
// Thread-safety: pure functions.
#ifndef AEQUOR_BENCH_STORM_REPORT_H_
#define AEQUOR_BENCH_STORM_REPORT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bench/storm/options.h"
#include "bench/storm/summary.h"

namespace aequor {
namespace storm {

// The opening progress lines: the fleet's schedule and seed, the lease
// settings, and the faults (when there are any).
std::vector<std::string> OpeningLines(const StormOptions& options, uint64_t seed);

// What an invocation answered.
enum class Answer {
  kPending,  // nothing (yet)
  kOk,
  kFailed,   // any failure but an unknown outcome
  kUnknown,  // "fail unknown_outcome ...": the write may have happened
};

// --workload=write: rows, duplicated_invocations, ok_without_row,
// unknown_with_row and failed_with_row from the table's rows per invocation
// id and every invocation's answer (index = id - 1).
void TallyWrites(const std::map<int, int>& rows_by_invocation, const std::vector<Answer>& answers,
                 StormSummary* summary);

// full_recovery_ms: from `full_epoch_ms` (the database was full) to the
// first fleet backend_start after it; unset when none.
void SummarizeRecovery(int64_t full_epoch_ms, const std::set<int64_t>& fleet_backend_starts,
                       StormSummary* summary);

// The closing progress lines: totals, the full database, the faults' kills,
// the writes (the last two only when the options have faults or writes).
std::vector<std::string> ClosingLines(const StormSummary& summary, const StormOptions& options,
                                      double elapsed_ms);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_REPORT_H_
