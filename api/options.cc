// ValidateOptions: every value and relation of ManagerOptions that does not
// involve a plugin.
#include "api/options.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "api/lease.h"

namespace aequor {
namespace {

// The largest value PostgreSQL takes for an integer setting (sent as a
// startup option or by SET) and libpq for an integer keyword: INT_MAX. A
// larger one fails every connect (or every reaper pass), not just one.
constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();

// Linux refuses TCP_KEEPIDLE and TCP_KEEPINTVL above this (EINVAL); libpq
// then gives up the attempt ("setsockopt(TCP_KEEPIDLE) failed").
constexpr int64_t kMaxKeepaliveSeconds = 32767;

std::string Show(absl::Duration d) { return absl::FormatDuration(d); }

absl::Status Invalid(absl::string_view option, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(option, ": ", problem));
}

absl::Status Positive(absl::string_view option, absl::Duration d) {
  if (d > absl::ZeroDuration()) return absl::OkStatus();
  return Invalid(option, absl::StrCat("must be positive, got ", Show(d)));
}

// OK when `d` is within [lo, hi] `unit`s, or 0 where `zero_means` says what
// 0 means; else InvalidArgument naming `option` and the range, in `unit`s so
// that INT_MAX reads as the number the server or libpq is given.
absl::Status InRange(absl::string_view option, absl::Duration d, int64_t lo, int64_t hi,
                     absl::Duration unit, absl::string_view unit_name,
                     absl::string_view zero_means = "", absl::string_view when = "") {
  if (!zero_means.empty() && d == absl::ZeroDuration()) return absl::OkStatus();
  if (d >= unit * lo && d <= unit * hi) return absl::OkStatus();
  const std::string range = absl::StrCat("[", lo, unit_name, ", ", hi, unit_name, "]");
  return Invalid(
      option, absl::StrCat("must be ",
                           zero_means.empty() ? absl::StrCat("in ", range)
                                              : absl::StrCat("0 (", zero_means, ") or in ", range),
                           when, ", got ", Show(d)));
}

}  // namespace

absl::Status ValidateOptions(const ManagerOptions& o) {
  for (const auto& [name, value] :
       {std::pair<absl::string_view, absl::Duration>{"lease_ttl", o.lease_ttl},
        {"lease_renew_before", o.lease_renew_before},
        {"lease_block_before", o.lease_block_before},
        {"lease_renew_timeout", o.lease_renew_timeout},
        {"connect_budget", o.connect_budget},
        {"query_budget", o.query_budget},
        {"connect_timeout", o.connect_timeout}}) {
    if (absl::Status s = Positive(name, value); !s.ok()) return s;
  }
  if (o.lease_ttl < absl::Seconds(1)) {
    return Invalid("lease_ttl", absl::StrCat("must be at least 1s, got ", Show(o.lease_ttl)));
  }
  if (o.lease_ttl > absl::Hours(24)) {
    return Invalid("lease_ttl", absl::StrCat("must be at most 24h, got ", Show(o.lease_ttl)));
  }
  if (o.lease_renew_before >= o.lease_ttl) {
    return Invalid("lease_renew_before",
                   absl::StrCat("(", Show(o.lease_renew_before), ") must be less than lease_ttl (",
                                Show(o.lease_ttl), ")"));
  }
  if (o.lease_block_before >= o.lease_renew_before) {
    return Invalid("lease_block_before", absl::StrCat("(", Show(o.lease_block_before),
                                                      ") must be less than lease_renew_before (",
                                                      Show(o.lease_renew_before), ")"));
  }
  if (o.reap_min_idle < absl::ZeroDuration()) {
    return Invalid("reap_min_idle",
                   absl::StrCat("must not be negative, got ", Show(o.reap_min_idle)));
  }
  if (o.statement_cache_size < 0 || o.statement_cache_size > 10000) {
    return Invalid("statement_cache_size",
                   absl::StrCat("must be in [0, 10000], got ", o.statement_cache_size));
  }
  if (o.reap_max_kills < 1 || o.reap_max_kills > 1000) {
    return Invalid("reap_max_kills", absl::StrCat("must be in [1, 1000], got ", o.reap_max_kills));
  }
  if (!(o.reap_pressure_threshold > 0 && o.reap_pressure_threshold <= 1)) {
    return Invalid("reap_pressure_threshold",
                   absl::StrCat("must be in (0, 1], got ", o.reap_pressure_threshold));
  }
  if (o.reap_idle_in_transaction_after != absl::ZeroDuration() &&
      o.reap_idle_in_transaction_after < o.reap_min_idle) {
    return Invalid(
        "reap_idle_in_transaction_after",
        absl::StrCat("(", Show(o.reap_idle_in_transaction_after),
                     ") must be 0 (off) or at least reap_min_idle (", Show(o.reap_min_idle), ")"));
  }
  for (const auto& [name, value] :
       {std::pair<absl::string_view, absl::Duration>{"reap_clock_skew", o.reap_clock_skew},
        {"invocation_gap", o.invocation_gap},
        {"thaw_check_after", o.thaw_check_after}}) {
    if (value < absl::ZeroDuration()) {
      return Invalid(name, absl::StrCat("must not be negative, got ", Show(value)));
    }
  }
  // Added to a lease's expiry in the reaper's SQL (bigint milliseconds): an
  // infinite margin overflowed it and failed every pass.
  if (o.reap_clock_skew > absl::Hours(24)) {
    return Invalid("reap_clock_skew", absl::StrCat("must be at most 24h (the longest lease), got ",
                                                   Show(o.reap_clock_skew)));
  }
  // Server settings, in milliseconds (PostgreSQL's range is 1 .. INT_MAX).
  for (const auto& [name, value] : {std::pair<absl::string_view, absl::Duration>{
                                        "reap_statement_timeout", o.reap_statement_timeout},
                                    {"reap_lock_timeout", o.reap_lock_timeout}}) {
    if (absl::Status s = InRange(name, value, 1, kMaxInt, absl::Milliseconds(1), "ms"); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = InRange("idle_in_transaction_timeout", o.idle_in_transaction_timeout, 1,
                               kMaxInt, absl::Milliseconds(1), "ms", "the server's setting");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = InRange("idle_session_timeout", o.idle_session_timeout, 1, kMaxInt,
                               absl::Milliseconds(1), "ms", "off");
      !s.ok()) {
    return s;
  }
  if (o.server_keepalives || o.client_keepalives) {
    for (const auto& [name, value] :
         {std::pair<absl::string_view, absl::Duration>{"keepalives_idle", o.keepalives_idle},
          {"keepalives_interval", o.keepalives_interval}}) {
      if (absl::Status s =
              InRange(name, value, 1, kMaxKeepaliveSeconds, absl::Seconds(1), "s", "",
                      " when server_keepalives or client_keepalives is on (Linux's limit)");
          !s.ok()) {
        return s;
      }
    }
    if (o.keepalives_count < 1 || o.keepalives_count > 100) {
      return Invalid("keepalives_count",
                     absl::StrCat("must be in [1, 100], got ", o.keepalives_count));
    }
  }
  if (o.tcp_user_timeout < absl::ZeroDuration() || o.tcp_user_timeout > absl::Hours(1)) {
    return Invalid("tcp_user_timeout", absl::StrCat("must be in [0, 1h] (0: the kernel's), got ",
                                                    Show(o.tcp_user_timeout)));
  }
  if (o.tcp_user_timeout > absl::ZeroDuration() && o.tcp_user_timeout < absl::Milliseconds(1)) {
    return Invalid("tcp_user_timeout", "must be 0 or at least 1ms");
  }
  if (o.cancel_timeout < absl::Milliseconds(1) || o.cancel_timeout > absl::Seconds(60)) {
    return Invalid("cancel_timeout",
                   absl::StrCat("must be in [1ms, 60s], got ", Show(o.cancel_timeout)));
  }
  // libpq's smallest, and the largest int it reads (whole seconds, rounded
  // up). Never infinite: connect_budget may be.
  if (absl::Status s = InRange("connect_timeout", o.connect_timeout, 2, kMaxInt, absl::Seconds(1),
                               "s", "", " (libpq's whole seconds)");
      !s.ok()) {
    return s;
  }
  if (o.connect_timeout > o.connect_budget) {
    return Invalid("connect_timeout",
                   absl::StrCat("(", Show(o.connect_timeout), ") must not exceed connect_budget (",
                                Show(o.connect_budget), ")"));
  }
  if (o.exporter_queue_capacity < 1 || o.exporter_queue_capacity > 1000000) {
    return Invalid("exporter_queue_capacity",
                   absl::StrCat("must be in [1, 1000000], got ", o.exporter_queue_capacity));
  }
  if (o.exporter_interval < absl::Milliseconds(10) || o.exporter_interval > absl::Hours(1)) {
    return Invalid("exporter_interval",
                   absl::StrCat("must be in [10ms, 1h], got ", Show(o.exporter_interval)));
  }
  if (!o.coordination_secret.empty() && o.coordination_secret.size() < kMinSecretBytes) {
    return Invalid("coordination_secret",
                   absl::StrCat("must be at least ", kMinSecretBytes, " bytes"));
  }
  for (size_t i = 0; i < o.previous_secrets.size(); ++i) {
    if (o.previous_secrets[i].size() < kMinSecretBytes) {
      return Invalid(absl::StrCat("previous_secrets[", i, "]"),
                     absl::StrCat("must be at least ", kMinSecretBytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

}  // namespace aequor
