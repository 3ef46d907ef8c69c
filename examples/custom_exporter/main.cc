// examples/custom_exporter: write a hook exporter, register it, select it by
// name.
//
//   bazel run //examples/custom_exporter                  # throwaway PostgreSQL
//   bazel run //examples/custom_exporter -- 'postgresql://app@db/orders'
//
// The exporter here, "example.exporter.summary", writes one plain-text line
// per Flush(): how many queries ran since the last line, how many failed,
// the slowest latency bucket reached, and which statements it saw (from the
// events). It shows the parts of the interface a real exporter (OTLP,
// StatsD, a log shipper) would use:
//   - Export(batch): events, in order, in batches, on the manager's
//     dispatcher thread (never on the query's thread, never two at once);
//   - ExportMetrics(snapshot): the manager's cumulative metrics, right
//     before each Flush();
//   - Flush(timeout): push out what is buffered (here: write the line).
// It also shows that Build() rejects a misspelt option, naming it.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/connection_manager.h"
#include "api/hook_exporter.h"
#include "api/metrics.h"
#include "api/registry.h"
#include "testing/throwaway_postgres.h"

namespace example {

// Step 1: the exporter. It is called by one thread at a time (the manager's
// dispatcher), so it needs no lock of its own.
class SummaryExporter final : public aequor::HookExporter {
 public:
  explicit SummaryExporter(std::string prefix) : prefix_(std::move(prefix)) {}

  void Export(absl::Span<const aequor::Event> batch) override {
    for (const aequor::Event& e : batch) {
      if (e.kind == aequor::EventKind::kQueryEnd || e.kind == aequor::EventKind::kQueryError) {
        ++statements_[e.sql];
      }
    }
  }

  void ExportMetrics(const aequor::MetricsSnapshot& m) override { latest_ = m; }

  // Queued, the default, said here to show the choice: events in batches on
  // the dispatcher thread (docs/EXPORTERS.md lists the other deliveries).
  Delivery delivery() const override { return Delivery::kQueued; }

  absl::Status Flush(absl::Duration) override {
    const aequor::MetricsSnapshot d = aequor::MetricsDelta(latest_, written_);
    if (d.queries == 0 && d.connects == 0) return absl::OkStatus();  // nothing to say
    std::string slowest = "none";
    const auto& bounds = aequor::LatencyHistogram::kBoundsMs;
    for (size_t i = 0; i < aequor::LatencyHistogram::kBuckets; ++i) {
      if (d.query_latency.counts[i] == 0) continue;
      slowest = i < bounds.size() ? absl::StrCat("<= ", bounds[i], " ms")
                                  : absl::StrCat("> ", bounds.back(), " ms");
    }
    std::string line = absl::StrCat(
        prefix_, " ", d.queries, " queries (", d.query_errors, " failed), ", d.connects,
        " connect(s), slowest ", slowest,
        "; statements: ", absl::StrJoin(statements_, ", ", absl::PairFormatter(" x")), "\n");
    // One write() per line, so the line never interleaves with other output.
    if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return absl::UnavailableError("example.exporter.summary: could not write");
    }
    written_ = latest_;
    statements_.clear();
    return absl::OkStatus();
  }

 private:
  const std::string prefix_;
  std::map<std::string, int> statements_;  // since the last line
  aequor::MetricsSnapshot latest_;
  aequor::MetricsSnapshot written_;
};

// Step 2: its factory: a name, an option parser that validates into a
// config of its own type, and a Create from that config.
struct SummaryConfig {
  std::string prefix;
};

class SummaryFactory final
    : public aequor::TypedPluginFactory<aequor::HookExporter, aequor::ExporterContext,
                                        SummaryConfig> {
 public:
  absl::string_view name() const override { return "example.exporter.summary"; }
  absl::string_view description() const override {
    return "one plain-text summary line per Flush() on stdout";
  }

 protected:
  absl::StatusOr<SummaryConfig> ParseTyped(const aequor::PluginSpec& spec,
                                           const aequor::Registry&) const override {
    SummaryConfig config;
    aequor::ParamReader r(spec);
    config.prefix = r.String("prefix", "summary:");
    if (absl::Status s = r.Finish(); !s.ok()) return s;  // unknown options are errors
    return config;
  }
  absl::StatusOr<std::unique_ptr<aequor::HookExporter>> CreateTyped(
      const SummaryConfig& config, const aequor::ExporterContext&) const override {
    return std::make_unique<SummaryExporter>(config.prefix);
  }
};

}  // namespace example

int main(int argc, char** argv) {
  std::string dsn = argc > 1 ? argv[1] : "";
  std::unique_ptr<aequor::testing::ThrowawayPostgres> server;
  if (dsn.empty()) {
    absl::StatusOr<std::unique_ptr<aequor::testing::ThrowawayPostgres>> started =
        aequor::testing::ThrowawayPostgres::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "starting PostgreSQL: %s\n", started.status().ToString().c_str());
      return 1;
    }
    server = *std::move(started);
    dsn = server->ConninfoFor("aequor_app");
  }

  // Step 3: a registry with the built-ins plus ours.
  aequor::RegistryBuilder registry_builder(*aequor::Registry::Default());
  if (absl::Status s = registry_builder.Register(std::make_unique<example::SummaryFactory>());
      !s.ok()) {
    std::fprintf(stderr, "register: %s\n", s.ToString().c_str());
    return 1;
  }
  std::shared_ptr<const aequor::Registry> registry = std::move(registry_builder).Build();
  std::printf("exporters available: %s\n", absl::StrJoin(registry->ExporterNames(), " ").c_str());

  // Step 4: select it by name, with its option, through the builder.
  auto build = [&](aequor::PluginSpec spec) {
    return aequor::ConnectionManagerBuilder()
        .SetRegistry(registry)
        .SetConninfo(dsn)
        .SetService("custom-exporter-demo")
        .SetLeaseMode(aequor::LeaseMode::kOptional)  // no secret needed for the demo
        .AddExporter(std::move(spec))
        .Build();
  };
  absl::StatusOr<std::unique_ptr<aequor::ConnectionManager>> wrong =
      build(aequor::PluginSpec("example.exporter.summary", {{"prefx", "x"}}));
  std::printf("with a misspelt option, Build() says: %s\n", wrong.status().ToString().c_str());
  if (wrong.ok()) return 1;

  absl::StatusOr<aequor::PluginSpec> spec =
      aequor::ParsePluginSpec("example.exporter.summary(prefix=[summary])");
  if (!spec.ok()) return 1;
  absl::StatusOr<std::unique_ptr<aequor::ConnectionManager>> manager = build(*spec);
  if (!manager.ok()) {
    std::fprintf(stderr, "build: %s\n", manager.status().ToString().c_str());
    return 1;
  }
  aequor::ConnectionManager& db = **manager;
  std::printf("built a manager with exporter %s\n", aequor::FormatPluginSpec(*spec).c_str());
  std::fflush(stdout);

  // Step 5: two "invocations", each ending with Flush(), as a handler would.
  for (int invocation = 1; invocation <= 2; ++invocation) {
    for (int i = 0; i < invocation * 2; ++i) {
      absl::StatusOr<aequor::QueryResult> r = db.Query("SELECT $1::int * 2", {i});
      if (!r.ok()) {
        std::fprintf(stderr, "query: %s\n", r.status().ToString().c_str());
        return 1;
      }
    }
    if (invocation == 2) (void)db.Query("SELECT 1/0");  // fails, and is counted
    if (absl::Status s = db.Flush(absl::Seconds(2)); !s.ok()) {
      std::fprintf(stderr, "flush: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  aequor::MetricsSnapshot m = db.metrics();
  std::printf("manager totals: %lld queries, %lld failed\n", static_cast<long long>(m.queries),
              static_cast<long long>(m.query_errors));
  return m.queries == 7 && m.query_errors == 1 ? 0 : 1;
}
