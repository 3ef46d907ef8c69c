#include "strategies/retry/none.h"

namespace aequor {
namespace {

class Factory final : public RetryPolicyFactory {
 public:
  absl::string_view name() const override { return kNoRetryName; }
  absl::string_view description() const override { return "never retry"; }
  absl::StatusOr<std::unique_ptr<ParsedConfig>> ParseConfig(const PluginSpec& spec,
                                                             const Registry&) const override {
    ParamReader r(spec);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return std::make_unique<ParsedConfig>();
  }
  absl::StatusOr<std::unique_ptr<RetryPolicy>> Create(const ParsedConfig&,
                                                      const RetryContext&) const override {
    return std::make_unique<NoRetryPolicy>();
  }
};

}  // namespace

std::unique_ptr<RetryPolicyFactory> NewNoRetryFactory() { return std::make_unique<Factory>(); }

}  // namespace aequor
