// tests/core/test_exporter.h: a HookExporter for tests that records
// what it is given and can be told to block, throw or fail.
//
//   auto probe = std::make_shared<testing::ExporterProbe>();
//   probe->block_export = true;                      // before the first call
//   probe->block_flush = true;                       // Flush() waits too
//   bus_or_builder.AddExporter(testing::MakeProbeExporter(probe));
//   ...
//   probe->Release();                                // unblock
//
// The probe is shared (held by the exporter too), so a dispatcher thread
// abandoned in a blocked exporter can still use it after the test returns.
//
// Thread-safety: ExporterProbe is thread-safe (std::mutex, which
// ThreadSanitizer understands, unlike Debian's prebuilt absl::Mutex).
#ifndef AEQUOR_TESTS_CORE_TEST_EXPORTER_H_
#define AEQUOR_TESTS_CORE_TEST_EXPORTER_H_

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
  HookExporter::Delivery delivery = HookExporter::Delivery::kQueued;
  bool block_export = false;  // the first Export() waits for Release()
  bool block_flush = false;   // Flush() waits for Release()
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
  std::vector<MetricsSnapshot> metrics;        // each ExportMetrics()
  std::vector<std::string> calls;              // "export", "metrics", "flush", "shutdown"
  std::vector<std::thread::id> flush_threads;  // of each ExportMetrics/Flush/Shutdown
  int in_call = 0;                             // exporter calls under way now
  int most_in_call = 0;  // the most ever under way at once (1: never concurrent)
};

class ProbeExporter final : public HookExporter {
 public:
  // Counts the calls under way for ExporterProbe::most_in_call.
  class InCall {
   public:
    explicit InCall(ExporterProbe& p) : p_(p) {
      std::lock_guard<std::mutex> lock(p_.mu);
      if (++p_.in_call > p_.most_in_call) p_.most_in_call = p_.in_call;
    }
    ~InCall() {
      std::lock_guard<std::mutex> lock(p_.mu);
      --p_.in_call;
    }

   private:
    ExporterProbe& p_;
  };

  explicit ProbeExporter(std::shared_ptr<ExporterProbe> probe) : probe_(std::move(probe)) {}

  void Export(absl::Span<const Event> batch) override {
    ExporterProbe& p = *probe_;
    InCall in_call(p);
    {
      std::unique_lock<std::mutex> lock(p.mu);
      ++p.export_calls;
      p.calls.push_back("export");
      p.batch_sizes.push_back(batch.size());
      p.export_threads.push_back(std::this_thread::get_id());
      for (const Event& e : batch)
        p.kinds.push_back(absl::StrCat(EventKindName(e.kind), ":", e.sql));
      p.changed.notify_all();
      if (p.block_export) p.changed.wait(lock, [&p] { return p.released; });
    }
    if (p.throw_in_export) throw std::runtime_error("probe exporter throws");
  }
  void ExportMetrics(const MetricsSnapshot& m) override {
    InCall in_call(*probe_);
    std::lock_guard<std::mutex> lock(probe_->mu);
    probe_->metrics.push_back(m);
    probe_->calls.push_back("metrics");
    probe_->flush_threads.push_back(std::this_thread::get_id());
    probe_->changed.notify_all();
  }
  absl::Status Flush(absl::Duration) override {
    ExporterProbe& p = *probe_;
    InCall in_call(p);
    std::unique_lock<std::mutex> lock(p.mu);
    p.calls.push_back("flush");
    p.flush_threads.push_back(std::this_thread::get_id());
    p.changed.notify_all();
    if (p.block_flush) p.changed.wait(lock, [&p] { return p.released; });
    return p.flush_status;
  }
  absl::Status Shutdown(absl::Duration) override {
    InCall in_call(*probe_);
    std::lock_guard<std::mutex> lock(probe_->mu);
    probe_->calls.push_back("shutdown");
    probe_->flush_threads.push_back(std::this_thread::get_id());
    probe_->changed.notify_all();
    return absl::OkStatus();
  }
  Delivery delivery() const override { return probe_->delivery; }

 private:
  std::shared_ptr<ExporterProbe> probe_;
};

inline std::unique_ptr<HookExporter> MakeProbeExporter(std::shared_ptr<ExporterProbe> probe) {
  return std::make_unique<ProbeExporter>(std::move(probe));
}

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTS_CORE_TEST_EXPORTER_H_
