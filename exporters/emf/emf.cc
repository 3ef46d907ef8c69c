#include "exporters/emf/emf.h"

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
#include "nlohmann/json.hpp"

namespace aequor {
namespace {

// CloudWatch accepts at most 100 metric definitions per MetricDirective.
constexpr size_t kMaxMetricsPerDirective = 100;

using Json = nlohmann::ordered_json;

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
  if (snake == "lease_seconds_left") return EmfGauge{"LeaseSecondsLeft", "Seconds"};
  return EmfGauge{Camel(snake), "None"};  // a gauge added after this table
}

struct Metric {
  std::string name;
  absl::string_view unit;
  std::string value;  // JSON number, or a histogram's object
};

// The value that stands for latency bucket `i` of LatencyHistogram in a
// CloudWatch histogram: the middle of its bounds. The first bucket,
// (0, 0.25 ms], gives 0.125; the last, over 10 s, has no upper bound and
// gives its lower one, 10000.
double BucketValue(size_t i) {
  const auto& bounds = LatencyHistogram::kBoundsMs;
  if (i == 0) return bounds[0] / 2;
  if (i >= bounds.size()) return bounds.back();
  return (bounds[i - 1] + bounds[i]) / 2;
}

// `h` (count > 0) as a CloudWatch histogram value, the form PutMetricData's
// Values/Counts take in EMF:
//   {"Values":[0.125,37.5],"Counts":[3,1],"Max":37.5,"Min":0.125,"Count":4,"Sum":30.5}
// One value per non-empty bucket (at most 16, under the 100 a metric may
// carry), so percentiles have the buckets' resolution; Min and Max are the
// extreme buckets' values, Count and Sum exact.
std::string HistogramValue(const LatencyHistogram& h) {
  std::string values, counts;
  double min = 0, max = 0;
  bool first = true;
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    if (h.counts[i] <= 0) continue;
    const double v = BucketValue(i);
    absl::StrAppend(&values, first ? "" : ",", Bound(v));
    absl::StrAppend(&counts, first ? "" : ",", h.counts[i]);
    if (first) min = v;
    max = v;
    first = false;
  }
  return absl::StrCat("{\"Values\":[", values, "],\"Counts\":[", counts, "],\"Max\":", Bound(max),
                      ",\"Min\":", Bound(min), ",\"Count\":", h.count,
                      ",\"Sum\":", absl::StrFormat("%.3f", h.sum_ms), "}");
}

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
        labels.push_back(
            Metric{absl::StrCat(name, ".", p.label_value), "Count", absl::StrCat(p.value)});
      }
    }
    out.push_back(Metric{name, "Count", absl::StrCat(total)});
    for (Metric& m : labels) out.push_back(std::move(m));
  };
  for (absl::string_view snake :
       {"connects", "reconnects", "connect_errors", "retries", "queries", "query_errors"}) {
    counter(snake);
  }
  out.push_back(
      Metric{"QueryLatencySum", "Milliseconds", absl::StrFormat("%.3f", d.query_latency.sum_ms)});
  for (absl::string_view snake : {"lease_renewals", "lease_renewal_failures", "reaper_passes",
                                  "zombies_killed", "reaper_rows_skipped", "dead_clients",
                                  "events_dropped", "exporter_failures", "clock_offset_warnings"}) {
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
  switch (options.latency) {
    case EmfLatency::kHistogram:
      if (d.query_latency.count > 0) {
        out.push_back(Metric{"QueryLatency", "Milliseconds", HistogramValue(d.query_latency)});
      }
      break;
    case EmfLatency::kBuckets: {
      const auto& bounds = LatencyHistogram::kBoundsMs;
      for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
        const int64_t n = d.query_latency.counts[i];
        if (n == 0) continue;
        std::string name = i < bounds.size()
                               ? absl::StrCat("QueryLatency.le_", Bound(bounds[i]), "ms")
                               : absl::StrCat("QueryLatency.gt_", Bound(bounds.back()), "ms");
        out.push_back(Metric{std::move(name), "Count", absl::StrCat(n)});
      }
      break;
    }
    case EmfLatency::kNone: break;
  }
  return out;
}

// True when `d` (a delta) counted nothing and no gauge differs from
// `written` (the snapshot of the last line).
bool NothingHappened(const MetricsSnapshot& d, const MetricsSnapshot& written) {
  for (const CounterPoint& c : Counters(d)) {
    if (c.value != 0) return false;
  }
  // lease_seconds_left changes with time alone: not something that happened.
  auto gauges = [](const MetricsSnapshot& m) {
    std::vector<GaugePoint> g = Gauges(m);
    g.erase(std::remove_if(g.begin(), g.end(),
                           [](const GaugePoint& p) { return p.name == "lease_seconds_left"; }),
            g.end());
    return g;
  };
  const std::vector<GaugePoint> now = gauges(d);
  const std::vector<GaugePoint> before = gauges(written);
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

// Writes the EMF lines of one exporter. A line is a JSON object:
//   {"_aws":{"Timestamp":T,"CloudWatchMetrics":[...]},"Service":...,<metrics>}
// nlohmann writes it, but for the timestamp and the metrics' values, from
// the metric definitions; the rest changes only when a metric appears (a new
// label), so its text is kept and a line costs no JSON serialisation. The
// values are written as MetricsOf() formatted them (milliseconds with 3
// decimals, "-3.250"), which a json number cannot keep (nlohmann writes
// "-3.25").
class EmfLineWriter {
 public:
  explicit EmfLineWriter(const EmfOptions& options) : options_(options) {}
  EmfLineWriter(const EmfLineWriter&) = delete;
  EmfLineWriter& operator=(const EmfLineWriter&) = delete;

  std::string Format(const std::vector<Metric>& metrics, absl::Time timestamp) {
    if (!SameMetrics(metrics)) Rebuild(metrics);
    std::string out;
    out.reserve(line_size_);
    absl::StrAppend(&out, kHead, absl::ToUnixMillis(timestamp), tail_);
    for (size_t i = 0; i < metrics.size(); ++i) {
      absl::StrAppend(&out, ",", quoted_names_[i], ":", metrics[i].value);
    }
    out += '}';
    line_size_ = std::max(line_size_, out.size());
    return out;
  }

 private:
  // How every document starts (the first members of ordered objects).
  static constexpr absl::string_view kHead = "{\"_aws\":{\"Timestamp\":";

  bool SameMetrics(const std::vector<Metric>& metrics) const {
    if (!built_ || metrics.size() != names_.size()) return false;
    for (size_t i = 0; i < metrics.size(); ++i) {
      if (metrics[i].name != names_[i] || metrics[i].unit != units_[i]) return false;
    }
    return true;
  }

  static std::string Dump(const Json& json) {
    // Invalid UTF-8 becomes U+FFFD instead of an exception.
    return json.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
  }

  void Rebuild(const std::vector<Metric>& metrics) {
    Json dimension_set = Json::array({"Service"});
    if (!options_.function.empty()) dimension_set.push_back("Function");
    Json directives = Json::array();
    for (size_t start = 0; start < metrics.size() || start == 0; start += kMaxMetricsPerDirective) {
      Json definitions = Json::array();
      const size_t end = std::min(metrics.size(), start + kMaxMetricsPerDirective);
      for (size_t i = start; i < end; ++i) {
        definitions.push_back(
            Json{{"Name", metrics[i].name}, {"Unit", std::string(metrics[i].unit)}});
      }
      directives.push_back(Json{{"Namespace", options_.metric_namespace},
                                {"Dimensions", Json::array({dimension_set})},
                                {"Metrics", std::move(definitions)}});
      if (metrics.empty()) break;
    }
    Json doc = Json::object();
    doc["_aws"] = Json{{"Timestamp", 0}, {"CloudWatchMetrics", std::move(directives)}};
    doc["Service"] = options_.service;
    if (!options_.function.empty()) doc["Function"] = options_.function;
    if (!options_.instance.empty()) doc["Instance"] = options_.instance;

    // `doc` is {"_aws":{"Timestamp":0,...}: keep what follows the 0, less the
    // closing '}' (the metrics' members come before it).
    const std::string text = Dump(doc);
    tail_ = text.substr(kHead.size() + 1, text.size() - kHead.size() - 2);
    names_.clear();
    units_.clear();
    quoted_names_.clear();
    for (const Metric& m : metrics) {
      names_.push_back(m.name);
      units_.push_back(m.unit);
      quoted_names_.push_back(Dump(Json(m.name)));
    }
    built_ = true;
  }

  const EmfOptions& options_;
  bool built_ = false;
  // The metrics the kept text was made for, and their names as JSON strings.
  std::vector<std::string> names_;
  std::vector<absl::string_view> units_;  // static strings (MetricsOf)
  std::vector<std::string> quoted_names_;
  std::string tail_;      // the document after the timestamp, without its '}'
  size_t line_size_ = 0;  // the longest line so far, to reserve
};

class EmfExporter final : public HookExporter {
 public:
  explicit EmfExporter(EmfOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = Clock::Real();
  }

  void Export(absl::Span<const Event>) override {}
  // Metrics only, and written on the thread that calls Flush(): no
  // dispatcher thread, no hand-over at the end of an invocation (the
  // manager calls it outside its lock; WriteAll keeps to the timeout).
  Delivery delivery() const override { return Delivery::kOnFlushOnly; }

  void ExportMetrics(const MetricsSnapshot& metrics) override { latest_ = metrics; }

  absl::Status Flush(absl::Duration timeout) override {
    const MetricsSnapshot delta = MetricsDelta(latest_, written_);
    if (NothingHappened(delta, written_)) return absl::OkStatus();
    std::string line = writer_.Format(MetricsOf(options_, delta), options_.clock->Now());
    line += '\n';
    absl::Status s = WriteAll(options_.fd, line, absl::Now() + timeout);
    if (s.ok()) written_ = latest_;  // else the next line carries these counts
    return s;
  }

 private:
  EmfOptions options_;
  EmfLineWriter writer_{options_};  // after options_, which it refers to
  MetricsSnapshot latest_;          // from the last ExportMetrics()
  MetricsSnapshot written_;         // as of the last line written
};

struct EmfConfig {
  std::string metric_namespace;
  std::string function;
  int fd = 1;
  EmfLatency latency = EmfLatency::kHistogram;
};

bool ValidNamespace(absl::string_view ns) {
  if (ns.empty() || ns.size() > 255) return false;
  for (char c : ns) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '#' ||
          c == ':' || c == '/' || c == '-')) {
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

class Factory final : public TypedPluginFactory<HookExporter, ExporterContext, EmfConfig> {
 public:
  absl::string_view name() const override { return kEmfExporterName; }
  absl::string_view description() const override {
    return "metrics as CloudWatch Embedded Metric Format lines on stdout/stderr, one per Flush()";
  }

 protected:
  absl::StatusOr<EmfConfig> ParseTyped(const PluginSpec& spec, const Registry&) const override {
    ParamReader r(spec);
    EmfConfig config;
    config.metric_namespace = r.String("namespace", "aequor");
    const std::string stream = r.String("stream", "stdout");
    const char* lambda = std::getenv("AWS_LAMBDA_FUNCTION_NAME");
    config.function = r.String("function", lambda != nullptr ? lambda : "");
    if (r.Has("latency") && r.Has("latency_buckets")) {
      r.Fail("give option 'latency' or the older 'latency_buckets', not both");
    }
    const bool buckets = r.Bool("latency_buckets", true);
    const std::string latency = r.String("latency", buckets ? "histogram" : "none");
    if (latency == "histogram") {
      config.latency = EmfLatency::kHistogram;
    } else if (latency == "buckets") {
      config.latency = EmfLatency::kBuckets;
    } else if (latency == "none") {
      config.latency = EmfLatency::kNone;
    } else {
      r.Fail(absl::StrCat("option 'latency' must be 'histogram', 'buckets' or 'none', got '",
                          latency, "'"));
    }
    if (!ValidNamespace(config.metric_namespace)) {
      r.Fail(
          absl::StrCat("option 'namespace' must be 1 to 255 characters of "
                       "[A-Za-z0-9._#:/-], got '",
                       config.metric_namespace, "'"));
    }
    if (stream == "stdout") {
      config.fd = STDOUT_FILENO;
    } else if (stream == "stderr") {
      config.fd = STDERR_FILENO;
    } else {
      r.Fail(absl::StrCat("option 'stream' must be 'stdout' or 'stderr', got '", stream, "'"));
    }
    if (!ValidDimensionValue(config.function)) {
      r.Fail("option 'function' must be printable ASCII, at most 1024 characters");
    }
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return config;
  }
  absl::StatusOr<std::unique_ptr<HookExporter>> CreateTyped(
      const EmfConfig& config, const ExporterContext& context) const override {
    EmfOptions options;
    options.metric_namespace = config.metric_namespace;
    options.service = context.service;
    options.function = config.function;
    options.instance = context.instance;
    options.latency = config.latency;
    options.fd = config.fd;
    options.clock = context.clock;
    return MakeEmfExporter(std::move(options));
  }
};

}  // namespace

std::string FormatEmfLine(const EmfOptions& options, const MetricsSnapshot& delta,
                          absl::Time timestamp) {
  EmfLineWriter writer(options);
  return writer.Format(MetricsOf(options, delta), timestamp);
}

std::unique_ptr<HookExporter> MakeEmfExporter(EmfOptions options) {
  return std::make_unique<EmfExporter>(std::move(options));
}

std::unique_ptr<HookExporterFactory> NewEmfExporterFactory() { return std::make_unique<Factory>(); }

}  // namespace aequor
