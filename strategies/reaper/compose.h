// strategies/reaper/compose.h: "aequor.reaper.all_of" and
// "aequor.reaper.any_of", reaper schedulers made of other schedulers.
//
// The children are nested plugin specs, looked up by name in the registry
// (built-ins or your own), 1 to 8 of them, nested to any depth:
//
//   aequor.reaper.all_of(aequor.reaper.probability(p=0.1),
//                        aequor.reaper.cooldown(base_ms=30000))
//
//   absl::StatusOr<aequor::PluginSpec> spec = aequor::ParsePluginSpec(text);
//   builder.UseReaperScheduler(*spec);
//
// Options: none besides the children.
//
// all_of asks its children in order and stops at the first no; it says yes
// only if every child did. any_of asks in order and stops at the first yes.
// The short-circuit is part of the contract, because asking a stateful child
// can arm it (aequor.reaper.cooldown and aequor.reaper.periodic start their
// wait when they say yes):
//   all_of(probability(p=0.1), cooldown())  the cooldown is asked, and armed,
//       only when the coin says yes: at most one pass per cooldown, each
//       trigger after it has passed running with probability 0.1;
//   all_of(cooldown(), probability(p=0.1))  the cooldown arms at the first
//       trigger after it has passed even if the coin then says no: one coin
//       per cooldown, so far fewer passes.
// The outcome of a pass (OnPassFinished) is forwarded to every child, in
// order, including those any_of did not ask or that said no: a pass ran, and
// the built-in cooldown and periodic schedulers restart their wait from it.
//
// WantsConnectionUsage() is true when any child's is (e.g. a nested
// aequor.reaper.pressure), so the manager measures usage before asking, even
// if a child asked earlier then says no.
//
// Errors from a child's config or Create() keep their code and are prefixed
// with the composite's name and the child's 1-based position, e.g.
//   aequor.reaper.all_of: child 2: unknown reaper scheduler 'x'; known: ...
// A composite with no child or more than 8 children is InvalidArgument.
//
// The parsed config refers to the child factories of the Registry given to
// ParseConfig(), which must outlive it (the builder keeps both together).
// Every child is created with the composite's SchedulerContext.
//
// Thread-safety: not thread-safe (the manager calls it under its lock), like
// its children.
#ifndef AEQUOR_STRATEGIES_REAPER_COMPOSE_H_
#define AEQUOR_STRATEGIES_REAPER_COMPOSE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/reaper_scheduler.h"

namespace aequor {

inline constexpr size_t kMaxComposedSchedulers = 8;

struct ComposedSchedulerConfig {
  struct Child {
    std::string name;
    const ReaperSchedulerFactory* factory = nullptr;  // owned by the registry
    std::unique_ptr<ParsedConfig> config;
  };
  std::vector<Child> children;  // REQUIRES: 1..kMaxComposedSchedulers
};

class AllOfScheduler final : public ReaperScheduler {
 public:
  explicit AllOfScheduler(std::vector<std::unique_ptr<ReaperScheduler>> children);
  bool ShouldRun(const ScheduleInput& input) override;
  bool WantsConnectionUsage() const override { return wants_usage_; }
  void OnPassFinished(ReapOutcome outcome, absl::Time now) override;

 private:
  std::vector<std::unique_ptr<ReaperScheduler>> children_;
  bool wants_usage_;  // some child wants ScheduleInput::connection_usage
};

class AnyOfScheduler final : public ReaperScheduler {
 public:
  explicit AnyOfScheduler(std::vector<std::unique_ptr<ReaperScheduler>> children);
  bool ShouldRun(const ScheduleInput& input) override;
  bool WantsConnectionUsage() const override { return wants_usage_; }
  void OnPassFinished(ReapOutcome outcome, absl::Time now) override;

 private:
  std::vector<std::unique_ptr<ReaperScheduler>> children_;
  bool wants_usage_;  // some child wants ScheduleInput::connection_usage
};

inline constexpr absl::string_view kAllOfSchedulerName = "aequor.reaper.all_of";
inline constexpr absl::string_view kAnyOfSchedulerName = "aequor.reaper.any_of";
std::unique_ptr<ReaperSchedulerFactory> NewAllOfSchedulerFactory();
std::unique_ptr<ReaperSchedulerFactory> NewAnyOfSchedulerFactory();

}  // namespace aequor

#endif  // AEQUOR_STRATEGIES_REAPER_COMPOSE_H_
