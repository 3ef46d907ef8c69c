#include "strategies/retry/none.h"

namespace aequor {
namespace {

struct NoOptions {};

class Factory final : public TypedPluginFactory<RetryPolicy, RetryContext, NoOptions> {
 public:
  absl::string_view name() const override { return kNoRetryName; }
  absl::string_view description() const override { return "never retry"; }

 protected:
  absl::StatusOr<NoOptions> ParseTyped(const PluginSpec& spec, const Registry&) const override {
    ParamReader r(spec);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return NoOptions{};
  }
  absl::StatusOr<std::unique_ptr<RetryPolicy>> CreateTyped(const NoOptions&,
                                                           const RetryContext&) const override {
    return std::make_unique<NoRetryPolicy>();
  }
};

}  // namespace

std::unique_ptr<RetryPolicyFactory> NewNoRetryFactory() { return std::make_unique<Factory>(); }

}  // namespace aequor
