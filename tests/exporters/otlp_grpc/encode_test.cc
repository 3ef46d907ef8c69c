// EncodeOtlpMetricsRequest (exporters/otlp_grpc): the mapping of a
// MetricsSnapshot to an ExportMetricsServiceRequest, decoded with
// libprotobuf. No server.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "exporters/otlp_grpc/otlp_grpc.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "tests/exporters/otlp_grpc/otlp_test_support.h"

namespace aequor {
namespace otlp_test {
namespace {

// ---------------------------------------------------------------------------
// The mapping of a snapshot, without a server.

OtlpGrpcOptions EncodeOptions() {
  OtlpGrpcOptions o;
  o.service = "svc";
  o.instance = "inst";
  o.start_time = absl::FromUnixSeconds(1767225600);
  return o;
}

collector::ExportMetricsServiceRequest Decode(const std::string& bytes) {
  collector::ExportMetricsServiceRequest r;
  EXPECT_TRUE(r.ParseFromString(bytes));
  return r;
}

TEST(EncodeOtlpMetricsRequest, MapsCountersToCumulativeSumsAndLabelsToAttributes) {
  MetricsSnapshot m;
  m.connects = 3;
  m.reconnects = 1;
  m.queries = 5;
  m.query_errors = 1;
  m.retries = {{"connection", 2}, {"deadlock", 1}};
  m.reaper_passes = {{"completed", 4}};
  m.reaper_rows_skipped = {{"not_expired", 6}};
  m.zombies_killed = 7;
  m.events_dropped = 9;
  m.exporter_failures = 2;
  const absl::Time now = absl::FromUnixSeconds(1767225660) + absl::Nanoseconds(5);
  const collector::ExportMetricsServiceRequest r =
      Decode(EncodeOtlpMetricsRequest(EncodeOptions(), m, now, /*failed_exports=*/4));

  ASSERT_EQ(r.resource_metrics_size(), 1);
  EXPECT_EQ(ResourceAttributes(r),
            (std::map<std::string, std::string>{{"service.name", "svc"},
                                                {"service.instance.id", "inst"},
                                                {"telemetry.sdk.name", "aequor"},
                                                {"telemetry.sdk.language", "cpp"}}));
  ASSERT_EQ(r.resource_metrics(0).scope_metrics_size(), 1);
  EXPECT_EQ(r.resource_metrics(0).scope_metrics(0).scope().name(), "aequor");

  // Every counter in Counters() order; dead_clients has no label yet.
  EXPECT_EQ(MetricNames(r),
            (std::vector<std::string>{
                "aequor.connects", "aequor.reconnects", "aequor.connect_errors", "aequor.retries",
                "aequor.queries", "aequor.query_errors", "aequor.lease_renewals",
                "aequor.lease_renewal_failures", "aequor.reaper_passes", "aequor.zombies_killed",
                "aequor.reaper_rows_skipped", "aequor.events_dropped", "aequor.exporter_failures",
                "aequor.clock_offset_warnings", "aequor.exporter.otlp_grpc.failed_exports",
                "aequor.query_latency"}));
  for (const otlp::Metric& metric : r.resource_metrics(0).scope_metrics(0).metrics()) {
    EXPECT_FALSE(metric.description().empty()) << metric.name();
    if (metric.name() == "aequor.query_latency") continue;
    ASSERT_TRUE(metric.has_sum()) << metric.name();
    EXPECT_EQ(metric.unit(), "1") << metric.name();
    EXPECT_EQ(metric.sum().aggregation_temporality(), otlp::AGGREGATION_TEMPORALITY_CUMULATIVE);
    EXPECT_TRUE(metric.sum().is_monotonic()) << metric.name();
    for (const otlp::NumberDataPoint& p : metric.sum().data_points()) {
      EXPECT_EQ(p.value_case(), otlp::NumberDataPoint::kAsInt) << metric.name();
      EXPECT_EQ(p.start_time_unix_nano(), 1767225600000000000u) << metric.name();
      EXPECT_EQ(p.time_unix_nano(), 1767225660000000005u) << metric.name();
    }
  }
  EXPECT_EQ(SumValue(r, "aequor.connects"), 3);
  EXPECT_EQ(SumValue(r, "aequor.reconnects"), 1);
  EXPECT_EQ(SumValue(r, "aequor.connect_errors"), 0);
  EXPECT_EQ(SumValue(r, "aequor.queries"), 5);
  EXPECT_EQ(SumValue(r, "aequor.query_errors"), 1);
  EXPECT_EQ(SumValue(r, "aequor.zombies_killed"), 7);
  EXPECT_EQ(SumValue(r, "aequor.events_dropped"), 9);
  EXPECT_EQ(SumValue(r, "aequor.exporter_failures"), 2);
  EXPECT_EQ(SumValue(r, "aequor.exporter.otlp_grpc.failed_exports"), 4);
  EXPECT_EQ(LabelledValues(r, "aequor.retries", "reason"),
            (std::map<std::string, int64_t>{{"connection", 2}, {"deadlock", 1}}));
  EXPECT_EQ(LabelledValues(r, "aequor.reaper_passes", "outcome"),
            (std::map<std::string, int64_t>{{"completed", 4}}));
  EXPECT_EQ(LabelledValues(r, "aequor.reaper_rows_skipped", "reason"),
            (std::map<std::string, int64_t>{{"not_expired", 6}}));
  EXPECT_EQ(FindMetric(r, "aequor.queries")->sum().data_points(0).attributes_size(), 0);

  // The one small metric, byte for byte (our encoder, spec field numbers).
  const otlp::Metric* queries = FindMetric(r, "aequor.queries");
  const std::string point = Fixed64Field(2, 1767225600000000000u) +
                            Fixed64Field(3, 1767225660000000005u) + Key(6, 1) + Bytes64(5);
  const std::string expected =
      LenField(1, "aequor.queries") + LenField(2, "Statements finished, succeeded or failed") +
      LenField(3, "1") + LenField(7, LenField(1, point) + VarintField(2, 2) + VarintField(3, 1));
  EXPECT_EQ(Hex(Serialize(*queries)), Hex(expected));

  // dead_clients once a source is seen.
  m.dead_clients = {{"thaw_check", 2}};
  const collector::ExportMetricsServiceRequest r2 =
      Decode(EncodeOtlpMetricsRequest(EncodeOptions(), m, now));
  EXPECT_EQ(LabelledValues(r2, "aequor.dead_clients", "source"),
            (std::map<std::string, int64_t>{{"thaw_check", 2}}));
  EXPECT_EQ(SumValue(r2, "aequor.exporter.otlp_grpc.failed_exports"), 0);
}

TEST(EncodeOtlpMetricsRequest, MapsGaugesToGaugesOfDoublesOnlyOnceTheyHaveAValue) {
  MetricsSnapshot m;
  m.queries = 1;
  const absl::Time now = absl::FromUnixSeconds(1767225660) + absl::Nanoseconds(5);
  collector::ExportMetricsServiceRequest r =
      Decode(EncodeOtlpMetricsRequest(EncodeOptions(), m, now));
  EXPECT_EQ(FindMetric(r, "aequor.clock_offset"), nullptr) << "no value yet: not sent";
  EXPECT_EQ(FindMetric(r, "aequor.connection_usage"), nullptr) << "no value yet: not sent";
  EXPECT_EQ(SumValue(r, "aequor.clock_offset_warnings"), 0);

  m.clock_offset_ms = -3.5;
  m.connection_usage = 0.4;
  m.clock_offset_warnings = 2;
  r = Decode(EncodeOtlpMetricsRequest(EncodeOptions(), m, now));
  // Counters, then the gauges, then the histogram.
  const std::vector<std::string> names = MetricNames(r);
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(names.end() - 3, names.end()),
            (std::vector<std::string>{"aequor.clock_offset", "aequor.connection_usage",
                                      "aequor.query_latency"}));
  EXPECT_EQ(SumValue(r, "aequor.clock_offset_warnings"), 2);
  EXPECT_EQ(FindMetric(r, "aequor.clock_offset_warnings")->description(),
            "Clock offsets measured larger than reap_clock_skew (clock_offset events with a "
            "warning)");
  for (const char* name : {"aequor.clock_offset", "aequor.connection_usage"}) {
    const otlp::Metric* g = FindMetric(r, name);
    ASSERT_NE(g, nullptr) << name;
    EXPECT_TRUE(g->has_gauge()) << name << ": a Gauge, not a Sum";
    EXPECT_FALSE(g->has_sum()) << name;
    EXPECT_FALSE(g->description().empty()) << name;
    ASSERT_EQ(g->gauge().data_points_size(), 1) << name;
    const otlp::NumberDataPoint& p = g->gauge().data_points(0);
    EXPECT_EQ(p.attributes_size(), 0) << name;
    EXPECT_EQ(p.time_unix_nano(), 1767225660000000005u) << name;
    EXPECT_EQ(p.start_time_unix_nano(), 0u) << name << ": a gauge has no start";
  }
  EXPECT_EQ(FindMetric(r, "aequor.clock_offset")->unit(), "ms");
  EXPECT_EQ(FindMetric(r, "aequor.connection_usage")->unit(), "1");
  EXPECT_EQ(GaugeValue(r, "aequor.clock_offset"), -3.5);
  EXPECT_EQ(GaugeValue(r, "aequor.connection_usage"), 0.4);

  // The gauge, byte for byte: Metric.gauge = 5 { data_points = 1 {
  // time_unix_nano = 3, as_double = 4 } }.
  const std::string point = Fixed64Field(3, 1767225660000000005u) + DoubleField(4, 0.4);
  EXPECT_EQ(Hex(Serialize(*FindMetric(r, "aequor.connection_usage"))),
            Hex(LenField(1, "aequor.connection_usage") +
                LenField(2, FindMetric(r, "aequor.connection_usage")->description()) +
                LenField(3, "1") + LenField(5, LenField(1, point))));

  // One without the other.
  m.clock_offset_ms.reset();
  r = Decode(EncodeOtlpMetricsRequest(EncodeOptions(), m, now));
  EXPECT_EQ(FindMetric(r, "aequor.clock_offset"), nullptr);
  EXPECT_EQ(GaugeValue(r, "aequor.connection_usage"), 0.4);
}

TEST(EncodeOtlpMetricsRequest, MapsTheLatencyHistogramWithItsExplicitBoundsInMilliseconds) {
  MetricsSnapshot m;
  m.query_latency.counts[0] = 2;   // <= 0.25 ms
  m.query_latency.counts[3] = 1;   // (1, 2.5] ms
  m.query_latency.counts[15] = 1;  // > 10 s
  m.query_latency.count = 4;
  m.query_latency.sum_ms = 10003.5;
  const collector::ExportMetricsServiceRequest r =
      Decode(EncodeOtlpMetricsRequest(EncodeOptions(), m, absl::FromUnixSeconds(1767225601)));
  const otlp::Metric* latency = FindMetric(r, "aequor.query_latency");
  ASSERT_NE(latency, nullptr);
  EXPECT_EQ(latency->unit(), "ms");
  ASSERT_TRUE(latency->has_histogram());
  EXPECT_EQ(latency->histogram().aggregation_temporality(),
            otlp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  ASSERT_EQ(latency->histogram().data_points_size(), 1);
  const otlp::HistogramDataPoint& p = latency->histogram().data_points(0);
  EXPECT_EQ(p.count(), 4u);
  EXPECT_TRUE(p.has_sum());
  EXPECT_DOUBLE_EQ(p.sum(), 10003.5);
  EXPECT_FALSE(p.has_min());
  EXPECT_FALSE(p.has_max());
  ASSERT_EQ(p.explicit_bounds_size(), 15);
  for (size_t i = 0; i < LatencyHistogram::kBoundsMs.size(); ++i) {
    EXPECT_EQ(p.explicit_bounds(static_cast<int>(i)), LatencyHistogram::kBoundsMs[i]);
  }
  ASSERT_EQ(p.bucket_counts_size(), 16);
  const std::vector<uint64_t> counts(p.bucket_counts().begin(), p.bucket_counts().end());
  EXPECT_EQ(counts, (std::vector<uint64_t>{2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(p.start_time_unix_nano(), 1767225600000000000u);
  EXPECT_EQ(p.time_unix_nano(), 1767225601000000000u);
}

TEST(EncodeOtlpMetricsRequest, AnEmptyInstanceLeavesTheAttributeOut) {
  OtlpGrpcOptions o = EncodeOptions();
  o.instance = "";
  const collector::ExportMetricsServiceRequest r =
      Decode(EncodeOtlpMetricsRequest(o, MetricsSnapshot(), absl::FromUnixSeconds(1767225601)));
  EXPECT_EQ(ResourceAttributes(r).count("service.instance.id"), 0u);
  EXPECT_EQ(ResourceAttributes(r).at("service.name"), "svc");
  EXPECT_EQ(SumValue(r, "aequor.queries"), 0);
}

}  // namespace
}  // namespace otlp_test
}  // namespace aequor
