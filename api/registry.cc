// Registry and RegistryBuilder.
#include "api/registry.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace aequor {
namespace {

template <typename Factory>
std::vector<std::string> Names(const registry_internal::Table<Factory>& table) {
  std::vector<std::string> names;
  names.reserve(table.size());
  for (const auto& entry : table) names.push_back(entry.first);
  return names;
}

template <typename Factory>
absl::StatusOr<const Factory*> Find(const registry_internal::Table<Factory>& table,
                                    absl::string_view kind, absl::string_view name) {
  auto it = table.find(name);
  if (it != table.end()) return it->second.get();
  // A spec made from text that did not parse keeps the text as its name
  // (PluginSpec(std::string)): say what is wrong with it.
  if (absl::StatusOr<PluginSpec> parsed = ParsePluginSpec(name); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' is not a ", kind, " spec: ", parsed.status().message()));
  }
  return absl::NotFoundError(
      absl::StrCat("unknown ", kind, " '", name,
                   "'; known: ", table.empty() ? "none" : absl::StrJoin(Names(table), ", ")));
}

// Dotted lowercase: [a-z0-9_]+ ('.' [a-z0-9_]+)*.
bool IsValidName(absl::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  bool previous_dot = false;
  for (char c : name) {
    if (c == '.') {
      if (previous_dot) return false;
      previous_dot = true;
      continue;
    }
    previous_dot = false;
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

template <typename Factory>
absl::Status Add(registry_internal::Table<Factory>& table, std::unique_ptr<Factory> factory) {
  if (factory == nullptr) return absl::InvalidArgumentError("cannot register a null factory");
  std::string name(factory->name());
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plugin name '", name,
        "' is not dotted lowercase ([a-z0-9_]+ separated by '.', e.g. acme.signer.kms)"));
  }
  if (table.count(name) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("a plugin named '", name, "' is already registered"));
  }
  table.emplace(std::move(name), std::move(factory));
  return absl::OkStatus();
}

template <typename Factory>
void Put(registry_internal::Table<Factory>& table, std::unique_ptr<Factory> factory) {
  if (factory == nullptr) return;
  std::string name(factory->name());
  table[std::move(name)] = std::move(factory);
}

}  // namespace

absl::StatusOr<const LeaseSignerFactory*> Registry::FindSigner(absl::string_view name) const {
  return Find(signers_, "lease signer", name);
}
absl::StatusOr<const ReaperSchedulerFactory*> Registry::FindReaperScheduler(
    absl::string_view name) const {
  return Find(schedulers_, "reaper scheduler", name);
}
absl::StatusOr<const RetryPolicyFactory*> Registry::FindRetryPolicy(absl::string_view name) const {
  return Find(retry_policies_, "retry policy", name);
}
absl::StatusOr<const HookExporterFactory*> Registry::FindExporter(absl::string_view name) const {
  return Find(exporters_, "hook exporter", name);
}

std::vector<std::string> Registry::SignerNames() const { return Names(signers_); }
std::vector<std::string> Registry::ReaperSchedulerNames() const { return Names(schedulers_); }
std::vector<std::string> Registry::RetryPolicyNames() const { return Names(retry_policies_); }
std::vector<std::string> Registry::ExporterNames() const { return Names(exporters_); }

RegistryBuilder::RegistryBuilder() : registry_(new Registry()) {}

RegistryBuilder::RegistryBuilder(const Registry& base) : registry_(new Registry(base)) {}

absl::Status RegistryBuilder::Register(std::unique_ptr<LeaseSignerFactory> factory) {
  return Add(registry_->signers_, std::move(factory));
}
absl::Status RegistryBuilder::Register(std::unique_ptr<ReaperSchedulerFactory> factory) {
  return Add(registry_->schedulers_, std::move(factory));
}
absl::Status RegistryBuilder::Register(std::unique_ptr<RetryPolicyFactory> factory) {
  return Add(registry_->retry_policies_, std::move(factory));
}
absl::Status RegistryBuilder::Register(std::unique_ptr<HookExporterFactory> factory) {
  return Add(registry_->exporters_, std::move(factory));
}

void RegistryBuilder::Replace(std::unique_ptr<LeaseSignerFactory> factory) {
  Put(registry_->signers_, std::move(factory));
}
void RegistryBuilder::Replace(std::unique_ptr<ReaperSchedulerFactory> factory) {
  Put(registry_->schedulers_, std::move(factory));
}
void RegistryBuilder::Replace(std::unique_ptr<RetryPolicyFactory> factory) {
  Put(registry_->retry_policies_, std::move(factory));
}
void RegistryBuilder::Replace(std::unique_ptr<HookExporterFactory> factory) {
  Put(registry_->exporters_, std::move(factory));
}

std::shared_ptr<const Registry> RegistryBuilder::Build() && {
  std::shared_ptr<const Registry> built(std::move(registry_));
  registry_.reset(new Registry());
  return built;
}

}  // namespace aequor
