// "aequor.exporter.prometheus" (exporters/prometheus): the exposition text,
// the options, and real scrapes over HTTP of a ConnectionManager running
// against a throwaway PostgreSQL 15 (testing/postgres_environment.h).
#include "exporters/prometheus/prometheus.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/errors.h"
#include "api/registry.h"
#include "gtest/gtest.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "prometheus-secret-0123456789";
constexpr char kService[] = "prom-test";
constexpr char kInstance[] = "PromInst1";

// ---------------------------------------------------------------------------
// A minimal HTTP/1.0 client: one GET, read to EOF.

struct HttpResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

absl::StatusOr<HttpResponse> HttpGet(int port, absl::string_view path,
                                     absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    return absl::UnavailableError(absl::StrCat("connect to port ", port, ": ", strerror(errno)));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1:", port, "\r\n\r\n");
  for (size_t done = 0; done < request.size();) {
    const ssize_t n = send(fd, request.data() + done, request.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    done += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat("no full response; got: ", raw));
    }
    struct pollfd p = {fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
    if (n == 0) break;  // HTTP/1.0: the server closes after the response
    raw.append(buf, static_cast<size_t>(n));
  }
  const size_t split = raw.find("\r\n\r\n");
  if (split == std::string::npos) return absl::DataLossError(absl::StrCat("no header end: ", raw));
  HttpResponse r;
  r.head = raw.substr(0, split);
  r.body = raw.substr(split + 4);
  std::vector<std::string> status_line = absl::StrSplit(r.head.substr(0, r.head.find("\r\n")), ' ');
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &r.status)) {
    return absl::DataLossError(absl::StrCat("bad status line: ", r.head));
  }
  return r;
}

// The samples of an exposition: "name{labels}" -> value text.
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    out[std::string(line.substr(0, space))] = std::string(line.substr(space + 1));
  }
  return out;
}

std::vector<std::string> SampleLines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "#")) out.emplace_back(line);
  }
  return out;
}

std::string Labels(absl::string_view service, absl::string_view instance,
                   absl::string_view extra = "") {
  return absl::StrCat("{service=\"", service, "\",aequor_instance=\"", instance, "\"",
                      extra.empty() ? "" : ",", extra, "}");
}

// The `le` values of aequor_query_duration_seconds, in order.
const std::vector<std::string>& LeValues() {
  static const auto* les = new std::vector<std::string>{
      "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
      "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10",    "+Inf"};
  return *les;
}

// ---------------------------------------------------------------------------
// The text, without a server.

TEST(FormatPrometheusText, MapsEveryCounterAndTheCumulativeHistogramInSeconds) {
  MetricsSnapshot m;
  m.connects = 3;
  m.reconnects = 1;
  m.queries = 5;
  m.query_errors = 1;
  m.retries = {{"connection", 2}, {"deadlock", 1}};
  m.reaper_passes = {{"completed", 4}, {"busy", 1}};
  m.zombies_killed = 7;
  m.reaper_rows_skipped = {{"not_expired", 6}};
  m.events_dropped = 9;
  m.exporter_failures = 2;
  m.query_latency.counts[0] = 2;   // <= 0.25 ms
  m.query_latency.counts[3] = 1;   // (1, 2.5] ms
  m.query_latency.counts[8] = 1;   // (50, 100] ms
  m.query_latency.counts[15] = 1;  // > 10 s
  m.query_latency.count = 5;
  m.query_latency.sum_ms = 12034.5;
  const std::string text = FormatPrometheusText(m, "svc", "inst");
  const std::map<std::string, std::string> s = Samples(text);
  const std::string l = Labels("svc", "inst");

  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_queries_total counter\n")) << text;
  EXPECT_EQ(s.at("aequor_connects_total" + l), "3");
  EXPECT_EQ(s.at("aequor_reconnects_total" + l), "1");
  EXPECT_EQ(s.at("aequor_connect_errors_total" + l), "0");
  EXPECT_EQ(s.at("aequor_queries_total" + l), "5");
  EXPECT_EQ(s.at("aequor_query_errors_total" + l), "1");
  EXPECT_EQ(s.at("aequor_retries_total" + Labels("svc", "inst", "reason=\"connection\"")), "2");
  EXPECT_EQ(s.at("aequor_retries_total" + Labels("svc", "inst", "reason=\"deadlock\"")), "1");
  EXPECT_EQ(s.count("aequor_retries_total" + l), 0u) << "a labelled family has no total series";
  EXPECT_EQ(s.at("aequor_reaper_passes_total" + Labels("svc", "inst", "outcome=\"completed\"")),
            "4");
  EXPECT_EQ(s.at("aequor_reaper_passes_total" + Labels("svc", "inst", "outcome=\"busy\"")), "1");
  EXPECT_EQ(s.at("aequor_zombies_killed_total" + l), "7");
  EXPECT_EQ(
      s.at("aequor_reaper_rows_skipped_total" + Labels("svc", "inst", "reason=\"not_expired\"")),
      "6");
  EXPECT_EQ(s.at("aequor_events_dropped_total" + l), "9");
  EXPECT_EQ(s.at("aequor_exporter_failures_total" + l), "2");
  // A labelled family with nothing seen yet: its type, no series.
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_dead_clients_total counter\n")) << text;
  EXPECT_FALSE(absl::StrContains(text, "aequor_dead_clients_total{")) << text;

  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_query_duration_seconds histogram\n"));
  const std::vector<int> cumulative = {2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5};
  ASSERT_EQ(LeValues().size(), cumulative.size());
  for (size_t i = 0; i < cumulative.size(); ++i) {
    const std::string key =
        absl::StrCat("aequor_query_duration_seconds_bucket",
                     Labels("svc", "inst", absl::StrCat("le=\"", LeValues()[i], "\"")));
    ASSERT_EQ(s.count(key), 1u) << key << "\n" << text;
    EXPECT_EQ(s.at(key), absl::StrCat(cumulative[i])) << key;
  }
  EXPECT_EQ(s.at("aequor_query_duration_seconds_count" + l), "5");
  EXPECT_EQ(s.at("aequor_query_duration_seconds_sum" + l), "12.0345");
}

TEST(FormatPrometheusText, EveryValueIsZeroForAnEmptySnapshot) {
  const std::string text = FormatPrometheusText(MetricsSnapshot(), "svc", "inst");
  const std::map<std::string, std::string> s = Samples(text);
  EXPECT_EQ(s.at("aequor_queries_total" + Labels("svc", "inst")), "0");
  EXPECT_EQ(s.at("aequor_clock_offset_warnings_total" + Labels("svc", "inst")), "0");
  EXPECT_EQ(s.at("aequor_query_duration_seconds_bucket" + Labels("svc", "inst", "le=\"+Inf\"")),
            "0");
  EXPECT_EQ(s.at("aequor_query_duration_seconds_count" + Labels("svc", "inst")), "0");
  // A gauge without a value is not there at all: no series, no # HELP or # TYPE.
  EXPECT_FALSE(absl::StrContains(text, "aequor_clock_offset_seconds")) << text;
  EXPECT_FALSE(absl::StrContains(text, "aequor_connection_usage")) << text;
}

// The value of a sample as a double (NaN when absent or not a number).
double Value(const std::map<std::string, std::string>& samples, const std::string& key) {
  auto it = samples.find(key);
  double v = 0;
  if (it == samples.end() || !absl::SimpleAtod(it->second, &v)) return std::nan("");
  return v;
}

TEST(FormatPrometheusText, GaugesAreGaugeFamiliesInBaseUnitsWithTheCounterLabels) {
  MetricsSnapshot m;
  m.clock_offset_ms = -3.5;
  m.connection_usage = 0.4;
  m.clock_offset_warnings = 2;
  const std::string text = FormatPrometheusText(m, "svc", "inst");
  const std::map<std::string, std::string> s = Samples(text);
  const std::string l = Labels("svc", "inst");
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_clock_offset_seconds gauge\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_connection_usage gauge\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "# HELP aequor_clock_offset_seconds This host's clock"))
      << text;
  ASSERT_EQ(s.count("aequor_clock_offset_seconds" + l), 1u) << text;
  EXPECT_DOUBLE_EQ(Value(s, "aequor_clock_offset_seconds" + l), -0.0035) << "ms as seconds";
  EXPECT_DOUBLE_EQ(Value(s, "aequor_connection_usage" + l), 0.4);
  EXPECT_EQ(s.at("aequor_clock_offset_warnings_total" + l), "2");
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_clock_offset_warnings_total counter\n"));
  // One series each, with exactly the labels of the counters.
  int gauge_series = 0;
  for (const std::string& line : SampleLines(text)) {
    if (absl::StartsWith(line, "aequor_clock_offset_seconds") ||
        absl::StartsWith(line, "aequor_connection_usage")) {
      ++gauge_series;
      EXPECT_TRUE(absl::StrContains(line, l + " ")) << line;
    }
  }
  EXPECT_EQ(gauge_series, 2);

  // One without the other.
  m.connection_usage.reset();
  const std::string only_offset = FormatPrometheusText(m, "svc", "inst");
  EXPECT_TRUE(absl::StrContains(only_offset, "aequor_clock_offset_seconds" + l)) << only_offset;
  EXPECT_FALSE(absl::StrContains(only_offset, "aequor_connection_usage")) << only_offset;
}

TEST(FormatPrometheusText, APoolsGaugesCountersAndAcquireWaitHaveTheirOwnFamilies) {
  MetricsSnapshot m;
  const std::string l = Labels("svc", "inst");
  // A manager's snapshot has none of them.
  EXPECT_FALSE(absl::StrContains(FormatPrometheusText(m, "svc", "inst"), "aequor_pool"));
  PoolMetrics p;
  p.size = 4;
  p.idle = 1;
  p.in_use = 3;
  p.waiting = 2;
  p.acquired = 10;
  p.acquire_timeouts = 1;
  p.idle_renewals = 7;
  p.batched = 12;
  p.acquire_wait.counts[0] = 9;  // <= 0.25 ms
  p.acquire_wait.counts[3] = 1;  // (1, 2.5] ms
  p.acquire_wait.count = 10;
  p.acquire_wait.sum_ms = 2.0;
  m.pool = p;
  const std::string text = FormatPrometheusText(m, "svc", "inst");
  const std::map<std::string, std::string> s = Samples(text);
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_pool_in_use gauge\n")) << text;
  EXPECT_DOUBLE_EQ(Value(s, "aequor_pool_size" + l), 4);
  EXPECT_DOUBLE_EQ(Value(s, "aequor_pool_in_use" + l), 3);
  EXPECT_DOUBLE_EQ(Value(s, "aequor_pool_waiting" + l), 2);
  EXPECT_EQ(s.at("aequor_pool_acquired_total" + l), "10");
  EXPECT_EQ(s.at("aequor_pool_idle_renewals_total" + l), "7");
  EXPECT_EQ(s.at("aequor_pool_batched_total" + l), "12");
  EXPECT_TRUE(absl::StrContains(text, "# HELP aequor_pool_acquire_timeouts_total Borrows that"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_pool_acquire_wait_seconds histogram\n"));
  EXPECT_EQ(s.at("aequor_pool_acquire_wait_seconds_bucket" + Labels("svc", "inst", "le=\"0.00025\"")),
            "9");
  EXPECT_EQ(s.at("aequor_pool_acquire_wait_seconds_count" + l), "10");
}

// ---------------------------------------------------------------------------
// Options and registration, without a server.

absl::Status Parse(std::map<std::string, std::string> params) {
  std::unique_ptr<HookExporterFactory> f = NewPrometheusExporterFactory();
  return f
      ->ParseConfig(PluginSpec(std::string(kPrometheusExporterName), std::move(params)),
                    *Registry::Default())
      .status();
}

TEST(PrometheusOptions, BadBindAddressesAreRejectedNamingTheOption) {
  for (const char* bind : {"9464", "127.0.0.1:", ":9464", "127.0.0.1:65536", "127.0.0.1:94x4",
                           "[::1]:9464", "127.0.0.1:-1", "host name:9464", ""}) {
    absl::Status s = Parse({{"bind", bind}});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bind;
    EXPECT_EQ(s.message(),
              absl::StrCat("aequor.exporter.prometheus: option 'bind' must be host:port with an "
                           "IPv4 address or host name (no IPv6) and a port in [0, 65535], got '",
                           bind, "'"));
  }
}

TEST(PrometheusOptions, AnUnknownOptionIsRejected) {
  absl::Status s = Parse({{"port", "9464"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.prometheus: unknown option 'port'; known: 'bind', 'exposer_metrics'");
}

TEST(PrometheusOptions, GoodBindAddressesAreAccepted) {
  EXPECT_TRUE(Parse({}).ok());
  for (const char* bind : {"127.0.0.1:0", "0.0.0.0:9464", "localhost:65535", "10.1.2.3:80"}) {
    EXPECT_TRUE(Parse({{"bind", bind}}).ok()) << bind;
  }
}

TEST(PrometheusRegistration, RegisteringTwiceIsAlreadyExists) {
  RegistryBuilder b(*Registry::Default());
  ASSERT_TRUE(RegisterPrometheusExporter(b).ok());
  EXPECT_EQ(RegisterPrometheusExporter(b).code(), absl::StatusCode::kAlreadyExists);
  std::shared_ptr<const Registry> r = std::move(b).Build();
  EXPECT_TRUE(r->FindExporter(kPrometheusExporterName).ok());
  EXPECT_EQ(Registry::Default()->FindExporter(kPrometheusExporterName).status().code(),
            absl::StatusCode::kNotFound)
      << "the core does not register the optional exporter";
}

// ---------------------------------------------------------------------------
// Through a real manager, scraped over HTTP.

class PrometheusScrapeTest : public testing::PostgresTest<PrometheusScrapeTest> {
 protected:
  void SetUp() override {
    RegistryBuilder rb(*Registry::Default());
    PrometheusRegistration reg;
    reg.on_listening = [this](const PrometheusEndpoint& e) {
      std::lock_guard<std::mutex> lock(mu_);
      endpoints_.push_back(e);
    };
    ASSERT_TRUE(RegisterPrometheusExporter(rb, std::move(reg)).ok());
    registry_ = std::move(rb).Build();
  }

  ConnectionManagerBuilder Builder(const std::string& bind = "127.0.0.1:0",
                                   bool exposer_metrics = false) {
    PluginSpec spec(std::string(kPrometheusExporterName), {{"bind", bind}});
    if (exposer_metrics) spec.params["exposer_metrics"] = "true";
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, kService, kSecret);
    b.SetInstanceId(kInstance).SetRegistry(registry_).AddExporter(std::move(spec));
    return b;
  }

  std::unique_ptr<ConnectionManager> Make(ConnectionManagerBuilder b) {
    return testing::MakeManager(std::move(b));
  }

  int LastPort() {
    std::lock_guard<std::mutex> lock(mu_);
    return endpoints_.empty() ? 0 : endpoints_.back().port;
  }

  // GET /metrics, expecting 200.
  std::string Scrape(int port) {
    absl::StatusOr<HttpResponse> r = HttpGet(port, "/metrics");
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    EXPECT_EQ(r->status, 200) << r->head;
    EXPECT_TRUE(absl::StrContains(r->head, "\r\nContent-Type: text/plain")) << r->head;
    return r->body;
  }

  std::shared_ptr<const Registry> registry_;
  std::mutex mu_;
  std::vector<PrometheusEndpoint> endpoints_;
};

TEST_F(PrometheusScrapeTest, AScrapeAfterFlushShowsTheQueriesTheErrorAndTheHistogram) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_NE(m, nullptr);
  const int port = LastPort();
  ASSERT_GT(port, 0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(endpoints_.back().address, absl::StrCat("127.0.0.1:", port));
    EXPECT_EQ(endpoints_.back().service, kService);
    EXPECT_EQ(endpoints_.back().instance, kInstance);
  }

  ASSERT_TRUE(m->Connect().ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Query("SELECT pg_sleep(0.03)").ok());
  EXPECT_EQ(SqlState(m->Query("SELECT 1/0").status()), "22012");
  ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());

  const std::string text = Scrape(port);
  const std::map<std::string, std::string> s = Samples(text);
  const std::string l = Labels(kService, kInstance);
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_queries_total counter\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_connects_total counter\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_query_duration_seconds histogram\n")) << text;
  ASSERT_EQ(s.count("aequor_queries_total" + l), 1u) << text;
  EXPECT_EQ(s.at("aequor_queries_total" + l), "5");
  EXPECT_EQ(s.at("aequor_query_errors_total" + l), "1");
  EXPECT_EQ(s.at("aequor_connects_total" + l), "1");
  EXPECT_EQ(s.at("aequor_exporter_failures_total" + l), "0");
  EXPECT_EQ(s.at("aequor_events_dropped_total" + l), "0");

  // Buckets: every `le`, in order, cumulative, ending at _count.
  int64_t previous = 0;
  for (const std::string& le : LeValues()) {
    const std::string key =
        absl::StrCat("aequor_query_duration_seconds_bucket",
                     Labels(kService, kInstance, absl::StrCat("le=\"", le, "\"")));
    ASSERT_EQ(s.count(key), 1u) << key << "\n" << text;
    int64_t n = -1;
    ASSERT_TRUE(absl::SimpleAtoi(s.at(key), &n)) << s.at(key);
    EXPECT_GE(n, previous) << "buckets are cumulative: " << key;
    previous = n;
  }
  EXPECT_EQ(previous, 5) << "+Inf counts every query";
  EXPECT_EQ(s.at("aequor_query_duration_seconds_count" + l), "5");
  int64_t fast = -1;
  ASSERT_TRUE(absl::SimpleAtoi(
      s.at("aequor_query_duration_seconds_bucket" + Labels(kService, kInstance, "le=\"0.025\"")),
      &fast));
  EXPECT_LE(fast, 4) << "pg_sleep(0.03) is slower than 25 ms";
  double sum = 0;
  ASSERT_TRUE(absl::SimpleAtod(s.at("aequor_query_duration_seconds_sum" + l), &sum));
  EXPECT_GE(sum, 0.03) << "the sum is in seconds";
  EXPECT_LT(sum, 5.0) << "the sum is in seconds, not milliseconds";

  // service and instance on every series, all of them ours: prometheus-cpp's
  // own exposer_* series are not there unless asked for.
  for (const std::string& line : SampleLines(text)) {
    EXPECT_TRUE(absl::StartsWith(line, "aequor_")) << line;
    EXPECT_TRUE(absl::StrContains(line, absl::StrCat("service=\"", kService, "\""))) << line;
    EXPECT_TRUE(absl::StrContains(line, absl::StrCat("aequor_instance=\"", kInstance, "\""))) << line;
  }
  std::printf("---- exposition ----\n%s--------------------\n", text.c_str());
}

TEST_F(PrometheusScrapeTest, TheExposersOwnSeriesOnlyWhenAskedFor) {
  for (const bool asked : {false, true}) {
    std::unique_ptr<ConnectionManager> m = Make(Builder("127.0.0.1:0", asked));
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(m->Query("SELECT 1").ok());
    ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());
    const std::string text = Scrape(LastPort());
    EXPECT_TRUE(absl::StrContains(text, "aequor_queries_total{")) << text;
    EXPECT_EQ(absl::StrContains(text, "exposer_scrapes_total"), asked) << text;
    EXPECT_EQ(HttpGet(LastPort(), "/other")->status, 404);
  }
}

TEST_F(PrometheusScrapeTest, TheGaugesAppearOnceAReaperPassHasMeasuredThem) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_NE(m, nullptr);
  const int port = LastPort();
  ASSERT_TRUE(m->Connect().ok());
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());
  // The quiet scheduler neither probes nor reaps, and no lease was renewed:
  // nothing has measured either gauge yet.
  ASSERT_FALSE(m->metrics().clock_offset_ms.has_value());
  ASSERT_FALSE(m->metrics().connection_usage.has_value());
  std::string text = Scrape(port);
  EXPECT_TRUE(absl::StrContains(text, "aequor_queries_total")) << text;
  EXPECT_FALSE(absl::StrContains(text, "aequor_clock_offset_seconds")) << text;
  EXPECT_FALSE(absl::StrContains(text, "aequor_connection_usage")) << text;

  // A reaper pass reads both (its first statement), and reports them.
  absl::StatusOr<ReapReport> pass = m->RunReaperPass();
  ASSERT_TRUE(pass.ok()) << pass.status();
  ASSERT_TRUE(pass->connection_usage.has_value());
  ASSERT_TRUE(pass->clock_offset.has_value());
  ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());

  text = Scrape(port);
  const std::map<std::string, std::string> s = Samples(text);
  const std::string l = Labels(kService, kInstance);
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_clock_offset_seconds gauge\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "# TYPE aequor_connection_usage gauge\n")) << text;
  ASSERT_EQ(s.count("aequor_connection_usage" + l), 1u) << text;
  ASSERT_EQ(s.count("aequor_clock_offset_seconds" + l), 1u) << text;
  const double usage = Value(s, "aequor_connection_usage" + l);
  EXPECT_NEAR(usage, *pass->connection_usage, 1e-12);
  EXPECT_GT(usage, 0) << "this manager's own connection is in use";
  EXPECT_LE(usage, 1);
  // The first offset measured is always reported (a kClockOffset event).
  const double offset_s = Value(s, "aequor_clock_offset_seconds" + l);
  EXPECT_NEAR(offset_s, absl::ToDoubleSeconds(pass->clock_offset->offset), 1e-12);
  // Server and test share this host's clock: the offset is within the
  // measurement's uncertainty (half a loopback round trip) plus clock_timestamp()'s
  // microsecond rounding.
  EXPECT_LE(std::abs(offset_s), absl::ToDoubleSeconds(pass->clock_offset->uncertainty) + 2e-6)
      << text;
  EXPECT_EQ(s.at("aequor_clock_offset_warnings_total" + l), "0");
  std::printf("---- gauges (pass: offset %s +/- %s) ----\n",
              absl::FormatDuration(pass->clock_offset->offset).c_str(),
              absl::FormatDuration(pass->clock_offset->uncertainty).c_str());
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StrContains(line, "aequor_clock_offset") ||
        absl::StrContains(line, "aequor_connection_usage")) {
      std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
    }
  }
  std::printf("----------------\n");
}

TEST_F(PrometheusScrapeTest, OnlyTheMetricsPathIsServed) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_NE(m, nullptr);
  absl::StatusOr<HttpResponse> r = HttpGet(LastPort(), "/");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404) << r->head;
}

TEST_F(PrometheusScrapeTest, ScrapesSeeFreshNumbersEveryIntervalWithoutAFlush) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_NE(m, nullptr);
  const int port = LastPort();
  EXPECT_EQ(Samples(Scrape(port)).at("aequor_queries_total" + Labels(kService, kInstance)), "0")
      << "before any ExportMetrics(), every value is 0";
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Query("SELECT 2").ok());
  // exporter_interval is 1 s by default.
  std::string queries;
  for (absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end;) {
    queries = Samples(Scrape(port))["aequor_queries_total" + Labels(kService, kInstance)];
    if (queries == "2") break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(queries, "2");
}

TEST_F(PrometheusScrapeTest, AScrapeDuringALongQueryDoesNotWaitForTheManager) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_NE(m, nullptr);
  const int port = LastPort();
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  ASSERT_TRUE(m->Flush(absl::Seconds(5)).ok());
  std::atomic<bool> done{false};
  std::thread slow([&] {
    EXPECT_TRUE(m->Query("SELECT pg_sleep(1.5)").ok());
    done = true;
  });
  absl::SleepFor(absl::Milliseconds(200));  // the query is running, the manager busy
  const absl::Time start = absl::Now();
  const std::string text = Scrape(port);
  const absl::Duration took = absl::Now() - start;
  EXPECT_FALSE(done.load()) << "the scrape should have run while the query did";
  EXPECT_LT(took, absl::Milliseconds(500));
  EXPECT_EQ(Samples(text)["aequor_queries_total" + Labels(kService, kInstance)], "1");
  slow.join();
}

TEST_F(PrometheusScrapeTest, ASecondManagerOnTheSamePortFailsNamingTheAddress) {
  std::unique_ptr<ConnectionManager> first = Make(Builder());
  ASSERT_NE(first, nullptr);
  const int port = LastPort();
  const std::string bind = absl::StrCat("127.0.0.1:", port);
  absl::StatusOr<std::unique_ptr<ConnectionManager>> second = Builder(bind).Build();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("exporters[0]: aequor.exporter.prometheus: cannot listen on ", bind,
                         ": Address already in use"));
  // The first endpoint still serves.
  EXPECT_TRUE(absl::StrContains(Scrape(port), "aequor_queries_total"));
}

TEST_F(PrometheusScrapeTest, TheEndpointClosesWithTheManagerAndThePortCanBeReused) {
  std::unique_ptr<ConnectionManager> first = Make(Builder());
  ASSERT_NE(first, nullptr);
  const int port = LastPort();
  first.reset();
  absl::StatusOr<HttpResponse> r = HttpGet(port, "/metrics");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << "nothing listens any more";
  std::unique_ptr<ConnectionManager> again = Make(Builder(absl::StrCat("127.0.0.1:", port)));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(LastPort(), port);
  EXPECT_TRUE(absl::StrContains(Scrape(port), "aequor_queries_total"));
}

// civetweb's listener polls in 2 s quanta; left alone, closing the endpoint
// would outlast the manager's 1 s shutdown wait and abandon its dispatcher.
TEST_F(PrometheusScrapeTest, DestroyingTheManagerClosesTheEndpointWellWithinItsShutdownWait) {
  std::unique_ptr<ConnectionManager> m = Make(Builder());
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(absl::StrContains(Scrape(LastPort()), "aequor_queries_total"));
  absl::SleepFor(absl::Milliseconds(300));  // the listener is inside a poll quantum
  const absl::Time start = absl::Now();
  m.reset();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

TEST_F(PrometheusScrapeTest, BadOptionsFailBuildNamingTheExporter) {
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = Builder("localhost").Build();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "exporters[0]: aequor.exporter.prometheus: option 'bind' must be host:port with an "
            "IPv4 address or host name (no IPv6) and a port in [0, 65535], got 'localhost'");
}

TEST_F(PrometheusScrapeTest, AnAddressThatIsNotLocalFailsBuildNamingIt) {
  // 192.0.2.1 (TEST-NET-1) is no address of this host.
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = Builder("192.0.2.1:9464").Build();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(m.status().message(),
            "exporters[0]: aequor.exporter.prometheus: cannot listen on 192.0.2.1:9464: "
            "Cannot assign requested address");
}

}  // namespace
}  // namespace aequor
