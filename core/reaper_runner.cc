#include "core/reaper_runner.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/connect_error.h"
#include "core/pooler.h"
#include "util/pg.h"

namespace aequor {
namespace {

void IgnoreNotice(void*, const char*) {}

}  // namespace

ReaperRunner::ReaperRunner(const ManagerOptions& options, std::string service,
                           std::shared_ptr<const LeaseSigner> signer, ReaperScheduler& scheduler,
                           Clock& clock, ServerView& server, EventEmitter& events)
    : reaper_conninfo_(options.reaper_conninfo),
      service_(service),
      signer_(std::move(signer)),
      scheduler_(scheduler),
      connect_timeout_(options.connect_timeout),
      settings_(ReaperSettingsFromOptions(options, std::move(service), /*dry_run=*/false)),
      probe_sql_(ProbeSql(ProbeSettingsOf(settings_), /*check_lock=*/true)),
      clock_(clock),
      server_(server),
      events_(events) {}

absl::Status ReaperRunner::MaybeRun(Connection& conn, ReapTrigger trigger, bool database_full,
                                    const pg::Deadline& deadline) {
  if (signer_ == nullptr || conn.transaction_status() != PQTRANS_IDLE) return absl::OkStatus();
  // Another lane of the pool is in a pass (or its probe): this one is not
  // needed, and passes of one pool never overlap.
  std::unique_lock<std::mutex> pass(pass_mu_, std::try_to_lock);
  if (!pass.owns_lock()) return absl::OkStatus();
  // Only a new connection probes; warm invocations use what is known.
  if (trigger == ReapTrigger::kConnect && !server_.FreshUsage().has_value() &&
      scheduler_.WantsConnectionUsage()) {
    const absl::Time sent = clock_.Now();
    pg::Outcome probe = pg::Exec(conn.get(), probe_sql_, {}, deadline);
    const absl::Time received = clock_.Now();
    if (probe.ok() && PQntuples(probe.get()) == 1) {
      server_.ObserveProbe(ReadProbe(probe.get(), 0, 0), sent, received);
    }
    if (!conn.ok()) {
      const std::string message =
          probe.timed_out() ? std::string(pg::kTimedOutMessage) : conn.ErrorMessage();
      events_.ClientDead(EventSource::kProbe, "", message);
      return absl::UnavailableError(
          absl::StrCat("the connect-time probe lost the connection: ", message));
    }
  }
  const ScheduleInput input = server_.ScheduleInputFor(trigger, database_full);
  if (!scheduler_.ShouldRun(input)) return absl::OkStatus();
  absl::StatusOr<bool> pooler = BehindPooler(conn, deadline);
  if (!pooler.ok()) return pooler.status();
  if (*pooler) return absl::OkStatus();
  const ReapReport report =
      RunPass(conn.get(), /*own=*/true, /*dry_run=*/false, input.under_pressure,
              trigger == ReapTrigger::kConnect ? EventSource::kConnect : EventSource::kInvocation,
              server_.FreshUsage(), deadline);
  scheduler_.OnPassFinished(report.outcome, clock_.MonotonicNow());
  if (!conn.ok()) {
    events_.ClientDead(EventSource::kReaper, "", report.message);
    return absl::UnavailableError(
        absl::StrCat("the reaper pass lost the connection: ", report.message));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ReaperRunner::BehindPooler(Connection& conn, const pg::Deadline& deadline) {
  if (conn.behind_pooler().has_value()) return *conn.behind_pooler();
  absl::StatusOr<PoolerSighting> seen = DetectPooler(conn.get(), deadline);
  if (!seen.ok()) {
    if (conn.ok()) return false;  // the server refused the check: no pooler said so
    events_.ClientDead(EventSource::kProbe, "", seen.status().message());
    return absl::UnavailableError(
        absl::StrCat("the pooler check lost the connection: ", seen.status().message()));
  }
  conn.SetBehindPooler(seen->pooler_in_between());
  if (seen->pooler_in_between() && !pooler_reported_.exchange(true)) {
    events_.Degraded(
        EventSource::kPooler,
        absl::StrCat("a pooler answers for the server (startup backend pid ", seen->startup_pid,
                     ", server backend pid ", seen->server_pid,
                     "): no reaper pass runs through it, since its server sessions are shared "
                     "by its clients and a kill could cut live ones. Let the pooler close idle "
                     "clients (PgBouncer: client_idle_timeout), or point reaper_conninfo or "
                     "'aequorctl reap' at the server itself"));
  }
  return seen->pooler_in_between();
}

ReapReport ReaperRunner::RunManual(Connection& conn, bool dry_run, const pg::Deadline& deadline) {
  std::lock_guard<std::mutex> pass(pass_mu_);
  return RunPass(conn.get(), /*own=*/true, dry_run, /*under_pressure=*/false, EventSource::kManual,
                 std::nullopt, deadline);
}

std::optional<ReapReport> ReaperRunner::RunEmergency(const pg::Deadline& deadline) {
  // Another lane's emergency (or scheduled) pass is freeing slots already.
  std::unique_lock<std::mutex> pass(pass_mu_, std::try_to_lock);
  if (!pass.owns_lock()) return std::nullopt;
  const char* keywords[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const std::string name = absl::StrCat("aequor-reaper:", service_);
  const std::string timeout = ConnectTimeoutWithin(connect_timeout_, deadline.Left());
  const char* values[] = {reaper_conninfo_.c_str(), timeout.c_str(), name.c_str(), nullptr};
  pg::Conn conn(PQconnectdbParams(keywords, values, 1));
  if (conn != nullptr) PQsetNoticeProcessor(conn.get(), &IgnoreNotice, nullptr);
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    ReapReport failed;
    failed.outcome = ReapOutcome::kError;
    failed.message = absl::StrCat(
        "reaper connection failed: ",
        ConnectFailureStatus(reaper_conninfo_, pg::ErrorMessage(conn.get())).message());
    events_.Reap(EventSource::kEmergency, failed);
    return std::nullopt;
  }
  return RunPass(conn.get(), /*own=*/false, /*dry_run=*/false, /*under_pressure=*/true,
                 EventSource::kEmergency, std::nullopt, deadline);
}

ReapReport ReaperRunner::RunPass(PGconn* conn, bool own, bool dry_run, bool under_pressure,
                                 EventSource source, std::optional<double> known_usage,
                                 const pg::Deadline& deadline) {
  ReaperSettings settings = settings_;
  settings.dry_run = dry_run;
  settings.under_pressure = under_pressure;
  // Usage known a moment ago (the connect-time probe): not read again.
  settings.read_usage = !known_usage.has_value();
  ReapReport report = ::aequor::RunReaperPass(conn, settings, *signer_, clock_, deadline);
  if (!report.connection_usage.has_value()) report.connection_usage = known_usage;
  events_.Reap(source, report);
  if (own) server_.ObservePass(report);
  return report;
}

}  // namespace aequor
