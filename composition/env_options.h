// composition/env_options.h: the AEQUOR_* environment variables, one per
// option of api/options.h, in one table.
//
// ConnectionManagerBuilder::FromEnv() and SetOptionsFromEnv() read them at
// Build() (api/connection_manager.h says which value wins). The README's
// table ("Configuration from the environment") is EnvOptionsMarkdownTable(),
// and tests/composition/env_options_test.cc checks both ways: every field of
// ManagerOptions is either in EnvOptions() or in OptionsNotFromEnv() with its
// reason, and the README holds exactly this table.
//
//   builder.SetOptionsFromEnv();   // at Build(): AEQUOR_LEASE_TTL_MS=3000 ...
//
// How a value is written (EnvUnit):
//   _MS, _S     whole milliseconds / whole seconds, as the name says (an
//               integer: "2500", not "2.5s"); the range is the option's
//               REQUIRES, checked by Build() as for a setter.
//               AEQUOR_CONNECT_BUDGET_MS and AEQUOR_QUERY_BUDGET_MS also take
//               "inf" (no deadline of their own, InfiniteDuration()).
//   counts      an integer.
//   booleans    1, 0, true or false (true and false in any case).
//   fraction    a decimal number ("0.5").
//   plugin spec the text form of api/plugin.h (ParsePluginSpec), e.g.
//               aequor.retry.decorrelated_jitter(retries=5, cap_ms=5000).
//   AEQUOR_EXPORTERS  a list of plugin specs separated by ';', e.g.
//               aequor.exporter.emf(namespace=orders);acme.exporter.x. A ';'
//               splits only outside parentheses and quotes: a spec's name
//               can never hold one, and a parameter value may
//               (emf(namespace=a;b) is one spec).
//   text        as given (conninfo, service, lease mode required|optional).
// A variable that is unset or set to "" is not read: the option keeps its
// value. Spaces around a value are ignored, except in text. A value that does not read as its unit
// fails Build() with InvalidArgument naming the variable and what it expects:
//   AEQUOR_LEASE_TTL_MS: expected whole milliseconds, got 'ten'
// A conninfo's value is never quoted in any status (it may hold a password).
//
// Thread-safety: the table is immutable; every function is safe to call
// from several threads (ApplyEnvOptions as long as its arguments are not
// shared).
// A pool's own options (api/pool.h) have variables too, AEQUOR_POOL_*
// (PoolEnvOptions()), read by BuildPool() without arguments on a builder
// that reads the environment; BuildPool(options) takes its options as given.
#ifndef AEQUOR_COMPOSITION_ENV_OPTIONS_H_
#define AEQUOR_COMPOSITION_ENV_OPTIONS_H_

#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "api/connection_manager.h"
#include "api/options.h"
#include "api/pool.h"

namespace aequor {

// How a variable's value is read.
enum class EnvUnit {
  kText,               // as given
  kLeaseMode,          // "required" or "optional"
  kMilliseconds,       // whole milliseconds
  kMillisecondsOrInf,  // whole milliseconds, or "inf"
  kSeconds,            // whole seconds
  kCount,              // an integer
  kFraction,           // a decimal number
  kBoolean,            // 1, 0, true, false
  kPluginSpec,         // ParsePluginSpec's text form
  kPluginSpecList,     // plugin specs separated by ';'
};

// The ManagerOptions field a variable sets.
using EnvField =
    std::variant<std::string ManagerOptions::*, LeaseMode ManagerOptions::*,
                 absl::Duration ManagerOptions::*, int ManagerOptions::*, double ManagerOptions::*,
                 bool ManagerOptions::*, PluginSpec ManagerOptions::*,
                 std::vector<PluginSpec> ManagerOptions::*>;

// One variable of the table.
struct EnvOption {
  absl::string_view variable;  // "AEQUOR_LEASE_TTL_MS"
  absl::string_view option;    // "lease_ttl": the field's name in ManagerOptions
  EnvUnit unit;
  EnvField field;
  // Never quoted in a status: it may hold a password (the conninfos).
  bool sensitive = false;
  // The README's default when the default value alone would not say it
  // ("" for service says nothing of $AWS_LAMBDA_FUNCTION_NAME); else the
  // default is FormatEnvValue() of a default ManagerOptions.
  absl::string_view default_text = {};
};

// Every variable, in the order of the fields of ManagerOptions.
absl::Span<const EnvOption> EnvOptions();

// The ManagerOptions fields that no variable of EnvOptions() sets, each
// with why.
struct OptionNotFromEnv {
  absl::string_view option;
  absl::string_view reason;
};
absl::Span<const OptionNotFromEnv> OptionsNotFromEnv();

// What EnvUnit expects, as error messages and the README say it
// ("whole milliseconds").
absl::string_view EnvUnitText(EnvUnit unit);

// The value of `entry`'s field in `options`, written as its variable takes
// it ("90000", "true", a plugin spec's text, specs joined by ';').
std::string FormatEnvValue(const EnvOption& entry, const ManagerOptions& options);

// Whether `entry`'s field in `options` holds its default value.
bool HoldsDefault(const EnvOption& entry, const ManagerOptions& options);

// The options set from the environment: (option, variable), in table order.
using EnvSources = std::vector<std::pair<std::string, std::string>>;

// Reads the variable of every entry of EnvOptions() for which `skip` is
// false (the options set explicitly) through `env`, and writes each value
// that is set and not "" into `options`, noting it in `sources`. The first
// value that does not read as its unit is InvalidArgument
// "<VARIABLE>: expected <unit>, got '<value>'" (the value cut to 64 bytes,
// escaped; never quoted for a sensitive entry), and then `options` is left
// partly written.
absl::Status ApplyEnvOptions(const ConnectionManagerBuilder::EnvLookup& env,
                             const std::function<bool(const EnvOption&)>& skip,
                             ManagerOptions& options, EnvSources* sources);

// One AEQUOR_POOL_* variable: the PoolOptions field it sets, and how.
struct PoolEnvOption {
  absl::string_view variable;  // "AEQUOR_POOL_MAX_SIZE"
  absl::string_view option;    // "max_size"
  EnvUnit unit;                // kCount, kMilliseconds or kSeconds
  std::variant<int PoolOptions::*, absl::Duration PoolOptions::*> field;
  absl::string_view default_text;  // as the README says it
};
absl::Span<const PoolEnvOption> PoolEnvOptions();

// Reads every AEQUOR_POOL_* variable through `env` into `options`. A value
// that does not read as its unit is InvalidArgument "<VARIABLE>: expected
// <unit>, got '<value>'"; then ValidatePoolOptions(), whose message gets
// "(<option> from <VARIABLE>)" when the option came from one.
absl::Status ApplyPoolEnvOptions(const ConnectionManagerBuilder::EnvLookup& env,
                                 PoolOptions& options);

// `status` with "(<option> from <VARIABLE>, ...)" appended for each option
// of `sources` that its message names (as a whole word: "conninfo" is not
// named by "reaper_conninfo: ..."). Code and payloads are kept; OK and a
// status that names none are returned as they are.
absl::Status NameEnvSources(const absl::Status& status, const EnvSources& sources);

// The README's table: a header and one row per variable, each
// "| `VARIABLE` | `option` | unit | default |", lines ending in '\n'.
std::string EnvOptionsMarkdownTable();

}  // namespace aequor

#endif  // AEQUOR_COMPOSITION_ENV_OPTIONS_H_
