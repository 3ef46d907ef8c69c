#include "strategies/reaper/compose.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/registry.h"

namespace aequor {
namespace {

bool AnyWantsUsage(const std::vector<std::unique_ptr<ReaperScheduler>>& children) {
  for (const auto& child : children) {
    if (child->WantsConnectionUsage()) return true;
  }
  return false;
}

}  // namespace

AllOfScheduler::AllOfScheduler(std::vector<std::unique_ptr<ReaperScheduler>> children)
    : children_(std::move(children)), wants_usage_(AnyWantsUsage(children_)) {}

AnyOfScheduler::AnyOfScheduler(std::vector<std::unique_ptr<ReaperScheduler>> children)
    : children_(std::move(children)), wants_usage_(AnyWantsUsage(children_)) {}

bool AllOfScheduler::ShouldRun(const ScheduleInput& input) {
  for (const auto& child : children_) {
    if (!child->ShouldRun(input)) return false;  // later children are not asked
  }
  return true;
}

void AllOfScheduler::OnPassFinished(ReapOutcome outcome, absl::Time now) {
  for (const auto& child : children_) child->OnPassFinished(outcome, now);
}

bool AnyOfScheduler::ShouldRun(const ScheduleInput& input) {
  for (const auto& child : children_) {
    if (child->ShouldRun(input)) return true;  // later children are not asked
  }
  return false;
}

void AnyOfScheduler::OnPassFinished(ReapOutcome outcome, absl::Time now) {
  for (const auto& child : children_) child->OnPassFinished(outcome, now);
}

namespace {

absl::Status InChild(absl::string_view composite, size_t index, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(composite, ": child ", index + 1, ": ", status.message()));
}

// all_of and any_of differ only in their name, description and product.
template <typename Product>
class ComposeFactory final
    : public TypedPluginFactory<ReaperScheduler, SchedulerContext, ComposedSchedulerConfig> {
 public:
  ComposeFactory(absl::string_view name, absl::string_view description)
      : name_(name), description_(description) {}

  absl::string_view name() const override { return name_; }
  absl::string_view description() const override { return description_; }

 protected:
  absl::StatusOr<ComposedSchedulerConfig> ParseTyped(const PluginSpec& spec,
                                                     const Registry& registry) const override {
    ParamReader r(spec);  // no options of its own: any parameter is unknown
    if (spec.children.empty()) {
      r.Fail(absl::StrCat("needs at least 1 nested reaper scheduler spec, e.g. ", name_,
                          "(aequor.reaper.probability(p=0.1), aequor.reaper.cooldown())"));
    }
    if (absl::Status s = r.Finish(kMaxComposedSchedulers); !s.ok()) return s;

    ComposedSchedulerConfig config;
    config.children.reserve(spec.children.size());
    for (size_t i = 0; i < spec.children.size(); ++i) {
      const PluginSpec& child_spec = spec.children[i];
      absl::StatusOr<const ReaperSchedulerFactory*> factory =
          registry.FindReaperScheduler(child_spec.name);
      if (!factory.ok()) return InChild(name_, i, factory.status());
      absl::StatusOr<std::unique_ptr<ParsedConfig>> child_config =
          (*factory)->ParseConfig(child_spec, registry);
      if (!child_config.ok()) return InChild(name_, i, child_config.status());
      if (*child_config == nullptr) {
        return InChild(name_, i,
                       absl::InternalError(
                           absl::StrCat("factory '", child_spec.name, "' returned a null config")));
      }
      config.children.push_back({child_spec.name, *factory, *std::move(child_config)});
    }
    return config;
  }

  absl::StatusOr<std::unique_ptr<ReaperScheduler>> CreateTyped(
      const ComposedSchedulerConfig& composed, const SchedulerContext& context) const override {
    std::vector<std::unique_ptr<ReaperScheduler>> children;
    children.reserve(composed.children.size());
    for (size_t i = 0; i < composed.children.size(); ++i) {
      const ComposedSchedulerConfig::Child& child = composed.children[i];
      absl::StatusOr<std::unique_ptr<ReaperScheduler>> product =
          child.factory->Create(*child.config, context);
      if (!product.ok()) return InChild(name_, i, product.status());
      if (*product == nullptr) {
        return InChild(
            name_, i,
            absl::InternalError(absl::StrCat("factory '", child.name, "' returned null")));
      }
      children.push_back(*std::move(product));
    }
    return std::make_unique<Product>(std::move(children));
  }

 private:
  absl::string_view name_;
  absl::string_view description_;
};

}  // namespace

std::unique_ptr<ReaperSchedulerFactory> NewAllOfSchedulerFactory() {
  return std::make_unique<ComposeFactory<AllOfScheduler>>(
      kAllOfSchedulerName,
      "run a pass only when every nested scheduler agrees (asked in order, stops at the "
      "first no)");
}

std::unique_ptr<ReaperSchedulerFactory> NewAnyOfSchedulerFactory() {
  return std::make_unique<ComposeFactory<AnyOfScheduler>>(
      kAnyOfSchedulerName,
      "run a pass when any nested scheduler agrees (asked in order, stops at the first yes)");
}

}  // namespace aequor
