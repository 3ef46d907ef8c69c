// tests/exporters/otlp_grpc/otlp_test_support.h: what the OTLP/gRPC exporter's
// tests share: a protobuf wire encoder of our own, independent of libprotobuf,
// for the expected bytes, and readers of an ExportMetricsServiceRequest.
//
//   EXPECT_EQ(Hex(Serialize(kv)), Hex(LenField(1, "service.name") + LenField(2, value)));
//   EXPECT_EQ(SumValue(request, "aequor.queries"), 5);
//
// Thread-safety: plain functions without state.
#ifndef AEQUOR_TESTS_EXPORTERS_OTLP_GRPC_OTLP_TEST_SUPPORT_H_
#define AEQUOR_TESTS_EXPORTERS_OTLP_GRPC_OTLP_TEST_SUPPORT_H_

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"

namespace aequor {
namespace otlp_test {

namespace collector = ::opentelemetry::proto::collector::metrics::v1;
namespace common = ::opentelemetry::proto::common::v1;
namespace otlp = ::opentelemetry::proto::metrics::v1;
namespace resource = ::opentelemetry::proto::resource::v1;

// ---------------------------------------------------------------------------
// A protobuf wire encoder of our own, independent of libprotobuf, for the
// expected bytes. Wire types: 0 varint, 1 64-bit, 2 length-delimited.

inline std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
inline std::string Key(int field, int wire_type) {
  return Varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}
inline std::string VarintField(int field, uint64_t v) { return Key(field, 0) + Varint(v); }
inline std::string Bytes64(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
inline std::string Bits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return Bytes64(bits);
}
inline std::string Fixed64Field(int field, uint64_t v) { return Key(field, 1) + Bytes64(v); }
inline std::string DoubleField(int field, double d) { return Key(field, 1) + Bits(d); }
inline std::string LenField(int field, const std::string& payload) {
  return Key(field, 2) + Varint(payload.size()) + payload;
}
// KeyValue{key = 1, value = 2: AnyValue{string_value = 1}}
inline std::string StringAttribute(const std::string& key, const std::string& value) {
  return LenField(1, key) + LenField(2, LenField(1, value));
}

inline std::string Hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) absl::StrAppend(&out, absl::Hex(c, absl::kZeroPad2), " ");
  return out;
}

inline std::string Serialize(const google::protobuf::MessageLite& m) {
  std::string out;
  EXPECT_TRUE(m.SerializeToString(&out));
  return out;
}

// ---------------------------------------------------------------------------
// Reading a request.

inline std::map<std::string, std::string> ResourceAttributes(
    const collector::ExportMetricsServiceRequest& r) {
  std::map<std::string, std::string> out;
  if (r.resource_metrics_size() != 1) return out;
  for (const common::KeyValue& kv : r.resource_metrics(0).resource().attributes()) {
    out[kv.key()] = kv.value().string_value();
  }
  return out;
}

inline std::vector<std::string> MetricNames(const collector::ExportMetricsServiceRequest& r) {
  std::vector<std::string> out;
  for (const otlp::ResourceMetrics& rm : r.resource_metrics()) {
    for (const otlp::ScopeMetrics& sm : rm.scope_metrics()) {
      for (const otlp::Metric& m : sm.metrics()) out.push_back(m.name());
    }
  }
  return out;
}

inline const otlp::Metric* FindMetric(const collector::ExportMetricsServiceRequest& r,
                                      absl::string_view name) {
  for (const otlp::ResourceMetrics& rm : r.resource_metrics()) {
    for (const otlp::ScopeMetrics& sm : rm.scope_metrics()) {
      for (const otlp::Metric& m : sm.metrics()) {
        if (m.name() == name) return &m;
      }
    }
  }
  return nullptr;
}

// The value of an unlabelled Sum (its only point), or -1.
inline int64_t SumValue(const collector::ExportMetricsServiceRequest& r, absl::string_view name) {
  const otlp::Metric* m = FindMetric(r, name);
  if (m == nullptr || !m->has_sum() || m->sum().data_points_size() != 1) return -1;
  return m->sum().data_points(0).as_int();
}

// attribute value -> value, for a labelled Sum with attribute `key`.
inline std::map<std::string, int64_t> LabelledValues(
    const collector::ExportMetricsServiceRequest& r, absl::string_view name,
    absl::string_view key) {
  std::map<std::string, int64_t> out;
  const otlp::Metric* m = FindMetric(r, name);
  if (m == nullptr || !m->has_sum()) return out;
  for (const otlp::NumberDataPoint& p : m->sum().data_points()) {
    EXPECT_EQ(p.attributes_size(), 1) << name;
    if (p.attributes_size() != 1) continue;
    EXPECT_EQ(p.attributes(0).key(), key) << name;
    out[p.attributes(0).value().string_value()] = p.as_int();
  }
  return out;
}

// The value of a Gauge metric with one point, or nothing (absent, not a
// Gauge, or not one as_double point).
inline std::optional<double> GaugeValue(const collector::ExportMetricsServiceRequest& r,
                                        absl::string_view name) {
  const otlp::Metric* m = FindMetric(r, name);
  if (m == nullptr || !m->has_gauge() || m->gauge().data_points_size() != 1) return std::nullopt;
  const otlp::NumberDataPoint& p = m->gauge().data_points(0);
  if (p.value_case() != otlp::NumberDataPoint::kAsDouble) return std::nullopt;
  return p.as_double();
}

}  // namespace otlp_test
}  // namespace aequor

#endif  // AEQUOR_TESTS_EXPORTERS_OTLP_GRPC_OTLP_TEST_SUPPORT_H_
