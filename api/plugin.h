// api/plugin.h: how a plugin is named, configured and created.
//
// aequor has four plugin kinds (lease signer, reaper scheduler, retry policy,
// hook exporter). Each plugin is made by a factory with a dotted name such as
// "aequor.retry.decorrelated_jitter". A factory first parses and validates a
// PluginSpec (name + text parameters) into its own typed config, so that
// ConnectionManagerBuilder::Build() fails before anything connects and says
// which option is wrong; then Create() makes the plugin from that config.
//
// A PluginSpec can be written as text, for environment variables and command
// lines:
//
//   aequor.reaper.all_of(aequor.reaper.probability(p=0.1),
//                        aequor.reaper.cooldown(base_ms=30000))
//
//   absl::StatusOr<aequor::PluginSpec> spec = aequor::ParsePluginSpec(text);
//
// Thread-safety: PluginSpec is a plain value. Factories are immutable once
// registered and must be safe to call from several threads.
#ifndef AEQUOR_API_PLUGIN_H_
#define AEQUOR_API_PLUGIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace aequor {

class Registry;

// A plugin's name and configuration, as text.
struct PluginSpec {
  PluginSpec() = default;
  PluginSpec(std::string name) : name(std::move(name)) {}  // NOLINT: implicit on purpose
  PluginSpec(const char* name) : name(name) {}             // NOLINT
  PluginSpec(std::string name, std::map<std::string, std::string> params,
             std::vector<PluginSpec> children = {})
      : name(std::move(name)),
        params(std::move(params)),
        children(std::move(children)) {}

  std::string name;                           // e.g. "aequor.reaper.cooldown"
  std::map<std::string, std::string> params;  // e.g. {"base_ms": "30000"}
  std::vector<PluginSpec> children;           // for composite plugins
};

bool operator==(const PluginSpec& a, const PluginSpec& b);

// Parses `name` or `name(key=value, ..., child_spec, ...)`. Names and keys are
// [A-Za-z0-9_.-]+; a value runs to the next ',' or ')' and is trimmed; a value
// containing ',' '(' or ')' is written in double quotes ("a,b"). Returns
// InvalidArgument naming the position of the first error.
absl::StatusOr<PluginSpec> ParsePluginSpec(absl::string_view text);

// The text form ParsePluginSpec() reads back to an equal spec.
std::string FormatPluginSpec(const PluginSpec& spec);

// Reads a PluginSpec's parameters with range checks. The first problem is
// remembered and every later read returns its default, so a factory reads all
// of its options and then asks Finish() once:
//
//   ParamReader r(spec);
//   double p = r.Double("p", 0.1, 0.0, 1.0);
//   absl::Duration base = r.Millis("base_ms", absl::Seconds(30), absl::Milliseconds(1), absl::Hours(1));
//   if (absl::Status s = r.Finish(); !s.ok()) return s;
//
// Errors are InvalidArgument: "<plugin>: option 'p' must be a number in
// [0, 1], got '2'". Finish() also rejects parameters nobody read (a typo in an
// option name is an error, not a silently ignored setting).
class ParamReader {
 public:
  explicit ParamReader(const PluginSpec& spec);

  double Double(absl::string_view key, double default_value, double min, double max);
  int64_t Int(absl::string_view key, int64_t default_value, int64_t min, int64_t max);
  bool Bool(absl::string_view key, bool default_value);
  // Milliseconds as an integer, returned as a Duration.
  absl::Duration Millis(absl::string_view key, absl::Duration default_value,
                        absl::Duration min, absl::Duration max);
  std::string String(absl::string_view key, absl::string_view default_value);
  bool Has(absl::string_view key) const;

  // Fails the reader with `message` (prefixed with the plugin name) unless it
  // has already failed. For checks that relate several options.
  void Fail(absl::string_view message);

  // OK, or the first error, or the list of unknown options. `max_children`
  // bounds spec.children (0 for leaf plugins).
  absl::Status Finish(size_t max_children = 0);

 private:
  const std::string* Lookup(absl::string_view key);
  void Error(absl::string_view key, absl::string_view expectation, absl::string_view got);

  const PluginSpec& spec_;
  std::set<std::string, std::less<>> read_;
  absl::Status status_;
};

// A factory's validated configuration. Each factory defines its own subclass.
class ParsedConfig {
 public:
  virtual ~ParsedConfig() = default;
};

// The factory of one plugin of kind `Product`, made with a `Context` that
// carries what every plugin of that kind needs (see the kind's header).
template <typename Product, typename Context>
class PluginFactory {
 public:
  using ProductType = Product;
  using ContextType = Context;

  virtual ~PluginFactory() = default;

  // The dotted name users select this plugin by, e.g. "aequor.signer.hmac_sha256".
  virtual absl::string_view name() const = 0;

  // One line for `--help` listings and error messages.
  virtual absl::string_view description() const = 0;

  // Validates `spec` (whose name is this factory's) without side effects.
  // Composite plugins look their children up in `registry`.
  virtual absl::StatusOr<std::unique_ptr<ParsedConfig>> ParseConfig(
      const PluginSpec& spec, const Registry& registry) const = 0;

  // Creates the plugin. `config` is what this factory's ParseConfig returned.
  virtual absl::StatusOr<std::unique_ptr<Product>> Create(
      const ParsedConfig& config, const Context& context) const = 0;
};

}  // namespace aequor

#endif  // AEQUOR_API_PLUGIN_H_
