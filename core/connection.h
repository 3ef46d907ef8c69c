// core/connection.h (internal): one libpq connection and what the manager
// knows about it: the lease it carries, when that lease is due, when it was
// last used, and the server's last notice.
//
//   ConnectSpec spec = ConnectSpecFrom(options, startup_options);
//   absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(spec, lease);
//   if (c.ok() && (*c)->LooksDead()) { /* closed by the server while frozen */ }
//
// Invariant: a Connection exists only once libpq connected. When a statement
// finds it lost (ok() false), its owner drops it; it is never reopened.
//
// Thread-safety: none; its owner serialises every use (the manager's lock).
#ifndef AEQUOR_CORE_CONNECTION_H_
#define AEQUOR_CORE_CONNECTION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/options.h"
#include "core/statement_cache.h"
#include "util/pg.h"

namespace aequor {

// What every connection of a manager is opened with.
struct ConnectSpec {
  std::string conninfo;  // the user's; expanded by libpq
  // libpq's connect_timeout for one attempt; zero when the user's conninfo
  // or $PGCONNECT_TIMEOUT sets one, which then wins.
  absl::Duration connect_timeout = absl::ZeroDuration();
  // libpq keywords for the client socket (TCP keepalives, tcp_user_timeout)
  // that the user's conninfo does not set itself: theirs win.
  std::vector<std::pair<std::string, std::string>> socket_settings;
  std::string startup_options;  // server backstops + the user's options
};

// Every number these functions produce for libpq or the server is an int it
// takes (1 .. INT_MAX): durations are rounded up and saturate, also for
// options ValidateOptions would refuse (infinite, negative, too large).

// ManagerOptions::connect_timeout as libpq takes it: whole seconds, rounded up.
std::string ConnectTimeoutText(const ManagerOptions& o);

// libpq's connect_timeout (whole seconds as text, at least 1) for an attempt
// that must end within `left`: `connect_timeout`, or `left` when shorter,
// rounded up.
std::string ConnectTimeoutWithin(absl::Duration connect_timeout, absl::Duration left);

// libpq's connect_timeout for one attempt of `spec` that must end within
// `left`: the spec's, or `left` when shorter, in whole seconds rounded up
// (libpq itself waits at least 2 s); "" when the user's setting wins.
std::string AttemptConnectTimeout(const ConnectSpec& spec, absl::Duration left);

// Whether `conninfo` (keywords or a URI) or $PGCONNECT_TIMEOUT sets libpq's
// connect_timeout.
bool UserSetsConnectTimeout(const std::string& conninfo);

// The spec for `o`: keepalive times in whole seconds and tcp_user_timeout in
// whole milliseconds, rounded up.
ConnectSpec ConnectSpecFrom(const ManagerOptions& o, std::string startup_options);

// The server backstops of `o` as a startup `options` string, followed by the
// user's own options (from the conninfo, else $PGOPTIONS) so that theirs win.
// Timeouts in whole milliseconds, keepalive times in whole seconds, rounded up.
std::string BuildStartupOptions(const ManagerOptions& o);

class Connection {
 public:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // Opens a connection whose application_name is `lease` (none when empty;
  // it overrides any application_name in the conninfo), giving up after
  // AttemptConnectTimeout(spec, left). The error is ConnectFailureStatus()
  // of libpq's message: classified, no password.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const ConnectSpec& spec,
                                                          const std::string& lease,
                                                          absl::Duration left);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  PGconn* get() const { return conn_.get(); }
  // libpq still counts it connected.
  bool ok() const { return PQstatus(conn_.get()) == CONNECTION_OK; }
  std::string ErrorMessage() const { return pg::ErrorMessage(conn_.get()); }
  PGTransactionStatusType transaction_status() const { return PQtransactionStatus(conn_.get()); }

  // Sends `statement` and waits for its result until `deadline`; when the
  // deadline passes first, the statement is cancelled and the connection
  // closed (ok() false): its owner drops it (util/pg.h, Run()).
  pg::Reply Run(const pg::Statement& statement, const pg::Deadline& deadline) {
    return pg::Run(conn_.get(), statement, deadline);
  }

  // The thaw check: true if the server already closed this idle connection
  // (it was frozen, or the server restarted). Never blocks.
  bool LooksDead();
  // The server's last notice (e.g. the FATAL sent before it closed an idle
  // connection); "" if none since the last LooksDead().
  const std::string& last_notice() const { return last_notice_; }

  // The lease the server holds (its application_name; "" with leases off)
  // and the monotonic times at which it is renewed with the next statement,
  // renewed alone before it, and expires as this host counts (kNever with
  // leases off).
  const std::string& lease() const { return lease_; }
  int64_t renew_at_ns() const { return renew_at_ns_; }
  int64_t block_at_ns() const { return block_at_ns_; }
  int64_t expires_at_ns() const { return expires_at_ns_; }
  void SetLease(std::string lease, int64_t renew_at_ns, int64_t block_at_ns,
                int64_t expires_at_ns) {
    lease_ = std::move(lease);
    renew_at_ns_ = renew_at_ns;
    block_at_ns_ = block_at_ns;
    expires_at_ns_ = expires_at_ns;
  }

  // Whether a pooler answers for the server on this connection (its
  // startup backend pid is not pg_backend_pid()); nullopt until checked.
  std::optional<bool> behind_pooler() const { return behind_pooler_; }
  void SetBehindPooler(bool behind) { behind_pooler_ = behind; }

  // Its prepared statements (ManagerOptions::statement_cache_size); null
  // when the cache is off.
  StatementCache* statement_cache() const { return cache_.get(); }
  void EnableStatementCache(int capacity, std::string name_prefix) {
    cache_ = std::make_unique<StatementCache>(capacity, std::move(name_prefix));
  }

  // The end of its last use, monotonic.
  int64_t last_used_ns() const { return last_used_ns_; }
  void MarkUsed(int64_t now_ns) { last_used_ns_ = now_ns; }

 private:
  explicit Connection(pg::Conn conn);
  static void OnNotice(void* self, const char* message);

  pg::Conn conn_;
  std::string last_notice_;
  std::string lease_;
  int64_t renew_at_ns_ = kNever;
  int64_t block_at_ns_ = kNever;
  int64_t expires_at_ns_ = kNever;
  int64_t last_used_ns_ = 0;
  std::optional<bool> behind_pooler_;
  std::unique_ptr<StatementCache> cache_;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_CONNECTION_H_
