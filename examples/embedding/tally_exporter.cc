#include "tally_exporter.h"

#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/plugin.h"

namespace embedding {
namespace {

class TallyExporter final : public aequor::HookExporter {
 public:
  explicit TallyExporter(std::string prefix) : prefix_(std::move(prefix)) {}

  Delivery delivery() const override { return Delivery::kSynchronous; }
  void Export(absl::Span<const aequor::Event> batch) override {
    for (const aequor::Event& e : batch) {
      if (e.kind == aequor::EventKind::kQueryEnd) ++statements_;
    }
  }
  void ExportMetrics(const aequor::MetricsSnapshot&) override {}
  absl::Status Flush(absl::Duration) override {
    std::printf("%s\n", absl::StrCat(prefix_, " ", statements_, " statements").c_str());
    std::fflush(stdout);
    return absl::OkStatus();
  }

 private:
  const std::string prefix_;
  long long statements_ = 0;
};

struct TallyConfig {
  std::string prefix;
};

class Factory final
    : public aequor::TypedPluginFactory<aequor::HookExporter, aequor::ExporterContext,
                                        TallyConfig> {
 public:
  absl::string_view name() const override { return "embedding.exporter.tally"; }
  absl::string_view description() const override {
    return "counts statements, prints the count on Flush()";
  }

 protected:
  absl::StatusOr<TallyConfig> ParseTyped(const aequor::PluginSpec& spec,
                                         const aequor::Registry&) const override {
    aequor::ParamReader r(spec);
    TallyConfig config;
    config.prefix = r.String("prefix", "tally:");
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<aequor::HookExporter>> CreateTyped(
      const TallyConfig& config, const aequor::ExporterContext&) const override {
    return std::unique_ptr<aequor::HookExporter>(new TallyExporter(config.prefix));
  }
};

}  // namespace

std::unique_ptr<aequor::HookExporterFactory> NewTallyExporterFactory() {
  return std::make_unique<Factory>();
}

}  // namespace embedding
