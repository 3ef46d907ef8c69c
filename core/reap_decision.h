// core/reap_decision.h (internal, shared with aequorctl): how a reaper
// pass judges one session, so that `aequorctl leases` and `aequorctl reap`
// judge every session exactly as the library does. The pass itself is
// core/reaper.h.
//
//   ReaperSettings s = ReaperSettingsFromOptions(options, service, /*dry_run=*/true);
//   SessionRow row = ReadSessionRow(result, i);   // SELECT kSessionColumnsSql ...
//   const char* why = ReapDecision(row, s, signer, /*reaper_is_superuser=*/false);
//   if (why == nullptr) { /* a pass would kill it */ }
//
// Thread-safety: plain values and pure functions.
#ifndef AEQUOR_CORE_REAP_DECISION_H_
#define AEQUOR_CORE_REAP_DECISION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "api/lease_signer.h"
#include "api/options.h"
#include "core/server_probe.h"

namespace aequor {

// pg-aequor's advisory lock namespace (the first int4 key).
inline constexpr int kReaperLockNamespace = kProbeLockNamespace;

struct ReaperSettings {
  std::string service;  // normalised
  absl::Duration min_idle = absl::Seconds(180);
  // 0: sessions idle in transaction are never reaped. Otherwise they are
  // reaped once idle in transaction this long (REQUIRES >= min_idle).
  absl::Duration idle_in_transaction_min_idle = absl::ZeroDuration();
  // A lease counts as expired once the server's clock passes expiry + skew.
  absl::Duration clock_skew = absl::Milliseconds(100);
  // Most kills per pass, unless under pressure.
  int max_kills = 10;
  // Usage (core/server_probe.h) from which a pass counts as under pressure
  // and kills every eligible zombie.
  double pressure_threshold = 0.25;
  // The caller knows the database is under pressure (e.g. a connect was
  // refused with 53300): kill every eligible zombie whatever the usage.
  bool under_pressure = false;
  // The first statement also reads the usage and the server's clock
  // (core/server_probe.h). False when the caller probed a moment ago: the
  // pass then judges pressure by `under_pressure` alone.
  bool read_usage = true;
  // statement_timeout for each statement of the pass.
  absl::Duration statement_timeout = absl::Seconds(2);
  // idle_in_transaction_session_timeout of the pass: how soon the server cuts
  // off a leader frozen mid-pass and frees the lock.
  absl::Duration lock_idle_timeout = absl::Seconds(1);
  // Take the lock and report, but kill nothing (aequorctl reap --dry-run).
  bool dry_run = false;
  // Tests only: runs between the scan and the kill statement, to make a
  // session change in that window.
  std::function<void()> before_terminate_for_testing;
};

// The settings a manager with options `o` uses for its passes (also what
// aequorctl uses, so the tool judges sessions exactly as the library does).
ReaperSettings ReaperSettingsFromOptions(const ManagerOptions& o, std::string normalized_service,
                                         bool dry_run);

// The probe columns' settings (core/server_probe.h) matching `settings`, so
// that a probe counts as reapable what a pass would kill.
ProbeSettings ProbeSettingsOf(const ReaperSettings& settings);

// Skip reasons used in ReapReport::skipped.
namespace skip_reason {
inline constexpr char kNotVisible[] = "not_visible";  // no pg_read_all_stats
inline constexpr char kBadLease[] = "bad_lease";      // unparsable application_name
inline constexpr char kBadTag[] = "bad_tag";          // other secret or forged
inline constexpr char kOtherService[] = "other_service";
inline constexpr char kNotExpired[] = "not_expired";
inline constexpr char kActive[] = "active";  // running a query
inline constexpr char kIdleInTransaction[] = "idle_in_transaction";
inline constexpr char kIdleTooShort[] = "idle_too_short";
inline constexpr char kSuperuser[] = "superuser";
inline constexpr char kNotPermitted[] = "not_permitted";  // cannot signal that role
inline constexpr char kOverLimit[] = "over_limit";        // beyond max_kills
inline constexpr char kChanged[] = "changed";             // changed between scan and kill
inline constexpr char kDryRun[] = "dry_run";
}  // namespace skip_reason

// One pg_stat_activity row as a pass sees it (also used by aequorctl to say
// what a pass would do with every session).
struct SessionRow {
  int pid = 0;
  std::string application_name;
  std::string backend_start_us;  // microseconds since the epoch, as text
  std::string state_change_us;
  std::string state;   // "" when not visible to this role (NULL)
  double idle_s = 0;   // since state_change, by the server's clock
  int64_t now_ms = 0;  // the server's clock_timestamp()
  bool target_superuser = false;
  bool may_signal = false;  // this role may pg_terminate_backend it
};

// The select list that ReadSessionRow() reads, over
// `pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid`.
extern const char kSessionColumnsSql[];
SessionRow ReadSessionRow(const PGresult* result, int row);

// What a pass with `settings` would do with `row`: nullptr when it would be
// a candidate to kill (then *expires_ms, if given, is its lease's expiry),
// else the skip reason (skip_reason::*). max_kills is not applied here.
const char* ReapDecision(const SessionRow& row, const ReaperSettings& settings,
                         const LeaseSigner& signer, bool reaper_is_superuser,
                         int64_t* expires_ms = nullptr);

}  // namespace aequor

#endif  // AEQUOR_CORE_REAP_DECISION_H_
