// How a reaper pass judges one session (core/reap_decision.h).
#include "core/reap_decision.h"

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "api/lease.h"

namespace aequor {

ReaperSettings ReaperSettingsFromOptions(const ManagerOptions& o, std::string normalized_service,
                                         bool dry_run) {
  ReaperSettings s;
  s.service = std::move(normalized_service);
  s.min_idle = o.reap_min_idle;
  s.idle_in_transaction_min_idle = o.reap_idle_in_transaction_after;
  s.clock_skew = o.reap_clock_skew;
  s.max_kills = o.reap_max_kills;
  s.pressure_threshold = o.reap_pressure_threshold;
  s.statement_timeout = o.reap_statement_timeout;
  s.lock_idle_timeout = o.reap_lock_timeout;
  s.dry_run = dry_run;
  return s;
}

ProbeSettings ProbeSettingsOf(const ReaperSettings& s) {
  return ProbeSettings{s.service, s.min_idle, s.idle_in_transaction_min_idle, s.clock_skew};
}

const char kSessionColumnsSql[] = R"sql(
  a.pid,
  a.application_name,
  (EXTRACT(EPOCH FROM a.backend_start) * 1000000)::bigint,
  (EXTRACT(EPOCH FROM a.state_change) * 1000000)::bigint,
  a.state,
  EXTRACT(EPOCH FROM (clock_timestamp() - a.state_change))::float8,
  (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint,
  coalesce(r.rolsuper, false),
  (pg_has_role(current_user, a.usesysid, 'MEMBER')
     OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'))
)sql";

SessionRow ReadSessionRow(const PGresult* r, int i) {
  SessionRow row;
  auto text = [&](int c) -> std::string {
    return PQgetisnull(r, i, c) ? std::string() : std::string(PQgetvalue(r, i, c));
  };
  (void)absl::SimpleAtoi(text(0), &row.pid);
  row.application_name = text(1);
  row.backend_start_us = text(2);
  row.state_change_us = text(3);
  row.state = text(4);
  (void)absl::SimpleAtod(text(5), &row.idle_s);
  (void)absl::SimpleAtoi(text(6), &row.now_ms);
  row.target_superuser = text(7) == "t";
  row.may_signal = text(8) == "t";
  return row;
}

const char* ReapDecision(const SessionRow& row, const ReaperSettings& settings,
                         const LeaseSigner& signer, bool reaper_is_superuser, int64_t* expires_ms) {
  if (row.state.empty()) return skip_reason::kNotVisible;
  absl::StatusOr<ParsedLease> lease = ParseLease(row.application_name);
  if (!lease.ok()) return skip_reason::kBadLease;
  if (lease->service != settings.service) return skip_reason::kOtherService;
  if (!VerifyLeaseTag(signer, *lease)) return skip_reason::kBadTag;
  // Expired once now_ms > expires_ms + skew, written without the sum: a
  // validly signed expiry near INT64_MAX must not overflow into "expired".
  const int64_t skew_ms = absl::ToInt64Milliseconds(settings.clock_skew);
  if (lease->expires_ms >= row.now_ms || row.now_ms - lease->expires_ms <= skew_ms) {
    return skip_reason::kNotExpired;
  }
  if (row.state == "idle") {
    if (row.idle_s < absl::ToDoubleSeconds(settings.min_idle)) return skip_reason::kIdleTooShort;
  } else if (row.state == "idle in transaction" || row.state == "idle in transaction (aborted)") {
    if (settings.idle_in_transaction_min_idle <= absl::ZeroDuration()) {
      return skip_reason::kIdleInTransaction;
    }
    if (row.idle_s < absl::ToDoubleSeconds(settings.idle_in_transaction_min_idle)) {
      return skip_reason::kIdleTooShort;
    }
  } else {
    return skip_reason::kActive;
  }
  if (row.target_superuser && !reaper_is_superuser) return skip_reason::kSuperuser;
  if (!row.may_signal && !reaper_is_superuser) return skip_reason::kNotPermitted;
  if (expires_ms != nullptr) *expires_ms = lease->expires_ms;
  return nullptr;
}

}  // namespace aequor
