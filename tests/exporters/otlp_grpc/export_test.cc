// Exports of "aequor.exporter.otlp_grpc" to a real gRPC MetricsService on
// loopback (generated from the same .proto files) from a ConnectionManager
// running against a throwaway PostgreSQL 15 (testing/postgres_environment.h),
// also with a collector that refuses connections or never answers.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/errors.h"
#include "api/registry.h"
#include "exporters/otlp_grpc/otlp_grpc.h"
#include "gtest/gtest.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "tests/exporters/otlp_grpc/otlp_test_support.h"

namespace aequor {
namespace otlp_test {
namespace {

constexpr char kSecret[] = "otlp-secret-0123456789abcdef";
constexpr char kService[] = "otlp-test";
constexpr char kInstance[] = "OtlpIns1";
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

  // True once a client's connection waits in the accept queue (a listening
  // socket is readable then): the exporter has started an export that will
  // never be answered.
  bool WaitForConnection(absl::Duration timeout) const {
    struct pollfd p = {fd_, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};
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
  ASSERT_TRUE(silent.WaitForConnection(absl::Seconds(30))) << "the exporter never connected";
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
}  // namespace otlp_test
}  // namespace aequor
