// "aequor.exporter.otlp_grpc" (exporters/otlp_grpc): the OTLP field numbers
// checked byte by byte against a hand encoding, the mapping of a
// MetricsSnapshot, the options, and real exports to a gRPC MetricsService on
// loopback (generated from the same .proto files) from a ConnectionManager
// running against a throwaway PostgreSQL 15 (testing/postgres_environment.h),
// also with a collector that refuses connections or never answers.
#include "exporters/otlp_grpc/otlp_grpc.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/errors.h"
#include "api/registry.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"

namespace aequor {
namespace {

namespace collector = ::opentelemetry::proto::collector::metrics::v1;
namespace common = ::opentelemetry::proto::common::v1;
namespace otlp = ::opentelemetry::proto::metrics::v1;
namespace resource = ::opentelemetry::proto::resource::v1;

constexpr char kSecret[] = "otlp-secret-0123456789abcdef";
constexpr char kService[] = "otlp-test";
constexpr char kInstance[] = "OtlpIns1";

// ---------------------------------------------------------------------------
// A protobuf wire encoder of our own, independent of libprotobuf, for the
// expected bytes. Wire types: 0 varint, 1 64-bit, 2 length-delimited.

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string Key(int field, int wire_type) {
  return Varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}
std::string VarintField(int field, uint64_t v) { return Key(field, 0) + Varint(v); }
std::string Bytes64(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
std::string Bits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return Bytes64(bits);
}
std::string Fixed64Field(int field, uint64_t v) { return Key(field, 1) + Bytes64(v); }
std::string DoubleField(int field, double d) { return Key(field, 1) + Bits(d); }
std::string LenField(int field, const std::string& payload) {
  return Key(field, 2) + Varint(payload.size()) + payload;
}
// KeyValue{key = 1, value = 2: AnyValue{string_value = 1}}
std::string StringAttribute(const std::string& key, const std::string& value) {
  return LenField(1, key) + LenField(2, LenField(1, value));
}

std::string Hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) absl::StrAppend(&out, absl::Hex(c, absl::kZeroPad2), " ");
  return out;
}

std::string Serialize(const google::protobuf::MessageLite& m) {
  std::string out;
  EXPECT_TRUE(m.SerializeToString(&out));
  return out;
}

// ---------------------------------------------------------------------------
// Reading a request.

std::map<std::string, std::string> ResourceAttributes(
    const collector::ExportMetricsServiceRequest& r) {
  std::map<std::string, std::string> out;
  if (r.resource_metrics_size() != 1) return out;
  for (const common::KeyValue& kv : r.resource_metrics(0).resource().attributes()) {
    out[kv.key()] = kv.value().string_value();
  }
  return out;
}

std::vector<std::string> MetricNames(const collector::ExportMetricsServiceRequest& r) {
  std::vector<std::string> out;
  for (const otlp::ResourceMetrics& rm : r.resource_metrics()) {
    for (const otlp::ScopeMetrics& sm : rm.scope_metrics()) {
      for (const otlp::Metric& m : sm.metrics()) out.push_back(m.name());
    }
  }
  return out;
}

const otlp::Metric* FindMetric(const collector::ExportMetricsServiceRequest& r,
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
int64_t SumValue(const collector::ExportMetricsServiceRequest& r, absl::string_view name) {
  const otlp::Metric* m = FindMetric(r, name);
  if (m == nullptr || !m->has_sum() || m->sum().data_points_size() != 1) return -1;
  return m->sum().data_points(0).as_int();
}

// attribute value -> value, for a labelled Sum with attribute `key`.
std::map<std::string, int64_t> LabelledValues(const collector::ExportMetricsServiceRequest& r,
                                              absl::string_view name, absl::string_view key) {
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

// ---------------------------------------------------------------------------
// A collector: the generated MetricsService, on 127.0.0.1.

class FakeCollector final : public collector::MetricsService::Service {
 public:
  grpc::Status Export(grpc::ServerContext*, const collector::ExportMetricsServiceRequest* request,
                      collector::ExportMetricsServiceResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(*request);
    if (rejected_ > 0) {
      response->mutable_partial_success()->set_rejected_data_points(rejected_);
      response->mutable_partial_success()->set_error_message(reject_message_);
    }
    cv_.notify_all();
    return grpc::Status::OK;
  }

  void SetPartialSuccess(int64_t rejected, std::string message) {
    std::lock_guard<std::mutex> lock(mu_);
    rejected_ = rejected;
    reject_message_ = std::move(message);
  }
  std::vector<collector::ExportMetricsServiceRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Waits until a request satisfies `pred`; returns it, or nothing.
  template <typename Pred>
  std::optional<collector::ExportMetricsServiceRequest> WaitFor(Pred pred, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
    std::optional<collector::ExportMetricsServiceRequest> found;
    cv_.wait_until(lock, deadline, [&] {
      for (const auto& r : requests_) {
        if (pred(r)) {
          found = r;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<collector::ExportMetricsServiceRequest> requests_;
  int64_t rejected_ = 0;
  std::string reject_message_;
};

struct Collector {
  FakeCollector service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string endpoint() const { return absl::StrCat("127.0.0.1:", port); }
  ~Collector() {
    if (server) server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
};

// port 0: any free one.
std::unique_ptr<Collector> StartCollector(int port = 0) {
  auto c = std::make_unique<Collector>();
  grpc::ServerBuilder b;
  b.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(), &c->port);
  b.RegisterService(&c->service);
  c->server = b.BuildAndStart();
  if (c->server == nullptr || c->port == 0) return nullptr;
  return c;
}

// A port on which nothing listens (bound, then released).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// A collector that accepts TCP connections (the kernel does, from the
// backlog) and never says a word: every RPC waits for its deadline.
class SilentCollector {
 public:
  SilentCollector() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0 &&
        listen(fd_, 64) == 0 &&
        getsockname(fd_, reinterpret_cast<struct sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentCollector() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

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

// The value of a Gauge metric with one point, or nothing (absent, not a
// Gauge, or not one as_double point).
std::optional<double> GaugeValue(const collector::ExportMetricsServiceRequest& r,
                                 absl::string_view name) {
  const otlp::Metric* m = FindMetric(r, name);
  if (m == nullptr || !m->has_gauge() || m->gauge().data_points_size() != 1) return std::nullopt;
  const otlp::NumberDataPoint& p = m->gauge().data_points(0);
  if (p.value_case() != otlp::NumberDataPoint::kAsDouble) return std::nullopt;
  return p.as_double();
}

TEST(EncodeOtlpMetricsRequest, MapsGaugesToGaugesOfDoublesOnlyOnceTheyHaveAValue) {
  MetricsSnapshot m;
  m.queries = 1;
  const absl::Time now = absl::FromUnixSeconds(1767225660) + absl::Nanoseconds(5);
  collector::ExportMetricsServiceRequest r = Decode(EncodeOtlpMetricsRequest(EncodeOptions(), m, now));
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

// ---------------------------------------------------------------------------
// Options and registration, without a server.

absl::Status Parse(std::map<std::string, std::string> params) {
  std::unique_ptr<HookExporterFactory> f = NewOtlpGrpcExporterFactory();
  return f
      ->ParseConfig(PluginSpec(std::string(kOtlpGrpcExporterName), std::move(params)),
                    *Registry::Default())
      .status();
}

TEST(OtlpGrpcOptions, DefaultsAndGoodEndpointsAreAccepted) {
  EXPECT_TRUE(Parse({}).ok()) << Parse({});
  for (const char* endpoint : {"127.0.0.1:4317", "localhost:4317", "collector.internal:1",
                               "[::1]:4317", "http://127.0.0.1:4317", "10.1.2.3:65535"}) {
    EXPECT_TRUE(Parse({{"endpoint", endpoint}}).ok())
        << endpoint << ": " << Parse({{"endpoint", endpoint}});
  }
  EXPECT_TRUE(Parse({{"interval_ms", "100"}, {"timeout_ms", "60000"}}).ok());
}

TEST(OtlpGrpcOptions, BadEndpointsAreRejectedNamingTheOption) {
  for (const char* endpoint :
       {"", "4317", "127.0.0.1:", ":4317", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:43x7",
        "::1:4317", "[::1]", "[zz]:4317", "host name:4317", "grpc://host:4317", "127.0.0.1:-1"}) {
    absl::Status s = Parse({{"endpoint", endpoint}});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << endpoint;
    EXPECT_EQ(s.message(),
              absl::StrCat("aequor.exporter.otlp_grpc: option 'endpoint' must be host:port (an "
                           "IPv4 address, a host name or a bracketed IPv6 address, and a port in "
                           "[1, 65535]), got '",
                           endpoint, "'"));
  }
}

TEST(OtlpGrpcOptions, TlsEndpointsAreRejectedAsNotSupportedYet) {
  absl::Status s = Parse({{"endpoint", "https://collector:4317"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: option 'endpoint': TLS (https://) is not supported yet; "
            "give the host:port of a plaintext OTLP/gRPC receiver, got 'https://collector:4317'");
}

TEST(OtlpGrpcOptions, OutOfRangeDurationsAreRejectedNamingTheOption) {
  absl::Status s = Parse({{"interval_ms", "50"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: option 'interval_ms' must be a whole number of "
            "milliseconds in [100, 3600000], got '50'");
  s = Parse({{"timeout_ms", "0"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: option 'timeout_ms' must be a whole number of "
            "milliseconds in [10, 60000], got '0'");
  s = Parse({{"timeout_ms", "2s"}});
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: option 'timeout_ms' must be a whole number of "
            "milliseconds in [10, 60000], got '2s'");
}

TEST(OtlpGrpcOptions, AnUnknownOptionIsRejectedListingTheKnownOnes) {
  absl::Status s = Parse({{"insecure", "true"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: unknown option 'insecure'; known: 'endpoint', "
            "'interval_ms', 'timeout_ms'");
}

TEST(OtlpGrpcRegistration, RegisteringTwiceIsAlreadyExistsAndTheCoreDoesNotRegisterIt) {
  RegistryBuilder b(*Registry::Default());
  ASSERT_TRUE(RegisterOtlpGrpcExporter(b).ok());
  EXPECT_EQ(RegisterOtlpGrpcExporter(b).code(), absl::StatusCode::kAlreadyExists);
  std::shared_ptr<const Registry> r = std::move(b).Build();
  EXPECT_TRUE(r->FindExporter(kOtlpGrpcExporterName).ok());
  EXPECT_EQ(Registry::Default()->FindExporter(kOtlpGrpcExporterName).status().code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// Through a real manager and a real gRPC server.

class OtlpExportTest : public testing::PostgresTest<OtlpExportTest> {
 protected:
  void SetUp() override {
    RegistryBuilder rb(*Registry::Default());
    OtlpGrpcRegistration reg;
    reg.on_export = [this](const OtlpExportResult& r) {
      std::lock_guard<std::mutex> lock(mu_);
      results_.push_back(r);
    };
    ASSERT_TRUE(RegisterOtlpGrpcExporter(rb, std::move(reg)).ok());
    registry_ = std::move(rb).Build();
  }

  ConnectionManagerBuilder Builder() {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, kService, kSecret);
    b.SetInstanceId(kInstance).SetRegistry(registry_);
    return b;
  }

  ConnectionManagerBuilder ByName(const std::string& endpoint,
                                  const std::string& interval_ms = "3600000",
                                  const std::string& timeout_ms = "2000") {
    ConnectionManagerBuilder b = Builder();
    b.AddExporter(PluginSpec(
        std::string(kOtlpGrpcExporterName),
        {{"endpoint", endpoint}, {"interval_ms", interval_ms}, {"timeout_ms", timeout_ms}}));
    return b;
  }

  std::unique_ptr<ConnectionManager> Make(ConnectionManagerBuilder b) {
    return testing::MakeManager(std::move(b));
  }

  std::vector<OtlpExportResult> results() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }

  std::shared_ptr<const Registry> registry_;
  std::mutex mu_;
  std::vector<OtlpExportResult> results_;
};

TEST_F(OtlpExportTest, AFlushDeliversTheQueriesTheErrorAndTheHistogramToTheCollector) {
  std::unique_ptr<Collector> c = StartCollector();
  ASSERT_NE(c, nullptr);
  const absl::Time before = absl::Now();
  std::unique_ptr<ConnectionManager> m = Make(ByName(c->endpoint()));
  const absl::Time after = absl::Now();
  ASSERT_NE(m, nullptr);

  ASSERT_TRUE(m->Connect().ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Query("SELECT pg_sleep(0.03)").ok());
  EXPECT_EQ(SqlState(m->Query("SELECT 1/0").status()), "22012");
  const absl::Status flushed = m->Flush(absl::Seconds(5));
  ASSERT_TRUE(flushed.ok()) << flushed;

  // interval_ms is an hour: the flush made the only export.
  const std::vector<collector::ExportMetricsServiceRequest> got = c->service.requests();
  ASSERT_EQ(got.size(), 1u);
  const collector::ExportMetricsServiceRequest& r = got[0];
  EXPECT_EQ(ResourceAttributes(r),
            (std::map<std::string, std::string>{{"service.name", kService},
                                                {"service.instance.id", kInstance},
                                                {"telemetry.sdk.name", "aequor"},
                                                {"telemetry.sdk.language", "cpp"}}));
  // The resource as it arrived, byte for byte.
  EXPECT_EQ(Hex(Serialize(r.resource_metrics(0).resource())),
            Hex(LenField(1, StringAttribute("service.name", kService)) +
                LenField(1, StringAttribute("service.instance.id", kInstance)) +
                LenField(1, StringAttribute("telemetry.sdk.name", "aequor")) +
                LenField(1, StringAttribute("telemetry.sdk.language", "cpp"))));
  EXPECT_EQ(r.resource_metrics(0).scope_metrics(0).scope().name(), "aequor");

  const std::vector<std::string> names = MetricNames(r);
  for (const char* name : {"aequor.connects", "aequor.queries", "aequor.query_errors",
                           "aequor.events_dropped", "aequor.exporter_failures",
                           "aequor.exporter.otlp_grpc.failed_exports", "aequor.query_latency"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_EQ(SumValue(r, "aequor.queries"), 5);
  EXPECT_EQ(SumValue(r, "aequor.query_errors"), 1);
  EXPECT_EQ(SumValue(r, "aequor.connects"), 1);
  EXPECT_EQ(SumValue(r, "aequor.exporter_failures"), 0);
  EXPECT_EQ(SumValue(r, "aequor.exporter.otlp_grpc.failed_exports"), 0);

  // Start time: when Build() made the exporter; time: the manager's Flush().
  const otlp::NumberDataPoint& q = FindMetric(r, "aequor.queries")->sum().data_points(0);
  EXPECT_GE(q.start_time_unix_nano(), static_cast<uint64_t>(absl::ToUnixNanos(before)));
  EXPECT_LE(q.start_time_unix_nano(), static_cast<uint64_t>(absl::ToUnixNanos(after)));
  EXPECT_GT(q.time_unix_nano(), q.start_time_unix_nano());
  EXPECT_LE(q.time_unix_nano(), static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())));

  const otlp::Metric* latency = FindMetric(r, "aequor.query_latency");
  ASSERT_NE(latency, nullptr);
  ASSERT_TRUE(latency->has_histogram());
  EXPECT_EQ(latency->unit(), "ms");
  const otlp::HistogramDataPoint& h = latency->histogram().data_points(0);
  EXPECT_EQ(h.count(), 5u);
  ASSERT_EQ(h.bucket_counts_size(), 16);
  ASSERT_EQ(h.explicit_bounds_size(), 15);
  EXPECT_EQ(std::accumulate(h.bucket_counts().begin(), h.bucket_counts().end(), uint64_t{0}), 5u)
      << "the buckets count every query";
  uint64_t up_to_25ms = 0;
  for (int i = 0; i <= 6; ++i) up_to_25ms += h.bucket_counts(i);  // bounds[6] = 25 ms
  EXPECT_LE(up_to_25ms, 4u) << "pg_sleep(0.03) is slower than 25 ms";
  EXPECT_GE(h.sum(), 30.0) << "the sum is in milliseconds";
  EXPECT_LT(h.sum(), 5000.0);
  EXPECT_EQ(h.start_time_unix_nano(), q.start_time_unix_nano());

  // on_export saw it, as a flush.
  const std::vector<OtlpExportResult> rs = results();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(rs[0].status.ok());
  EXPECT_TRUE(rs[0].flush);
  EXPECT_EQ(rs[0].succeeded, 1);
  EXPECT_EQ(rs[0].failed, 0);
  EXPECT_EQ(rs[0].endpoint, c->endpoint());
}

TEST_F(OtlpExportTest, TheGaugesAreSentOnceAReaperPassHasMeasuredThem) {
  std::unique_ptr<Collector> c = StartCollector();
  ASSERT_NE(c, nullptr);
  std::unique_ptr<ConnectionManager> m = Make(ByName(c->endpoint()));
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Connect().ok());
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());
  // The quiet scheduler neither probes nor reaps, and no lease was renewed:
  // nothing has measured either gauge yet.
  ASSERT_FALSE(m->metrics().clock_offset_ms.has_value());
  ASSERT_FALSE(m->metrics().connection_usage.has_value());

  // A reaper pass reads both (its first statement), and reports them.
  absl::StatusOr<ReapReport> pass = m->RunReaperPass();
  ASSERT_TRUE(pass.ok()) << pass.status();
  ASSERT_TRUE(pass->connection_usage.has_value());
  ASSERT_TRUE(pass->clock_offset.has_value());
  ASSERT_TRUE(m->Query("SELECT 2").ok());
  ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());

  // interval_ms is an hour: one export per flush.
  const std::vector<collector::ExportMetricsServiceRequest> got = c->service.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(SumValue(got[0], "aequor.queries"), 1);
  EXPECT_EQ(FindMetric(got[0], "aequor.clock_offset"), nullptr);
  EXPECT_EQ(FindMetric(got[0], "aequor.connection_usage"), nullptr);

  const collector::ExportMetricsServiceRequest& r = got[1];
  EXPECT_EQ(SumValue(r, "aequor.queries"), 2);
  EXPECT_EQ(SumValue(r, "aequor.clock_offset_warnings"), 0);
  ASSERT_NE(FindMetric(r, "aequor.connection_usage"), nullptr);
  EXPECT_TRUE(FindMetric(r, "aequor.connection_usage")->has_gauge());
  EXPECT_EQ(GaugeValue(r, "aequor.connection_usage"), *pass->connection_usage);
  EXPECT_GT(*GaugeValue(r, "aequor.connection_usage"), 0)
      << "this manager's own connection is in use";
  // The first offset measured is always reported (a kClockOffset event).
  ASSERT_NE(FindMetric(r, "aequor.clock_offset"), nullptr);
  EXPECT_TRUE(FindMetric(r, "aequor.clock_offset")->has_gauge());
  EXPECT_EQ(GaugeValue(r, "aequor.clock_offset"),
            absl::ToDoubleMilliseconds(pass->clock_offset->offset));
  // At the snapshot's time, like the counters' points.
  EXPECT_EQ(FindMetric(r, "aequor.clock_offset")->gauge().data_points(0).time_unix_nano(),
            FindMetric(r, "aequor.queries")->sum().data_points(0).time_unix_nano());
  std::printf("---- gauges as received ----\n%s%s----------------------------\n",
              FindMetric(r, "aequor.clock_offset")->DebugString().c_str(),
              FindMetric(r, "aequor.connection_usage")->DebugString().c_str());
}

TEST_F(OtlpExportTest, AnExporterByObjectPushesEveryIntervalWithoutAFlush) {
  std::unique_ptr<Collector> c = StartCollector();
  ASSERT_NE(c, nullptr);
  std::atomic<int> periodic{0};
  OtlpGrpcOptions o;
  o.endpoint = c->endpoint();
  o.interval = absl::Milliseconds(200);
  o.service = "by-object";
  o.instance = "Obj1";
  o.on_export = [&](const OtlpExportResult& r) {
    if (!r.flush && r.status.ok()) ++periodic;
  };
  ConnectionManagerBuilder b = Builder();
  b.AddExporter(MakeOtlpGrpcExporter(std::move(o)));
  std::unique_ptr<ConnectionManager> m = Make(std::move(b));
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Query("SELECT 2").ok());
  // The manager hands over metrics every exporter_interval (1 s); the
  // exporter pushes the latest every 200 ms.
  std::optional<collector::ExportMetricsServiceRequest> r = c->service.WaitFor(
      [](const collector::ExportMetricsServiceRequest& x) {
        return SumValue(x, "aequor.queries") == 2;
      },
      absl::Seconds(10));
  ASSERT_TRUE(r.has_value()) << c->service.requests().size() << " requests, none with 2 queries";
  EXPECT_EQ(ResourceAttributes(*r).at("service.name"), "by-object");
  EXPECT_EQ(ResourceAttributes(*r).at("service.instance.id"), "Obj1");
  // on_export runs once the answer is back, just after the collector saw it.
  for (absl::Time end = absl::Now() + absl::Seconds(5);
       periodic.load() == 0 && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GE(periodic.load(), 1);
}

TEST_F(OtlpExportTest, APartialSuccessIsAnAcceptedExportReportedToOnExport) {
  std::unique_ptr<Collector> c = StartCollector();
  ASSERT_NE(c, nullptr);
  c->service.SetPartialSuccess(3, "3 points too old");
  std::unique_ptr<ConnectionManager> m = Make(ByName(c->endpoint()));
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_TRUE(m->Flush(absl::Seconds(5)).ok());
  const std::vector<OtlpExportResult> rs = results();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(rs[0].status.ok());
  EXPECT_EQ(rs[0].rejected_data_points, 3);
  EXPECT_EQ(rs[0].collector_message, "3 points too old");
}

TEST_F(OtlpExportTest, ACollectorThatIsDownFailsFlushWithUnavailableAndQueriesCarryOn) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string endpoint = absl::StrCat("127.0.0.1:", port);
  std::unique_ptr<ConnectionManager> m = Make(ByName(endpoint));
  ASSERT_NE(m, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(m->Query("SELECT 1").ok());

  const absl::Time start = absl::Now();
  const absl::Status s = m->Flush(absl::Seconds(3));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(absl::StartsWith(
      s.message(), absl::StrCat("aequor.exporter.otlp_grpc: export to ", endpoint, " failed: ")))
      << s;
  EXPECT_LT(took, absl::Seconds(3)) << "a refused connection fails at once";
  EXPECT_EQ(m->metrics().exporter_failures, 1) << "the manager counts the failed flush";

  // Queries are unaffected, and so is the next flush's verdict.
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_EQ(m->Flush(absl::Seconds(3)).code(), absl::StatusCode::kUnavailable);
  {
    const std::vector<OtlpExportResult> rs = results();
    ASSERT_EQ(rs.size(), 2u);
    EXPECT_EQ(rs[1].failed, 2);
    EXPECT_EQ(rs[1].succeeded, 0);
    EXPECT_EQ(rs[1].status.code(), absl::StatusCode::kUnavailable);
  }

  // The collector comes up on that port: the exporter reconnects (backoff
  // capped at 2 s) and the collector learns how many exports it missed.
  std::unique_ptr<Collector> c = StartCollector(port);
  ASSERT_NE(c, nullptr) << "port " << port << " was taken meanwhile";
  absl::Status again;
  for (absl::Time end = absl::Now() + absl::Seconds(15); absl::Now() < end;) {
    again = m->Flush(absl::Seconds(3));
    if (again.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(again.ok()) << again;
  const std::vector<collector::ExportMetricsServiceRequest> got = c->service.requests();
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(SumValue(got.back(), "aequor.queries"), 4);
  EXPECT_GE(SumValue(got.back(), "aequor.exporter.otlp_grpc.failed_exports"), 2);
  EXPECT_GE(SumValue(got.back(), "aequor.exporter_failures"), 2);
}

TEST_F(OtlpExportTest, ASilentCollectorCostsFlushItsTimeoutAndNeverAQuery) {
  SilentCollector silent;
  ASSERT_GT(silent.port(), 0);
  // Exports every 100 ms, each hanging for its 2 s deadline: the exporter's
  // thread is always stuck in an RPC.
  std::unique_ptr<ConnectionManager> m =
      Make(ByName(absl::StrCat("127.0.0.1:", silent.port()), "100", "2000"));
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Connect().ok());
  absl::SleepFor(absl::Milliseconds(1200));  // metrics handed over, an export in flight
  absl::Duration slowest;
  for (int i = 0; i < 20; ++i) {
    const absl::Time start = absl::Now();
    ASSERT_TRUE(m->Query("SELECT 1").ok());
    slowest = std::max(slowest, absl::Now() - start);
  }
  // An export in flight lasts up to 2 s; a query that waited for one would show it.
  EXPECT_LT(slowest, absl::Seconds(1)) << "a query never waits for the collector";

  const absl::Time start = absl::Now();
  const absl::Status s = m->Flush(absl::Milliseconds(500));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_GE(took, absl::Milliseconds(450));
  EXPECT_LT(took, absl::Milliseconds(1500)) << "Flush waits at most about its timeout";
  ASSERT_TRUE(m->Query("SELECT 1").ok());

  // The destructor's Shutdown() waits at most 1 s; the exporter gives its
  // last export most of that, then cancels the RPC in flight and joins.
  const absl::Time destroy = absl::Now();
  m.reset();
  EXPECT_LT(absl::Now() - destroy, absl::Seconds(2));
}

TEST_F(OtlpExportTest, BadOptionsFailBuildNamingTheExporter) {
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = ByName("localhost").Build();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "exporters[0]: aequor.exporter.otlp_grpc: option 'endpoint' must be host:port (an "
            "IPv4 address, a host name or a bracketed IPv6 address, and a port in [1, 65535]), "
            "got 'localhost'");
}

}  // namespace
}  // namespace aequor
