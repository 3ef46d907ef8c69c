#include "bench/storm/frozen_leader.h"

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/secret.h"
#include "bench/storm/conninfo.h"
#include "core/reaper.h"
#include "signers/hmac_sha256_botan.h"

namespace aequor {
namespace storm {
namespace {

int64_t EpochMsNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Failed(absl::StatusCode code, absl::string_view step, absl::string_view why) {
  return absl::Status(code, absl::StrCat("--frozen-leader: ", step, ": ", why));
}

}  // namespace

// Its lease is signed as an instance's manager signs one (the default
// signer, the normalised service, an 8-character instance id), and it
// connects exactly where the instances connect.
absl::StatusOr<FrozenLeader> StartFrozenLeader(const FrozenLeaderSpec& spec, Monitor& monitor,
                                               const Progress& say) {
  absl::StatusOr<std::unique_ptr<LeaseSigner>> signer =
      NewHmacSha256BotanSigner(Secret(spec.secret));
  if (!signer.ok())
    return Failed(signer.status().code(), "the lease signer", signer.status().message());
  const std::string service = NormalizeService(spec.service);
  std::mt19937_64 rng(spec.seed ^ 0xf0ce1eade7ull);
  const uint64_t bits = rng();
  char id_bytes[6];
  for (int i = 0; i < 6; ++i) id_bytes[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
  const std::string instance = Base64UrlEncode(absl::string_view(id_bytes, sizeof(id_bytes)));
  const int64_t now_epoch_ms = EpochMsNow();
  FrozenLeader leader;
  leader.expires_epoch_ms = now_epoch_ms + spec.lease_ttl_ms;
  absl::StatusOr<std::string> lease =
      SignLease(**signer, service, instance, leader.expires_epoch_ms);
  if (!lease.ok())
    return Failed(lease.status().code(), "signing its lease", lease.status().message());

  // The instances' connection settings, as keywords.
  std::map<std::string, std::string> params = KeywordsForEnvironment(spec.fleet_env);
  params["application_name"] = *lease;
  // pg_advisory_lock waits for a holder: on a --dsn server a live fleet may
  // hold the lock. A startup option bounds the wait without a statement.
  std::string& options = params["options"];
  absl::StrAppend(&options, options.empty() ? "" : " ", "-c lock_timeout=5000");
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [k, v] : params) {
    keywords.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  leader.conn.reset(PQconnectdbParams(keywords.data(), values.data(), 0));
  if (leader.conn == nullptr || PQstatus(leader.conn.get()) != CONNECTION_OK) {
    return Failed(
        absl::StatusCode::kUnavailable, "connecting as the fleet's role failed",
        leader.conn == nullptr ? "out of memory" : OneLine(PQerrorMessage(leader.conn.get())));
  }
  PQsetNoticeProcessor(
      leader.conn.get(), [](void*, const char*) {}, nullptr);
  // pg-aequor's session-level lock, the two-int4 form.
  const std::string lock_sql =
      absl::StrCat("SELECT pg_advisory_lock(", kReaperLockNamespace, ", hashtext($1))");
  if (pg::Outcome locked = pg::Exec(leader.conn.get(), lock_sql, {service}); !locked.ok()) {
    return Failed(absl::StatusCode::kUnavailable, "taking the lock", OneLine(locked.message()));
  }
  const int pid = PQbackendPID(leader.conn.get());
  // Its backend_start as the polls read it, so that a later backend reusing
  // the pid is not taken for it.
  absl::StatusOr<int64_t> start_ms = monitor.BackendStartMs(pid);
  if (!start_ms.ok()) {
    return Failed(absl::StatusCode::kUnavailable,
                  absl::StrCat("the monitor cannot see the leader's backend ", pid),
                  start_ms.status().message());
  }
  leader.key = BackendKey{pid, *start_ms};
  say("frozen leader: backend ", pid, " (",
      spec.fleet_role.empty() ? "the fleet's role" : spec.fleet_role,
      ") holds pg-aequor's lock pg_advisory_lock(", kReaperLockNamespace, ", hashtext('", service,
      "')) with a lease expiring in ", leader.expires_epoch_ms - now_epoch_ms,
      " ms, and is never used again");
  return leader;
}

void SummarizeFrozenLeader(double lease_expires_ms, const std::vector<ReapLine>& reap_lines,
                           const std::vector<double>& zombie_reaped_ms, FrozenLeaderReport* f) {
  f->lease_expires_ms = lease_expires_ms;
  for (const ReapLine& line : reap_lines) {
    if (line.reap.frozen_leader_killed && !f->freed_by_instance.has_value()) {
      f->freed_by_instance = line.instance;
    }
    if (line.read_ms >= f->lease_expires_ms) continue;
    ++f->passes_while_valid;
    if (line.reap.outcome == "busy") ++f->busy_while_valid;
    f->kills_while_valid += line.reap.killed;
  }
  // Nothing can be reaped while the lock is held, the leader included: the
  // first kill at or after the expiry (the leader's own, which a pass does
  // first, or any zombie's) is when reaping resumed.
  std::vector<double> kills = zombie_reaped_ms;
  if (f->killed_ms.has_value()) kills.push_back(*f->killed_ms);
  for (double t : kills) {
    if (t >= f->lease_expires_ms &&
        (!f->reaping_resumed_ms.has_value() || t - f->lease_expires_ms < *f->reaping_resumed_ms)) {
      f->reaping_resumed_ms = t - f->lease_expires_ms;
    }
  }
  for (double t : zombie_reaped_ms) {
    if (f->killed_ms.has_value() && t >= *f->killed_ms &&
        (!f->first_zombie_reaped_ms.has_value() || t < *f->first_zombie_reaped_ms)) {
      f->first_zombie_reaped_ms = t;
    }
  }
  f->within_ttl_plus_1s = f->reaping_resumed_ms.has_value() && *f->reaping_resumed_ms <= 1000.0;
}

std::string FrozenLeaderLine(const FrozenLeaderReport& f) {
  return absl::StrCat(
      "frozen leader: lease expired at ", absl::StrFormat("%.3f s", f.lease_expires_ms / 1000.0),
      f.killed_ms.has_value()
          ? absl::StrCat(", terminated at ", absl::StrFormat("%.3f s", *f.killed_ms / 1000.0),
                         f.freed_by_instance.has_value()
                             ? absl::StrCat(" by instance ", *f.freed_by_instance, "'s pass")
                             : std::string(""))
          : std::string(", never terminated"),
      "; reaping resumed ",
      f.reaping_resumed_ms.has_value()
          ? absl::StrFormat("%.0f ms after the expiry (within TTL + 1 s: %s)",
                            *f.reaping_resumed_ms, f.within_ttl_plus_1s ? "yes" : "NO")
          : std::string("never (within TTL + 1 s: NO)"),
      f.first_zombie_reaped_ms.has_value()
          ? absl::StrFormat("; first instance zombie reaped after it at %.3f s",
                            *f.first_zombie_reaped_ms / 1000.0)
          : std::string(""),
      "; while its lease was valid: ", f.passes_while_valid, " passes, ", f.busy_while_valid,
      " busy, ", f.kills_while_valid, " sessions terminated");
}

}  // namespace storm
}  // namespace aequor
