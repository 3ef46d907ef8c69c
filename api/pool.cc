// ValidatePoolOptions and PooledConnection of api/pool.h.
#include "api/pool.h"

#include "absl/strings/str_cat.h"

namespace aequor {

absl::Status ValidatePoolOptions(const PoolOptions& o) {
  if (o.max_size < 1 || o.max_size > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool max_size: must be 1 to 10000, got ", o.max_size));
  }
  if (o.max_batch < 1 || o.max_batch > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool max_batch: must be 1 (off) to 1000, got ", o.max_batch));
  }
  if (o.min_size < 0 || o.min_size > o.max_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pool min_size: must be 0 to max_size (", o.max_size, "), got ", o.min_size));
  }
  if (o.acquire_timeout <= absl::ZeroDuration() || o.acquire_timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("pool acquire_timeout: must be > 0 and finite, got ",
                                                   absl::FormatDuration(o.acquire_timeout)));
  }
  if (o.max_lifetime != absl::ZeroDuration() &&
      (o.max_lifetime < absl::Seconds(1) || o.max_lifetime == absl::InfiniteDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool max_lifetime: must be zero (never) or at least 1s and finite, got ",
                     absl::FormatDuration(o.max_lifetime)));
  }
  if (o.idle_timeout < absl::ZeroDuration() || o.idle_timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool idle_timeout: must be >= 0 (zero: never) and finite, got ",
                     absl::FormatDuration(o.idle_timeout)));
  }
  if (o.keepalive_interval <= absl::ZeroDuration() ||
      o.keepalive_interval == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool keepalive_interval: must be > 0 and finite, got ",
                     absl::FormatDuration(o.keepalive_interval)));
  }
  if (o.leak_threshold < absl::ZeroDuration() || o.leak_threshold == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pool leak_threshold: must be >= 0 (zero: off) and finite, got ",
                     absl::FormatDuration(o.leak_threshold)));
  }
  return absl::OkStatus();
}

namespace {

absl::Status Released() {
  return absl::FailedPreconditionError(
      "PooledConnection: this handle holds no connection (moved from, or released)");
}

}  // namespace

absl::StatusOr<QueryResult> PooledConnection::Query(absl::string_view sql,
                                                    absl::Span<const Param> params,
                                                    const QueryOptions& options) {
  if (b_ == nullptr) return Released();
  return b_->Query(sql, params, options);
}

absl::Status PooledConnection::RunTransaction(const TransactionBody& body,
                                              const TransactionOptions& options) {
  if (b_ == nullptr) return Released();
  return b_->RunTransaction(body, options);
}

absl::Status PooledConnection::WithConnection(const ConnectionFn& fn) {
  if (b_ == nullptr) return Released();
  return b_->WithConnection(fn);
}

}  // namespace aequor
