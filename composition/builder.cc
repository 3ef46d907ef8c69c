// ConnectionManagerBuilder: validates every option and plugin, then makes the
// manager. Nothing connects here.
#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/connection_manager.h"
#include "api/lease.h"
#include "api/pool.h"
#include "composition/env_options.h"
#include "core/connect_error.h"
#include "core/manager.h"
#include "core/pool.h"

namespace aequor {

namespace {
constexpr absl::string_view kCallbackExporter = "aequor.exporter.callback";
}  // namespace

struct ConnectionManagerBuilder::Objects {
  std::shared_ptr<const LeaseSigner> signer;
  std::unique_ptr<ReaperScheduler> scheduler;
  std::shared_ptr<const RetryPolicy> retry_policy;
  std::vector<std::unique_ptr<HookExporter>> exporters;
  std::unique_ptr<CallbackHooks> hooks;
  std::shared_ptr<const Registry> registry;
  Clock* clock = nullptr;
  std::unique_ptr<Random> random;
  std::string instance;
  absl::Status secret_env_error;  // from SetCoordinationSecretFromEnv()
  bool secret_env_read = false;   // SetCoordinationSecretFromEnv() was called
  // SetOptionsFromEnv(): where variables are read, and the options named by
  // a setter (their variables are not read).
  std::optional<EnvLookup> env;
  std::set<std::string, std::less<>> explicit_options;
  // SetHooks() appended "aequor.exporter.callback" (not an explicit exporter).
  bool hooks_added_callback = false;
};

ConnectionManagerBuilder::ConnectionManagerBuilder() : objects_(new Objects()) {}
ConnectionManagerBuilder::~ConnectionManagerBuilder() = default;
ConnectionManagerBuilder::ConnectionManagerBuilder(ConnectionManagerBuilder&&) = default;
ConnectionManagerBuilder& ConnectionManagerBuilder::operator=(ConnectionManagerBuilder&&) = default;

ConnectionManagerBuilder& ConnectionManagerBuilder::SetOptions(ManagerOptions options) {
  options_ = std::move(options);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetConninfo(std::string conninfo) {
  SetExplicitly("conninfo");
  options_.conninfo = std::move(conninfo);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetService(std::string service) {
  SetExplicitly("service");
  options_.service = std::move(service);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetLeaseMode(LeaseMode mode) {
  SetExplicitly("lease_mode");
  options_.lease_mode = mode;
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetCoordinationSecret(std::string secret) {
  options_.coordination_secret = Secret(std::move(secret));
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::AddPreviousSecret(std::string secret) {
  options_.previous_secrets.emplace_back(std::move(secret));
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetCoordinationSecretFromEnv() {
  objects_->secret_env_read = true;
  absl::StatusOr<Secret> secret = ReadSecretFromEnvironment();
  if (secret.ok()) {
    options_.coordination_secret = *std::move(secret);
    objects_->secret_env_error = absl::OkStatus();
  } else if (!absl::IsNotFound(secret.status())) {
    objects_->secret_env_error = secret.status();
  }
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetLeaseTtl(absl::Duration ttl) {
  SetExplicitly("lease_ttl");
  options_.lease_ttl = ttl;
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetConnectTimeout(absl::Duration timeout) {
  SetExplicitly("connect_timeout");
  options_.connect_timeout = timeout;
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetConnectBudget(absl::Duration budget) {
  SetExplicitly("connect_budget");
  options_.connect_budget = budget;
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetQueryBudget(absl::Duration budget) {
  SetExplicitly("query_budget");
  options_.query_budget = budget;
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetReapMinIdle(absl::Duration min_idle) {
  SetExplicitly("reap_min_idle");
  options_.reap_min_idle = min_idle;
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetReaperConninfo(std::string conninfo) {
  SetExplicitly("reaper_conninfo");
  options_.reaper_conninfo = std::move(conninfo);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::UseSigner(PluginSpec spec) {
  SetExplicitly("signer");
  options_.signer = std::move(spec);
  objects_->signer.reset();
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::UseReaperScheduler(PluginSpec spec) {
  SetExplicitly("reaper_scheduler");
  options_.reaper_scheduler = std::move(spec);
  objects_->scheduler.reset();
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::UseRetryPolicy(PluginSpec spec) {
  SetExplicitly("retry_policy");
  options_.retry_policy = std::move(spec);
  objects_->retry_policy.reset();
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::AddExporter(PluginSpec spec) {
  SetExplicitly("exporters");
  options_.exporters.push_back(std::move(spec));
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::UseSigner(
    std::shared_ptr<const LeaseSigner> signer) {
  SetExplicitly("signer");
  objects_->signer = std::move(signer);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::UseReaperScheduler(
    std::unique_ptr<ReaperScheduler> scheduler) {
  SetExplicitly("reaper_scheduler");
  objects_->scheduler = std::move(scheduler);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::UseRetryPolicy(
    std::shared_ptr<const RetryPolicy> policy) {
  SetExplicitly("retry_policy");
  objects_->retry_policy = std::move(policy);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::AddExporter(
    std::unique_ptr<HookExporter> exporter) {
  if (exporter != nullptr) objects_->exporters.push_back(std::move(exporter));
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetHooks(CallbackHooks hooks) {
  objects_->hooks = std::make_unique<CallbackHooks>(std::move(hooks));
  for (const PluginSpec& spec : options_.exporters) {
    if (spec.name == kCallbackExporter) return *this;
  }
  options_.exporters.emplace_back(std::string(kCallbackExporter));
  objects_->hooks_added_callback = true;
  return *this;
}
void ConnectionManagerBuilder::SetExplicitly(absl::string_view option) {
  objects_->explicit_options.emplace(option);
}
ConnectionManagerBuilder::EnvLookup ConnectionManagerBuilder::ProcessEnv() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}
ConnectionManagerBuilder ConnectionManagerBuilder::FromEnv() { return FromEnv(ProcessEnv()); }
ConnectionManagerBuilder ConnectionManagerBuilder::FromEnv(EnvLookup env) {
  ConnectionManagerBuilder builder;
  builder.SetOptionsFromEnv(std::move(env));
  return builder;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetOptionsFromEnv() {
  return SetOptionsFromEnv(ProcessEnv());
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetOptionsFromEnv(EnvLookup env) {
  objects_->env = std::move(env);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetRegistry(
    std::shared_ptr<const Registry> registry) {
  objects_->registry = std::move(registry);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetClock(Clock* clock) {
  objects_->clock = clock;
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetRandom(std::unique_ptr<Random> random) {
  objects_->random = std::move(random);
  return *this;
}
ConnectionManagerBuilder& ConnectionManagerBuilder::SetInstanceId(std::string instance) {
  objects_->instance = std::move(instance);
  return *this;
}

namespace {

// Prefixes a plugin's error with the option it came from, keeping the code.
absl::Status InOption(absl::string_view option, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(option, ": ", status.message()));
}

template <typename Factory>
absl::StatusOr<std::unique_ptr<typename Factory::ProductType>> MakePlugin(
    absl::string_view option, const PluginSpec& spec,
    absl::StatusOr<const Factory*> (Registry::*find)(absl::string_view) const,
    const Registry& registry, const typename Factory::ContextType& context) {
  absl::StatusOr<const Factory*> factory = (registry.*find)(spec.name);
  if (!factory.ok()) return InOption(option, factory.status());
  absl::StatusOr<std::unique_ptr<ParsedConfig>> config = (*factory)->ParseConfig(spec, registry);
  if (!config.ok()) return InOption(option, config.status());
  auto product = (*factory)->Create(**config, context);
  if (!product.ok()) return InOption(option, product.status());
  if (*product == nullptr) {
    return absl::InternalError(absl::StrCat(option, ": factory '", spec.name, "' returned null"));
  }
  return product;
}

bool IsBase64UrlChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

std::string DefaultService() {
  const char* lambda = std::getenv("AWS_LAMBDA_FUNCTION_NAME");
  return lambda != nullptr && lambda[0] != '\0' ? lambda : "sls_pg";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ManagerParts>> ConnectionManagerBuilder::BuildParts() {
  Objects& objects = *objects_;
  EnvSources sources;
  if (objects.env.has_value() && *objects.env != nullptr) {
    // Explicit wins: named by a setter, or no longer the default (SetOptions(),
    // mutable_options()). SetHooks()' callback exporter does not count.
    auto set_explicitly = [&](const EnvOption& entry) {
      if (objects.explicit_options.count(entry.option) > 0) return true;
      if (entry.option != "exporters") return !HoldsDefault(entry, options_);
      size_t own = options_.exporters.size();
      if (objects.hooks_added_callback &&
          std::any_of(options_.exporters.begin(), options_.exporters.end(),
                      [](const PluginSpec& spec) { return spec.name == kCallbackExporter; })) {
        --own;
      }
      return own > 0;
    };
    if (absl::Status s = ApplyEnvOptions(*objects.env, set_explicitly, options_, &sources);
        !s.ok()) {
      return s;
    }
    for (const auto& [option, variable] : sources) {
      if (option != "exporters" || !objects.hooks_added_callback) continue;
      // The variable replaced the list: SetHooks() still needs its exporter.
      if (std::none_of(options_.exporters.begin(), options_.exporters.end(),
                       [](const PluginSpec& spec) { return spec.name == kCallbackExporter; })) {
        options_.exporters.emplace_back(std::string(kCallbackExporter));
      }
    }
    if (options_.coordination_secret.empty() && !objects.secret_env_read) {
      SetCoordinationSecretFromEnv();
    }
  }
  absl::StatusOr<std::unique_ptr<ManagerParts>> parts = BuildPartsFromOptions();
  if (!parts.ok()) return NameEnvSources(parts.status(), sources);
  return parts;
}

absl::StatusOr<std::unique_ptr<ConnectionManager>> ConnectionManagerBuilder::Build() {
  absl::StatusOr<std::unique_ptr<ManagerParts>> parts = BuildParts();
  if (!parts.ok()) return parts.status();
  return std::unique_ptr<ConnectionManager>(new Manager(std::move(**parts)));
}

absl::StatusOr<std::unique_ptr<Pool>> ConnectionManagerBuilder::BuildPool() {
  PoolOptions options;
  if (objects_->env.has_value() && *objects_->env != nullptr) {
    if (absl::Status s = ApplyPoolEnvOptions(*objects_->env, options); !s.ok()) return s;
  }
  return BuildPool(options);
}

absl::StatusOr<std::unique_ptr<Pool>> ConnectionManagerBuilder::BuildPool(
    const PoolOptions& pool_options) {
  if (absl::Status s = ValidatePoolOptions(pool_options); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<ManagerParts>> parts = BuildParts();
  if (!parts.ok()) return parts.status();
  return std::unique_ptr<Pool>(new PoolImpl(std::move(**parts), pool_options));
}

absl::StatusOr<std::unique_ptr<ManagerParts>> ConnectionManagerBuilder::BuildPartsFromOptions() {
  Objects& objects = *objects_;
  if (!objects.secret_env_error.ok()) {
    return InOption("coordination_secret", objects.secret_env_error);
  }
  if (absl::Status s = ValidateOptions(options_); !s.ok()) return s;
  for (const auto& [name, conninfo] :
       {std::pair<absl::string_view, const std::string*>{"conninfo", &options_.conninfo},
        {"reaper_conninfo", &options_.reaper_conninfo}}) {
    if (conninfo->empty()) continue;
    // Syntax only; nothing connects. The message names the bad part, never
    // a piece of the password.
    if (absl::Status s = CheckConninfo(*conninfo); !s.ok()) return InOption(name, s);
  }

  auto owned_parts = std::make_unique<ManagerParts>();
  ManagerParts& parts = *owned_parts;
  parts.registry = objects.registry != nullptr ? objects.registry : Registry::Default();
  const Registry& registry = *parts.registry;
  parts.clock = objects.clock != nullptr ? objects.clock : Clock::Real();
  // The lanes of a pool draw jitter concurrently, and share it with the
  // scheduler.
  parts.random = std::make_unique<SynchronizedRandom>(
      objects.random != nullptr ? std::move(objects.random) : Random::FromEntropy());

  // Service and instance.
  std::string raw_service = options_.service.empty() ? DefaultService() : options_.service;
  if (!objects.instance.empty()) {
    if (objects.instance.size() > 16 ||
        !std::all_of(objects.instance.begin(), objects.instance.end(), IsBase64UrlChar)) {
      return absl::InvalidArgumentError(
          "instance_id: must be 1 to 16 base64url characters [A-Za-z0-9_-]");
    }
    parts.instance = objects.instance;
  } else {
    parts.instance = NewInstanceId(*parts.random);
  }
  parts.service = NormalizeService(raw_service, parts.instance.size());

  // Leases: on with a secret (or a signer object), required by default.
  const bool have_secret = !options_.coordination_secret.empty();
  if (objects.signer != nullptr) {
    parts.signer = objects.signer;
  } else if (have_secret) {
    SignerContext context;
    context.keys.push_back(options_.coordination_secret);
    for (const Secret& old : options_.previous_secrets) context.keys.push_back(old);
    context.registry = &registry;
    absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = MakePlugin<LeaseSignerFactory>(
        "signer", options_.signer, &Registry::FindSigner, registry, context);
    if (!signer.ok()) return signer.status();
    parts.signer = std::shared_ptr<const LeaseSigner>(*std::move(signer));
  } else if (options_.lease_mode == LeaseMode::kRequired) {
    return absl::InvalidArgumentError(
        absl::StrCat("coordination_secret: required while lease_mode is required; set it with "
                     "SetCoordinationSecret() or the environment (",
                     kSecretEnvVar, " or ", kSecretFileEnvVar,
                     "), or choose LeaseMode::kOptional to run without leases"));
  }
  if (parts.signer != nullptr) {
    // The longest lease this manager can write must fit application_name.
    absl::StatusOr<std::string> probe =
        SignLease(*parts.signer, parts.service, parts.instance, int64_t{9999999999999});
    if (!probe.ok()) return InOption("signer", probe.status());
  }

  // Reaper scheduler.
  if (objects.scheduler != nullptr) {
    parts.scheduler = std::move(objects.scheduler);
  } else {
    SchedulerContext context{parts.clock, parts.random.get(), &registry};
    auto scheduler =
        MakePlugin<ReaperSchedulerFactory>("reaper_scheduler", options_.reaper_scheduler,
                                           &Registry::FindReaperScheduler, registry, context);
    if (!scheduler.ok()) return scheduler.status();
    parts.scheduler = *std::move(scheduler);
  }

  // Retry policy.
  if (objects.retry_policy != nullptr) {
    parts.retry_policy = objects.retry_policy;
  } else {
    RetryContext context{&registry};
    auto policy = MakePlugin<RetryPolicyFactory>("retry_policy", options_.retry_policy,
                                                 &Registry::FindRetryPolicy, registry, context);
    if (!policy.ok()) return policy.status();
    parts.retry_policy = std::shared_ptr<const RetryPolicy>(*std::move(policy));
  }

  // Exporters: by name first, then by object, in the order given.
  ExporterContext exporter_context;
  exporter_context.service = parts.service;
  exporter_context.instance = parts.instance;
  exporter_context.clock = parts.clock;
  exporter_context.registry = &registry;
  exporter_context.hooks = objects.hooks.get();
  for (size_t i = 0; i < options_.exporters.size(); ++i) {
    auto exporter =
        MakePlugin<HookExporterFactory>(absl::StrCat("exporters[", i, "]"), options_.exporters[i],
                                        &Registry::FindExporter, registry, exporter_context);
    if (!exporter.ok()) return exporter.status();
    parts.exporters.push_back(*std::move(exporter));
  }
  for (std::unique_ptr<HookExporter>& exporter : objects.exporters) {
    parts.exporters.push_back(std::move(exporter));
  }
  objects.exporters.clear();

  parts.startup_options = BuildStartupOptions(options_);
  parts.options = std::move(options_);
  objects_ = std::make_unique<Objects>();
  options_ = ManagerOptions();
  return owned_parts;
}

}  // namespace aequor
