// core/reaper_runner.h (internal): when and where the manager runs reaper
// passes (core/reaper.h): the scheduler's passes on the manager's own
// connection (a new connection, a warm invocation), the emergency pass over
// reaper_conninfo when the database is full, and manual passes.
//
//   ReaperRunner runner(parts, scheduler, clock, server, events);
//   if (!runner.MaybeRun(conn, ReapTrigger::kConnect, refused_full, deadline).ok()) {
//     /* the probe or the pass lost `conn`: drop it */
//   }
//
// Events: kReap for every pass; kClientDead when a probe or pass lost the
// connection.
//
// Thread-safety: thread-safe. The lanes of a pool share one runner, and its
// passes never overlap: MaybeRun() and RunEmergency() skip when another
// pass (or probe) is running (pass_mu_, tried, never waited for);
// RunManual() waits for it. The scheduler is only called under pass_mu_.
#ifndef AEQUOR_CORE_REAPER_RUNNER_H_
#define AEQUOR_CORE_REAPER_RUNNER_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "api/clock.h"
#include "api/events.h"
#include "api/lease_signer.h"
#include "api/options.h"
#include "api/reaper_scheduler.h"
#include "core/connection.h"
#include "core/event_emitter.h"
#include "core/reaper.h"
#include "core/server_view.h"

namespace aequor {

class ReaperRunner {
 public:
  // `signer` null (leases off): no pass ever runs. `scheduler` must outlive
  // the runner.
  ReaperRunner(const ManagerOptions& options, std::string service,
               std::shared_ptr<const LeaseSigner> signer, ReaperScheduler& scheduler,
               Clock& clock, ServerView& server, EventEmitter& events);

  // The settings of this manager's passes (and of its probes).
  const ReaperSettings& settings() const { return settings_; }

  // Asks the scheduler whether to run a pass for `trigger` on `conn`, which
  // must be idle; a new connection (kConnect) first runs the probe when the
  // scheduler wants usage and none is fresh. `database_full`: the connect
  // was refused with 53300 before it got in. Every statement ends by
  // `deadline` (the caller's). OK, or kUnavailable when the probe or the
  // pass lost `conn` (reported; also when the deadline closed it): the
  // caller drops it.
  absl::Status MaybeRun(Connection& conn, ReapTrigger trigger, bool database_full,
                        const pg::Deadline& deadline);

  // Whether a pooler answers for the server on `conn` (checked once per
  // connection, one round trip, before its first pass: core/pooler.h). No
  // pass ever runs through a pooler: its server sessions are not its
  // clients' (in transaction mode one carries the lease of whichever client
  // used it last), so a kill would cut live clients. The first sighting is
  // reported (kDegraded, kPooler). An error when the check lost `conn`.
  absl::StatusOr<bool> BehindPooler(Connection& conn, const pg::Deadline& deadline);

  // A pass asked for by the user (ConnectionManager::RunReaperPass).
  ReapReport RunManual(Connection& conn, bool dry_run, const pg::Deadline& deadline);

  // One emergency pass over reaper_conninfo, under pressure, connecting and
  // running by `deadline`. The report, if a pass ran: nullopt when the
  // reaper connection failed (that is reported) or another pass was running.
  std::optional<ReapReport> RunEmergency(const pg::Deadline& deadline);

 private:
  // `own`: `conn` is the manager's connection, so what the pass saw is this
  // role's (the emergency pass reads another role's usage).
  ReapReport RunPass(PGconn* conn, bool own, bool dry_run, bool under_pressure, EventSource source,
                     std::optional<double> known_usage, const pg::Deadline& deadline);

  const std::string reaper_conninfo_;
  const std::string service_;
  const std::shared_ptr<const LeaseSigner> signer_;
  ReaperScheduler& scheduler_;
  const absl::Duration connect_timeout_;
  const ReaperSettings settings_;
  // SELECT <probe columns>; with the lock check.
  const std::string probe_sql_;
  Clock& clock_;
  ServerView& server_;
  EventEmitter& events_;
  std::atomic<bool> pooler_reported_{false};
  // Held for the whole of a probe and pass (see Thread-safety).
  std::mutex pass_mu_;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_REAPER_RUNNER_H_
