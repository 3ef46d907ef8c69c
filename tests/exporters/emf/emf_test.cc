// The EMF exporter (exporters/emf): the line format, checked by parsing the
// JSON against the CloudWatch Embedded Metric Format specification, deltas
// between flushes, and how lines are written.
#include "exporters/emf/emf.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/registry.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/strict_json.h"

namespace aequor {
namespace {

using Json = nlohmann::ordered_json;
using testing::JsonNumberTexts;
using testing::ParseStrictJson;

constexpr int64_t kTimestampMs = 1767225600123;

// What a test manager would have done: 1 connect, 4 queries (1 failed),
// 2 retries for a full server.
MetricsSnapshot Sample() {
  MetricsSnapshot m;
  m.connects = 1;
  m.queries = 4;
  m.query_errors = 1;
  m.retries = {{"too_many_connections", 2}};
  m.query_latency.counts[0] = 3;  // <= 0.25 ms
  m.query_latency.counts[7] = 1;  // (25, 50] ms
  m.query_latency.count = 4;
  m.query_latency.sum_ms = 30.5;
  return m;
}

EmfOptions Options() {
  EmfOptions o;
  o.service = "orders-api";
  o.instance = "AbCdEfGh";
  return o;
}

// Checks a histogram value, the form a metric's target member takes for a
// distribution (the Values/Counts of CloudWatch's PutMetricData, with its
// statistic set): {"Values":[...],"Counts":[...],"Max":..,"Min":..,
// "Count":..,"Sum":..} and nothing else; 1 to 100 distinct values, each
// with a positive count; the counts add up to Count; every value within
// [Min, Max].
void CheckHistogram(const std::string& name, const Json& h) {
  ASSERT_TRUE(h.is_object()) << name;
  std::set<std::string> keys;
  for (const auto& [key, value] : h.items()) {
    keys.insert(key);
    if (key != "Values" && key != "Counts") {
      EXPECT_TRUE(value.is_number()) << name << "." << key;
    }
  }
  EXPECT_EQ(keys, (std::set<std::string>{"Values", "Counts", "Max", "Min", "Count", "Sum"}))
      << name;
  const Json& values = h.at("Values");
  const Json& counts = h.at("Counts");
  ASSERT_TRUE(values.is_array() && counts.is_array()) << name;
  ASSERT_EQ(values.size(), counts.size()) << name;
  EXPECT_GE(values.size(), 1u) << name;
  EXPECT_LE(values.size(), 100u) << name << ": at most 100 values per metric";
  const double min = h.at("Min").get<double>();
  const double max = h.at("Max").get<double>();
  std::set<double> seen;
  double total = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(values[i].is_number() && counts[i].is_number()) << name;
    const double v = values[i].get<double>();
    EXPECT_TRUE(seen.insert(v).second) << name << ": value " << v << " twice";
    EXPECT_GE(v, min) << name;
    EXPECT_LE(v, max) << name;
    EXPECT_GT(counts[i].get<double>(), 0) << name;
    total += counts[i].get<double>();
  }
  EXPECT_EQ(total, h.at("Count").get<double>()) << name << ": the counts add up to Count";
  EXPECT_GE(h.at("Sum").get<double>(), 0) << name;
}

// Checks the document against the specification's rules and returns its
// metric definitions as name -> unit.
std::map<std::string, std::string> CheckEmf(const Json& doc, absl::string_view ns,
                                            const std::vector<std::string>& dimensions) {
  std::map<std::string, std::string> units;
  EXPECT_TRUE(doc.is_object());
  const Json& aws = doc.at("_aws");
  EXPECT_TRUE(aws.is_object());
  EXPECT_TRUE(aws.at("Timestamp").is_number());
  // Unsigned: written as digits only (no sign, fraction or exponent).
  EXPECT_TRUE(aws.at("Timestamp").is_number_unsigned()) << "Timestamp: integer milliseconds";
  const Json& directives = aws.at("CloudWatchMetrics");
  EXPECT_TRUE(directives.is_array());
  EXPECT_GE(directives.size(), 1u);
  for (const Json& d : directives) {
    EXPECT_EQ(d.at("Namespace").get<std::string>(), ns);
    const Json& sets = d.at("Dimensions");
    EXPECT_TRUE(sets.is_array());
    EXPECT_EQ(sets.size(), 1u);
    std::vector<std::string> keys;
    for (const Json& key : sets.at(0)) {
      const std::string name = key.get<std::string>();
      keys.push_back(name);
      // A dimension's target member is a string on the root node.
      EXPECT_TRUE(doc.contains(name) && doc.at(name).is_string()) << name;
    }
    EXPECT_EQ(keys, dimensions);
    const Json& metrics = d.at("Metrics");
    EXPECT_TRUE(metrics.is_array());
    EXPECT_LE(metrics.size(), 100u) << "at most 100 MetricDefinitions per directive";
    for (const Json& def : metrics) {
      const std::string name = def.at("Name").get<std::string>();
      EXPECT_FALSE(name.empty());
      EXPECT_TRUE(def.at("Unit").is_string());
      EXPECT_TRUE(units.emplace(name, def.at("Unit").get<std::string>()).second)
          << "duplicate " << name;
      // A metric's target member is on the root node: a number, or a
      // histogram.
      EXPECT_TRUE(doc.contains(name)) << name;
      if (!doc.contains(name)) continue;
      if (doc.at(name).is_object()) {
        CheckHistogram(name, doc.at(name));
      } else {
        EXPECT_TRUE(doc.at(name).is_number()) << name;
      }
    }
  }
  // No member twice on the root: ParseStrictJson() refused the document otherwise.
  return units;
}

TEST(EmfFormat, ALineIsAnEmbeddedMetricFormatDocument) {
  const std::string line = FormatEmfLine(Options(), Sample(), absl::FromUnixMillis(kTimestampMs));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_LT(line.size(), 4096u) << "one pipe write (PIPE_BUF) keeps it whole";
  absl::StatusOr<Json> doc = ParseStrictJson(line);
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << line;
  std::map<std::string, std::string> units = CheckEmf(*doc, "aequor", {"Service"});

  absl::StatusOr<std::map<std::string, std::string>> texts = JsonNumberTexts(line);
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_EQ(texts->at("/_aws/Timestamp"), absl::StrCat(kTimestampMs));
  EXPECT_EQ(doc->at("Service").get<std::string>(), "orders-api");
  EXPECT_EQ(doc->at("Instance").get<std::string>(), "AbCdEfGh");
  EXPECT_FALSE(doc->contains("Function"));

  // Every counter is there, 0 included, with its unit.
  for (const char* name : {"Connects", "Reconnects", "ConnectErrors", "Retries", "Queries",
                           "QueryErrors", "LeaseRenewals", "LeaseRenewalFailures", "ReaperPasses",
                           "ZombiesKilled", "ReaperRowsSkipped", "DeadClients", "EventsDropped",
                           "ExporterFailures", "ClockOffsetWarnings"}) {
    EXPECT_EQ(units[name], "Count") << name;
  }
  // No gauge has a value in Sample(): neither is written.
  EXPECT_EQ(units.count("ClockOffset"), 0u);
  EXPECT_EQ(units.count("ConnectionUsage"), 0u);
  EXPECT_FALSE(doc->contains("ClockOffset"));
  EXPECT_FALSE(doc->contains("ConnectionUsage"));
  EXPECT_EQ(units["QueryLatencySum"], "Milliseconds");
  const Json& d = *doc;
  EXPECT_EQ(d.at("Connects").get<double>(), 1);
  EXPECT_EQ(d.at("Reconnects").get<double>(), 0);
  EXPECT_EQ(d.at("Queries").get<double>(), 4);
  EXPECT_EQ(d.at("QueryErrors").get<double>(), 1);
  EXPECT_EQ(d.at("Retries").get<double>(), 2);
  EXPECT_EQ(d.at("Retries.too_many_connections").get<double>(), 2);
  EXPECT_EQ(units["Retries.too_many_connections"], "Count");
  EXPECT_DOUBLE_EQ(d.at("QueryLatencySum").get<double>(), 30.5);
  // The latency as one histogram (so that CloudWatch computes
  // percentiles): a value per bucket that counted something, the middle of
  // its bounds; Count and Sum exact.
  EXPECT_EQ(units["QueryLatency"], "Milliseconds");
  const Json& latency = d.at("QueryLatency");
  EXPECT_EQ(latency.at("Values"), Json::parse("[0.125, 37.5]"));
  EXPECT_EQ(latency.at("Counts"), Json::parse("[3, 1]"));
  EXPECT_EQ(latency.at("Min").get<double>(), 0.125);
  EXPECT_EQ(latency.at("Max").get<double>(), 37.5);
  EXPECT_EQ(latency.at("Count").get<double>(), d.at("Queries").get<double>());
  EXPECT_DOUBLE_EQ(latency.at("Sum").get<double>(), 30.5);
  for (const auto& [name, value] : d.items()) {
    EXPECT_FALSE(absl::StartsWith(name, "QueryLatency.")) << name << ": buckets only if asked";
  }
}

TEST(EmfFormat, EveryBucketIsAValueOfItsOwnWithinTheLimits) {
  MetricsSnapshot m = Sample();
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) m.query_latency.counts[i] = 1 + i;
  m.query_latency.count = 0;
  for (int64_t n : m.query_latency.counts) m.query_latency.count += n;
  m.query_latency.sum_ms = 123456.5;
  absl::StatusOr<Json> doc = ParseStrictJson(FormatEmfLine(Options(), m, absl::FromUnixMillis(1)));
  ASSERT_TRUE(doc.ok()) << doc.status();
  CheckEmf(*doc, "aequor", {"Service"});  // CheckHistogram() on QueryLatency
  const Json& latency = doc->at("QueryLatency");
  ASSERT_EQ(latency.at("Values").size(), LatencyHistogram::kBuckets);
  EXPECT_EQ(latency.at("Values").front().get<double>(), 0.125);
  EXPECT_EQ(latency.at("Values").at(1).get<double>(), 0.375);
  // Over 10 s has no upper bound: it stands at 10 s.
  EXPECT_EQ(latency.at("Values").back().get<double>(), 10000);
  EXPECT_EQ(latency.at("Counts").back().get<double>(), LatencyHistogram::kBuckets);
}

TEST(EmfFormat, WithoutQueriesThereIsNoHistogram) {
  MetricsSnapshot m = Sample();
  m.query_latency = LatencyHistogram();
  absl::StatusOr<Json> doc = ParseStrictJson(FormatEmfLine(Options(), m, absl::FromUnixMillis(1)));
  ASSERT_TRUE(doc.ok()) << doc.status();
  CheckEmf(*doc, "aequor", {"Service"});
  EXPECT_FALSE(doc->contains("QueryLatency")) << "an empty Values array is not a metric";
}

TEST(EmfFormat, LatencyBucketsAreOneCountEachWhenAskedFor) {
  EmfOptions o = Options();
  o.latency = EmfLatency::kBuckets;
  absl::StatusOr<Json> doc = ParseStrictJson(FormatEmfLine(o, Sample(), absl::FromUnixMillis(1)));
  ASSERT_TRUE(doc.ok()) << doc.status();
  std::map<std::string, std::string> units = CheckEmf(*doc, "aequor", {"Service"});
  EXPECT_EQ(doc->at("QueryLatency.le_0.25ms").get<double>(), 3);
  EXPECT_EQ(doc->at("QueryLatency.le_50ms").get<double>(), 1);
  EXPECT_FALSE(doc->contains("QueryLatency.le_1ms"));
  EXPECT_FALSE(doc->contains("QueryLatency"));
  EXPECT_EQ(units["QueryLatency.le_50ms"], "Count");
  int64_t bucket_total = 0;
  for (const auto& [name, value] : doc->items()) {
    if (absl::StartsWith(name, "QueryLatency.")) bucket_total += value.get<int64_t>();
  }
  EXPECT_EQ(bucket_total, 4) << "the buckets add up to the queries";
}

TEST(EmfFormat, GaugesAreWrittenWithTheirUnitsOnceTheyHaveAValue) {
  MetricsSnapshot m = Sample();
  m.clock_offset_ms = -3.2504;
  m.connection_usage = 0.4;
  m.clock_offset_warnings = 1;
  const std::string line = FormatEmfLine(Options(), m, absl::FromUnixMillis(1));
  absl::StatusOr<Json> doc = ParseStrictJson(line);
  ASSERT_TRUE(doc.ok()) << doc.status();
  std::map<std::string, std::string> units = CheckEmf(*doc, "aequor", {"Service"});
  EXPECT_EQ(units["ClockOffset"], "Milliseconds");
  EXPECT_EQ(units["ConnectionUsage"], "None");
  absl::StatusOr<std::map<std::string, std::string>> texts = JsonNumberTexts(line);
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_EQ(texts->at("/ClockOffset"), "-3.250") << "milliseconds, 3 decimals";
  EXPECT_DOUBLE_EQ(doc->at("ConnectionUsage").get<double>(), 0.4);
  EXPECT_EQ(texts->at("/ConnectionUsage"), "0.4");
  EXPECT_EQ(doc->at("ClockOffsetWarnings").get<double>(), 1);
  EXPECT_EQ(units["ClockOffsetWarnings"], "Count");
  std::printf("---- line ----\n%s\n--------------\n",
              FormatEmfLine(Options(), m, absl::FromUnixMillis(kTimestampMs)).c_str());

  // One without the other.
  m.clock_offset_ms.reset();
  doc = ParseStrictJson(FormatEmfLine(Options(), m, absl::FromUnixMillis(1)));
  ASSERT_TRUE(doc.ok()) << doc.status();
  units = CheckEmf(*doc, "aequor", {"Service"});
  EXPECT_EQ(units.count("ClockOffset"), 0u);
  EXPECT_FALSE(doc->contains("ClockOffset"));
  EXPECT_DOUBLE_EQ(doc->at("ConnectionUsage").get<double>(), 0.4);
}

TEST(EmfFormat, AFunctionAddsADimension) {
  EmfOptions o = Options();
  o.function = "orders-handler";
  o.metric_namespace = "acme/orders";
  absl::StatusOr<Json> doc = ParseStrictJson(FormatEmfLine(o, Sample(), absl::FromUnixMillis(1)));
  ASSERT_TRUE(doc.ok()) << doc.status();
  CheckEmf(*doc, "acme/orders", {"Service", "Function"});
  EXPECT_EQ(doc->at("Function").get<std::string>(), "orders-handler");
}

TEST(EmfFormat, WithoutLatencyOnlyTheSumIsWritten) {
  EmfOptions o = Options();
  o.latency = EmfLatency::kNone;
  absl::StatusOr<Json> doc = ParseStrictJson(FormatEmfLine(o, Sample(), absl::FromUnixMillis(1)));
  ASSERT_TRUE(doc.ok()) << doc.status();
  for (const auto& [name, value] : doc->items()) {
    EXPECT_FALSE(absl::StartsWith(name, "QueryLatency") && name != "QueryLatencySum") << name;
  }
  EXPECT_TRUE(doc->contains("QueryLatencySum"));
}

TEST(EmfFormat, StringsAreEscaped) {
  EmfOptions o = Options();
  o.function = "a\"b\\c\x01";
  absl::StatusOr<Json> doc = ParseStrictJson(FormatEmfLine(o, Sample(), absl::FromUnixMillis(1)));
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->at("Function").get<std::string>(), "a\"b\\c\x01");
}

TEST(EmfFormat, MoreThanAHundredMetricsAreSplitAcrossDirectives) {
  MetricsSnapshot m = Sample();
  for (int i = 0; i < 150; ++i) m.dead_clients[absl::StrCat("source", i)] = 1;
  absl::StatusOr<Json> doc = ParseStrictJson(FormatEmfLine(Options(), m, absl::FromUnixMillis(1)));
  ASSERT_TRUE(doc.ok()) << doc.status();
  std::map<std::string, std::string> units = CheckEmf(*doc, "aequor", {"Service"});
  EXPECT_GE(doc->at("_aws").at("CloudWatchMetrics").size(), 2u);
  EXPECT_EQ(units.count("DeadClients.source149"), 1u);
  EXPECT_EQ(doc->at("DeadClients").get<double>(), 150);
}

// ---- The exporter: deltas, and writing. ----------------------------------

class Pipe {
 public:
  Pipe() { EXPECT_EQ(pipe2(fds_, O_CLOEXEC), 0); }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void CloseRead() {
    if (fds_[0] >= 0) close(fds_[0]);
    fds_[0] = -1;
  }
  void CloseWrite() {
    if (fds_[1] >= 0) close(fds_[1]);
    fds_[1] = -1;
  }
  // Everything written so far (the write end stays open).
  std::string Drain() {
    std::string out;
    const int flags = fcntl(fds_[0], F_GETFL);
    fcntl(fds_[0], F_SETFL, flags | O_NONBLOCK);
    char buf[65536];
    for (;;) {
      ssize_t n = read(fds_[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    fcntl(fds_[0], F_SETFL, flags);
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  EXPECT_TRUE(lines.empty() || lines.back().empty()) << "every line ends with a newline";
  if (!lines.empty()) lines.pop_back();
  return lines;
}

TEST(EmfExporter, EachFlushWritesTheDeltaSinceTheLastLineAndNothingWhenNothingHappened) {
  Pipe pipe;
  testing::FakeClock clock(absl::FromUnixMillis(kTimestampMs));
  EmfOptions o = Options();
  o.fd = pipe.write_fd();
  o.clock = &clock;
  std::unique_ptr<HookExporter> emf = MakeEmfExporter(o);
  EXPECT_EQ(emf->delivery(), HookExporter::Delivery::kOnFlushOnly)
      << "metrics only, flushed by the caller of Flush(), no dispatcher";

  MetricsSnapshot first = Sample();
  emf->ExportMetrics(first);
  ASSERT_TRUE(emf->Flush(absl::Seconds(1)).ok());
  MetricsSnapshot second = first;
  second.queries += 10;
  second.query_latency.counts[0] += 10;
  second.query_latency.count += 10;
  second.retries["too_many_connections"] += 1;
  clock.Advance(absl::Seconds(1));
  emf->ExportMetrics(second);
  ASSERT_TRUE(emf->Flush(absl::Seconds(1)).ok());
  emf->ExportMetrics(second);
  ASSERT_TRUE(emf->Flush(absl::Seconds(1)).ok());  // nothing new: no line

  std::vector<std::string> lines = Lines(pipe.Drain());
  ASSERT_EQ(lines.size(), 2u);
  absl::StatusOr<Json> a = ParseStrictJson(lines[0]);
  absl::StatusOr<Json> b = ParseStrictJson(lines[1]);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->at("Queries").get<double>(), 4);
  EXPECT_EQ(a->at("Connects").get<double>(), 1);
  EXPECT_EQ(b->at("Queries").get<double>(), 10);
  EXPECT_EQ(b->at("Connects").get<double>(), 0);
  EXPECT_EQ(b->at("QueryErrors").get<double>(), 0);
  EXPECT_EQ(b->at("Retries.too_many_connections").get<double>(), 1);
  EXPECT_EQ(b->at("QueryLatency").at("Values"), Json::parse("[0.125]"));
  EXPECT_EQ(b->at("QueryLatency").at("Counts"), Json::parse("[10]"));
  EXPECT_EQ(b->at("QueryLatency").at("Count").get<double>(), 10);
  EXPECT_EQ(b->at("_aws").at("Timestamp").get<double>(), kTimestampMs + 1000);
}

TEST(EmfExporter, GaugesAreWrittenAsTheirCurrentValueNeverAsADelta) {
  Pipe pipe;
  EmfOptions o = Options();
  o.fd = pipe.write_fd();
  std::unique_ptr<HookExporter> emf = MakeEmfExporter(o);

  MetricsSnapshot m = Sample();
  m.clock_offset_ms = 12.25;
  m.connection_usage = 0.5;
  emf->ExportMetrics(m);
  ASSERT_TRUE(emf->Flush(absl::Seconds(1)).ok());
  // Counts move, the gauges do not: the line has them as they are.
  m.queries += 2;
  emf->ExportMetrics(m);
  ASSERT_TRUE(emf->Flush(absl::Seconds(1)).ok());
  // Only a gauge moves: that is news, a line is written.
  m.connection_usage = 0.75;
  emf->ExportMetrics(m);
  ASSERT_TRUE(emf->Flush(absl::Seconds(1)).ok());
  // Nothing moves: no line.
  emf->ExportMetrics(m);
  ASSERT_TRUE(emf->Flush(absl::Seconds(1)).ok());

  std::vector<std::string> lines = Lines(pipe.Drain());
  ASSERT_EQ(lines.size(), 3u);
  std::vector<Json> docs;
  for (const std::string& line : lines) {
    absl::StatusOr<Json> doc = ParseStrictJson(line);
    ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << line;
    CheckEmf(*doc, "aequor", {"Service"});
    docs.push_back(*std::move(doc));
  }
  EXPECT_DOUBLE_EQ(docs[0].at("ClockOffset").get<double>(), 12.25);
  EXPECT_DOUBLE_EQ(docs[0].at("ConnectionUsage").get<double>(), 0.5);
  EXPECT_EQ(docs[1].at("Queries").get<double>(), 2);
  EXPECT_DOUBLE_EQ(docs[1].at("ClockOffset").get<double>(), 12.25) << "the value, not 0";
  EXPECT_DOUBLE_EQ(docs[1].at("ConnectionUsage").get<double>(), 0.5) << "the value, not 0";
  EXPECT_EQ(docs[2].at("Queries").get<double>(), 0);
  EXPECT_DOUBLE_EQ(docs[2].at("ClockOffset").get<double>(), 12.25);
  EXPECT_DOUBLE_EQ(docs[2].at("ConnectionUsage").get<double>(), 0.75) << "the value, not +0.25";
}

TEST(EmfExporter, ALineThatCouldNotBeWrittenIsCarriedIntoTheNext) {
  Pipe pipe;
  // Fill the pipe so that the next write would block.
  fcntl(pipe.write_fd(), F_SETFL, fcntl(pipe.write_fd(), F_GETFL) | O_NONBLOCK);
  const std::string filler(4096, 'x');
  while (write(pipe.write_fd(), filler.data(), filler.size()) > 0) {
  }
  EmfOptions o = Options();
  o.fd = pipe.write_fd();
  std::unique_ptr<HookExporter> emf = MakeEmfExporter(o);
  emf->ExportMetrics(Sample());
  absl::Status s = emf->Flush(absl::Milliseconds(50));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;

  pipe.Drain();
  MetricsSnapshot later = Sample();
  later.queries += 1;
  emf->ExportMetrics(later);
  ASSERT_TRUE(emf->Flush(absl::Seconds(1)).ok());
  std::vector<std::string> lines = Lines(pipe.Drain());
  ASSERT_EQ(lines.size(), 1u);
  absl::StatusOr<Json> doc = ParseStrictJson(lines[0]);
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->at("Queries").get<double>(), 5) << "4 unwritten + 1 new";
}

TEST(EmfExporter, AClosedStreamIsAnErrorNotASigpipe) {
  signal(SIGPIPE, SIG_DFL);  // the default action would kill this process
  Pipe pipe;
  pipe.CloseRead();
  EmfOptions o = Options();
  o.fd = pipe.write_fd();
  std::unique_ptr<HookExporter> emf = MakeEmfExporter(o);
  emf->ExportMetrics(Sample());
  absl::Status s = emf->Flush(absl::Seconds(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0) << "no SIGPIPE left pending";
}

TEST(EmfExporter, LinesNeverInterleaveWithOtherWritersOutput) {
  Pipe pipe;
  EmfOptions o = Options();
  o.fd = pipe.write_fd();
  std::unique_ptr<HookExporter> emf = MakeEmfExporter(o);
  std::string collected;
  std::thread reader([&] {
    char buf[65536];
    for (;;) {
      ssize_t n = read(pipe.read_fd(), buf, sizeof buf);
      if (n <= 0) break;  // end of file: every writer is done
      collected.append(buf, static_cast<size_t>(n));
    }
  });
  std::thread other([&] {
    const std::string line = absl::StrCat("other output ", std::string(300, '-'), "\n");
    for (int i = 0; i < 500; ++i) {
      ASSERT_EQ(write(pipe.write_fd(), line.data(), line.size()),
                static_cast<ssize_t>(line.size()));
    }
  });
  MetricsSnapshot m = Sample();
  for (int i = 0; i < 100; ++i) {
    m.queries += 1;
    emf->ExportMetrics(m);
    ASSERT_TRUE(emf->Flush(absl::Seconds(5)).ok());
  }
  other.join();
  pipe.CloseWrite();
  reader.join();
  int emf_lines = 0;
  int other_lines = 0;
  for (const std::string& line : Lines(collected)) {
    if (absl::StartsWith(line, "other output ")) {
      EXPECT_EQ(line.size(), 13u + 300u);
      ++other_lines;
      continue;
    }
    absl::StatusOr<Json> doc = ParseStrictJson(line);
    EXPECT_TRUE(doc.ok()) << doc.status() << ": " << line.substr(0, 80);
    ++emf_lines;
  }
  EXPECT_EQ(emf_lines, 100);
  EXPECT_EQ(other_lines, 500);
}

// ---- The factory: options. ------------------------------------------------

absl::StatusOr<std::unique_ptr<ParsedConfig>> Parse(PluginSpec spec) {
  absl::StatusOr<const HookExporterFactory*> f =
      Registry::Default()->FindExporter(kEmfExporterName);
  EXPECT_TRUE(f.ok()) << f.status();
  return (*f)->ParseConfig(spec, *Registry::Default());
}

TEST(EmfFactory, IsRegisteredWithTheBuiltins) {
  std::vector<std::string> names = Registry::Default()->ExporterNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "aequor.exporter.emf"), names.end());
}

TEST(EmfFactory, BadOptionsAreRejectedNamingTheOption) {
  absl::StatusOr<std::unique_ptr<ParsedConfig>> r =
      Parse(PluginSpec("aequor.exporter.emf", {{"namespace", "has space"}}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "'namespace'")) << r.status();
  r = Parse(PluginSpec("aequor.exporter.emf", {{"stream", "stdlog"}}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "'stream'")) << r.status();
  r = Parse(PluginSpec("aequor.exporter.emf", {{"namespce", "x"}}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "unknown option 'namespce'")) << r.status();
  r = Parse(PluginSpec("aequor.exporter.emf", {{"latency_buckets", "maybe"}}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  r = Parse(PluginSpec("aequor.exporter.emf", {{"latency", "percentiles"}}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(),
                                "option 'latency' must be 'histogram', 'buckets' or 'none', got "
                                "'percentiles'"))
      << r.status();
  r = Parse(PluginSpec("aequor.exporter.emf", {{"latency", "none"}, {"latency_buckets", "false"}}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "'latency' or the older 'latency_buckets'"))
      << r.status();
  for (const char* latency : {"histogram", "buckets", "none"}) {
    EXPECT_TRUE(Parse(PluginSpec("aequor.exporter.emf", {{"latency", latency}})).ok()) << latency;
  }
  EXPECT_TRUE(Parse(PluginSpec("aequor.exporter.emf", {{"latency_buckets", "false"}})).ok());
  r = Parse(PluginSpec("aequor.exporter.emf", {{"function", "tab\there"}}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  r = Parse(PluginSpec("aequor.exporter.emf",
                       {{"namespace", "acme/orders"}, {"stream", "stderr"}, {"function", ""}}));
  EXPECT_TRUE(r.ok()) << r.status();
}

// Runs `fn` with fd 1 sent to a pipe, and returns what was written there.
template <typename Fn>
std::string CaptureStdout(Fn fn) {
  Pipe pipe;
  fflush(stdout);
  const int saved = dup(STDOUT_FILENO);
  dup2(pipe.write_fd(), STDOUT_FILENO);
  fn();
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  return pipe.Drain();
}

TEST(EmfFactory, WritesToStdoutWithTheLambdaFunctionAsDefaultDimension) {
  setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-fn", 1);
  absl::StatusOr<std::unique_ptr<ParsedConfig>> config = Parse(PluginSpec("aequor.exporter.emf"));
  unsetenv("AWS_LAMBDA_FUNCTION_NAME");
  ASSERT_TRUE(config.ok()) << config.status();
  testing::FakeClock clock(absl::FromUnixMillis(kTimestampMs));
  ExporterContext context;
  context.service = "orders-api";
  context.instance = "AbCdEfGh";
  context.clock = &clock;
  absl::StatusOr<std::unique_ptr<HookExporter>> emf =
      (*Registry::Default()->FindExporter(kEmfExporterName))->Create(**config, context);
  ASSERT_TRUE(emf.ok()) << emf.status();
  std::string out = CaptureStdout([&] {
    std::printf("printed before, still buffered\n");
    (*emf)->ExportMetrics(Sample());
    EXPECT_TRUE((*emf)->Flush(absl::Seconds(1)).ok());
  });
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0], "printed before, still buffered") << "the program's output comes first";
  absl::StatusOr<Json> doc = ParseStrictJson(lines[1]);
  ASSERT_TRUE(doc.ok()) << doc.status();
  CheckEmf(*doc, "aequor", {"Service", "Function"});
  EXPECT_EQ(doc->at("Function").get<std::string>(), "orders-fn");
  EXPECT_EQ(doc->at("_aws").at("Timestamp").get<double>(), kTimestampMs);
}

}  // namespace
}  // namespace aequor
