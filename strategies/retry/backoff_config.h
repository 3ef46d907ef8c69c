// strategies/retry/backoff_config.h: the options shared by the built-in
// backoff policies (decorrelated jitter, exponential).
//
//   retries  retries after the first attempt, 0..100     default 3
//   base_ms  smallest (or first) sleep, 1..60000          default 100
//   cap_ms   largest sleep, base_ms..600000               default 2000
//
// Thread-safety: plain value.
#ifndef AEQUOR_STRATEGIES_RETRY_BACKOFF_CONFIG_H_
#define AEQUOR_STRATEGIES_RETRY_BACKOFF_CONFIG_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/plugin.h"

namespace aequor {

struct BackoffConfig {
  int retries = 3;
  absl::Duration base = absl::Milliseconds(100);
  absl::Duration cap = absl::Milliseconds(2000);
};

// Reads and validates retries/base_ms/cap_ms (base_ms <= cap_ms).
absl::StatusOr<BackoffConfig> ParseBackoffConfig(const PluginSpec& spec);

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_RETRY_BACKOFF_CONFIG_H_
