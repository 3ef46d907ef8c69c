// tests/exporters/test_exporter.h: a HookExporter for tests that records
// what it is given and can be told to block, throw or fail.
//
//   auto probe = std::make_shared<testing::ExporterProbe>();
//   probe->block_export = true;                      // before the first call
//   bus_or_builder.AddExporter(testing::MakeProbeExporter(probe));
//   ...
//   probe->Release();                                // unblock
//
// The probe is shared (held by the exporter too), so a dispatcher thread
// abandoned in a blocked exporter can still use it after the test returns.
//
// Thread-safety: ExporterProbe is thread-safe (std::mutex, which
// ThreadSanitizer understands, unlike Debian's prebuilt absl::Mutex).
#ifndef AEQUOR_TESTS_EXPORTERS_TEST_EXPORTER_H_
#define AEQUOR_TESTS_EXPORTERS_TEST_EXPORTER_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/hook_exporter.h"

namespace aequor {
namespace testing {

struct ExporterProbe {
  // Settings (set before the exporter is used).
  bool synchronous = false;
  bool wants_events = true;
  bool block_export = false;  // the first Export() waits for Release()
  bool throw_in_export = false;
  absl::Status flush_status;  // what Flush() returns

  // Unblocks a blocked Export() (and every later one).
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    changed.notify_all();
  }
  // Waits until `done()` holds (true) or `timeout` passed (false).
  template <typename Pred>
  bool WaitFor(Pred done, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return changed.wait_for(lock, absl::ToChronoNanoseconds(timeout), done);
  }
  // Waits until Export() has been entered `n` times (true) or `timeout`.
  bool WaitForExports(int n, absl::Duration timeout) {
    return WaitFor([&] { return export_calls >= n; }, timeout);
  }
  std::vector<std::string> Kinds() {
    std::lock_guard<std::mutex> lock(mu);
    return kinds;
  }

  std::mutex mu;  // guards everything below
  std::condition_variable changed;
  bool released = false;
  int export_calls = 0;
  std::vector<std::string> kinds;  // EventKindName + ":" + sql of each event
  std::vector<size_t> batch_sizes;
  std::vector<std::thread::id> export_threads;
  std::vector<MetricsSnapshot> metrics;  // each ExportMetrics()
  std::vector<std::string> calls;        // "export", "metrics", "flush", "shutdown"
};

class ProbeExporter final : public HookExporter {
 public:
  explicit ProbeExporter(std::shared_ptr<ExporterProbe> probe) : probe_(std::move(probe)) {}

  void Export(absl::Span<const Event> batch) override {
    ExporterProbe& p = *probe_;
    {
      std::unique_lock<std::mutex> lock(p.mu);
      ++p.export_calls;
      p.calls.push_back("export");
      p.batch_sizes.push_back(batch.size());
      p.export_threads.push_back(std::this_thread::get_id());
      for (const Event& e : batch) p.kinds.push_back(absl::StrCat(EventKindName(e.kind), ":", e.sql));
      p.changed.notify_all();
      if (p.block_export) p.changed.wait(lock, [&p] { return p.released; });
    }
    if (p.throw_in_export) throw std::runtime_error("probe exporter throws");
  }
  void ExportMetrics(const MetricsSnapshot& m) override {
    std::lock_guard<std::mutex> lock(probe_->mu);
    probe_->metrics.push_back(m);
    probe_->calls.push_back("metrics");
    probe_->changed.notify_all();
  }
  absl::Status Flush(absl::Duration) override {
    std::lock_guard<std::mutex> lock(probe_->mu);
    probe_->calls.push_back("flush");
    probe_->changed.notify_all();
    return probe_->flush_status;
  }
  absl::Status Shutdown(absl::Duration) override {
    std::lock_guard<std::mutex> lock(probe_->mu);
    probe_->calls.push_back("shutdown");
    probe_->changed.notify_all();
    return absl::OkStatus();
  }
  bool synchronous() const override { return probe_->synchronous; }
  bool wants_events() const override { return probe_->wants_events; }

 private:
  std::shared_ptr<ExporterProbe> probe_;
};

inline std::unique_ptr<HookExporter> MakeProbeExporter(std::shared_ptr<ExporterProbe> probe) {
  return std::make_unique<ProbeExporter>(std::move(probe));
}

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTS_EXPORTERS_TEST_EXPORTER_H_
