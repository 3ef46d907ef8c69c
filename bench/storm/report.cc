#include "bench/storm/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/storm/progress.h"

namespace aequor {
namespace storm {
namespace {

// "53300 x13, timeout x1".
std::string CountsText(const std::map<std::string, int>& counts) {
  std::string out;
  for (const auto& [k, v] : counts) absl::StrAppend(&out, out.empty() ? "" : ", ", k, " x", v);
  return out;
}

}  // namespace

std::vector<std::string> OpeningLines(const StormOptions& o, uint64_t seed) {
  const int per_instance = o.invocations_per_instance;
  const int fleet = (o.invocations + per_instance - 1) / per_instance;
  std::vector<std::string> lines;
  lines.push_back(absl::StrCat(
      "storm: client=",
      o.client == ClientKind::kCommand ? absl::StrCat("cmd (", o.client_cmd, ")")
                                       : std::string(ClientKindName(o.client)),
      ", ", o.invocations, " invocations, ",
      per_instance == 1
          ? absl::StrCat("a new instance for each, one every ", o.interval_ms, " ms")
          : absl::StrCat(fleet, " instances started one every ", o.interval_ms,
                         " ms, each resumed ", o.thaw_after_ms, " ms after its freeze for up to ",
                         per_instance, " invocations"),
      ", frozen ", o.freeze_delay_ms, " ms after answering, timeout ", o.timeout_ms, " ms, seed ",
      seed));
  lines.push_back(absl::StrCat(
      "lease: service=", o.service, " ttl=", o.lease_ttl_ms, " ms min_idle=", o.min_idle_s,
      " s reaper_scheduler=", o.reaper_scheduler.empty() ? "(library default)" : o.reaper_scheduler,
      o.reaper_role ? absl::StrCat(" reaper_role=", o.reaper_slots, " slots") : ""));
  if (o.faults.any()) lines.push_back(absl::StrCat("faults: ", o.faults.ToString()));
  return lines;
}

void TallyWrites(const std::map<int, int>& rows_by_invocation, const std::vector<Answer>& answers,
                 StormSummary* s) {
  for (const auto& [id, n] : rows_by_invocation) {
    s->rows += n;
    if (n > 1) ++s->duplicated_invocations;
  }
  for (size_t i = 0; i < answers.size(); ++i) {
    auto it = rows_by_invocation.find(static_cast<int>(i) + 1);
    const int n = it == rows_by_invocation.end() ? 0 : it->second;
    if (answers[i] == Answer::kOk && n == 0) ++s->ok_without_row;
    if (answers[i] == Answer::kUnknown && n > 0) ++s->unknown_with_row;
    if (answers[i] == Answer::kFailed && n > 0) ++s->failed_with_row;
  }
}

void SummarizeRecovery(int64_t full_epoch_ms, const std::set<int64_t>& fleet_backend_starts,
                       StormSummary* s) {
  auto next = fleet_backend_starts.upper_bound(full_epoch_ms);
  if (next != fleet_backend_starts.end()) {
    s->full_recovery_ms = static_cast<double>(*next - full_epoch_ms);
  }
}

std::vector<std::string> ClosingLines(const StormSummary& s, const StormOptions& o,
                                      double elapsed_ms) {
  std::vector<std::string> lines;
  const std::string failures = CountsText(s.failures);
  lines.push_back(absl::StrCat(
      "done in ", absl::StrFormat("%.1f s", elapsed_ms / 1000.0), ": ", s.ok, " ok, ", s.failed,
      " failed", failures.empty() ? "" : absl::StrCat(" (", failures, ")"), "; peak ",
      s.peak_connections, " connections, ", s.final_connections,
      " at the end; zombies: ", s.zombies_reaped, " reaped, ", s.zombies_left,
      " left; false kills: ", s.false_kills, "; latency p50 ", s.p50_ms ? FormatMs(*s.p50_ms) : "-",
      ", p99 ", s.p99_ms ? FormatMs(*s.p99_ms) : "-"));
  if (s.full_at_ms.has_value()) {
    lines.push_back(absl::StrCat(
        "database full at ", absl::StrFormat("%.1f s", *s.full_at_ms / 1000.0),
        " (refused connections: ", s.refused_connections, "); ",
        s.full_recovery_ms.has_value()
            ? absl::StrCat("the fleet got in again ", FormatMs(*s.full_recovery_ms), " later")
            : std::string("the fleet never got in again")));
  }
  if (o.faults.any()) {
    const std::string by = CountsText(s.fault_kills_by);
    lines.push_back(absl::StrCat("faults: ", s.fault_kills, " backends terminated by the harness",
                                 by.empty() ? "" : absl::StrCat(" (", by, ")")));
  }
  if (o.workload == Workload::kWrite) {
    lines.push_back(absl::StrCat("writes: ", s.rows, " rows; ", s.duplicated_invocations,
                                 " invocations with more than one row, ", s.ok_without_row,
                                 " ok without a row, ", s.unknown_outcome, " outcome unknown (",
                                 s.unknown_with_row, " of them wrote their row), ",
                                 s.failed_with_row, " other failures that wrote their row"));
  }
  return lines;
}

}  // namespace storm
}  // namespace aequor
