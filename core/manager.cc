#include "core/manager.h"

namespace aequor {

Manager::Manager(ManagerParts parts) : parts_(std::move(parts)), lane_(parts_) {
  parts_.bus.SetConnectionSource([this] {
    ConnectionGauges g;
    lane_.AddTo(g, parts_.clock().MonotonicNanos());
    return g;
  });
}

Manager::~Manager() {
  // The exporters' last snapshot (LaneParts shuts them down after lane_ is
  // gone) reads no lane.
  parts_.bus.SetConnectionSource(nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  lane_.Close(/*report=*/false);
}

absl::Status Manager::CheckNotInBody() const {
  if (body_thread_.load() == std::this_thread::get_id()) {
    return absl::FailedPreconditionError(
        "called from inside a RunTransaction body or a WithConnection callback; use what it "
        "was given");
  }
  return absl::OkStatus();
}

bool Manager::connected() const {
  // Inside a RunTransaction body this thread already holds mu_.
  if (!CheckNotInBody().ok()) return lane_.connected();
  std::lock_guard<std::mutex> lock(mu_);
  return lane_.connected();
}

std::string Manager::application_name() const {
  if (!CheckNotInBody().ok()) return lane_.lease();
  std::lock_guard<std::mutex> lock(mu_);
  return lane_.lease();
}

absl::Status Manager::Connect() {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  return lane_.Connect(parts_.clock().MonotonicNow() + parts_.options().connect_budget);
}

absl::StatusOr<QueryResult> Manager::Query(absl::string_view sql, absl::Span<const Param> params,
                                           const QueryOptions& options) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  return lane_.Query(sql, params, options);
}

absl::Status Manager::RunTransaction(const TransactionBody& body,
                                     const TransactionOptions& options) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  return lane_.RunTransaction(body, options, &body_thread_);
}

absl::Status Manager::WithConnection(const ConnectionFn& fn) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  return lane_.WithConnection(fn, &body_thread_);
}

absl::StatusOr<ReapReport> Manager::RunReaperPass(bool dry_run) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  return lane_.RunReaperPass(dry_run);
}

void Manager::Close() {
  if (!CheckNotInBody().ok()) return;  // the body's connection is in use
  std::lock_guard<std::mutex> lock(mu_);
  lane_.Close(/*report=*/true);
}

absl::Status Manager::Flush(absl::Duration timeout) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  // The bus is thread-safe: other threads' queries go on while the
  // exporters are waited for.
  return parts_.bus.FinishFlush(parts_.bus.StartFlush(timeout));
}

}  // namespace aequor
