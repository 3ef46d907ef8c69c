#include "exporters/otlp_grpc/otlp_grpc.h"

#include <grpc/support/time.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"

namespace aequor {
namespace {

namespace collector = ::opentelemetry::proto::collector::metrics::v1;
namespace common = ::opentelemetry::proto::common::v1;
namespace otlp = ::opentelemetry::proto::metrics::v1;

using SteadyClock = std::chrono::steady_clock;

constexpr absl::string_view kDefaultEndpoint = "127.0.0.1:4317";
constexpr absl::string_view kScopeName = "aequor";
constexpr absl::string_view kFailedExportsMetric = "aequor.exporter.otlp_grpc.failed_exports";
constexpr absl::string_view kLatencyMetric = "aequor.query_latency";

// ---------------------------------------------------------------------------
// The request.

uint64_t UnixNanos(absl::Time t) {
  if (t <= absl::UnixEpoch()) return 0;
  return static_cast<uint64_t>(absl::ToUnixNanos(t));
}

void SetString(common::KeyValue* kv, absl::string_view key, absl::string_view value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
}

// One line per counter of Counters() (api/metrics.h). A counter the core
// adds later is still sent, without a description.
absl::string_view Description(absl::string_view counter) {
  static constexpr std::pair<absl::string_view, absl::string_view> kDescriptions[] = {
      {"connects", "Connections opened (first connects and reconnects)"},
      {"reconnects", "Connections opened to replace a lost one"},
      {"connect_errors", "Failed connect attempts"},
      {"retries", "Retries, by reason"},
      {"queries", "Statements finished, succeeded or failed"},
      {"query_errors", "Statements that failed"},
      {"lease_renewals", "Lease renewals"},
      {"lease_renewal_failures", "Failed lease renewals"},
      {"reaper_passes", "Reaper passes, by outcome"},
      {"zombies_killed", "Sessions terminated by reaper passes"},
      {"reaper_rows_skipped", "Sessions a reaper pass looked at and spared, by reason"},
      {"dead_clients", "Connections found dead, by source"},
      {"events_dropped", "Events not delivered because the exporter queue was full"},
      {"exporter_failures", "Exporter calls that threw or returned an error"},
      {"clock_offset_warnings",
       "Clock offsets measured larger than reap_clock_skew (clock_offset events with a warning)"},
  };
  for (const auto& [name, text] : kDescriptions) {
    if (name == counter) return text;
  }
  return "";
}

otlp::Metric* AddCumulativeSum(otlp::ScopeMetrics* scope, absl::string_view name,
                               absl::string_view description) {
  otlp::Metric* metric = scope->add_metrics();
  metric->set_name(std::string(name));
  metric->set_description(std::string(description));
  metric->set_unit("1");
  otlp::Sum* sum = metric->mutable_sum();
  sum->set_aggregation_temporality(otlp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  sum->set_is_monotonic(true);
  return metric;
}

// How a gauge of Gauges() (api/metrics.h) is sent: the unit goes in the
// unit field, not in the name.
struct OtlpGauge {
  std::string name;
  absl::string_view unit;
  absl::string_view description;
};

OtlpGauge GaugeShape(absl::string_view gauge) {
  if (gauge == "clock_offset_ms") {
    return OtlpGauge{"aequor.clock_offset", "ms",
                     "This host's clock offset to the server's (server minus host), as last "
                     "measured"};
  }
  if (gauge == "connection_usage") {
    return OtlpGauge{"aequor.connection_usage", "1",
                     "Connection slots in use / slots this role may use, as the last reaper "
                     "pass read it"};
  }
  if (gauge == "connected") {
    return OtlpGauge{"aequor.connected", "1",
                     "Connections open: a manager's 0 or 1, a pool's count (as of the end of "
                     "each one's last call)"};
  }
  if (gauge == "lease_seconds_left") {
    return OtlpGauge{"aequor.lease_seconds_left", "s",
                     "Seconds left on the current lease as this host counts them (a pool: the "
                     "soonest to expire); negative: it ran out while unused"};
  }
  return OtlpGauge{absl::StrCat("aequor.", gauge), "", ""};  // added after this table
}

otlp::NumberDataPoint* AddPoint(otlp::Metric* metric, uint64_t start, uint64_t now, int64_t value) {
  otlp::NumberDataPoint* point = metric->mutable_sum()->add_data_points();
  point->set_start_time_unix_nano(start);
  point->set_time_unix_nano(now);
  point->set_as_int(value);
  return point;
}

collector::ExportMetricsServiceRequest BuildRequest(const OtlpGrpcOptions& options,
                                                    const MetricsSnapshot& m, absl::Time now,
                                                    int64_t failed_exports) {
  const uint64_t start_ns = UnixNanos(options.start_time);
  const uint64_t now_ns = UnixNanos(now);
  collector::ExportMetricsServiceRequest request;
  otlp::ResourceMetrics* rm = request.add_resource_metrics();
  auto* resource = rm->mutable_resource();
  SetString(resource->add_attributes(), "service.name", options.service);
  if (!options.instance.empty()) {
    SetString(resource->add_attributes(), "service.instance.id", options.instance);
  }
  SetString(resource->add_attributes(), "telemetry.sdk.name", "aequor");
  SetString(resource->add_attributes(), "telemetry.sdk.language", "cpp");
  otlp::ScopeMetrics* scope = rm->add_scope_metrics();
  scope->mutable_scope()->set_name(std::string(kScopeName));

  // Counters, in Counters() order; a labelled family as one metric with a
  // point per label value (none seen yet: no metric).
  std::vector<std::pair<absl::string_view, otlp::Metric*>> by_name;
  for (const CounterPoint& p : Counters(m)) {
    otlp::Metric* metric = nullptr;
    for (const auto& [name, existing] : by_name) {
      if (name == p.name) metric = existing;
    }
    if (metric == nullptr) {
      metric = AddCumulativeSum(scope, absl::StrCat("aequor.", p.name), Description(p.name));
      by_name.emplace_back(p.name, metric);
    }
    otlp::NumberDataPoint* point = AddPoint(metric, start_ns, now_ns, p.value);
    if (!p.label_key.empty()) SetString(point->add_attributes(), p.label_key, p.label_value);
  }
  AddPoint(AddCumulativeSum(scope, kFailedExportsMetric,
                            "Exports to the collector that failed (this exporter's own count)"),
           start_ns, now_ns, failed_exports);

  // Gauges: the current value, one point at the snapshot's time (a gauge
  // has no start time), only those with a value.
  for (const GaugePoint& g : Gauges(m)) {
    OtlpGauge shape = GaugeShape(g.name);
    otlp::Metric* metric = scope->add_metrics();
    metric->set_name(std::move(shape.name));
    metric->set_description(std::string(shape.description));
    metric->set_unit(std::string(shape.unit));
    otlp::NumberDataPoint* point = metric->mutable_gauge()->add_data_points();
    point->set_time_unix_nano(now_ns);
    point->set_as_double(g.value);
  }

  // The latency histogram, OpenTelemetry's explicit-bucket layout as is.
  otlp::Metric* latency = scope->add_metrics();
  latency->set_name(std::string(kLatencyMetric));
  latency->set_description("Query latency: the whole call, retries and any reconnect included");
  latency->set_unit("ms");
  otlp::Histogram* histogram = latency->mutable_histogram();
  histogram->set_aggregation_temporality(otlp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  otlp::HistogramDataPoint* point = histogram->add_data_points();
  point->set_start_time_unix_nano(start_ns);
  point->set_time_unix_nano(now_ns);
  point->set_count(static_cast<uint64_t>(std::max<int64_t>(0, m.query_latency.count)));
  point->set_sum(m.query_latency.sum_ms);
  for (int64_t n : m.query_latency.counts) {
    point->add_bucket_counts(static_cast<uint64_t>(std::max<int64_t>(0, n)));
  }
  for (double bound : LatencyHistogram::kBoundsMs) point->add_explicit_bounds(bound);
  return request;
}

// ---------------------------------------------------------------------------
// Options.

bool ValidHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

bool ValidIpv6(absl::string_view host) {
  if (host.size() < 2 || host.find(':') == absl::string_view::npos) return false;
  for (char c : host) {
    if (!(absl::ascii_isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) {
      return false;
    }
  }
  return true;
}

// "host:port", "[v6]:port" or "http://" + either, to the gRPC target
// "host:port" / "[v6]:port"; nullopt-like empty string when malformed.
std::string NormaliseEndpoint(absl::string_view endpoint) {
  absl::string_view e = endpoint;
  absl::ConsumePrefix(&e, "http://");
  absl::string_view host;
  absl::string_view port;
  bool v6 = false;
  if (absl::StartsWith(e, "[")) {
    const size_t close = e.find(']');
    if (close == absl::string_view::npos || close + 1 >= e.size() || e[close + 1] != ':') {
      return "";
    }
    host = e.substr(1, close - 1);
    port = e.substr(close + 2);
    v6 = true;
    if (!ValidIpv6(host)) return "";
  } else {
    const size_t colon = e.rfind(':');
    if (colon == absl::string_view::npos) return "";
    host = e.substr(0, colon);
    port = e.substr(colon + 1);
    if (!ValidHostName(host)) return "";
  }
  if (port.empty() || port.size() > 5) return "";
  for (char c : port) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return "";
  }
  int p = 0;
  if (!absl::SimpleAtoi(port, &p) || p < 1 || p > 65535) return "";
  return v6 ? absl::StrCat("[", host, "]:", p) : absl::StrCat(host, ":", p);
}

// ---------------------------------------------------------------------------
// The exporter.

gpr_timespec ToGprDeadline(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - SteadyClock::now());
  if (left.count() < 0) left = std::chrono::nanoseconds(0);
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_nanos(left.count(), GPR_TIMESPAN));
}

SteadyClock::time_point DeadlineAfter(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return SteadyClock::now();
  timeout = std::min(timeout, absl::Hours(24 * 365));  // InfiniteDuration cannot overflow
  return SteadyClock::now() + absl::ToChronoNanoseconds(timeout);
}

class OtlpGrpcExporter final : public HookExporter {
 public:
  explicit OtlpGrpcExporter(OtlpGrpcOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = Clock::Real();
    // Guards against a busy loop or an RPC that cannot start (REQUIRES > 0).
    options_.interval = std::max(options_.interval, absl::Milliseconds(10));
    options_.timeout = std::max(options_.timeout, absl::Milliseconds(1));
    if (options_.start_time == absl::InfinitePast()) options_.start_time = options_.clock->Now();
    grpc::ChannelArguments args;
    // Subchannels of our own, so that the reconnect backoff below is ours.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // gRPC's default backoff grows to 120 s, during which exports fail
    // without trying; a collector that comes back is used within 2 s.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    channel_ =
        grpc::CreateCustomChannel(options_.endpoint, grpc::InsecureChannelCredentials(), args);
    stub_ = collector::MetricsService::NewStub(channel_);
    try {
      thread_ = std::thread(&OtlpGrpcExporter::Run, this);
    } catch (const std::system_error&) {
      // No thread to be had: Flush() exports on the caller's thread instead
      // and there are no periodic exports.
    }
  }

  ~OtlpGrpcExporter() override { Stop(); }

  OtlpGrpcExporter(const OtlpGrpcExporter&) = delete;
  OtlpGrpcExporter& operator=(const OtlpGrpcExporter&) = delete;

  void Export(absl::Span<const Event>) override {}
  Delivery delivery() const override { return Delivery::kQueuedMetricsOnly; }

  void ExportMetrics(const MetricsSnapshot& metrics) override {
    const absl::Time now = options_.clock->Now();
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = metrics;
    latest_at_ = now;
    have_snapshot_ = true;
  }

  absl::Status Flush(absl::Duration timeout) override {
    const SteadyClock::time_point deadline = DeadlineAfter(timeout);
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) {
      return absl::FailedPreconditionError(
          absl::StrCat(kOtlpGrpcExporterName, ": flush after shutdown"));
    }
    if (!thread_.joinable()) return ExportLocked(lock, /*flush=*/true, deadline);
    const uint64_t generation = ++flush_requested_;
    flush_deadline_ = deadline;
    wake_.notify_one();
    if (!done_.wait_until(lock, deadline, [&] { return flush_done_ >= generation; })) {
      return absl::DeadlineExceededError(absl::StrCat(kOtlpGrpcExporterName, ": export to ",
                                                      options_.endpoint, " did not finish within ",
                                                      absl::FormatDuration(timeout)));
    }
    return flush_status_;
  }

  absl::Status Shutdown(absl::Duration timeout) override {
    // Most of the time for the last export, the rest for stopping.
    const absl::Duration margin =
        std::max(absl::ZeroDuration(), std::min(timeout / 5, absl::Milliseconds(100)));
    absl::Status s = Flush(timeout - margin);
    Stop();
    return s;
  }

 private:
  struct Outcome {
    absl::Status status;
    int64_t rejected = 0;
    std::string message;
    absl::Duration took;
  };

  // The thread: an export every interval, and one for each Flush().
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    const auto interval = absl::ToChronoNanoseconds(options_.interval);
    SteadyClock::time_point next = SteadyClock::now() + interval;
    for (;;) {
      wake_.wait_until(lock, next, [&] { return stop_ || flush_requested_ != flush_done_; });
      if (stop_) return;
      const uint64_t generation = flush_requested_;
      const bool flushing = generation != flush_done_;
      if (!flushing && SteadyClock::now() < next) continue;
      next = SteadyClock::now() + interval;
      absl::Status status;
      if (flushing || have_snapshot_) {
        status = ExportLocked(lock, flushing, flush_deadline_);
        if (stop_) {
          if (flushing) FinishFlushLocked(generation, status);
          return;
        }
      }
      if (flushing) FinishFlushLocked(generation, status);
    }
  }

  void FinishFlushLocked(uint64_t generation, absl::Status status) {
    flush_done_ = generation;
    flush_status_ = std::move(status);
    done_.notify_all();
  }

  // Exports the latest snapshot (OK without one), with the RPC deadline the
  // sooner of timeout and `flush_deadline` (flushes only). Called with
  // `lock` held; releases it during the RPC and the on_export callback.
  absl::Status ExportLocked(std::unique_lock<std::mutex>& lock, bool flush,
                            SteadyClock::time_point flush_deadline) {
    if (!have_snapshot_) return absl::OkStatus();
    SteadyClock::time_point deadline = DeadlineAfter(options_.timeout);
    if (flush) deadline = std::min(deadline, flush_deadline);
    const collector::ExportMetricsServiceRequest request =
        BuildRequest(options_, latest_, latest_at_, failed_);
    grpc::ClientContext context;
    context.set_deadline(ToGprDeadline(deadline));
    active_ = &context;
    lock.unlock();

    Outcome o = Send(context, request);

    lock.lock();
    active_ = nullptr;
    if (o.status.ok()) {
      ++succeeded_;
    } else {
      ++failed_;
    }
    if (options_.on_export) {
      OtlpExportResult result;
      result.endpoint = options_.endpoint;
      result.status = o.status;
      result.flush = flush;
      result.succeeded = succeeded_;
      result.failed = failed_;
      result.rejected_data_points = o.rejected;
      result.collector_message = o.message;
      result.took = o.took;
      lock.unlock();
      try {
        options_.on_export(result);
      } catch (...) {
        // A callback must not throw; nothing to do about one that does.
      }
      lock.lock();
    }
    return o.status;
  }

  Outcome Send(grpc::ClientContext& context,
               const collector::ExportMetricsServiceRequest& request) {
    Outcome o;
    collector::ExportMetricsServiceResponse response;
    const SteadyClock::time_point start = SteadyClock::now();
    const grpc::Status s = stub_->Export(&context, request, &response);
    o.took = absl::FromChrono(SteadyClock::now() - start);
    if (!s.ok()) {
      o.status = absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                              absl::StrCat(kOtlpGrpcExporterName, ": export to ", options_.endpoint,
                                           " failed: ", s.error_message()));
      return o;
    }
    if (response.has_partial_success()) {
      o.rejected = response.partial_success().rejected_data_points();
      o.message = response.partial_success().error_message();
    }
    return o;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      if (active_ != nullptr) active_->TryCancel();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  OtlpGrpcOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<collector::MetricsService::Stub> stub_;

  std::mutex mu_;
  std::condition_variable wake_;  // to the thread
  std::condition_variable done_;  // from it
  // Guarded by mu_.
  bool have_snapshot_ = false;
  MetricsSnapshot latest_;
  absl::Time latest_at_;
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;
  SteadyClock::time_point flush_deadline_;
  absl::Status flush_status_;
  bool stop_ = false;
  grpc::ClientContext* active_ = nullptr;  // the RPC in flight, for Stop()
  int64_t succeeded_ = 0;
  int64_t failed_ = 0;

  std::thread thread_;  // last: starts after everything above is ready
};

// ---------------------------------------------------------------------------
// The factory.

struct OtlpGrpcConfig {
  std::string endpoint;
  absl::Duration interval;
  absl::Duration timeout;
};

class Factory final : public TypedPluginFactory<HookExporter, ExporterContext, OtlpGrpcConfig> {
 public:
  explicit Factory(OtlpGrpcRegistration registration) : registration_(std::move(registration)) {}

  absl::string_view name() const override { return kOtlpGrpcExporterName; }
  absl::string_view description() const override {
    return "metrics pushed to an OpenTelemetry Collector over OTLP/gRPC, periodically and on "
           "Flush()";
  }

 protected:
  absl::StatusOr<OtlpGrpcConfig> ParseTyped(const PluginSpec& spec,
                                            const Registry&) const override {
    ParamReader r(spec);
    OtlpGrpcConfig config;
    const std::string endpoint = r.String("endpoint", kDefaultEndpoint);
    if (absl::StartsWith(absl::AsciiStrToLower(endpoint), "https://")) {
      r.Fail(
          absl::StrCat("option 'endpoint': TLS (https://) is not supported yet; give the "
                       "host:port of a plaintext OTLP/gRPC receiver, got '",
                       endpoint, "'"));
    } else {
      config.endpoint = NormaliseEndpoint(endpoint);
      if (config.endpoint.empty()) {
        r.Fail(
            absl::StrCat("option 'endpoint' must be host:port (an IPv4 address, a host name "
                         "or a bracketed IPv6 address, and a port in [1, 65535]), got '",
                         endpoint, "'"));
      }
    }
    config.interval =
        r.Millis("interval_ms", absl::Seconds(10), absl::Milliseconds(100), absl::Hours(1));
    config.timeout =
        r.Millis("timeout_ms", absl::Seconds(2), absl::Milliseconds(10), absl::Seconds(60));
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }

  absl::StatusOr<std::unique_ptr<HookExporter>> CreateTyped(
      const OtlpGrpcConfig& config, const ExporterContext& context) const override {
    OtlpGrpcOptions options;
    options.endpoint = config.endpoint;
    options.interval = config.interval;
    options.timeout = config.timeout;
    options.service = context.service;
    options.instance = context.instance;
    options.clock = context.clock;
    options.on_export = registration_.on_export;
    return MakeOtlpGrpcExporter(std::move(options));
  }

 private:
  const OtlpGrpcRegistration registration_;
};

}  // namespace

std::unique_ptr<HookExporter> MakeOtlpGrpcExporter(OtlpGrpcOptions options) {
  return std::make_unique<OtlpGrpcExporter>(std::move(options));
}

std::unique_ptr<HookExporterFactory> NewOtlpGrpcExporterFactory(OtlpGrpcRegistration registration) {
  return std::make_unique<Factory>(std::move(registration));
}

absl::Status RegisterOtlpGrpcExporter(RegistryBuilder& builder, OtlpGrpcRegistration registration) {
  return builder.Register(NewOtlpGrpcExporterFactory(std::move(registration)));
}

std::string EncodeOtlpMetricsRequest(const OtlpGrpcOptions& options, const MetricsSnapshot& metrics,
                                     absl::Time now, int64_t failed_exports) {
  std::string out;
  (void)BuildRequest(options, metrics, now, failed_exports).SerializeToString(&out);
  return out;
}

}  // namespace aequor
