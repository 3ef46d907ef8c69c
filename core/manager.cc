#include "core/manager.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/base/optimization.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/errors.h"
#include "api/lease.h"
#include "core/classify.h"
#include "core/connect_error.h"
#include "core/server_probe.h"

namespace aequor {
namespace {

// What the server told in passing (usage, reapable sessions) is used for
// this long; a warm invocation, which never probes, judges pressure from a
// usage up to kWarmUsageMaxAge old (the count the last pass, probe or
// renewal saw), but never trusts an old "nothing reapable".
constexpr absl::Duration kUsageMaxAge = absl::Seconds(5);
constexpr absl::Duration kWarmUsageMaxAge = absl::Seconds(60);

int64_t WholeSeconds(absl::Duration d) {
  return static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(d)));
}

// The SQLSTATE and message of a failed result (or the connection's message).
struct Failure {
  std::string sqlstate;
  std::string message;
};

Failure ReadFailure(const PGresult* r, const PGconn* conn) {
  Failure f;
  if (r != nullptr) {
    if (const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE)) f.sqlstate = s;
    if (const char* m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)) f.message = m;
  }
  if (f.message.empty()) f.message = pg::ErrorMessage(conn);
  return f;
}

bool Succeeded(const PGresult* r) {
  ExecStatusType s = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK || s == PGRES_EMPTY_QUERY;
}

}  // namespace

std::string BuildStartupOptions(const ManagerOptions& o) {
  std::vector<std::string> parts;
  auto ms = [](absl::Duration d) { return absl::ToInt64Milliseconds(d); };
  if (o.idle_in_transaction_timeout > absl::ZeroDuration()) {
    parts.push_back(absl::StrCat("-c idle_in_transaction_session_timeout=",
                                 ms(o.idle_in_transaction_timeout)));
  }
  if (o.idle_session_timeout > absl::ZeroDuration()) {
    parts.push_back(absl::StrCat("-c idle_session_timeout=", ms(o.idle_session_timeout)));
  }
  if (o.server_keepalives) {
    parts.push_back(absl::StrCat("-c tcp_keepalives_idle=", WholeSeconds(o.keepalives_idle),
                                 " -c tcp_keepalives_interval=",
                                 WholeSeconds(o.keepalives_interval),
                                 " -c tcp_keepalives_count=", o.keepalives_count));
  }
  // The user's own options come last so that their settings win. libpq takes
  // them from the conninfo, else from $PGOPTIONS; giving `options` ourselves
  // would hide both, so both are carried over.
  std::string user;
  if (!o.conninfo.empty()) {
    if (PQconninfoOption* parsed = PQconninfoParse(o.conninfo.c_str(), nullptr)) {
      for (PQconninfoOption* opt = parsed; opt->keyword != nullptr; ++opt) {
        if (std::string(opt->keyword) == "options" && opt->val != nullptr) user = opt->val;
      }
      PQconninfoFree(parsed);
    }
  }
  if (user.empty()) {
    if (const char* env = std::getenv("PGOPTIONS")) user = env;
  }
  if (!user.empty()) parts.push_back(user);
  return absl::StrJoin(parts, " ");
}

Manager::Manager(ManagerParts parts)
    : parts_(std::move(parts)),
      connect_timeout_seconds_(absl::StrCat(WholeSeconds(parts_.options.connect_timeout))),
      quiet_idle_ns_(absl::ToInt64Nanoseconds(
          std::min(parts_.options.thaw_check_after, parts_.options.invocation_gap))),
      events_(std::move(parts_.exporters),
              EventBusOptions{static_cast<size_t>(parts_.options.exporter_queue_capacity),
                              parts_.options.exporter_interval}) {
  const ProbeSettings probe = ProbeSettingsOf(ReaperSettingsFor(false));
  probe_sql_ = ProbeSql(probe, /*check_lock=*/true);
  // A renewal may run inside the caller's transaction: no lock check there.
  renew_sql_ = absl::StrCat("SELECT set_config('application_name', $1, false), p.* FROM (",
                            ProbeSql(probe, /*check_lock=*/false), ") p");
}

Manager::~Manager() {
  std::lock_guard<std::mutex> lock(mu_);
  DropConnectionLocked();
  events_.Shutdown(absl::Seconds(1));
}

Event Manager::MakeEvent(EventKind kind) const {
  Event event;
  event.kind = kind;
  event.time = parts_.clock->Now();
  event.service = parts_.service;
  event.instance = parts_.instance;
  return event;
}

ReaperSettings Manager::ReaperSettingsFor(bool dry_run) const {
  return ReaperSettingsFromOptions(parts_.options, parts_.service, dry_run);
}

bool Manager::connected() const {
  // Inside a RunTransaction body this thread already holds mu_.
  if (CheckNotInBody().ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    return conn_ != nullptr && PQstatus(conn_.get()) == CONNECTION_OK;
  }
  return conn_ != nullptr &&
         PQstatus(conn_.get()) == CONNECTION_OK;
}

std::string Manager::application_name() const {
  if (CheckNotInBody().ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    return conn_ != nullptr ? application_name_ : std::string();
  }
  return conn_ != nullptr ? application_name_
                                                  : std::string();
}

absl::Status Manager::Connect() {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  return EnsureConnectedLocked(parts_.clock->MonotonicNow() + parts_.options.connect_budget);
}

absl::StatusOr<std::string> Manager::NewLeaseLocked() {
  if (parts_.signer == nullptr) return std::string();
  // Compensated by this host's measured offset to the server's clock, so that
  // the server never sees the lease expire early (absl::Time saturates).
  const int64_t expires_ms = absl::ToUnixMillis(parts_.clock->Now() + parts_.options.lease_ttl +
                                                lease_compensation_);
  absl::StatusOr<std::string> lease =
      SignLease(*parts_.signer, parts_.service, parts_.instance, expires_ms);
  if (!lease.ok()) {
    return absl::Status(lease.status().code(),
                        absl::StrCat("signing the lease: ", lease.status().message()));
  }
  return lease;
}

// Renewal is timed on the monotonic clock from when the lease was signed, so
// a wall-clock step cannot make the manager skip or repeat renewals.
void Manager::SetLeaseLocked(std::string lease, int64_t signed_at_ns) {
  application_name_ = std::move(lease);
  if (parts_.signer == nullptr) {
    lease_renew_at_ns_ = lease_block_at_ns_ = kNever;
    return;
  }
  const ManagerOptions& o = parts_.options;
  // The options are validated (renew/block before < ttl <= a day), so these
  // sums cannot overflow.
  lease_renew_at_ns_ = signed_at_ns + absl::ToInt64Nanoseconds(o.lease_ttl - o.lease_renew_before);
  lease_block_at_ns_ = signed_at_ns + absl::ToInt64Nanoseconds(o.lease_ttl - o.lease_block_before);
}

bool Manager::BackoffLocked(int retry, absl::Time deadline, absl::Duration& previous,
                            absl::string_view reason, absl::string_view sqlstate) {
  std::optional<absl::Duration> delay =
      parts_.retry_policy->NextDelay(RetryState{retry, previous}, *parts_.random);
  if (!delay.has_value()) return false;
  const absl::Duration left = deadline - parts_.clock->MonotonicNow();
  if (left <= absl::ZeroDuration()) return false;
  absl::Duration sleep = std::min(*delay, left);
  previous = *delay;
  if (events_.observed()) {
    Event event = MakeEvent(EventKind::kRetry);
    event.attempt = retry + 1;
    event.delay = sleep;
    event.message = std::string(reason);
    event.sqlstate = std::string(sqlstate);
    events_.Emit(event);
  }
  parts_.clock->SleepFor(sleep);
  return parts_.clock->MonotonicNow() < deadline;
}

absl::Status Manager::EnsureConnectedLocked(absl::Time deadline) {
  if (conn_ != nullptr && PQstatus(conn_.get()) == CONNECTION_OK) return absl::OkStatus();
  DropConnectionLocked();
  absl::Duration previous;
  bool emergency_tried = false;
  bool refused_full = false;   // some attempt met a full database (53300)
  bool housekeeping_done = false;
  for (int attempt = 1;; ++attempt) {
    absl::Status s = ConnectOnceLocked(attempt);
    if (s.ok()) {
      // The connect-time probe and pass, once per call. They may lose the
      // connection they just opened (a restart, a kill, a pass cut off by
      // its timeouts): then connect again, so that the caller always gets a
      // live connection or an error, never a missing one.
      if (housekeeping_done) return absl::OkStatus();
      housekeeping_done = true;
      MaybeReapLocked(ReapTrigger::kConnect, refused_full);
      if (conn_ != nullptr) return absl::OkStatus();
      if (parts_.clock->MonotonicNow() >= deadline) {
        return absl::UnavailableError(
            "connect: the connection was lost right after it opened (during the connect-time "
            "reaper pass or probe), and the connect budget is spent");
      }
      continue;
    }
    FailureFacts facts;
    facts.phase = Phase::kConnect;
    facts.status = s;
    if (Classify(facts) != Verdict::kRetry) return s;
    if (SqlState(s) == "53300") refused_full = true;
    // A full database: free it with the emergency pass, then try at once.
    if (SqlState(s) == "53300" && !emergency_tried && !parts_.options.reaper_conninfo.empty() &&
        parts_.signer != nullptr) {
      emergency_tried = true;
      std::optional<ReapReport> report = EmergencyReapLocked();
      if (report.has_value() && report->killed > 0 &&
          parts_.clock->MonotonicNow() < deadline) {
        continue;
      }
    }
    if (!BackoffLocked(attempt, deadline, previous, s.message(), SqlState(s))) return s;
    if (SqlState(s) == "53300") emergency_tried = false;  // zombies may have expired since
  }
}

absl::Status Manager::ConnectOnceLocked(int attempt) {
  absl::StatusOr<std::string> lease = NewLeaseLocked();
  if (!lease.ok()) return lease.status();

  // The user's conninfo comes first and is expanded (expand_dbname = 1); the
  // entries after it override what it says, so the lease wins over any
  // application_name the user gave.
  const char* keywords[5];
  const char* values[5];
  int n = 0;
  if (!parts_.options.conninfo.empty()) {
    keywords[n] = "dbname";
    values[n++] = parts_.options.conninfo.c_str();
  }
  keywords[n] = "connect_timeout";
  values[n++] = connect_timeout_seconds_.c_str();
  if (!parts_.startup_options.empty()) {
    keywords[n] = "options";
    values[n++] = parts_.startup_options.c_str();
  }
  if (!lease->empty()) {
    keywords[n] = "application_name";
    values[n++] = lease->c_str();
  }
  keywords[n] = nullptr;
  values[n] = nullptr;

  const int64_t start_ns = parts_.clock->MonotonicNanos();
  pg::Conn conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  const int64_t end_ns = parts_.clock->MonotonicNanos();
  const absl::Duration took = absl::Nanoseconds(end_ns - start_ns);
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("connect failed: libpq could not allocate a connection");
  }
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    absl::Status status = ConnectFailureStatus(pg::ErrorMessage(conn.get()));
    if (events_.observed()) {
      Event event = MakeEvent(EventKind::kConnectError);
      event.duration = took;
      event.attempt = attempt;
      event.sqlstate = SqlState(status);
      event.message = std::string(status.message());
      events_.Emit(event);
    }
    return status;
  }
  conn_ = std::move(conn);
  // libpq's default notice processor prints to the host's stderr; keep the
  // server's last word instead (e.g. the FATAL sent before it closed an idle
  // connection) for the client_dead event.
  last_notice_.clear();
  PQsetNoticeProcessor(conn_.get(), &Manager::OnNotice, this);
  SetLeaseLocked(*std::move(lease), start_ns);
  last_used_ns_ = end_ns;
  ++connects_;
  if (events_.observed()) {
    Event event = MakeEvent(connects_ == 1 ? EventKind::kConnect : EventKind::kReconnect);
    event.duration = took;
    event.attempt = attempt;
    events_.Emit(event);
  }
  return absl::OkStatus();
}

std::optional<ReapReport> Manager::EmergencyReapLocked() {
  const char* keywords[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const std::string name = absl::StrCat("aequor-reaper:", parts_.service);
  const char* values[] = {parts_.options.reaper_conninfo.c_str(),
                          connect_timeout_seconds_.c_str(), name.c_str(), nullptr};
  pg::Conn conn(PQconnectdbParams(keywords, values, 1));
  if (conn != nullptr) PQsetNoticeProcessor(conn.get(), &Manager::IgnoreNotice, nullptr);
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    if (events_.observed()) {
      Event event = MakeEvent(EventKind::kReap);
      event.source = "emergency";
      event.reap.outcome = ReapOutcome::kError;
      event.reap.message = absl::StrCat("reaper connection failed: ",
                                        ConnectFailureStatus(pg::ErrorMessage(conn.get())).message());
      event.message = event.reap.message;
      events_.Emit(event);
    }
    return std::nullopt;
  }
  return RunPassLocked(conn.get(), /*dry_run=*/false, /*under_pressure=*/true, "emergency");
}

ReapReport Manager::RunPassLocked(PGconn* conn, bool dry_run, bool under_pressure,
                                  absl::string_view source, std::optional<double> known_usage) {
  ReaperSettings settings = ReaperSettingsFor(dry_run);
  settings.under_pressure = under_pressure;
  // Usage known a moment ago (the connect-time probe): not read again.
  settings.read_usage = !known_usage.has_value();
  ReapReport report = ::aequor::RunReaperPass(conn, settings, *parts_.signer, *parts_.clock);
  if (!report.connection_usage.has_value()) report.connection_usage = known_usage;
  if (events_.observed()) {
    Event event = MakeEvent(EventKind::kReap);
    event.source = std::string(source);
    event.duration = report.duration;
    event.message = report.message;
    event.reap = report;
    events_.Emit(event);
  }
  // What the pass saw is fresh knowledge (for the emergency pass, of the
  // same database through another role: its usage is not this role's).
  if (conn == conn_.get()) {
    if (report.connection_usage.has_value()) {
      usage_ = report.connection_usage;
      usage_at_ = parts_.clock->MonotonicNow();
      // A completed pass killed what it could; what is left over the limit
      // (or changed under it) is still there. Busy or failed: unknown.
      reapable_ = report.outcome == ReapOutcome::kCompleted
                      ? std::optional<int>(std::max(0, report.candidates - report.killed))
                      : std::nullopt;
      // A completed pass held the lock; a busy one says so.
      lock_busy_ = report.outcome == ReapOutcome::kBusy;
    }
    if (report.clock_offset.has_value()) ObserveClockLocked(*report.clock_offset);
  }
  return report;
}

void Manager::ObserveProbeLocked(const ProbeReading& reading, absl::Time sent,
                                 absl::Time received) {
  if (reading.usage.has_value()) {
    usage_ = reading.usage;
    reapable_ = reading.reapable;
    lock_busy_ = reading.lock_busy.value_or(false);
    usage_at_ = parts_.clock->MonotonicNow();
  }
  if (reading.server_us.has_value()) {
    ObserveClockLocked(OffsetFromSample(*reading.server_us, sent, received));
  }
}

void Manager::ObserveClockLocked(const ClockOffset& offset) {
  lease_compensation_ = LeaseCompensation(offset);
  const absl::Duration margin = parts_.options.reap_clock_skew;
  const bool over = absl::AbsDuration(offset.offset) > margin;
  // Reported when first measured, when it moved by more than a tenth of the
  // margin (at least 1 ms) since the last report, and whenever it is over.
  const bool moved =
      !reported_offset_.has_value() ||
      absl::AbsDuration(offset.offset - *reported_offset_) >
          std::max(absl::Milliseconds(1), margin / 10);
  if (!over && !moved) return;
  reported_offset_ = offset.offset;
  if (!events_.observed()) return;
  Event event = MakeEvent(EventKind::kClockOffset);
  event.clock_offset = offset;
  event.duration = offset.uncertainty * 2;  // the sample's round trip
  if (over) {
    event.message = absl::StrCat(
        "this host's clock is ", absl::FormatDuration(absl::AbsDuration(offset.offset)),
        offset.offset > absl::ZeroDuration() ? " behind" : " ahead of",
        " the server's, more than reap_clock_skew (", absl::FormatDuration(margin),
        "); later leases are compensated, but synchronise this host's clock (NTP, chrony)");
  }
  events_.Emit(event);
}

void Manager::ProbeLocked() {
  const absl::Time sent = parts_.clock->Now();
  pg::Result r(PQexec(conn_.get(), probe_sql_.c_str()));
  const absl::Time received = parts_.clock->Now();
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) return;
  ObserveProbeLocked(ReadProbe(r.get(), 0, 0), sent, received);
}

void Manager::MaybeReapLocked(ReapTrigger trigger, bool database_full) {
  if (parts_.signer == nullptr || conn_ == nullptr ||
      PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
    return;
  }
  const absl::Time now = parts_.clock->MonotonicNow();
  const bool fresh = usage_.has_value() && now - usage_at_ < kUsageMaxAge;
  // Only a new connection probes; warm invocations use what is known.
  if (trigger == ReapTrigger::kConnect && !fresh && parts_.scheduler->WantsConnectionUsage()) {
    ProbeLocked();
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      ReportDeadLocked("probe", "", pg::ErrorMessage(conn_.get()));
      DropConnectionLocked();
      return;
    }
  }
  ScheduleInput input;
  input.trigger = trigger;
  input.now = parts_.clock->MonotonicNow();
  input.database_full = database_full;
  const absl::Duration age = input.now - usage_at_;
  if (usage_.has_value() && age < kUsageMaxAge) {
    input.connection_usage = usage_;
    input.reapable = reapable_;
    input.reaper_lock_busy = lock_busy_;
  } else if (usage_.has_value() && trigger == ReapTrigger::kInvocation &&
             age < kWarmUsageMaxAge) {
    input.connection_usage = usage_;
  }
  input.under_pressure =
      database_full || (input.connection_usage.has_value() &&
                        *input.connection_usage >= parts_.options.reap_pressure_threshold);
  if (!parts_.scheduler->ShouldRun(input)) return;
  ReapReport report = RunPassLocked(
      conn_.get(), /*dry_run=*/false, input.under_pressure,
      trigger == ReapTrigger::kConnect ? "connect" : "invocation",
      age < kUsageMaxAge ? usage_ : std::nullopt);
  parts_.scheduler->OnPassFinished(report.outcome, parts_.clock->MonotonicNow());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    ReportDeadLocked("reaper", "", report.message);
    DropConnectionLocked();
  }
}

absl::StatusOr<ReapReport> Manager::RunReaperPass(bool dry_run) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (parts_.signer == nullptr) {
    return absl::FailedPreconditionError(
        "reaper pass: leases are off (no coordination secret), so there is nothing to verify");
  }
  if (absl::Status s =
          EnsureConnectedLocked(parts_.clock->MonotonicNow() + parts_.options.connect_budget);
      !s.ok()) {
    return s;
  }
  ReapReport report = RunPassLocked(conn_.get(), dry_run, /*under_pressure=*/false, "manual");
  if (PQstatus(conn_.get()) != CONNECTION_OK) DropConnectionLocked();
  return report;
}

bool Manager::ConnectionLooksDeadLocked() {
  if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) return true;
  const int fd = PQsocket(conn_.get());
  if (fd < 0) return true;
  // A server that closes an idle connection first writes a FATAL message,
  // then closes the socket, and the close can come a few milliseconds later
  // (see docs/POSTGRES_FACTS.md). PQconsumeInput hands that message, read
  // while no query is running, to the notice processor (OnNotice) and may
  // still leave CONNECTION_OK; a later call sees the end of the stream. So a
  // FATAL notice is as good as the close itself: nothing may be sent then.
  last_notice_.clear();
  for (int i = 0; i < 4; ++i) {
    struct pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    if (!PQconsumeInput(conn_.get()) || PQstatus(conn_.get()) != CONNECTION_OK) return true;
    if (absl::StartsWith(last_notice_, "FATAL") || absl::StartsWith(last_notice_, "PANIC")) {
      return true;
    }
    while (PGnotify* n = PQnotifies(conn_.get())) PQfreemem(n);
  }
  return PQstatus(conn_.get()) != CONNECTION_OK;
}

absl::Status Manager::RenewLeaseBlockingLocked() {
  absl::StatusOr<std::string> lease = NewLeaseLocked();
  if (!lease.ok()) return lease.status();
  const char* values[] = {lease->c_str()};
  PGconn* conn = conn_.get();
  const int64_t signed_at_ns = parts_.clock->MonotonicNanos();
  const absl::Time deadline = parts_.clock->MonotonicNow() + parts_.options.lease_renew_timeout;
  const absl::Time sent = parts_.clock->Now();
  absl::Time received_at = sent;
  ProbeReading reading;
  absl::Status failure;
  if (!PQsendQueryParams(conn, renew_sql_.c_str(), 1, nullptr, values, nullptr, nullptr, 0)) {
    failure = absl::UnavailableError(pg::ErrorMessage(conn));
  }
  while (failure.ok() && PQisBusy(conn)) {
    const absl::Duration left = deadline - parts_.clock->MonotonicNow();
    if (left <= absl::ZeroDuration()) {
      failure = absl::DeadlineExceededError("lease renewal timed out");
      break;
    }
    struct pollfd p = {PQsocket(conn), POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left))));
    if (ready < 0 && errno != EINTR) failure = absl::UnavailableError("poll failed");
    if (ready > 0 && !PQconsumeInput(conn)) failure = absl::UnavailableError(pg::ErrorMessage(conn));
  }
  if (failure.ok()) {
    pg::Result r(PQgetResult(conn));
    const absl::Time received = parts_.clock->Now();
    if (!Succeeded(r.get())) {
      Failure f = ReadFailure(r.get(), conn);
      failure = StatusFromSqlState(f.sqlstate, f.message);
    } else {
      reading = ReadProbe(r.get(), 0, 1);
      received_at = received;
    }
    while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
  }
  if (failure.ok() && PQstatus(conn) == CONNECTION_OK) {
    SetLeaseLocked(*std::move(lease), signed_at_ns);
    if (events_.observed()) {
      Event event = MakeEvent(EventKind::kLeaseRenewed);
      event.source = "blocking";
      events_.Emit(event);
    }
    ObserveProbeLocked(reading, sent, received_at);
    return absl::OkStatus();
  }
  if (failure.ok()) failure = absl::UnavailableError(pg::ErrorMessage(conn));
  if (events_.observed()) {
    Event event = MakeEvent(EventKind::kLeaseRenewFailed);
    event.message = std::string(failure.message());
    events_.Emit(event);
  }
  // Nothing of the caller's was sent: drop the connection and let the caller
  // reconnect with a fresh lease rather than run on an expiring one.
  DropConnectionLocked();
  return failure;
}

absl::Status Manager::CheckNotInBody() const {
  if (body_thread_.load() == std::this_thread::get_id()) {
    return absl::FailedPreconditionError(
        "called from inside a RunTransaction body; use the Transaction it was given");
  }
  return absl::OkStatus();
}

absl::Status Manager::PrepareLocked(absl::Time deadline, bool first_attempt, int64_t now_ns,
                                    bool* renew_in_pipeline) {
  *renew_in_pipeline = false;
  if (first_attempt && conn_ != nullptr) {
    const absl::Duration idle = absl::Nanoseconds(now_ns - last_used_ns_);
    // Was the connection closed while we were idle (or frozen)?
    if (idle >= parts_.options.thaw_check_after && ConnectionLooksDeadLocked()) {
      ReportDeadLocked("thaw_check", "",
                       last_notice_.empty() ? pg::ErrorMessage(conn_.get()) : last_notice_);
      DropConnectionLocked();
    } else if (idle >= parts_.options.invocation_gap) {
      MaybeReapLocked(ReapTrigger::kInvocation, /*database_full=*/false);  // a warm invocation
    }
  }
  if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) {
    if (absl::Status s = EnsureConnectedLocked(deadline); !s.ok()) return s;
    now_ns = parts_.clock->MonotonicNanos();
  }
  // The lease: renewed alone when about to run out, else with the statement.
  if (now_ns >= lease_block_at_ns_) {
    if (!RenewLeaseBlockingLocked().ok()) return EnsureConnectedLocked(deadline);
  } else if (now_ns >= lease_renew_at_ns_) {
    *renew_in_pipeline = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<QueryResult> Manager::Query(absl::string_view sql, absl::Span<const Param> params,
                                           const QueryOptions& options) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  // A warm query reads the clock twice and otherwise only integers, and its
  // code is this loop; whatever is rare (events for streaming exporters,
  // preparation, the pipelined renewal, failures) is out of line
  // (docs/BENCHMARKS.md, "The query path").
  const int64_t start_ns = parts_.clock->MonotonicNanos();

  // libpq needs NUL-terminated text: a short statement is copied on the
  // stack.
  char inline_sql[256];
  std::string heap_sql;
  const char* statement;
  if (ABSL_PREDICT_TRUE(sql.size() < sizeof(inline_sql))) {
    std::memcpy(inline_sql, sql.data(), sql.size());
    inline_sql[sql.size()] = '\0';
    statement = inline_sql;
  } else {
    heap_sql.assign(sql.data(), sql.size());
    statement = heap_sql.c_str();
  }
  constexpr size_t kInlineParams = 16;
  const char* inline_values[kInlineParams];
  std::vector<const char*> heap_values;
  const char** values = inline_values;
  if (ABSL_PREDICT_FALSE(params.size() > kInlineParams)) {
    heap_values.resize(params.size());
    values = heap_values.data();
  }
  for (size_t i = 0; i < params.size(); ++i) values[i] = params[i].c_str();
  const int n_params = static_cast<int>(params.size());

  absl::Duration previous_delay;
  for (int attempt = 1;; ++attempt) {
    bool renew_in_pipeline = false;
    int64_t now_ns = start_ns;
    if (attempt > 1 || ABSL_PREDICT_FALSE(!ReadyLocked(start_ns))) {
      if (attempt > 1) now_ns = parts_.clock->MonotonicNanos();
      if (absl::Status s = PrepareLocked(QueryDeadline(start_ns), attempt == 1, now_ns,
                                         &renew_in_pipeline);
          !s.ok()) {
        return s;
      }
    }
    if (events_.streaming() && attempt == 1) EmitQueryStartLocked(sql);

    PGconn* conn = conn_.get();
    const PGTransactionStatusType before = PQtransactionStatus(conn);
    pg::Result result;
    bool nothing_ran = false;  // provably: the pipeline aborted before the query
    if (ABSL_PREDICT_FALSE(renew_in_pipeline)) {
      absl::Status signing;
      result = ExecWithRenewalLocked(statement, n_params, values, now_ns, &nothing_ran, &signing);
      if (!signing.ok()) return signing;
    } else {
      result.reset(PQexecParams(conn, statement, n_params, nullptr, values, nullptr, nullptr, 0));
    }

    if (ABSL_PREDICT_TRUE(Succeeded(result.get()))) {
      last_used_ns_ = parts_.clock->MonotonicNanos();
      QueryResult rows(result.release());
      if (events_.streaming()) {
        EmitQueryEndLocked(sql, last_used_ns_ - start_ns, attempt, rows.affected_rows());
      } else if (events_.observed()) {
        // Only the metrics listen: what this kQueryEnd would tell them.
        events_.RecordQuery(last_used_ns_ - start_ns, /*failed=*/false);
      }
      return rows;
    }
    absl::Status error;
    if (!RetryAfterFailureLocked(sql, options, conn, result.get(), before, nothing_ran, attempt,
                                 start_ns, previous_delay, &error)) {
      return error;
    }
  }
}

absl::Time Manager::QueryDeadline(int64_t start_ns) const {
  return absl::FromUnixNanos(start_ns) + parts_.options.query_budget;
}

void Manager::EmitQueryStartLocked(absl::string_view sql) {
  Event event = MakeEvent(EventKind::kQueryStart);
  event.sql = std::string(sql);
  events_.Emit(event);
}

void Manager::EmitQueryEndLocked(absl::string_view sql, int64_t took_ns, int attempt,
                                 int64_t rows) {
  Event event = MakeEvent(EventKind::kQueryEnd);
  event.sql = std::string(sql);
  event.duration = absl::Nanoseconds(took_ns);
  event.attempt = attempt;
  event.rows = rows;
  events_.Emit(event);
}

pg::Result Manager::ExecWithRenewalLocked(const char* statement, int n_params,
                                          const char* const* values, int64_t now_ns,
                                          bool* nothing_ran, absl::Status* signing) {
  PGconn* conn = conn_.get();
  absl::StatusOr<std::string> lease = NewLeaseLocked();
  if (!lease.ok()) {
    *signing = lease.status();
    return pg::Result();
  }
  const char* lease_value[] = {lease->c_str()};
  const absl::Time sent_at = parts_.clock->Now();
  bool sent = PQenterPipelineMode(conn) &&
              PQsendQueryParams(conn, renew_sql_.c_str(), 1, nullptr, lease_value, nullptr,
                                nullptr, 0) &&
              PQsendQueryParams(conn, statement, n_params, nullptr, values, nullptr, nullptr, 0) &&
              PQpipelineSync(conn);
  pg::Result renewal;
  pg::Result result;
  absl::Time received_at = sent_at;
  if (sent) {
    renewal.reset(PQgetResult(conn));
    received_at = parts_.clock->Now();
    while (PGresult* rest = PQgetResult(conn)) PQclear(rest);  // up to the NULL
    result.reset(PQgetResult(conn));
    while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
    pg::Result sync(PQgetResult(conn));  // PGRES_PIPELINE_SYNC
  }
  if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF) PQexitPipelineMode(conn);
  if (Succeeded(renewal.get())) {
    SetLeaseLocked(*std::move(lease), now_ns);
    if (events_.observed()) {
      Event event = MakeEvent(EventKind::kLeaseRenewed);
      event.source = "pipeline";
      events_.Emit(event);
    }
    ObserveProbeLocked(ReadProbe(renewal.get(), 0, 1), sent_at, received_at);
    return result;
  }
  if (events_.observed()) {
    Event event = MakeEvent(EventKind::kLeaseRenewFailed);
    event.message = ReadFailure(renewal.get(), conn).message;
    events_.Emit(event);
  }
  // A failed renewal aborts the rest of the pipeline: the query never ran.
  if (result == nullptr || PQresultStatus(result.get()) == PGRES_PIPELINE_ABORTED) {
    *nothing_ran = true;
    result.reset();
    if (PQstatus(conn) == CONNECTION_OK) {
      result.reset(PQexecParams(conn, statement, n_params, nullptr, values, nullptr, nullptr, 0));
      *nothing_ran = false;
    }
  }
  return result;
}

bool Manager::RetryAfterFailureLocked(absl::string_view sql, const QueryOptions& options,
                                      PGconn* conn, const PGresult* result,
                                      PGTransactionStatusType before, bool nothing_ran,
                                      int attempt, int64_t start_ns,
                                      absl::Duration& previous_delay, absl::Status* error) {
  Failure f = ReadFailure(result, conn);
  FailureFacts facts;
  facts.phase = Phase::kStatement;
  facts.connection_lost = PQstatus(conn) != CONNECTION_OK;
  facts.nothing_sent = nothing_ran;
  facts.idempotent = options.idempotent;
  facts.in_transaction = before == PQTRANS_INTRANS || before == PQTRANS_INERROR;
  facts.is_commit = LooksLikeCommit(sql);
  facts.status = StatusFromSqlState(
      f.sqlstate, facts.connection_lost ? absl::StrCat("connection lost: ", f.message) : f.message,
      facts.connection_lost ? absl::StatusCode::kUnavailable : absl::StatusCode::kInternal);
  const Verdict verdict = Classify(facts);
  if (facts.connection_lost) {
    ReportDeadLocked("query", f.sqlstate, f.message);
    DropConnectionLocked();  // `conn` is gone from here on
  } else {
    last_used_ns_ = parts_.clock->MonotonicNanos();
  }
  if (verdict == Verdict::kRetry &&
      BackoffLocked(attempt, QueryDeadline(start_ns), previous_delay, f.message, f.sqlstate)) {
    return true;
  }
  *error = facts.status;
  if (verdict == Verdict::kOutcomeUnknown) {
    *error = absl::UnknownError(absl::StrCat(
        "connection lost while the statement was in flight; it may or may not have "
        "taken effect (outcome unknown): ",
        f.message));
    error->SetPayload(kOutcomeUnknownPayload, absl::Cord("1"));
    if (!f.sqlstate.empty()) error->SetPayload(kSqlStatePayload, absl::Cord(f.sqlstate));
  }
  if (events_.observed()) {
    Event event = MakeEvent(EventKind::kQueryError);
    event.sql = std::string(sql);
    event.duration = absl::Nanoseconds(parts_.clock->MonotonicNanos() - start_ns);
    event.attempt = attempt;
    event.sqlstate = f.sqlstate;
    event.message = f.message;
    events_.Emit(event);
  }
  return false;
}

// The Transaction handed to a RunTransaction body. Runs on the body's thread,
// which holds the manager's lock.
class ManagerTransaction final : public Transaction {
 public:
  explicit ManagerTransaction(Manager& manager) : manager_(manager) {}

  absl::StatusOr<QueryResult> Query(absl::string_view sql,
                                    absl::Span<const Param> params) override {
    if (!first_error_.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the transaction already failed (", first_error_.message(),
          "); return from the body to roll back"));
    }
    absl::StatusOr<QueryResult> r =
        manager_.TransactionQueryLocked(sql, params, connection_lost_);
    if (!r.ok()) first_error_ = r.status();
    return r;
  }

  const absl::Status& first_error() const { return first_error_; }
  bool connection_lost() const { return connection_lost_; }

 private:
  Manager& manager_;
  absl::Status first_error_;
  bool connection_lost_ = false;
};

absl::StatusOr<QueryResult> Manager::TransactionQueryLocked(absl::string_view sql,
                                                            absl::Span<const Param> params,
                                                            bool& lost) {
  const std::string statement(sql);
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) values[i] = params[i].c_str();
  const bool observed = events_.observed();
  const absl::Time start = parts_.clock->MonotonicNow();
  if (events_.streaming()) {
    Event event = MakeEvent(EventKind::kQueryStart);
    event.sql = statement;
    events_.Emit(event);
  }
  PGconn* conn = conn_.get();
  pg::Result r(PQexecParams(conn, statement.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
  if (Succeeded(r.get())) {
    QueryResult rows(r.release());
    if (observed) {
      Event event = MakeEvent(EventKind::kQueryEnd);
      event.sql = statement;
      event.duration = parts_.clock->MonotonicNow() - start;
      event.rows = rows.affected_rows();
      events_.Emit(event);
    }
    return rows;
  }
  Failure f = ReadFailure(r.get(), conn);
  lost = PQstatus(conn) != CONNECTION_OK;
  if (observed) {
    Event event = MakeEvent(EventKind::kQueryError);
    event.sql = statement;
    event.duration = parts_.clock->MonotonicNow() - start;
    event.sqlstate = f.sqlstate;
    event.message = f.message;
    events_.Emit(event);
  }
  return StatusFromSqlState(f.sqlstate, lost ? absl::StrCat("connection lost: ", f.message) : f.message,
                            lost ? absl::StatusCode::kUnavailable : absl::StatusCode::kInternal);
}

std::string Manager::ResolveXidLocked(const std::string& xid, absl::Time deadline) {
  // The old backend may still be finishing the commit: "in progress" is
  // asked again until the deadline.
  while (parts_.clock->MonotonicNow() < deadline) {
    if (!EnsureConnectedLocked(deadline).ok()) return "";
    const char* values[] = {xid.c_str()};
    pg::Result r(PQexecParams(conn_.get(), "SELECT pg_xact_status($1::xid8)", 1, nullptr, values,
                              nullptr, nullptr, 0));
    if (!Succeeded(r.get()) || PQntuples(r.get()) != 1) {
      if (PQstatus(conn_.get()) != CONNECTION_OK) {
        DropConnectionLocked();
        continue;
      }
      return "";
    }
    if (PQgetisnull(r.get(), 0, 0)) return "";  // too old to know
    std::string status = PQgetvalue(r.get(), 0, 0);
    if (status != "in progress") return status;
    parts_.clock->SleepFor(absl::Milliseconds(20));
  }
  return "";
}

absl::Status Manager::RunTransaction(const TransactionBody& body,
                                     const TransactionOptions& options) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  if (!options.isolation.empty() && options.isolation != "read committed" &&
      options.isolation != "repeatable read" && options.isolation != "serializable") {
    return absl::InvalidArgumentError(absl::StrCat(
        "TransactionOptions.isolation: must be \"\", \"read committed\", \"repeatable read\" "
        "or \"serializable\", got \"",
        options.isolation, "\""));
  }
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t start_ns = parts_.clock->MonotonicNanos();
  const absl::Time deadline = QueryDeadline(start_ns);
  std::string begin = "BEGIN";
  if (!options.isolation.empty()) absl::StrAppend(&begin, " ISOLATION LEVEL ", options.isolation);
  if (options.read_only) absl::StrAppend(&begin, " READ ONLY");
  if (options.resolve_outcome) absl::StrAppend(&begin, "; SELECT pg_current_xact_id()::text");

  absl::Duration previous_delay;
  for (int attempt = 1;; ++attempt) {
    bool renew_in_pipeline = false;
    const int64_t now_ns = attempt == 1 ? start_ns : parts_.clock->MonotonicNanos();
    if (absl::Status s = PrepareLocked(deadline, attempt == 1, now_ns, &renew_in_pipeline);
        !s.ok()) {
      return s;
    }
    if (renew_in_pipeline && !RenewLeaseBlockingLocked().ok()) {
      if (absl::Status s = EnsureConnectedLocked(deadline); !s.ok()) return s;
    }
    PGconn* conn = conn_.get();
    FailureFacts facts;
    facts.phase = Phase::kTransactionBody;
    std::string xid;

    pg::Result began(PQexec(conn, begin.c_str()));
    if (!Succeeded(began.get())) {
      Failure f = ReadFailure(began.get(), conn);
      facts.connection_lost = PQstatus(conn) != CONNECTION_OK;
      facts.status = StatusFromSqlState(f.sqlstate, f.message, absl::StatusCode::kUnavailable);
    } else {
      if (options.resolve_outcome && PQntuples(began.get()) == 1) {
        xid = PQgetvalue(began.get(), 0, 0);
      }
      ManagerTransaction tx(*this);
      absl::Status body_status;
      body_thread_.store(std::this_thread::get_id());
      try {
        body_status = body(tx);
      } catch (const std::exception& e) {
        body_status = absl::InternalError(absl::StrCat("the transaction body threw: ", e.what()));
      } catch (...) {
        body_status = absl::InternalError("the transaction body threw");
      }
      body_thread_.store(std::thread::id());
      if (body_status.ok() && !tx.first_error().ok()) {
        // The body swallowed an error: the server aborted the transaction.
        body_status = tx.first_error();
      }
      if (!body_status.ok()) {
        facts.connection_lost = tx.connection_lost() || PQstatus(conn) != CONNECTION_OK;
        // Retry on what the server said, not on the body's own errors.
        facts.status = tx.first_error().ok() ? body_status : tx.first_error();
        if (!facts.connection_lost) PQclear(PQexec(conn, "ROLLBACK"));
        if (tx.first_error().ok()) {
          last_used_ns_ = parts_.clock->MonotonicNanos();
          return body_status;
        }
      } else {
        facts.phase = Phase::kCommit;
        pg::Result commit(PQexec(conn, "COMMIT"));
        if (Succeeded(commit.get())) {
          last_used_ns_ = parts_.clock->MonotonicNanos();
          if (std::string(PQcmdStatus(commit.get())) == "COMMIT") return absl::OkStatus();
          return absl::AbortedError("the transaction was rolled back by the server at COMMIT");
        }
        Failure f = ReadFailure(commit.get(), conn);
        facts.connection_lost = PQstatus(conn) != CONNECTION_OK;
        facts.status = StatusFromSqlState(f.sqlstate, f.message, absl::StatusCode::kUnavailable);
      }
    }

    if (facts.connection_lost) {
      ReportDeadLocked(facts.phase == Phase::kCommit ? "commit" : "transaction",
                       SqlState(facts.status), facts.status.message());
      DropConnectionLocked();
    } else {
      last_used_ns_ = parts_.clock->MonotonicNanos();
    }
    Verdict verdict = Classify(facts);
    if (verdict == Verdict::kOutcomeUnknown && !xid.empty()) {
      const std::string fate = ResolveXidLocked(xid, deadline);
      if (fate == "committed") return absl::OkStatus();
      if (fate == "aborted") verdict = Verdict::kRetry;
    }
    if (verdict == Verdict::kRetry &&
        BackoffLocked(attempt, deadline, previous_delay, facts.status.message(),
                      SqlState(facts.status))) {
      continue;
    }
    if (verdict == Verdict::kOutcomeUnknown) {
      absl::Status error = absl::UnknownError(absl::StrCat(
          "connection lost after COMMIT was sent; the transaction may or may not have "
          "committed (outcome unknown",
          xid.empty() ? "" : absl::StrCat(", xid ", xid), "): ", facts.status.message()));
      error.SetPayload(kOutcomeUnknownPayload, absl::Cord("1"));
      return error;
    }
    return facts.status;
  }
}

void Manager::ReportDeadLocked(absl::string_view source, absl::string_view sqlstate,
                               absl::string_view message) {
  if (!events_.observed()) return;
  Event event = MakeEvent(EventKind::kClientDead);
  event.source = std::string(source);
  event.sqlstate = std::string(sqlstate);
  event.message = std::string(message);
  events_.Emit(event);
}

void Manager::OnNotice(void* self, const char* message) {
  // Called by libpq inside a call this manager is making, under mu_.
  static_cast<Manager*>(self)->last_notice_ =
      std::string(absl::StripTrailingAsciiWhitespace(message != nullptr ? message : ""));
}

void Manager::IgnoreNotice(void*, const char*) {}

void Manager::DropConnectionLocked() {
  if (conn_ == nullptr) return;
  conn_.reset();
  application_name_.clear();
  lease_renew_at_ns_ = lease_block_at_ns_ = kNever;
}

void Manager::Close() {
  if (!CheckNotInBody().ok()) return;  // the body's connection is in use
  std::lock_guard<std::mutex> lock(mu_);
  if (conn_ == nullptr) return;
  DropConnectionLocked();
  if (events_.observed()) events_.Emit(MakeEvent(EventKind::kDisconnect));
}

absl::Status Manager::Flush(absl::Duration timeout) {
  if (absl::Status s = CheckNotInBody(); !s.ok()) return s;
  EventBus::FlushTicket ticket;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ticket = events_.StartFlush(timeout);
  }
  // Waits for the dispatcher without the lock: other threads' queries go on.
  return events_.FinishFlush(ticket);
}

}  // namespace aequor
