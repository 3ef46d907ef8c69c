#include "strategies/retry/backoff_config.h"

#include "absl/strings/str_cat.h"

namespace aequor {

absl::StatusOr<BackoffConfig> ParseBackoffConfig(const PluginSpec& spec) {
  BackoffConfig config;
  ParamReader r(spec);
  config.retries = static_cast<int>(r.Int("retries", config.retries, 0, 100));
  config.base = r.Millis("base_ms", config.base, absl::Milliseconds(1), absl::Minutes(1));
  config.cap = r.Millis("cap_ms", config.cap, absl::Milliseconds(1), absl::Minutes(10));
  if (config.base > config.cap) {
    r.Fail(absl::StrCat("option 'base_ms' (", absl::ToInt64Milliseconds(config.base),
                        ") must not exceed 'cap_ms' (", absl::ToInt64Milliseconds(config.cap),
                        ")"));
  }
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  return config;
}

}  // namespace aequor
