#include "exporters/prometheus/prometheus.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "CivetServer.h"
#include "prometheus/client_metric.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"
#include "prometheus/text_serializer.h"

namespace aequor {
namespace {

constexpr char kDefaultBind[] = "127.0.0.1:9464";
constexpr char kPath[] = "/metrics";
// civetweb worker threads, i.e. scrapes served at once.
constexpr size_t kServerThreads = 2;

// The counters of api/metrics.h (CounterPoint names), in Counters() order,
// each exposed as aequor_<name>_total.
struct CounterHelp {
  absl::string_view name;
  absl::string_view help;
};
constexpr CounterHelp kCounterHelp[] = {
    {"connects", "PostgreSQL connections opened, reconnects included."},
    {"reconnects", "Connections opened to replace a lost one."},
    {"connect_errors", "Failed connect attempts."},
    {"retries", "Retries, by reason."},
    {"queries", "Statements finished, failed ones included."},
    {"query_errors", "Statements that failed."},
    {"lease_renewals", "Lease renewals."},
    {"lease_renewal_failures", "Failed lease renewals."},
    {"reaper_passes", "Reaper passes, by outcome."},
    {"zombies_killed", "Sessions terminated by reaper passes."},
    {"reaper_rows_skipped", "Sessions a reaper pass looked at and spared, by reason."},
    {"dead_clients", "Connections found dead, by source."},
    {"events_dropped", "Events not delivered because the exporter queue was full."},
    {"exporter_failures", "Exporter calls that threw or returned an error."},
    {"clock_offset_warnings",
     "Clock offsets measured larger than reap_clock_skew (each a clock_offset event with a "
     "warning)."},
};

// A pool's counters (api/metrics.h PoolMetrics): only a pool has them, so
// they get families only when present.
constexpr CounterHelp kPoolCounterHelp[] = {
    {"pool_acquired", "Borrows a pool served."},
    {"pool_acquire_timeouts", "Borrows that waited acquire_timeout in vain."},
    {"pool_leaks", "Borrows held past leak_threshold."},
    {"pool_recycled", "Pooled connections closed past max_lifetime or idle_timeout."},
    {"pool_dead_dropped", "Idle pooled connections found dead and dropped."},
    {"pool_idle_renewals", "Leases of idle pooled connections renewed by maintenance."},
    {"pool_idle_renewal_failures", "Failed renewals of idle pooled connections' leases."},
    {"pool_batched", "Query calls whose statement rode in another call's pipeline."},
};

// The gauges of api/metrics.h (GaugePoint names), each exposed under its
// own name in base units: a value as is times `scale`.
struct GaugeHelp {
  absl::string_view name;
  absl::string_view family;
  double scale;
  absl::string_view help;
};
constexpr GaugeHelp kGaugeHelp[] = {
    {"clock_offset_ms", "aequor_clock_offset_seconds", 1e-3,
     "This host's clock offset to the PostgreSQL server's (server minus host), as last "
     "measured."},
    {"connection_usage", "aequor_connection_usage", 1,
     "Connection slots in use / slots this role may use, as the last reaper pass read it."},
    {"exporter_queue_depth", "aequor_exporter_queue_depth", 1,
     "Events waiting for the exporters' dispatcher (at the exporter queue's capacity new "
     "events are dropped)."},
    {"connected", "aequor_connected", 1,
     "Connections open: a manager's 0 or 1, a pool's count (as of the end of each one's last "
     "call)."},
    {"lease_seconds_left", "aequor_lease_seconds_left", 1,
     "Seconds left on the current lease as this host counts them (a pool: the soonest to "
     "expire); negative: it ran out while unused, and the fleet may reap it."},
    {"pool_size", "aequor_pool_size", 1, "Connections a pool holds open (or is opening)."},
    {"pool_idle", "aequor_pool_idle", 1, "Pooled connections open and not borrowed."},
    {"pool_in_use", "aequor_pool_in_use", 1, "Pooled connections borrowed."},
    {"pool_waiting", "aequor_pool_waiting", 1, "Borrowers waiting for a pooled connection."},
};

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<MetricFamily> Families(const MetricsSnapshot& m, const std::string& service,
                                   const std::string& instance) {
  const std::vector<CounterPoint> points = Counters(m);
  auto base_labels = [&] {
    // Not `instance`: Prometheus puts its own `instance` (the scrape target)
    // on every series, and would rename ours to exported_instance.
    return std::vector<ClientMetric::Label>{{"service", service}, {"aequor_instance", instance}};
  };
  std::vector<MetricFamily> out;
  auto counter_family = [&](absl::string_view name, absl::string_view help) {
    MetricFamily f;
    f.name = absl::StrCat("aequor_", name, "_total");
    f.help = std::string(help);
    f.type = MetricType::Counter;
    for (const CounterPoint& p : points) {
      if (p.name != name) continue;
      ClientMetric c;
      c.label = base_labels();
      if (!p.label_key.empty()) {
        c.label.push_back({std::string(p.label_key), p.label_value});
      }
      c.counter.value = static_cast<double>(p.value);
      f.metric.push_back(std::move(c));
    }
    out.push_back(std::move(f));
  };
  std::set<absl::string_view> known;
  for (const CounterHelp& c : kCounterHelp) {
    counter_family(c.name, c.help);
    known.insert(c.name);
  }
  // A pool's counters, and counters added to api/metrics.h after these
  // tables were written.
  for (const CounterPoint& p : points) {
    if (!known.insert(p.name).second) continue;
    std::string help = absl::StrCat("aequor counter ", p.name, ".");
    for (const CounterHelp& c : kPoolCounterHelp) {
      if (c.name == p.name) help = std::string(c.help);
    }
    counter_family(p.name, help);
  }

  // Gauges: one family each, only once a value has been seen.
  for (const GaugePoint& g : Gauges(m)) {
    MetricFamily f;
    f.name = absl::StrCat("aequor_", g.name);
    f.help = absl::StrCat("aequor gauge ", g.name, ".");  // a gauge added after kGaugeHelp
    double scale = 1;
    for (const GaugeHelp& known : kGaugeHelp) {
      if (known.name != g.name) continue;
      f.name = std::string(known.family);
      f.help = std::string(known.help);
      scale = known.scale;
    }
    f.type = MetricType::Gauge;
    ClientMetric c;
    c.label = base_labels();
    c.gauge.value = g.value * scale;
    f.metric.push_back(std::move(c));
    out.push_back(std::move(f));
  }

  auto histogram_family = [&](std::string name, std::string help, const LatencyHistogram& lat) {
    MetricFamily h;
    h.name = std::move(name);
    h.help = std::move(help);
    h.type = MetricType::Histogram;
    ClientMetric c;
    c.label = base_labels();
    uint64_t cumulative = 0;
    for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
      cumulative += static_cast<uint64_t>(lat.counts[i]);
      ClientMetric::Bucket b;
      b.cumulative_count = cumulative;
      b.upper_bound = i < LatencyHistogram::kBoundsMs.size()
                          ? LatencyHistogram::kBoundsMs[i] / 1000.0
                          : std::numeric_limits<double>::infinity();
      c.histogram.bucket.push_back(b);
    }
    // The +Inf bucket and _count agree even if a snapshot's count were to
    // disagree with its buckets.
    c.histogram.sample_count = cumulative;
    c.histogram.sample_sum = lat.sum_ms / 1000.0;
    h.metric.push_back(std::move(c));
    out.push_back(std::move(h));
  };
  histogram_family("aequor_query_duration_seconds",
                   "Duration of statements (the whole call: retries and reconnects included).",
                   m.query_latency);
  if (m.pool.has_value()) {
    histogram_family("aequor_pool_acquire_wait_seconds",
                     "How long borrows that got a pooled connection waited for it.",
                     m.pool->acquire_wait);
  }
  return out;
}

// The latest snapshot, rendered at each scrape (on civetweb's threads).
class SnapshotCollectable final : public prometheus::Collectable {
 public:
  SnapshotCollectable(std::string service, std::string instance)
      : service_(std::move(service)), instance_(std::move(instance)) {}

  void Set(const MetricsSnapshot& m) {
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = m;
  }

  std::vector<MetricFamily> Collect() const override {
    MetricsSnapshot m;
    {
      std::lock_guard<std::mutex> lock(mu_);
      m = latest_;
    }
    return Families(m, service_, instance_);
  }

 private:
  const std::string service_;
  const std::string instance_;
  // std::mutex rather than absl::Mutex: Debian's Abseil is not built for
  // ThreadSanitizer, which then cannot see absl::Mutex order accesses.
  mutable std::mutex mu_;
  MetricsSnapshot latest_;  // guarded by mu_
};

// Where to connect to wake civetweb's listener thread: the bound address,
// or loopback for 0.0.0.0.
using WakeAddress = std::optional<struct sockaddr_in>;

// Opens and drops one connection to `addr` (a wake-up for civetweb's
// listener thread), waiting at most 50 ms for it to be accepted.
void Poke(const struct sockaddr_in& addr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (connect(fd, reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr) != 0 &&
      errno == EINPROGRESS) {
    struct pollfd p = {fd, POLLOUT, 0};
    (void)poll(&p, 1, 50);
  }
  close(fd);
}

// What serves /metrics on the bound port.
class MetricsServer {
 public:
  virtual ~MetricsServer() = default;  // stops serving, waits for scrapes in flight
  virtual std::vector<int> ports() = 0;
};

// prometheus-cpp's Exposer (option exposer_metrics=true): it adds its own
// exposer_* series to the page, unlabelled, one in microseconds.
class ExposerServer final : public MetricsServer {
 public:
  ExposerServer(const std::string& bind, std::shared_ptr<SnapshotCollectable> collectable)
      : exposer_(bind, kServerThreads) {
    exposer_.RegisterCollectable(collectable, std::string(kPath));
  }
  std::vector<int> ports() override { return exposer_.GetListeningPorts(); }

 private:
  prometheus::Exposer exposer_;
};

// The page itself: aequor's families in the text format, as the Exposer
// renders them, without the Exposer's own series.
class MetricsPage final : public CivetHandler {
 public:
  explicit MetricsPage(std::shared_ptr<SnapshotCollectable> collectable)
      : collectable_(std::move(collectable)) {}

  bool handleGet(CivetServer*, struct mg_connection* conn) override {
    std::string body;
    try {
      body = prometheus::TextSerializer().Serialize(collectable_->Collect());
    } catch (const std::exception&) {
      mg_send_http_error(conn, 500, "%s", "aequor: the metrics could not be rendered");
      return true;
    }
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
              body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

 private:
  const std::shared_ptr<SnapshotCollectable> collectable_;
};

// civetweb serving MetricsPage on kPath (the default): other paths answer
// 404, as with the Exposer.
class PageServer final : public MetricsServer {
 public:
  PageServer(const std::string& bind, std::shared_ptr<SnapshotCollectable> collectable)
      : page_(std::move(collectable)), server_(Options(bind)) {
    server_.addHandler(std::string(kPath), page_);
  }
  std::vector<int> ports() override { return server_.getListeningPorts(); }

 private:
  static std::vector<std::string> Options(const std::string& bind) {
    return {"listening_ports", bind, "num_threads", absl::StrCat(kServerThreads)};
  }
  MetricsPage page_;      // outlives server_, which calls it
  CivetServer server_;
};

class PrometheusExporter final : public HookExporter {
 public:
  PrometheusExporter(std::shared_ptr<SnapshotCollectable> collectable,
                     std::unique_ptr<MetricsServer> exposer, WakeAddress wake)
      : collectable_(std::move(collectable)), exposer_(std::move(exposer)), wake_(wake) {}
  ~PrometheusExporter() override { StopServer(); }

  void Export(absl::Span<const Event>) override {}
  Delivery delivery() const override { return Delivery::kQueuedMetricsOnly; }
  void ExportMetrics(const MetricsSnapshot& metrics) override { collectable_->Set(metrics); }
  // Nothing is buffered: Prometheus pulls.
  absl::Status Flush(absl::Duration) override { return absl::OkStatus(); }
  absl::Status Shutdown(absl::Duration) override {
    StopServer();
    return absl::OkStatus();
  }

 private:
  // Stops civetweb and closes the port. civetweb's listener thread polls
  // its sockets in 2 s quanta and sees the stop request only between them,
  // so civetweb's destructor alone takes up to 2 s, longer than the
  // manager waits at shutdown (1 s). A connection wakes the listener: while
  // the destructor runs, one is made every 10 ms; stopping takes ~20-40 ms.
  void StopServer() {
    if (exposer_ == nullptr) return;
    std::mutex mu;
    std::condition_variable cv;
    bool stopped = false;  // guarded by mu
    std::thread waker;
    if (wake_.has_value()) {
      try {
        waker = std::thread([&, addr = *wake_] {
          std::unique_lock<std::mutex> lock(mu);
          while (!cv.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopped; })) {
            lock.unlock();
            Poke(addr);
            lock.lock();
          }
        });
      } catch (const std::exception&) {
        // No thread: the destructor takes its 2 s.
      }
    }
    exposer_.reset();  // waits for scrapes in flight
    {
      std::lock_guard<std::mutex> lock(mu);
      stopped = true;
    }
    cv.notify_one();
    if (waker.joinable()) waker.join();
  }

  std::shared_ptr<SnapshotCollectable> collectable_;
  std::unique_ptr<MetricsServer> exposer_;  // destroyed first
  const WakeAddress wake_;
};

struct PrometheusConfig {
  std::string bind;  // host:port, as given
  std::string host;
  int port = 0;
  bool exposer_metrics = false;  // prometheus-cpp's own exposer_* series
};

// Splits "host:port"; false unless host is an IPv4 address or host name
// ([A-Za-z0-9.-]) and port a decimal in [0, 65535].
bool ParseBind(absl::string_view bind, std::string& host, int& port) {
  const size_t colon = bind.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  const absl::string_view h = bind.substr(0, colon);
  const absl::string_view p = bind.substr(colon + 1);
  for (char c : h) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) {
      return false;
    }
  }
  if (p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  int n = 0;
  if (!absl::SimpleAtoi(p, &n) || n > 65535) return false;
  host = std::string(h);
  port = n;
  return true;
}

// The IPv4 address of `host` (as civetweb resolves it), or nullopt.
WakeAddress Resolve(const std::string& host, int port) {
  struct addrinfo hints = {};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return std::nullopt;
  struct sockaddr_in addr = *reinterpret_cast<const struct sockaddr_in*>(found->ai_addr);
  freeaddrinfo(found);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

WakeAddress WakeAddressFor(const std::string& host, int port) {
  WakeAddress addr = Resolve(host, port);
  if (addr.has_value() && addr->sin_addr.s_addr == htonl(INADDR_ANY)) {
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  return addr;
}

// Why host:port cannot be opened, found by trying it the way civetweb does
// (civetweb only says "possible problem binding to port"). Empty if the
// attempt works now.
std::string WhyNotListening(const std::string& host, int port) {
  struct addrinfo hints = {};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return absl::StrCat("cannot resolve '", host, "': ", gai_strerror(rc));
  }
  struct sockaddr_in addr = *reinterpret_cast<const struct sockaddr_in*>(found->ai_addr);
  freeaddrinfo(found);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  const int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  std::string why;
  if (bind(fd, reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, 1) != 0) {
    char buf[256];
    why = strerror_r(errno, buf, sizeof buf);  // GNU strerror_r
  }
  close(fd);
  return why;
}

class Factory final : public TypedPluginFactory<HookExporter, ExporterContext, PrometheusConfig> {
 public:
  explicit Factory(PrometheusRegistration registration) : registration_(std::move(registration)) {}

  absl::string_view name() const override { return kPrometheusExporterName; }
  absl::string_view description() const override {
    return "metrics on an HTTP endpoint for Prometheus to scrape (bind=127.0.0.1:9464, "
           "path /metrics)";
  }

 protected:
  absl::StatusOr<PrometheusConfig> ParseTyped(const PluginSpec& spec,
                                              const Registry&) const override {
    ParamReader r(spec);
    PrometheusConfig config;
    config.bind = r.String("bind", kDefaultBind);
    if (!ParseBind(config.bind, config.host, config.port)) {
      r.Fail(absl::StrCat(
          "option 'bind' must be host:port with an IPv4 address or host name (no IPv6) "
          "and a port in [0, 65535], got '",
          config.bind, "'"));
    }
    config.exposer_metrics = r.Bool("exposer_metrics", false);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }

  absl::StatusOr<std::unique_ptr<HookExporter>> CreateTyped(
      const PrometheusConfig& config, const ExporterContext& context) const override {
    auto collectable = std::make_shared<SnapshotCollectable>(context.service, context.instance);
    std::unique_ptr<MetricsServer> exposer;
    std::vector<int> ports;
    try {
      if (config.exposer_metrics) {
        exposer = std::make_unique<ExposerServer>(config.bind, collectable);
      } else {
        exposer = std::make_unique<PageServer>(config.bind, collectable);
      }
    } catch (const std::exception& e) {
      std::string why = WhyNotListening(config.host, config.port);
      if (why.empty()) why = e.what();
      return absl::UnavailableError(
          absl::StrCat(kPrometheusExporterName, ": cannot listen on ", config.bind, ": ", why));
    }
    try {
      ports = exposer->ports();
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat(kPrometheusExporterName, ": serving ", kPath, " on ",
                                              config.bind, ": ", e.what()));
    }
    if (ports.empty()) {
      return absl::InternalError(absl::StrCat(kPrometheusExporterName, ": listening on ",
                                              config.bind, " but civetweb reports no port"));
    }
    if (registration_.on_listening) {
      PrometheusEndpoint endpoint;
      endpoint.service = context.service;
      endpoint.instance = context.instance;
      endpoint.port = ports.front();
      endpoint.address = absl::StrCat(config.host, ":", endpoint.port);
      registration_.on_listening(endpoint);
    }
    return std::unique_ptr<HookExporter>(new PrometheusExporter(
        std::move(collectable), std::move(exposer), WakeAddressFor(config.host, ports.front())));
  }

 private:
  const PrometheusRegistration registration_;
};

}  // namespace

std::unique_ptr<HookExporterFactory> NewPrometheusExporterFactory(
    PrometheusRegistration registration) {
  return std::make_unique<Factory>(std::move(registration));
}

absl::Status RegisterPrometheusExporter(RegistryBuilder& builder,
                                        PrometheusRegistration registration) {
  return builder.Register(NewPrometheusExporterFactory(std::move(registration)));
}

std::string FormatPrometheusText(const MetricsSnapshot& metrics, absl::string_view service,
                                 absl::string_view instance) {
  return prometheus::TextSerializer().Serialize(
      Families(metrics, std::string(service), std::string(instance)));
}

}  // namespace aequor
