#include "core/event_emitter.h"

#include <utility>

#include "api/errors.h"

namespace aequor {

Event EventEmitter::Make(EventKind kind) const {
  Event event;
  event.kind = kind;
  event.time = clock_.Now();
  event.service = service_;
  event.instance = instance_;
  if (const std::string* label = CallLabel::Current()) event.label = *label;
  return event;
}

void EventEmitter::Connected(bool first, absl::Duration took, int attempt) {
  if (!bus_.observed()) return;
  Event event = Make(first ? EventKind::kConnect : EventKind::kReconnect);
  event.duration = took;
  event.attempt = attempt;
  bus_.Emit(event);
}

void EventEmitter::ConnectFailed(absl::Duration took, int attempt, const absl::Status& status) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kConnectError);
  event.duration = took;
  event.attempt = attempt;
  event.sqlstate = SqlState(status);
  event.message = std::string(status.message());
  bus_.Emit(event);
}

void EventEmitter::Disconnected() {
  if (bus_.observed()) bus_.Emit(Make(EventKind::kDisconnect));
}

void EventEmitter::Retry(int attempt, absl::Duration delay, absl::string_view reason,
                         absl::string_view sqlstate) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kRetry);
  event.attempt = attempt;
  event.delay = delay;
  event.message = std::string(reason);
  event.sqlstate = std::string(sqlstate);
  bus_.Emit(event);
}

void EventEmitter::QueryStartSlow(absl::string_view sql) {
  Event event = Make(EventKind::kQueryStart);
  event.sql = std::string(sql);
  bus_.Emit(event);
}

void EventEmitter::QueryEndSlow(absl::string_view sql, int64_t took_ns, int attempt,
                                const QueryResult& result) {
  Event event = Make(EventKind::kQueryEnd);
  event.sql = std::string(sql);
  event.duration = absl::Nanoseconds(took_ns);
  event.attempt = attempt;
  event.rows = result.affected_rows();
  bus_.Emit(event);
}

void EventEmitter::QueryError(absl::string_view sql, absl::Duration took, int attempt,
                              absl::string_view sqlstate, absl::string_view message) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kQueryError);
  event.sql = std::string(sql);
  event.duration = took;
  event.attempt = attempt;
  event.sqlstate = std::string(sqlstate);
  event.message = std::string(message);
  bus_.Emit(event);
}

void EventEmitter::LeaseRenewed(EventSource how) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kLeaseRenewed);
  event.source = how;
  bus_.Emit(event);
}

void EventEmitter::LeaseRenewFailed(absl::string_view message) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kLeaseRenewFailed);
  event.message = std::string(message);
  bus_.Emit(event);
}

void EventEmitter::ClientDead(EventSource how, absl::string_view sqlstate,
                              absl::string_view message) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kClientDead);
  event.source = how;
  event.sqlstate = std::string(sqlstate);
  event.message = std::string(message);
  bus_.Emit(event);
}

void EventEmitter::Reap(EventSource trigger, const ReapReport& report) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kReap);
  event.source = trigger;
  event.duration = report.duration;
  event.message = report.message;
  event.reap = report;
  bus_.Emit(event);
}

void EventEmitter::Degraded(EventSource what, std::string message) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kDegraded);
  event.source = what;
  event.message = std::move(message);
  bus_.Emit(event);
}

void EventEmitter::ClockOffsetMeasured(const ClockOffset& offset, std::string warning) {
  if (!bus_.observed()) return;
  Event event = Make(EventKind::kClockOffset);
  event.clock_offset = offset;
  event.duration = offset.uncertainty * 2;  // the sample's round trip
  event.message = std::move(warning);
  bus_.Emit(event);
}

}  // namespace aequor
