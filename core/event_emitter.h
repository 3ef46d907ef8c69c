// core/event_emitter.h (internal): the manager's events, one typed method per
// kind, so that no part of the query path builds an Event by hand.
//
//   EventEmitter events(bus, clock, service, instance);
//   events.LeaseRenewed(EventSource::kPipeline);
//   events.QueryEnd(sql, took_ns, attempt, result);  // the warm path: inline
//
// Each method does nothing when no exporter listens (EventBus::observed()),
// and builds no Event when only the metrics listen to a finished query.
//
// Thread-safety: thread-safe, as the EventBus it wraps (which serialises
// the events of concurrent lanes).
#ifndef AEQUOR_CORE_EVENT_EMITTER_H_
#define AEQUOR_CORE_EVENT_EMITTER_H_

#include <cstdint>
#include <string>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/clock.h"
#include "api/events.h"
#include "api/query_result.h"
#include "core/event_bus.h"

namespace aequor {

// The label of the call running on this thread (QueryOptions::label,
// TransactionOptions::label), which every event the call emits carries
// (Event::label). A lane opens one for each call; an inner call (say, from
// a hook) has its own, and the outer one's comes back when it returns.
// Thread-safety: per thread.
class CallLabel {
 public:
  explicit CallLabel(const std::string& label) : previous_(current_) {
    current_ = label.empty() ? nullptr : &label;
  }
  ~CallLabel() { current_ = previous_; }
  CallLabel(const CallLabel&) = delete;
  CallLabel& operator=(const CallLabel&) = delete;

  // The label of this thread's call; null when none.
  static const std::string* Current() { return current_; }

 private:
  // Inline and constant-initialised: a direct thread-pointer access, no TLS
  // wrapper call on the query path.
  static inline thread_local const std::string* current_ = nullptr;
  const std::string* const previous_;
};

class EventEmitter {
 public:
  EventEmitter(EventBus& bus, Clock& clock, std::string service, std::string instance)
      : bus_(bus), clock_(clock), service_(std::move(service)), instance_(std::move(instance)) {}

  bool observed() const { return bus_.observed(); }

  // A connection opened: kConnect for the first, kReconnect afterwards.
  void Connected(bool first, absl::Duration took, int attempt);
  void ConnectFailed(absl::Duration took, int attempt, const absl::Status& status);
  void Disconnected();
  // An operation will be tried again after `delay`.
  void Retry(int attempt, absl::Duration delay, absl::string_view reason,
             absl::string_view sqlstate);

  void QueryStart(absl::string_view sql) {
    if (bus_.streaming()) QueryStartSlow(sql);
  }
  // A statement succeeded after `took_ns` with `result`. Only the metrics
  // listening: no Event is built, and the command tag is not parsed for
  // the affected rows (about 270 instructions, 1% of a SELECT 1).
  void QueryEnd(absl::string_view sql, int64_t took_ns, int attempt, const QueryResult& result) {
    if (bus_.streaming()) {
      QueryEndSlow(sql, took_ns, attempt, result);
    } else if (bus_.observed()) {
      bus_.RecordQuery(took_ns, /*failed=*/false);
    }
  }
  void QueryError(absl::string_view sql, absl::Duration took, int attempt,
                  absl::string_view sqlstate, absl::string_view message);

  void LeaseRenewed(EventSource how);
  void LeaseRenewFailed(absl::string_view message);
  // The connection was found dead.
  void ClientDead(EventSource how, absl::string_view sqlstate, absl::string_view message);
  void Reap(EventSource trigger, const ReapReport& report);
  // `warning` is empty unless the offset is over the margin.
  void ClockOffsetMeasured(const ClockOffset& offset, std::string warning);
  // A protection is off (`what`: kStartupOptions or kPooler); `message`
  // says why and how to fix it. The caller emits it once.
  void Degraded(EventSource what, std::string message);

 private:
  ABSL_ATTRIBUTE_NOINLINE void QueryStartSlow(absl::string_view sql);
  ABSL_ATTRIBUTE_NOINLINE void QueryEndSlow(absl::string_view sql, int64_t took_ns, int attempt,
                                            const QueryResult& result);
  Event Make(EventKind kind) const;

  EventBus& bus_;
  Clock& clock_;
  const std::string service_;
  const std::string instance_;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_EVENT_EMITTER_H_
