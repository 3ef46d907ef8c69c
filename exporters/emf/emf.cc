#include "exporters/emf/emf.h"

#include "core/json_text.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace aequor {
namespace {

// CloudWatch accepts at most 100 metric definitions per MetricDirective.
constexpr size_t kMaxMetricsPerDirective = 100;


// "connect_errors" -> "ConnectErrors".
std::string Camel(absl::string_view snake) {
  std::string out;
  bool upper = true;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? absl::ascii_toupper(static_cast<unsigned char>(c)) : c;
    upper = false;
  }
  return out;
}

// "0.25" / "10000" for a bucket bound.
std::string Bound(double ms) { return absl::StrFormat("%g", ms); }

// How a gauge of Gauges() (api/metrics.h) is written: its name and unit.
struct EmfGauge {
  std::string name;
  absl::string_view unit;
};

EmfGauge GaugeShape(absl::string_view snake) {
  if (snake == "clock_offset_ms") return EmfGauge{"ClockOffset", "Milliseconds"};
  if (snake == "connection_usage") return EmfGauge{"ConnectionUsage", "None"};
  return EmfGauge{Camel(snake), "None"};  // a gauge added after this table
}

struct Metric {
  std::string name;
  absl::string_view unit;
  std::string value;  // JSON number
};

std::vector<Metric> MetricsOf(const EmfOptions& options, const MetricsSnapshot& d) {
  const std::vector<CounterPoint> points = Counters(d);
  std::vector<Metric> out;
  // Each counter (a labelled family as its total), then its labels.
  auto counter = [&](absl::string_view snake) {
    const std::string name = Camel(snake);
    int64_t total = 0;
    std::vector<Metric> labels;
    for (const CounterPoint& p : points) {
      if (p.name != snake) continue;
      total += p.value;
      if (!p.label_key.empty()) {
        labels.push_back(Metric{absl::StrCat(name, ".", p.label_value), "Count",
                                absl::StrCat(p.value)});
      }
    }
    out.push_back(Metric{name, "Count", absl::StrCat(total)});
    for (Metric& m : labels) out.push_back(std::move(m));
  };
  for (absl::string_view snake :
       {"connects", "reconnects", "connect_errors", "retries", "queries", "query_errors"}) {
    counter(snake);
  }
  out.push_back(Metric{"QueryLatencySum", "Milliseconds",
                       absl::StrFormat("%.3f", d.query_latency.sum_ms)});
  for (absl::string_view snake :
       {"lease_renewals", "lease_renewal_failures", "reaper_passes", "zombies_killed",
        "reaper_rows_skipped", "dead_clients", "events_dropped", "exporter_failures",
        "clock_offset_warnings"}) {
    counter(snake);
  }
  // Gauges: the current value (MetricsDelta carries it as is), only once
  // one has been seen.
  for (const GaugePoint& g : Gauges(d)) {
    if (!std::isfinite(g.value)) continue;  // not a JSON number
    EmfGauge shape = GaugeShape(g.name);
    std::string value = shape.unit == "Milliseconds" ? absl::StrFormat("%.3f", g.value)
                                                     : absl::StrFormat("%.6g", g.value);
    out.push_back(Metric{std::move(shape.name), shape.unit, std::move(value)});
  }
  if (options.latency_buckets) {
    const auto& bounds = LatencyHistogram::kBoundsMs;
    for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
      const int64_t n = d.query_latency.counts[i];
      if (n == 0) continue;
      std::string name =
          i < bounds.size() ? absl::StrCat("QueryLatency.le_", Bound(bounds[i]), "ms")
                            : absl::StrCat("QueryLatency.gt_", Bound(bounds.back()), "ms");
      out.push_back(Metric{std::move(name), "Count", absl::StrCat(n)});
    }
  }
  return out;
}

// True when `d` (a delta) counted nothing and no gauge differs from
// `written` (the snapshot of the last line).
bool NothingHappened(const MetricsSnapshot& d, const MetricsSnapshot& written) {
  for (const CounterPoint& c : Counters(d)) {
    if (c.value != 0) return false;
  }
  const std::vector<GaugePoint> now = Gauges(d);
  const std::vector<GaugePoint> before = Gauges(written);
  if (now.size() != before.size()) return false;
  for (size_t i = 0; i < now.size(); ++i) {
    const bool same_value = now[i].value == before[i].value ||
                            (std::isnan(now[i].value) && std::isnan(before[i].value));
    if (now[i].name != before[i].name || !same_value) return false;
  }
  return d.query_latency.count == 0;
}

// Writes all of `line` with one write() call when the descriptor takes it
// (always, for a line under PIPE_BUF on a pipe, a file or a terminal),
// giving up at `deadline`. SIGPIPE is held off for this thread during the
// write (a closed stdout must not kill the process), as libpq does.
absl::Status WriteAll(int fd, absl::string_view line, absl::Time deadline) {
  FILE* stream = fd == STDOUT_FILENO ? stdout : fd == STDERR_FILENO ? stderr : nullptr;
  if (stream != nullptr) {
    flockfile(stream);
    fflush_unlocked(stream);  // what the program printed comes first
  }
  sigset_t sigpipe, old_mask, pending;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, &old_mask);
  sigemptyset(&pending);
  sigpending(&pending);
  const bool sigpipe_was_pending = sigismember(&pending, SIGPIPE) == 1;

  absl::Status status;
  bool got_epipe = false;
  size_t done = 0;
  while (done < line.size()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      status = absl::DeadlineExceededError("emf: writing the metrics line timed out");
      break;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    const int ready =
        poll(&p, 1, static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left))));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // re-checks the deadline
    ssize_t n = write(fd, line.data() + done, line.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    got_epipe = n < 0 && errno == EPIPE;
    status = absl::UnavailableError(
        absl::StrCat("emf: writing the metrics line: ", n < 0 ? strerror(errno) : "wrote nothing"));
    break;
  }

  if (got_epipe && !sigpipe_was_pending) {
    const struct timespec zero = {0, 0};
    sigtimedwait(&sigpipe, nullptr, &zero);  // consume the SIGPIPE we caused
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (stream != nullptr) funlockfile(stream);
  return status;
}

class EmfExporter final : public HookExporter {
 public:
  explicit EmfExporter(EmfOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = Clock::Real();
  }

  void Export(absl::Span<const Event>) override {}
  // Metrics only, and written on the thread that calls Flush(): no
  // dispatcher thread, no hand-over at the end of an invocation (the
  // manager calls it outside its lock; WriteAll keeps to the timeout).
  bool wants_events() const override { return false; }
  bool synchronous() const override { return true; }

  void ExportMetrics(const MetricsSnapshot& metrics) override { latest_ = metrics; }

  absl::Status Flush(absl::Duration timeout) override {
    const MetricsSnapshot delta = MetricsDelta(latest_, written_);
    if (NothingHappened(delta, written_)) return absl::OkStatus();
    std::string line = FormatEmfLine(options_, delta, options_.clock->Now());
    line += '\n';
    absl::Status s = WriteAll(options_.fd, line, absl::Now() + timeout);
    if (s.ok()) written_ = latest_;  // else the next line carries these counts
    return s;
  }

 private:
  EmfOptions options_;
  MetricsSnapshot latest_;   // from the last ExportMetrics()
  MetricsSnapshot written_;  // as of the last line written
};

struct EmfConfig final : ParsedConfig {
  std::string metric_namespace;
  std::string function;
  int fd = 1;
  bool latency_buckets = true;
};

bool ValidNamespace(absl::string_view ns) {
  if (ns.empty() || ns.size() > 255) return false;
  for (char c : ns) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
          c == '#' || c == ':' || c == '/' || c == '-')) {
      return false;
    }
  }
  return true;
}

bool ValidDimensionValue(absl::string_view v) {
  if (v.size() > 1024) return false;
  for (char c : v) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

class Factory final : public HookExporterFactory {
 public:
  absl::string_view name() const override { return kEmfExporterName; }
  absl::string_view description() const override {
    return "metrics as CloudWatch Embedded Metric Format lines on stdout/stderr, one per Flush()";
  }
  absl::StatusOr<std::unique_ptr<ParsedConfig>> ParseConfig(const PluginSpec& spec,
                                                             const Registry&) const override {
    ParamReader r(spec);
    auto config = std::make_unique<EmfConfig>();
    config->metric_namespace = r.String("namespace", "aequor");
    const std::string stream = r.String("stream", "stdout");
    const char* lambda = std::getenv("AWS_LAMBDA_FUNCTION_NAME");
    config->function = r.String("function", lambda != nullptr ? lambda : "");
    config->latency_buckets = r.Bool("latency_buckets", true);
    if (!ValidNamespace(config->metric_namespace)) {
      r.Fail(absl::StrCat("option 'namespace' must be 1 to 255 characters of "
                          "[A-Za-z0-9._#:/-], got '",
                          config->metric_namespace, "'"));
    }
    if (stream == "stdout") {
      config->fd = STDOUT_FILENO;
    } else if (stream == "stderr") {
      config->fd = STDERR_FILENO;
    } else {
      r.Fail(absl::StrCat("option 'stream' must be 'stdout' or 'stderr', got '", stream, "'"));
    }
    if (!ValidDimensionValue(config->function)) {
      r.Fail("option 'function' must be printable ASCII, at most 1024 characters");
    }
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<HookExporter>> Create(
      const ParsedConfig& parsed, const ExporterContext& context) const override {
    const auto& config = static_cast<const EmfConfig&>(parsed);
    EmfOptions options;
    options.metric_namespace = config.metric_namespace;
    options.service = context.service;
    options.function = config.function;
    options.instance = context.instance;
    options.latency_buckets = config.latency_buckets;
    options.fd = config.fd;
    options.clock = context.clock;
    return MakeEmfExporter(std::move(options));
  }
};

}  // namespace

std::string FormatEmfLine(const EmfOptions& options, const MetricsSnapshot& delta,
                          absl::Time timestamp) {
  const std::vector<Metric> metrics = MetricsOf(options, delta);
  std::string out;
  out.reserve(2048);
  absl::StrAppend(&out, "{\"_aws\":{\"Timestamp\":", absl::ToUnixMillis(timestamp),
                  ",\"CloudWatchMetrics\":[");
  for (size_t start = 0; start < metrics.size() || start == 0; start += kMaxMetricsPerDirective) {
    if (start > 0) out += ',';
    out += "{\"Namespace\":";
    JsonQuoteTo(options.metric_namespace, &out);
    out += options.function.empty() ? ",\"Dimensions\":[[\"Service\"]]"
                                    : ",\"Dimensions\":[[\"Service\",\"Function\"]]";
    out += ",\"Metrics\":[";
    const size_t end = std::min(metrics.size(), start + kMaxMetricsPerDirective);
    for (size_t i = start; i < end; ++i) {
      if (i > start) out += ',';
      out += "{\"Name\":";
      JsonQuoteTo(metrics[i].name, &out);
      out += ",\"Unit\":";
      JsonQuoteTo(metrics[i].unit, &out);
      out += '}';
    }
    out += "]}";
    if (metrics.empty()) break;
  }
  out += "]},\"Service\":";
  JsonQuoteTo(options.service, &out);
  if (!options.function.empty()) {
    out += ",\"Function\":";
    JsonQuoteTo(options.function, &out);
  }
  if (!options.instance.empty()) {
    out += ",\"Instance\":";
    JsonQuoteTo(options.instance, &out);
  }
  for (const Metric& m : metrics) {
    out += ',';
    JsonQuoteTo(m.name, &out);
    out += ':';
    out += m.value;
  }
  out += '}';
  return out;
}

std::unique_ptr<HookExporter> MakeEmfExporter(EmfOptions options) {
  return std::make_unique<EmfExporter>(std::move(options));
}

std::unique_ptr<HookExporterFactory> NewEmfExporterFactory() { return std::make_unique<Factory>(); }

}  // namespace aequor
