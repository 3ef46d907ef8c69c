// api/plugin.h: how a plugin is named, configured and created.
//
// aequor has four plugin kinds (lease signer, reaper scheduler, retry policy,
// hook exporter). Each plugin is made by a factory with a dotted name such as
// "aequor.retry.decorrelated_jitter". A factory first parses and validates a
// PluginSpec (name + text parameters) into its own typed config, so that
// ConnectionManagerBuilder::Build() fails before anything connects and says
// which option is wrong; then Create() makes the plugin from that config.
// Write a factory on TypedPluginFactory (below), whose config is a value of
// its own type.
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

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
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
  // From text, implicitly (so that `AddExporter("...")` reads as it looks):
  // a name, or the text form ParsePluginSpec() reads,
  // "aequor.exporter.emf(namespace=orders)". Text that does not parse is kept
  // whole as the name, and looking it up in a Registry then returns the
  // parse error (InvalidArgument naming the position), not "unknown".
  PluginSpec(std::string text);  // NOLINT: implicit on purpose
  PluginSpec(const char* text);  // NOLINT
  // A name as given (never parsed), with its parameters and children.
  PluginSpec(std::string name, std::map<std::string, std::string> params,
             std::vector<PluginSpec> children = {})
      : name(std::move(name)), params(std::move(params)), children(std::move(children)) {}

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
//   absl::Duration base = r.Millis("base_ms", absl::Seconds(30), absl::Milliseconds(1),
//   absl::Hours(1)); if (absl::Status s = r.Finish(); !s.ok()) return s;
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
  absl::Duration Millis(absl::string_view key, absl::Duration default_value, absl::Duration min,
                        absl::Duration max);
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
// Prefer TypedPluginFactory below, which spares the factory the cast from
// ParsedConfig; this interface is what the registry holds.
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
  virtual absl::StatusOr<std::unique_ptr<Product>> Create(const ParsedConfig& config,
                                                          const Context& context) const = 0;
};

namespace plugin_internal {
// InvalidArgument: `factory` was given a config that another factory parsed.
absl::Status ForeignConfigError(absl::string_view factory);
}  // namespace plugin_internal

// A factory whose validated configuration is a `Config`, a plain movable
// value of its own (no ParsedConfig base). It implements ParseTyped() and
// CreateTyped(); the base wraps the Config into a ParsedConfig and unwraps
// it again, so no factory casts.
//
//   struct CoinConfig {
//     double p = 0.1;
//   };
//
//   class CoinFactory final
//       : public aequor::TypedPluginFactory<aequor::ReaperScheduler,
//                                           aequor::SchedulerContext, CoinConfig> {
//    public:
//     absl::string_view name() const override { return "acme.reaper.coin"; }
//     absl::string_view description() const override { return "a pass with probability p"; }
//
//    protected:
//     absl::StatusOr<CoinConfig> ParseTyped(const aequor::PluginSpec& spec,
//                                           const aequor::Registry&) const override {
//       CoinConfig config;
//       aequor::ParamReader r(spec);
//       config.p = r.Double("p", config.p, 0.0, 1.0);
//       if (absl::Status s = r.Finish(); !s.ok()) return s;
//       return config;
//     }
//     absl::StatusOr<std::unique_ptr<aequor::ReaperScheduler>> CreateTyped(
//         const CoinConfig& config, const aequor::SchedulerContext& context) const override {
//       return std::make_unique<CoinScheduler>(config.p, context.random);
//     }
//   };
//
// Create() given a config that another factory's ParseConfig() made returns
// InvalidArgument instead of reading it as a `Config`.
template <typename Product, typename Context, typename Config>
class TypedPluginFactory : public PluginFactory<Product, Context> {
 public:
  using ConfigType = Config;

  absl::StatusOr<std::unique_ptr<ParsedConfig>> ParseConfig(const PluginSpec& spec,
                                                            const Registry& registry) const final {
    absl::StatusOr<Config> config = ParseTyped(spec, registry);
    if (!config.ok()) return config.status();
    return std::unique_ptr<ParsedConfig>(new Parsed(*std::move(config)));
  }

  absl::StatusOr<std::unique_ptr<Product>> Create(const ParsedConfig& config,
                                                  const Context& context) const final {
    const auto* parsed = dynamic_cast<const Parsed*>(&config);
    if (parsed == nullptr) return plugin_internal::ForeignConfigError(this->name());
    return CreateTyped(parsed->config, context);
  }

 protected:
  // Validates `spec` (whose name is this factory's) without side effects.
  // Composite plugins look their children up in `registry`.
  virtual absl::StatusOr<Config> ParseTyped(const PluginSpec& spec,
                                            const Registry& registry) const = 0;

  // Creates the plugin from what ParseTyped() returned.
  virtual absl::StatusOr<std::unique_ptr<Product>> CreateTyped(const Config& config,
                                                               const Context& context) const = 0;

 private:
  struct Parsed final : ParsedConfig {
    explicit Parsed(Config c) : config(std::move(c)) {}
    const Config config;
  };
};

}  // namespace aequor

#endif  // AEQUOR_API_PLUGIN_H_
