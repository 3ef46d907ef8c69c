// The OTLP field numbers: what libprotobuf makes of our copies of the
// OpenTelemetry .proto files must equal a hand encoding with the numbers of
// the OTLP specification, byte by byte. No exporter, no network.
#include <string>

#include "absl/strings/match.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "tests/exporters/otlp_grpc/otlp_test_support.h"

namespace aequor {
namespace otlp_test {
namespace {

// ---------------------------------------------------------------------------
// Field numbers: what libprotobuf makes of our .proto files must equal a
// hand encoding with the numbers of the OTLP specification.

TEST(OtlpWireFormat, AKeyValueMatchesTheHandComputedBytes) {
  common::KeyValue kv;
  kv.set_key("service.name");
  kv.mutable_value()->set_string_value("svc");
  // KeyValue.key = 1 (0x0a), KeyValue.value = 2 (0x12), AnyValue.string_value = 1 (0x0a).
  const std::string expected =
      std::string("\x0a\x0c", 2) + "service.name" + std::string("\x12\x05\x0a\x03", 4) + "svc";
  EXPECT_EQ(Hex(Serialize(kv)), Hex(expected));

  common::AnyValue v;
  v.set_int_value(300);  // int_value = 3, varint: 0x18 0xac 0x02
  EXPECT_EQ(Hex(Serialize(v)), Hex(std::string("\x18\xac\x02", 3)));
  v.set_bool_value(true);  // bool_value = 2
  EXPECT_EQ(Hex(Serialize(v)), Hex(std::string("\x10\x01", 2)));
  v.set_double_value(1.5);  // double_value = 4, 64-bit: 0x21
  EXPECT_EQ(Hex(Serialize(v)), Hex(DoubleField(4, 1.5)));
}

TEST(OtlpWireFormat, ANumberDataPointUsesFieldsTwoThreeSixAndSeven) {
  otlp::NumberDataPoint p;
  common::KeyValue* kv = p.add_attributes();
  kv->set_key("reason");
  kv->mutable_value()->set_string_value("deadlock");
  p.set_start_time_unix_nano(1);
  p.set_time_unix_nano(2);
  p.set_as_int(5);
  // start_time_unix_nano = 2 and time_unix_nano = 3 (fixed64: 0x11, 0x19),
  // as_int = 6 (sfixed64: 0x31), attributes = 7 (0x3a).
  const std::string expected = std::string("\x11", 1) + Bytes64(1) + std::string("\x19", 1) +
                               Bytes64(2) + std::string("\x31", 1) + Bytes64(5) +
                               LenField(7, StringAttribute("reason", "deadlock"));
  EXPECT_EQ(Hex(Serialize(p)), Hex(expected));

  otlp::NumberDataPoint d;
  d.set_as_double(0.5);  // as_double = 4
  d.set_flags(1);        // flags = 8
  EXPECT_EQ(Hex(Serialize(d)), Hex(DoubleField(4, 0.5) + VarintField(8, 1)));
}

TEST(OtlpWireFormat, AHistogramDataPointUsesTheSpecFieldNumbers) {
  otlp::HistogramDataPoint p;
  p.add_attributes()->set_key("k");
  p.set_start_time_unix_nano(7);
  p.set_time_unix_nano(8);
  p.set_count(3);
  p.set_sum(12.5);
  p.add_bucket_counts(1);
  p.add_bucket_counts(2);
  p.add_explicit_bounds(10);
  p.set_flags(1);
  p.set_min(0.25);
  p.set_max(11);
  // count = 4 (fixed64), sum = 5 (double), bucket_counts = 6 (packed
  // fixed64), explicit_bounds = 7 (packed double), attributes = 9,
  // flags = 10, min = 11, max = 12.
  const std::string expected = Fixed64Field(2, 7) + Fixed64Field(3, 8) + Fixed64Field(4, 3) +
                               DoubleField(5, 12.5) + LenField(6, Bytes64(1) + Bytes64(2)) +
                               LenField(7, Bits(10)) + LenField(9, LenField(1, "k")) +
                               VarintField(10, 1) + DoubleField(11, 0.25) + DoubleField(12, 11);
  EXPECT_EQ(Hex(Serialize(p)), Hex(expected));
  // Spelled out for the first fields, as a reader of the spec would:
  EXPECT_EQ(Hex(Serialize(p).substr(0, 9)), "11 07 00 00 00 00 00 00 00 ");
}

TEST(OtlpWireFormat, MetricSumGaugeAndHistogramUseFieldsSevenFiveAndNine) {
  otlp::Metric m;
  m.set_name("n");
  m.set_description("d");
  m.set_unit("1");
  m.mutable_sum()->set_aggregation_temporality(otlp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  m.mutable_sum()->set_is_monotonic(true);
  m.mutable_sum()->add_data_points()->set_as_int(1);
  // name = 1, description = 2, unit = 3, sum = 7 {data_points = 1,
  // aggregation_temporality = 2 (CUMULATIVE = 2), is_monotonic = 3}.
  const std::string sum =
      LenField(1, Key(6, 1) + Bytes64(1)) + VarintField(2, 2) + VarintField(3, 1);
  EXPECT_EQ(Hex(Serialize(m)),
            Hex(LenField(1, "n") + LenField(2, "d") + LenField(3, "1") + LenField(7, sum)));
  // The sum's tail, byte by byte: 10 02 18 01.
  EXPECT_TRUE(absl::EndsWith(Serialize(m), std::string("\x10\x02\x18\x01", 4)));

  otlp::Metric g;
  g.mutable_gauge()->add_data_points()->set_as_int(2);
  EXPECT_EQ(Hex(Serialize(g)), Hex(LenField(5, LenField(1, Key(6, 1) + Bytes64(2)))));

  otlp::Metric h;
  h.mutable_histogram()->set_aggregation_temporality(otlp::AGGREGATION_TEMPORALITY_DELTA);
  h.mutable_histogram()->add_data_points()->set_count(1);
  EXPECT_EQ(Hex(Serialize(h)),
            Hex(LenField(9, LenField(1, Fixed64Field(4, 1)) + VarintField(2, 1))));
}

TEST(OtlpWireFormat, RequestResourceAndScopeNestAsTheSpecSays) {
  collector::ExportMetricsServiceRequest r;
  otlp::ResourceMetrics* rm = r.add_resource_metrics();
  common::KeyValue* kv = rm->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("s");
  rm->mutable_resource()->set_dropped_attributes_count(4);
  rm->set_schema_url("u");
  otlp::ScopeMetrics* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("aequor");
  sm->mutable_scope()->set_version("v");
  sm->add_metrics()->set_name("m");
  sm->set_schema_url("w");
  // request.resource_metrics = 1 { resource = 1 { attributes = 1,
  // dropped_attributes_count = 2 }, scope_metrics = 2 { scope = 1 { name = 1,
  // version = 2 }, metrics = 2, schema_url = 3 }, schema_url = 3 }.
  const std::string expected = LenField(
      1, LenField(1, LenField(1, StringAttribute("service.name", "s")) + VarintField(2, 4)) +
             LenField(2, LenField(1, LenField(1, "aequor") + LenField(2, "v")) +
                             LenField(2, LenField(1, "m")) + LenField(3, "w")) +
             LenField(3, "u"));
  EXPECT_EQ(Hex(Serialize(r)), Hex(expected));

  collector::ExportMetricsServiceResponse response;
  response.mutable_partial_success()->set_rejected_data_points(2);
  response.mutable_partial_success()->set_error_message("e");
  // partial_success = 1 { rejected_data_points = 1, error_message = 2 }.
  EXPECT_EQ(Hex(Serialize(response)), Hex(std::string("\x0a\x05\x08\x02\x12\x01"
                                                      "e",
                                                      7)));
}

TEST(OtlpWireFormat, TheServiceIsTheCollectorsMetricsService) {
  EXPECT_STREQ(collector::MetricsService::service_full_name(),
               "opentelemetry.proto.collector.metrics.v1.MetricsService");
  // So the RPC is /opentelemetry.proto.collector.metrics.v1.MetricsService/Export.
  const google::protobuf::ServiceDescriptor* service =
      collector::ExportMetricsServiceRequest::descriptor()->file()->FindServiceByName(
          "MetricsService");
  ASSERT_NE(service, nullptr);
  const google::protobuf::MethodDescriptor* method = service->FindMethodByName("Export");
  ASSERT_NE(method, nullptr);
  EXPECT_EQ(method->full_name(), "opentelemetry.proto.collector.metrics.v1.MetricsService.Export");
  EXPECT_EQ(method->input_type()->full_name(),
            "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest");
  EXPECT_EQ(method->output_type()->full_name(),
            "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse");
  EXPECT_EQ(otlp::Metric::descriptor()->full_name(), "opentelemetry.proto.metrics.v1.Metric");
  EXPECT_EQ(resource::Resource::descriptor()->full_name(),
            "opentelemetry.proto.resource.v1.Resource");
  EXPECT_EQ(common::InstrumentationScope::descriptor()->full_name(),
            "opentelemetry.proto.common.v1.InstrumentationScope");
}

}  // namespace
}  // namespace otlp_test
}  // namespace aequor
