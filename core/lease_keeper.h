// core/lease_keeper.h (internal): signs a connection's lease and keeps it
// valid: says what is due before a statement, renews it alone (blocking), or
// sends the renewal and the statement in one pipeline.
//
//   switch (keeper.Due(conn, now_ns)) {
//     case LeaseDue::kNothing:   reply = conn.Run(statement, deadline); break;
//     case LeaseDue::kPipelined: execution = keeper.ExecWithRenewal(conn, statement, deadline); break;
//     case LeaseDue::kBlocking:  status = keeper.RenewBlocking(conn, deadline); break;  // then send
//   }
//
// Every wait ends by the caller's deadline (util/pg.h): a renewal or
// statement still unanswered then is cancelled and the connection closed.
//
// Each renewal statement also carries the probe columns
// (core/server_probe.h), handed to the ServerView. Events: kLeaseRenewed,
// kLeaseRenewFailed.
//
// Thread-safety: none; its owner serialises every use (the manager's lock).
#ifndef AEQUOR_CORE_LEASE_KEEPER_H_
#define AEQUOR_CORE_LEASE_KEEPER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/clock.h"
#include "api/lease_signer.h"
#include "api/options.h"
#include "core/connection.h"
#include "core/event_emitter.h"
#include "core/server_view.h"
#include "util/pg.h"

namespace aequor {

// True for a result that is not an error.
bool Succeeded(const PGresult* result);

enum class LeaseDue {
  kNothing,    // leases off, or the lease has time left
  kPipelined,  // renew it with the next statement
  kBlocking,   // renew it alone, before anything else
};

// What ExecWithRenewal() did.
struct Execution {
  // The statement's result; null when it was not sent or the connection
  // was lost before it answered.
  pg::Result result;
  // False when provably nothing of the statement ran: the renewal before it
  // failed and the connection was lost before it could be sent again.
  bool sent = true;
  // Not OK when no lease could be signed: nothing was sent.
  absl::Status signing;
  // The deadline passed before the answers came: the pipeline was
  // cancelled and the connection closed (result null, sent true).
  bool timed_out = false;
};

class LeaseKeeper {
 public:
  // `signer` null: leases off. `probe_settings` are the manager's, so that a
  // renewal's probe columns count as reapable what a pass would kill.
  LeaseKeeper(std::shared_ptr<const LeaseSigner> signer, std::string service, std::string instance,
              const ManagerOptions& options, const ProbeSettings& probe_settings, Clock& clock,
              ServerView& server, EventEmitter& events);

  bool enabled() const { return signer_ != nullptr; }

  // A freshly signed lease, its expiry compensated by the server's clock
  // offset; "" with leases off.
  absl::StatusOr<std::string> NewLease() const;
  // Records on `conn` the lease the server now holds, signed at monotonic
  // `signed_at_ns`: renewal is timed from then on the monotonic clock, so a
  // wall-clock step cannot make it skip or repeat.
  void Install(Connection& conn, std::string lease, int64_t signed_at_ns) const;

  LeaseDue Due(const Connection& conn, int64_t now_ns) const {
    if (now_ns >= conn.block_at_ns()) return LeaseDue::kBlocking;
    if (now_ns >= conn.renew_at_ns()) return LeaseDue::kPipelined;
    return LeaseDue::kNothing;
  }

  // Renews the lease alone, giving up after lease_renew_timeout or at
  // `deadline`, whichever comes first (kDeadlineExceeded; the connection is
  // then closed). On an error the caller drops the connection (nothing of
  // its own was sent) and connects again with a fresh lease rather than run
  // on an expiring one.
  absl::Status RenewBlocking(Connection& conn, const pg::Deadline& deadline);

  // Sends the renewal and `statement` in one pipeline, waiting until
  // `deadline`. A failed renewal aborts the statement; it is then sent
  // alone if the connection lives.
  Execution ExecWithRenewal(Connection& conn, const pg::Statement& statement,
                            const pg::Deadline& deadline);

 private:
  const std::shared_ptr<const LeaseSigner> signer_;
  const std::string service_;
  const std::string instance_;
  const absl::Duration ttl_;
  const absl::Duration renew_before_;
  const absl::Duration block_before_;
  const absl::Duration renew_timeout_;
  const absl::Duration cancel_timeout_;
  // The renewal: set_config('application_name', $1, false) and the probe
  // columns without the lock check (a renewal may run inside the caller's
  // transaction).
  const std::string renew_sql_;
  Clock& clock_;
  ServerView& server_;
  EventEmitter& events_;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_LEASE_KEEPER_H_
