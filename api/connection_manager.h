// api/connection_manager.h: the connection manager and its builder.
//
// A ConnectionManager owns at most one live PostgreSQL connection (the
// serverless shape: one per container, created once, reused across
// invocations). Its connection carries a signed lease in application_name,
// sent in the startup packet (no extra round trip, no SQL), so that a reaper
// pass of any instance of the same service, C++ or Node.js, can tell a frozen
// or dead instance's connection from a live one.
//
//   absl::StatusOr<std::unique_ptr<aequor::ConnectionManager>> manager =
//       aequor::ConnectionManagerBuilder()
//           .SetConninfo("host=db.internal dbname=orders user=app")
//           .SetService("orders-api")
//           .SetCoordinationSecretFromEnv()   // AEQUOR_COORDINATION_SECRET[_FILE]
//           .Build();
//   if (!manager.ok()) return manager.status();  // names the wrong option
//   absl::StatusOr<aequor::QueryResult> r =
//       (*manager)->Query("SELECT name FROM customers WHERE id = $1", {"42"});
//
// Errors: every call returns absl::Status; nothing throws. Query errors carry
// the SQLSTATE (api/errors.h).
//
// Thread-safety: a ConnectionManager is safe to call from several threads;
// calls are serialised (one runs at a time), because it has one connection.
// The builder is not thread-safe.
#ifndef AEQUOR_API_CONNECTION_MANAGER_H_
#define AEQUOR_API_CONNECTION_MANAGER_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "api/clock.h"
#include "api/errors.h"
#include "api/hook_exporter.h"
#include "api/hooks.h"
#include "api/lease_signer.h"
#include "api/metrics.h"
#include "api/options.h"
#include "api/query_result.h"
#include "api/random.h"
#include "api/reaper_scheduler.h"
#include "api/registry.h"
#include "api/retry_policy.h"

typedef struct pg_conn PGconn;  // libpq's, opaque here (<libpq-fe.h>)

namespace aequor {

class Pool;           // api/pool.h
struct PoolOptions;   // api/pool.h
struct ManagerParts;  // internal (core/lane.h): what the builder makes

// One query parameter ($1, $2, ...): text, bytes, or SQL NULL.
//   - Text (strings, numbers, booleans) goes in PostgreSQL's text format. A
//     double is written with as many digits as it takes to read back the
//     same value (shortest round trip; "nan", "inf" and "-inf", which
//     PostgreSQL's float8 reads). Text cannot hold a NUL byte: a call given
//     one fails with InvalidArgument naming the parameter, nothing is sent.
//   - Bytes(...) goes in binary format with its length, for a bytea: every
//     byte arrives as it is, NULs included.
//   - NULL: Null(), nullptr, a null `const char*` and an empty std::optional.
class Param {
 public:
  Param(absl::string_view text) : value_(std::string(text)) {}  // NOLINT
  Param(const char* text) {                                     // NOLINT
    if (text != nullptr) value_ = std::string(text);
  }
  Param(std::nullptr_t) {}                          // NOLINT: SQL NULL
  Param(const std::string& text) : value_(text) {}  // NOLINT
  Param(int64_t v);                                 // NOLINT
  Param(int v) : Param(static_cast<int64_t>(v)) {}  // NOLINT
  Param(double v);                                  // NOLINT
  Param(bool v) : value_(v ? "true" : "false") {}   // NOLINT
  // The value, or NULL when empty.
  template <typename T>
  Param(const std::optional<T>& v) : Param(v.has_value() ? Param(*v) : Param()) {}  // NOLINT
  static Param Null() { return Param(); }
  // `bytes` as they are, in binary format (for a bytea parameter).
  static Param Bytes(absl::string_view bytes) {
    Param p{std::string(bytes)};
    p.binary_ = true;
    return p;
  }

  bool is_null() const { return !value_.has_value(); }
  bool is_binary() const { return binary_; }
  // NULL gives nullptr.
  const char* c_str() const { return value_ ? value_->c_str() : nullptr; }
  // The value's bytes with their length ("" for NULL).
  absl::string_view value() const { return value_ ? absl::string_view(*value_) : ""; }

 private:
  Param() = default;
  std::optional<std::string> value_;
  bool binary_ = false;
};

// Per-call settings.
struct QueryOptions {
  // The caller promises that running the statement twice is harmless, so it
  // may be retried after a connection loss even if it may have been sent.
  // Default false.
  bool idempotent = false;
  // The call's deadline, from its start: connecting, retries and the
  // statement itself (see ManagerOptions::query_budget). Zero: query_budget.
  // Default zero. REQUIRES: >= 0.
  absl::Duration timeout = absl::ZeroDuration();
  // The call's context for hooks and exporters: every event the call emits
  // carries it as Event::label (say a request id, or "checkout"). Never sent
  // to the server, never a metric label. Default "" (none).
  std::string label;
};

// Per-transaction settings for ConnectionManager::RunTransaction().
// A transaction's isolation level (BEGIN ISOLATION LEVEL ...).
enum class Isolation {
  kServerDefault,  // no ISOLATION LEVEL clause: the server's default_transaction_isolation
  kReadCommitted,
  kRepeatableRead,
  kSerializable,
};

struct TransactionOptions {
  // Default kServerDefault.
  Isolation isolation = Isolation::kServerDefault;
  bool read_only = false;  // Default false.
  // Take the transaction id before COMMIT (pg_current_xact_id(), which
  // assigns one even to a read-only transaction) so that a connection lost
  // after COMMIT was sent can be resolved with pg_xact_status on a new
  // connection instead of reported as "outcome unknown". Default true.
  bool resolve_outcome = true;
  // The call's deadline, from its start, for every attempt and statement
  // (see ManagerOptions::query_budget): a COMMIT still unanswered then is
  // kDeadlineExceeded with IsOutcomeUnknown() true. Zero: query_budget.
  // Default zero. REQUIRES: >= 0.
  absl::Duration timeout = absl::ZeroDuration();
  // As QueryOptions::label, for every event of the transaction (its
  // statements included). Default "" (none).
  std::string label;
};

// The statements of one transaction, inside RunTransaction()'s body.
// Thread-safety: use it only inside the body, on the body's thread.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual absl::StatusOr<QueryResult> Query(absl::string_view sql,
                                            absl::Span<const Param> params = {}) = 0;
  absl::StatusOr<QueryResult> Query(absl::string_view sql, std::initializer_list<Param> params) {
    return Query(sql, absl::MakeConstSpan(params.begin(), params.size()));
  }
};

// What WithConnection() lends a callback: the manager's live libpq
// connection, for that call only.
using ConnectionFn = std::function<absl::Status(PGconn* conn)>;

// Runs one transaction's statements. Return OK to commit, an error to roll
// back. It may run more than once (see RunTransaction), so it must not have
// side effects outside the database that cannot be repeated.
using TransactionBody = std::function<absl::Status(Transaction&)>;

class ConnectionManager {
 public:
  virtual ~ConnectionManager() = default;

  // Opens the connection if there is none. OK if already connected.
  virtual absl::Status Connect() = 0;

  // Runs one statement (parameters as $1, $2, ...), connecting first if needed.
  virtual absl::StatusOr<QueryResult> Query(absl::string_view sql,
                                            absl::Span<const Param> params = {},
                                            const QueryOptions& options = {}) = 0;
  absl::StatusOr<QueryResult> Query(absl::string_view sql, std::initializer_list<Param> params,
                                    const QueryOptions& options = {}) {
    return Query(sql, absl::MakeConstSpan(params.begin(), params.size()), options);
  }

  // Runs `body` between BEGIN and COMMIT. If the transaction fails with a
  // serialization failure (40001) or deadlock (40P01), or the connection is
  // lost before COMMIT was sent, it is rolled back and `body` runs again from
  // the start, within query_budget and the retry policy. If the connection
  // is lost after COMMIT was sent, the outcome is looked up with
  // pg_xact_status on a new connection: committed returns OK, aborted runs
  // again, and when it cannot be known the error is kUnknown with
  // IsOutcomeUnknown() true. Returns body's error as is when body fails for
  // another reason. `body` must use the Transaction it is given: calling this
  // manager from inside it returns FailedPrecondition.
  virtual absl::Status RunTransaction(const TransactionBody& body,
                                      const TransactionOptions& options = {}) = 0;

  // The escape hatch for what the manager does not wrap: COPY,
  // LISTEN/NOTIFY, large objects, libpq's pipeline mode. Runs `fn` with the
  // live connection (connecting first if needed, within connect_budget; its
  // lease renewed first when it is due), under the manager's lock: no other
  // call runs meanwhile. Returns fn's status, not retried. Afterwards the
  // connection is checked: one that `fn` left in a transaction, in a COPY,
  // with a command still running, or lost, is closed (the next call
  // connects again with a fresh lease), never reused as it is.
  //
  // `fn` must not close the connection (PQfinish), replace its notice
  // processor, or change application_name (the lease); its statements are
  // not bounded by query_budget (it waits as libpq does). A long `fn`
  // (a big COPY) is not reaped while it runs: reaper passes spare sessions
  // that are not idle. Calling this manager from inside `fn` returns
  // FailedPrecondition; a `fn` that throws is reported as Internal and the
  // connection closed.
  //
  //   absl::Status s = manager->WithConnection([&](PGconn* c) -> absl::Status {
  //     PGresult* r = PQexec(c, "COPY items FROM STDIN");   // then PQputCopyData,
  //     ...                                                // PQputCopyEnd, PQgetResult
  //     return absl::OkStatus();
  //   });
  virtual absl::Status WithConnection(const ConnectionFn& fn) = 0;

  // Closes the connection (if any). The manager can connect again afterwards.
  virtual void Close() = 0;

  // Hands every event made so far to the exporters, then their metrics, and
  // flushes them (the EMF exporter writes its line here); call it at the
  // end of a serverless invocation, before the process may freeze. Waits up
  // to `timeout` for the exporters, without blocking other threads' calls:
  // DeadlineExceeded when one did not finish in time (it carries on in the
  // background; queries are unaffected), or the first error an exporter
  // returned.
  virtual absl::Status Flush(absl::Duration timeout) = 0;

  // Runs one reaper pass now on this manager's connection (connecting first
  // if needed), whatever the scheduler says. With `dry_run` it takes the
  // lock and reports what it would kill without killing. FailedPrecondition
  // when leases are off. The report is also sent as a kReap event.
  virtual absl::StatusOr<ReapReport> RunReaperPass(bool dry_run = false) = 0;

  virtual bool connected() const = 0;
  // The normalised service name used in leases.
  virtual std::string service() const = 0;
  // This manager's instance id (8 base64url characters).
  virtual std::string instance() const = 0;
  // The lease of the current connection ("" when none or leases are off).
  virtual std::string application_name() const = 0;
  // Whether leases are on (a secret was given).
  virtual bool leases_enabled() const = 0;

  // The manager's metrics so far (api/metrics.h): cumulative counters and
  // the query latency histogram. Kept while at least one exporter is
  // configured; all 0 otherwise. Cheap, lock-free for the hot counters, and
  // callable from any thread (also inside a RunTransaction body).
  virtual MetricsSnapshot metrics() const { return MetricsSnapshot(); }
};

class ConnectionManagerBuilder {
 public:
  ConnectionManagerBuilder();
  ~ConnectionManagerBuilder();
  ConnectionManagerBuilder(ConnectionManagerBuilder&&);
  ConnectionManagerBuilder& operator=(ConnectionManagerBuilder&&);

  // Replaces every option at once (see api/options.h for defaults).
  ConnectionManagerBuilder& SetOptions(ManagerOptions options);
  // The options as set so far; SetOptionsFromEnv() applies at Build(), so
  // they do not show what the environment will give.
  const ManagerOptions& options() const { return options_; }
  // For any option without a setter of its own:
  //   builder.mutable_options().reap_min_idle = absl::Seconds(60);
  ManagerOptions& mutable_options() { return options_; }

  // --- Options from the environment (the README's "Configuration from the
  // environment" has the table; composition/env_options.h is the table). ---
  //
  //   auto manager = aequor::ConnectionManagerBuilder::FromEnv()
  //                      .SetService("orders-api")   // wins over $AEQUOR_SERVICE
  //                      .Build();
  //
  // One variable for every option: AEQUOR_CONNINFO, AEQUOR_SERVICE,
  // AEQUOR_LEASE_TTL_MS, AEQUOR_REAP_MIN_IDLE_S, AEQUOR_SIGNER,
  // AEQUOR_REAPER_SCHEDULER, AEQUOR_RETRY_POLICY, AEQUOR_EXPORTERS (plugin
  // specs separated by ';'), ... Durations in the unit the name says, whole
  // (_MS, _S); booleans 1/0/true/false; plugin specs in api/plugin.h's text
  // form. Unset or "" leaves the option alone.
  //
  // Which value wins, whatever the order of the calls: an option set
  // explicitly, then its variable, then the default. An option is set
  // explicitly by a setter that names it (SetLeaseTtl(), UseSigner() with a
  // spec or an object, AddExporter(spec), ...), or when SetOptions() or a
  // write through mutable_options() left it different from its default (a
  // write of the default value itself there is not seen: the variable then
  // applies). The variable of an option set explicitly is not read at all.
  // Exporters: AEQUOR_EXPORTERS is the list of exporters by name unless
  // AddExporter(spec) was called; exporters given as objects and the
  // callback exporter SetHooks() adds come in addition (an
  // "aequor.exporter.callback(...)" in the list configures the latter).
  // The coordination secret, unless set explicitly, is read as
  // SetCoordinationSecretFromEnv() reads it: from the process environment,
  // whatever `env` is.
  //
  // Errors, at Build(): a value that does not read as its unit is
  // InvalidArgument naming the variable and what it expects
  // ("AEQUOR_LEASE_TTL_MS: expected whole milliseconds, got 'ten'"); a value
  // that breaks the option's REQUIRES fails as from a setter, the message
  // ending with where it came from ("lease_ttl: must be at least 1s, got
  // 500ms (lease_ttl from AEQUOR_LEASE_TTL_MS)"). A conninfo's value is
  // never quoted.

  // Reads one variable: its value, or nullopt when it is unset.
  using EnvLookup = std::function<std::optional<std::string>(absl::string_view name)>;
  // std::getenv.
  static EnvLookup ProcessEnv();
  // A builder with SetOptionsFromEnv() (or SetOptionsFromEnv(env)) called.
  static ConnectionManagerBuilder FromEnv();
  static ConnectionManagerBuilder FromEnv(EnvLookup env);
  // At Build(), reads the options not set explicitly from the process
  // environment, or from `env` (tests, or a program that maps names of its
  // own). Calling it again replaces `env`.
  ConnectionManagerBuilder& SetOptionsFromEnv();
  ConnectionManagerBuilder& SetOptionsFromEnv(EnvLookup env);

  ConnectionManagerBuilder& SetConninfo(std::string conninfo);
  ConnectionManagerBuilder& SetService(std::string service);
  ConnectionManagerBuilder& SetLeaseMode(LeaseMode mode);
  ConnectionManagerBuilder& SetCoordinationSecret(std::string secret);
  ConnectionManagerBuilder& AddPreviousSecret(std::string secret);
  // Reads the secret from $AEQUOR_COORDINATION_SECRET, or from the file named
  // by $AEQUOR_COORDINATION_SECRET_FILE (one trailing newline removed). Having
  // neither is not an error here; Build() decides by the lease mode. An
  // unreadable file makes Build() fail naming the variable.
  ConnectionManagerBuilder& SetCoordinationSecretFromEnv();
  ConnectionManagerBuilder& SetLeaseTtl(absl::Duration ttl);
  ConnectionManagerBuilder& SetConnectTimeout(absl::Duration timeout);
  ConnectionManagerBuilder& SetConnectBudget(absl::Duration budget);
  ConnectionManagerBuilder& SetQueryBudget(absl::Duration budget);
  ConnectionManagerBuilder& SetReapMinIdle(absl::Duration min_idle);
  // Enables the emergency path (see ManagerOptions::reaper_conninfo).
  ConnectionManagerBuilder& SetReaperConninfo(std::string conninfo);

  // Plugins by name and parameters, looked up in the registry at Build().
  ConnectionManagerBuilder& UseSigner(PluginSpec spec);
  ConnectionManagerBuilder& UseReaperScheduler(PluginSpec spec);
  ConnectionManagerBuilder& UseRetryPolicy(PluginSpec spec);
  ConnectionManagerBuilder& AddExporter(PluginSpec spec);

  // Plugins by object, bypassing the registry.
  ConnectionManagerBuilder& UseSigner(std::shared_ptr<const LeaseSigner> signer);
  ConnectionManagerBuilder& UseReaperScheduler(std::unique_ptr<ReaperScheduler> scheduler);
  ConnectionManagerBuilder& UseRetryPolicy(std::shared_ptr<const RetryPolicy> policy);
  ConnectionManagerBuilder& AddExporter(std::unique_ptr<HookExporter> exporter);

  // User callbacks; adds "aequor.exporter.callback" unless already listed.
  ConnectionManagerBuilder& SetHooks(CallbackHooks hooks);

  // Default: Registry::Default().
  ConnectionManagerBuilder& SetRegistry(std::shared_ptr<const Registry> registry);
  // Default: Clock::Real(). Not owned; must outlive the manager.
  ConnectionManagerBuilder& SetClock(Clock* clock);
  // Default: Random::FromEntropy().
  ConnectionManagerBuilder& SetRandom(std::unique_ptr<Random> random);
  // Default: a random id. Tests use a fixed one.
  ConnectionManagerBuilder& SetInstanceId(std::string instance);

  // Validates everything and creates the manager (without connecting).
  // InvalidArgument naming the wrong option, NotFound for an unknown plugin
  // name (listing the known ones). The builder is left in a moved-from state.
  absl::StatusOr<std::unique_ptr<ConnectionManager>> Build();

  // Validates everything as Build() does, and `pool_options`
  // (ValidatePoolOptions), and creates a pool (api/pool.h) whose connections
  // use these options and plugins. Without `pool_options`: PoolOptions'
  // defaults, each replaced by its AEQUOR_POOL_* variable when the builder
  // reads the environment (SetOptionsFromEnv(); the README's pool section
  // has the variables). Its maintenance thread starts at once; nothing
  // connects until a borrow, or the first round when min_size > 0. Include
  // api/pool.h.
  absl::StatusOr<std::unique_ptr<Pool>> BuildPool();
  absl::StatusOr<std::unique_ptr<Pool>> BuildPool(const PoolOptions& pool_options);

 private:
  struct Objects;  // plugins given by object, and the rest
  // The checked parts of a manager or pool, once the environment (if any)
  // has been applied: a ManagerParts (core/lane.h).
  absl::StatusOr<std::unique_ptr<ManagerParts>> BuildParts();
  absl::StatusOr<std::unique_ptr<ManagerParts>> BuildPartsFromOptions();
  // Notes that a setter named `option` (for SetOptionsFromEnv()).
  void SetExplicitly(absl::string_view option);
  ManagerOptions options_;
  std::unique_ptr<Objects> objects_;
};

}  // namespace aequor

#endif  // AEQUOR_API_CONNECTION_MANAGER_H_
