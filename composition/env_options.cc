// The AEQUOR_* table, its parsers and the README table made from it.
#include "composition/env_options.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace aequor {
namespace {

using O = ManagerOptions;

// In the order of the fields of ManagerOptions (api/options.h). Every entry
// is trivially destructible, so the table is a plain constant.
constexpr EnvOption kTable[] = {
    {"AEQUOR_CONNINFO", "conninfo", EnvUnit::kText, &O::conninfo, /*sensitive=*/true,
     "empty: libpq's defaults and the `PG*` variables"},
    {"AEQUOR_SERVICE", "service", EnvUnit::kText, &O::service, false,
     "`$AWS_LAMBDA_FUNCTION_NAME` if set, else `sls_pg`"},
    {"AEQUOR_LEASE_MODE", "lease_mode", EnvUnit::kLeaseMode, &O::lease_mode},
    {"AEQUOR_LEASE_TTL_MS", "lease_ttl", EnvUnit::kMilliseconds, &O::lease_ttl},
    {"AEQUOR_LEASE_RENEW_BEFORE_MS", "lease_renew_before", EnvUnit::kMilliseconds,
     &O::lease_renew_before},
    {"AEQUOR_LEASE_BLOCK_BEFORE_MS", "lease_block_before", EnvUnit::kMilliseconds,
     &O::lease_block_before},
    {"AEQUOR_LEASE_RENEW_TIMEOUT_MS", "lease_renew_timeout", EnvUnit::kMilliseconds,
     &O::lease_renew_timeout},
    {"AEQUOR_REAP_MIN_IDLE_S", "reap_min_idle", EnvUnit::kSeconds, &O::reap_min_idle},
    {"AEQUOR_REAP_MAX_KILLS", "reap_max_kills", EnvUnit::kCount, &O::reap_max_kills},
    {"AEQUOR_REAP_IDLE_IN_TRANSACTION_AFTER_S", "reap_idle_in_transaction_after", EnvUnit::kSeconds,
     &O::reap_idle_in_transaction_after, false, "`0` (never)"},
    {"AEQUOR_REAP_CLOCK_SKEW_MS", "reap_clock_skew", EnvUnit::kMilliseconds, &O::reap_clock_skew},
    {"AEQUOR_REAP_PRESSURE_THRESHOLD", "reap_pressure_threshold", EnvUnit::kFraction,
     &O::reap_pressure_threshold},
    {"AEQUOR_REAP_STATEMENT_TIMEOUT_MS", "reap_statement_timeout", EnvUnit::kMilliseconds,
     &O::reap_statement_timeout},
    {"AEQUOR_REAP_LOCK_TIMEOUT_MS", "reap_lock_timeout", EnvUnit::kMilliseconds,
     &O::reap_lock_timeout},
    {"AEQUOR_INVOCATION_GAP_MS", "invocation_gap", EnvUnit::kMilliseconds, &O::invocation_gap},
    {"AEQUOR_THAW_CHECK_AFTER_MS", "thaw_check_after", EnvUnit::kMilliseconds,
     &O::thaw_check_after},
    {"AEQUOR_REAPER_CONNINFO", "reaper_conninfo", EnvUnit::kText, &O::reaper_conninfo,
     /*sensitive=*/true, "empty (emergency path off)"},
    {"AEQUOR_IDLE_IN_TRANSACTION_TIMEOUT_MS", "idle_in_transaction_timeout", EnvUnit::kMilliseconds,
     &O::idle_in_transaction_timeout},
    {"AEQUOR_IDLE_SESSION_TIMEOUT_MS", "idle_session_timeout", EnvUnit::kMilliseconds,
     &O::idle_session_timeout, false, "`0` (off)"},
    {"AEQUOR_SERVER_KEEPALIVES", "server_keepalives", EnvUnit::kBoolean, &O::server_keepalives},
    {"AEQUOR_CLIENT_KEEPALIVES", "client_keepalives", EnvUnit::kBoolean, &O::client_keepalives},
    {"AEQUOR_KEEPALIVES_IDLE_S", "keepalives_idle", EnvUnit::kSeconds, &O::keepalives_idle},
    {"AEQUOR_KEEPALIVES_INTERVAL_S", "keepalives_interval", EnvUnit::kSeconds,
     &O::keepalives_interval},
    {"AEQUOR_KEEPALIVES_COUNT", "keepalives_count", EnvUnit::kCount, &O::keepalives_count},
    {"AEQUOR_TCP_USER_TIMEOUT_MS", "tcp_user_timeout", EnvUnit::kMilliseconds,
     &O::tcp_user_timeout},
    {"AEQUOR_CONNECT_BUDGET_MS", "connect_budget", EnvUnit::kMillisecondsOrInf, &O::connect_budget},
    {"AEQUOR_QUERY_BUDGET_MS", "query_budget", EnvUnit::kMillisecondsOrInf, &O::query_budget},
    {"AEQUOR_CANCEL_TIMEOUT_MS", "cancel_timeout", EnvUnit::kMilliseconds, &O::cancel_timeout},
    {"AEQUOR_CONNECT_TIMEOUT_S", "connect_timeout", EnvUnit::kSeconds, &O::connect_timeout},
    {"AEQUOR_STATEMENT_CACHE_SIZE", "statement_cache_size", EnvUnit::kCount,
     &O::statement_cache_size},
    {"AEQUOR_SIGNER", "signer", EnvUnit::kPluginSpec, &O::signer},
    {"AEQUOR_REAPER_SCHEDULER", "reaper_scheduler", EnvUnit::kPluginSpec, &O::reaper_scheduler},
    {"AEQUOR_RETRY_POLICY", "retry_policy", EnvUnit::kPluginSpec, &O::retry_policy},
    {"AEQUOR_EXPORTERS", "exporters", EnvUnit::kPluginSpecList, &O::exporters, false, "none"},
    {"AEQUOR_EXPORTER_QUEUE_CAPACITY", "exporter_queue_capacity", EnvUnit::kCount,
     &O::exporter_queue_capacity},
    {"AEQUOR_EXPORTER_INTERVAL_MS", "exporter_interval", EnvUnit::kMilliseconds,
     &O::exporter_interval},
};

constexpr OptionNotFromEnv kNotFromEnv[] = {
    {"coordination_secret",
     "it has variables of its own, AEQUOR_COORDINATION_SECRET or the file named by "
     "AEQUOR_COORDINATION_SECRET_FILE (api/secret.h), read from the process environment by "
     "SetCoordinationSecretFromEnv(), which SetOptionsFromEnv() also does at Build()"},
    {"previous_secrets",
     "older secrets are a rotation's, given in code (AddPreviousSecret()); a list of secrets "
     "in one variable would be one more place for them to leak"},
};

constexpr size_t kMaxQuotedBytes = 64;

// 'value', cut and escaped, or a placeholder for a sensitive entry.
std::string Shown(const EnvOption& entry, absl::string_view value) {
  if (entry.sensitive) return "a value not shown (it may hold a password)";
  std::string text = absl::CHexEscape(value.substr(0, kMaxQuotedBytes));
  return absl::StrCat("'", text, value.size() > kMaxQuotedBytes ? "'..." : "'");
}

absl::Status Expected(const EnvOption& entry, absl::string_view value,
                      absl::string_view detail = "") {
  return absl::InvalidArgumentError(absl::StrCat(entry.variable, ": expected ",
                                                 EnvUnitText(entry.unit), ", got ",
                                                 Shown(entry, value), detail));
}

// ';' outside parentheses and double quotes (a '\' inside quotes escapes the
// next character, as ParsePluginSpec reads it).
std::vector<absl::string_view> SplitSpecList(absl::string_view text) {
  std::vector<absl::string_view> items;
  int depth = 0;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth > 0) --depth;
    } else if (c == ';' && depth == 0) {
      items.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  items.push_back(text.substr(start));
  return items;
}

absl::Status ParseSpec(const EnvOption& entry, absl::string_view text, PluginSpec& out,
                       absl::string_view item = "") {
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(text);
  if (!spec.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(entry.variable, ": ", item, "expected ", EnvUnitText(entry.unit), ", got ",
                     Shown(entry, text), ": ", spec.status().message()));
  }
  out = *std::move(spec);
  return absl::OkStatus();
}

absl::Status ReadDuration(const EnvOption& entry, absl::string_view value, absl::Duration& out) {
  if (entry.unit == EnvUnit::kMillisecondsOrInf && value == "inf") {
    out = absl::InfiniteDuration();
    return absl::OkStatus();
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(value, &n)) return Expected(entry, value);
  switch (entry.unit) {
    case EnvUnit::kMilliseconds:
    case EnvUnit::kMillisecondsOrInf: out = absl::Milliseconds(n); return absl::OkStatus();
    case EnvUnit::kSeconds: out = absl::Seconds(n); return absl::OkStatus();
    default: return absl::InternalError(absl::StrCat(entry.variable, ": not a duration's unit"));
  }
}

// Writes `value` into `entry`'s field of `o`.
absl::Status Read(const EnvOption& entry, absl::string_view value, O& o) {
  struct Visitor {
    const EnvOption& entry;
    absl::string_view value;
    O& o;

    absl::Status operator()(std::string O::*f) const {
      o.*f = std::string(value);
      return absl::OkStatus();
    }
    absl::Status operator()(LeaseMode O::*f) const {
      if (value == "required") {
        o.*f = LeaseMode::kRequired;
      } else if (value == "optional") {
        o.*f = LeaseMode::kOptional;
      } else {
        return Expected(entry, value);
      }
      return absl::OkStatus();
    }
    absl::Status operator()(absl::Duration O::*f) const { return ReadDuration(entry, value, o.*f); }
    absl::Status operator()(int O::*f) const {
      if (!absl::SimpleAtoi(value, &(o.*f))) return Expected(entry, value);
      return absl::OkStatus();
    }
    absl::Status operator()(double O::*f) const {
      double d = 0;
      if (!absl::SimpleAtod(value, &d) || !std::isfinite(d)) return Expected(entry, value);
      o.*f = d;
      return absl::OkStatus();
    }
    absl::Status operator()(bool O::*f) const {
      if (value == "1" || absl::EqualsIgnoreCase(value, "true")) {
        o.*f = true;
      } else if (value == "0" || absl::EqualsIgnoreCase(value, "false")) {
        o.*f = false;
      } else {
        return Expected(entry, value);
      }
      return absl::OkStatus();
    }
    absl::Status operator()(PluginSpec O::*f) const { return ParseSpec(entry, value, o.*f); }
    absl::Status operator()(std::vector<PluginSpec> O::*f) const {
      std::vector<PluginSpec> specs;
      int n = 0;
      for (absl::string_view item : SplitSpecList(value)) {
        ++n;
        if (absl::StripAsciiWhitespace(item).empty()) continue;  // "a;b;" or ";"
        PluginSpec spec;
        if (absl::Status s = ParseSpec(entry, item, spec, absl::StrCat("spec ", n, ": "));
            !s.ok()) {
          return s;
        }
        specs.push_back(std::move(spec));
      }
      o.*f = std::move(specs);
      return absl::OkStatus();
    }
  };
  return std::visit(Visitor{entry, value, o}, entry.field);
}

std::string FormatDurationIn(EnvUnit unit, absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "inf";
  // Whole units: a duration set in code may have a fraction, shown rounded up
  // as the option rounds it (a value read back from text is always whole).
  const absl::Duration u = unit == EnvUnit::kSeconds ? absl::Seconds(1) : absl::Milliseconds(1);
  absl::Duration remainder;
  return absl::StrCat(absl::IDivDuration(absl::Ceil(d, u), u, &remainder));
}

bool IsIdentifierChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Whether `message` holds `word` with no identifier character on either side.
bool NamesWord(absl::string_view message, absl::string_view word) {
  for (size_t at = message.find(word); at != absl::string_view::npos;
       at = message.find(word, at + 1)) {
    const size_t end = at + word.size();
    if ((at == 0 || !IsIdentifierChar(message[at - 1])) &&
        (end == message.size() || !IsIdentifierChar(message[end]))) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::Span<const EnvOption> EnvOptions() { return kTable; }

namespace {

using P = PoolOptions;
constexpr PoolEnvOption kPoolTable[] = {
    {"AEQUOR_POOL_MIN_SIZE", "min_size", EnvUnit::kCount, &P::min_size, "0"},
    {"AEQUOR_POOL_MAX_SIZE", "max_size", EnvUnit::kCount, &P::max_size, "4"},
    {"AEQUOR_POOL_ACQUIRE_TIMEOUT_MS", "acquire_timeout", EnvUnit::kMilliseconds,
     &P::acquire_timeout, "5000"},
    {"AEQUOR_POOL_MAX_LIFETIME_S", "max_lifetime", EnvUnit::kSeconds, &P::max_lifetime, "1800"},
    {"AEQUOR_POOL_IDLE_TIMEOUT_S", "idle_timeout", EnvUnit::kSeconds, &P::idle_timeout, "600"},
    {"AEQUOR_POOL_KEEPALIVE_INTERVAL_MS", "keepalive_interval", EnvUnit::kMilliseconds,
     &P::keepalive_interval, "5000"},
    {"AEQUOR_POOL_LEAK_THRESHOLD_MS", "leak_threshold", EnvUnit::kMilliseconds,
     &P::leak_threshold, "0 (off)"},
    {"AEQUOR_POOL_MAX_BATCH", "max_batch", EnvUnit::kCount, &P::max_batch, "16"},
};

}  // namespace

absl::Span<const PoolEnvOption> PoolEnvOptions() { return kPoolTable; }

absl::Status ApplyPoolEnvOptions(const ConnectionManagerBuilder::EnvLookup& env,
                                 PoolOptions& options) {
  std::vector<const PoolEnvOption*> used;
  for (const PoolEnvOption& entry : kPoolTable) {
    const std::optional<std::string> value = env(entry.variable);
    if (!value.has_value() || value->empty()) continue;
    int64_t n = 0;
    if (!absl::SimpleAtoi(*value, &n) || n < INT32_MIN || n > INT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat(
          entry.variable, ": expected ", EnvUnitText(entry.unit), ", got '",
          absl::CHexEscape(value->substr(0, 64)), "'"));
    }
    if (const auto* count = std::get_if<int PoolOptions::*>(&entry.field)) {
      options.**count = static_cast<int>(n);
    } else {
      options.*std::get<absl::Duration PoolOptions::*>(entry.field) =
          entry.unit == EnvUnit::kSeconds ? absl::Seconds(n) : absl::Milliseconds(n);
    }
    used.push_back(&entry);
  }
  absl::Status valid = ValidatePoolOptions(options);
  if (valid.ok()) return valid;
  for (const PoolEnvOption* entry : used) {
    if (absl::StartsWith(valid.message(), absl::StrCat("pool ", entry->option, ":"))) {
      return absl::Status(valid.code(), absl::StrCat(valid.message(), " (", entry->option,
                                                     " from ", entry->variable, ")"));
    }
  }
  return valid;
}

absl::Span<const OptionNotFromEnv> OptionsNotFromEnv() { return kNotFromEnv; }

absl::string_view EnvUnitText(EnvUnit unit) {
  switch (unit) {
    case EnvUnit::kText: return "text";
    case EnvUnit::kLeaseMode: return "'required' or 'optional'";
    case EnvUnit::kMilliseconds: return "whole milliseconds";
    case EnvUnit::kMillisecondsOrInf: return "whole milliseconds or 'inf'";
    case EnvUnit::kSeconds: return "whole seconds";
    case EnvUnit::kCount: return "an integer";
    case EnvUnit::kFraction: return "a decimal number";
    case EnvUnit::kBoolean: return "1, 0, true or false";
    case EnvUnit::kPluginSpec: return "a plugin spec";
    case EnvUnit::kPluginSpecList: return "plugin specs separated by ';'";
  }
  return "?";
}

std::string FormatEnvValue(const EnvOption& entry, const ManagerOptions& options) {
  struct Visitor {
    const EnvOption& entry;
    const O& o;
    std::string operator()(std::string O::*f) const { return o.*f; }
    std::string operator()(LeaseMode O::*f) const {
      return o.*f == LeaseMode::kRequired ? "required" : "optional";
    }
    std::string operator()(absl::Duration O::*f) const {
      return FormatDurationIn(entry.unit, o.*f);
    }
    std::string operator()(int O::*f) const { return absl::StrCat(o.*f); }
    std::string operator()(double O::*f) const { return absl::StrCat(o.*f); }
    std::string operator()(bool O::*f) const { return o.*f ? "true" : "false"; }
    std::string operator()(PluginSpec O::*f) const { return FormatPluginSpec(o.*f); }
    std::string operator()(std::vector<PluginSpec> O::*f) const {
      return absl::StrJoin(o.*f, ";", [](std::string* out, const PluginSpec& spec) {
        out->append(FormatPluginSpec(spec));
      });
    }
  };
  return std::visit(Visitor{entry, options}, entry.field);
}

bool HoldsDefault(const EnvOption& entry, const ManagerOptions& options) {
  static const ManagerOptions* const kDefaults = new ManagerOptions();
  return std::visit([&](auto field) { return options.*field == kDefaults->*field; }, entry.field);
}

absl::Status ApplyEnvOptions(const ConnectionManagerBuilder::EnvLookup& env,
                             const std::function<bool(const EnvOption&)>& skip,
                             ManagerOptions& options, EnvSources* sources) {
  for (const EnvOption& entry : kTable) {
    if (skip(entry)) continue;
    const std::optional<std::string> value = env(entry.variable);
    if (!value.has_value() || value->empty()) continue;
    // Spaces around a number or a word are a typo, not a value (a text is
    // taken as given).
    absl::string_view text = *value;
    if (entry.unit != EnvUnit::kText) text = absl::StripAsciiWhitespace(text);
    if (absl::Status s = Read(entry, text, options); !s.ok()) return s;
    if (sources != nullptr) sources->emplace_back(entry.option, entry.variable);
  }
  return absl::OkStatus();
}

absl::Status NameEnvSources(const absl::Status& status, const EnvSources& sources) {
  if (status.ok()) return status;
  std::vector<std::string> named;
  for (const auto& [option, variable] : sources) {
    if (NamesWord(status.message(), option))
      named.push_back(absl::StrCat(option, " from ", variable));
  }
  if (named.empty()) return status;
  absl::Status out(status.code(),
                   absl::StrCat(status.message(), " (", absl::StrJoin(named, ", "), ")"));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

std::string EnvOptionsMarkdownTable() {
  const ManagerOptions defaults;
  std::string out = "| variable | option | unit | default |\n| --- | --- | --- | --- |\n";
  for (const EnvOption& entry : kTable) {
    std::string default_text(entry.default_text);
    if (default_text.empty())
      default_text = absl::StrCat("`", FormatEnvValue(entry, defaults), "`");
    absl::StrAppend(&out, "| `", entry.variable, "` | `", entry.option, "` | ",
                    EnvUnitText(entry.unit), " | ", default_text, " |\n");
  }
  return out;
}

}  // namespace aequor
