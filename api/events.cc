#include "api/events.h"

namespace aequor {

absl::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kConnect: return "connect";
    case EventKind::kReconnect: return "reconnect";
    case EventKind::kDisconnect: return "disconnect";
    case EventKind::kConnectError: return "connect_error";
    case EventKind::kQueryStart: return "query_start";
    case EventKind::kQueryEnd: return "query_end";
    case EventKind::kQueryError: return "query_error";
    case EventKind::kRetry: return "retry";
    case EventKind::kLeaseRenewed: return "lease_renewed";
    case EventKind::kLeaseRenewFailed: return "lease_renew_failed";
    case EventKind::kReap: return "reap";
    case EventKind::kClientDead: return "client_dead";
    case EventKind::kClockOffset: return "clock_offset";
    case EventKind::kDegraded: return "degraded";
  }
  return "unknown";
}

absl::string_view EventSourceName(EventSource source) {
  switch (source) {
    case EventSource::kNone: return "";
    case EventSource::kThawCheck: return "thaw_check";
    case EventSource::kQuery: return "query";
    case EventSource::kTransaction: return "transaction";
    case EventSource::kCommit: return "commit";
    case EventSource::kReaper: return "reaper";
    case EventSource::kProbe: return "probe";
    case EventSource::kConnect: return "connect";
    case EventSource::kInvocation: return "invocation";
    case EventSource::kEmergency: return "emergency";
    case EventSource::kManual: return "manual";
    case EventSource::kPipeline: return "pipeline";
    case EventSource::kBlocking: return "blocking";
    case EventSource::kStartupOptions: return "startup_options";
    case EventSource::kPooler: return "pooler";
    case EventSource::kPoolLeak: return "pool_leak";
    case EventSource::kPoolMaintenance: return "pool_maintenance";
  }
  return "";
}

std::optional<EventSource> ParseEventSource(absl::string_view name) {
  for (int i = 0; i <= static_cast<int>(EventSource::kPoolMaintenance); ++i) {
    const EventSource source = static_cast<EventSource>(i);
    if (EventSourceName(source) == name) return source;
  }
  return std::nullopt;
}

absl::string_view ReapOutcomeName(ReapOutcome outcome) {
  switch (outcome) {
    case ReapOutcome::kCompleted: return "completed";
    case ReapOutcome::kBusy: return "busy";
    case ReapOutcome::kError: return "error";
  }
  return "unknown";
}

}  // namespace aequor
