// bench/storm/storm_instance.cc: one serverless instance of the storm, with a
// built-in client. The harness (bench/storm:storm) starts one per invocation;
// the contract (environment, output lines, stdin commands) is in
// bench/storm/protocol.h.
//
//   storm_instance --client=aequor   a ConnectionManager: lease in
//                                    application_name, reaper pass per its
//                                    scheduler; runs SELECT pg_backend_pid()
//   storm_instance --client=libpq    PQconnectdb("") + SELECT 1, no reaper
//   storm_instance --client=aequor-pool  the service mode: a long-running
//                                    service on an aequor::Pool with worker
//                                    threads (protocol.h, "Service instances")
//
// The aequor client configures itself with ConnectionManagerBuilder::FromEnv()
// (every AEQUOR_* variable of the README works, the harness's as before).
// Both read the connection from PG* variables, run one invocation at start,
// print "# pid <backend_pid>" and "ok" (or "fail <SQLSTATE> <text>"), then
// wait on stdin: "invoke <id>" runs one more invocation on the same
// connection (reconnecting if it was lost, as each client would), "exit" or
// end of file closes the connection and exits 0.
//
// AEQUOR_STORM_WORKLOAD=write: each invocation inserts its row into
// storm_writes instead (protocol.h's WriteStatement, RETURNING
// pg_backend_pid()). The aequor client runs it with the manager's plain
// Query (not idempotent: a connection lost after it was sent is never
// retried) and answers "fail unknown_outcome <text>" for IsOutcomeUnknown
// errors; the libpq client runs a plain PQexec and reports whatever
// libpq says.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/connection_manager.h"
#include "api/errors.h"
#include "api/pool.h"
#include "bench/storm/protocol.h"
#include "core/connect_error.h"

namespace aequor {
namespace storm {
namespace {

// One line, whole: a service instance's threads emit concurrently (one
// stdio call per line; stdio locks the stream for each call).
void Emit(const std::string& line) {
  const std::string whole = absl::StrCat(line, "\n");
  std::fwrite(whole.data(), 1, whole.size(), stdout);
  std::fflush(stdout);
}

std::string Env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// What one invocation does, from the environment.
struct Work {
  bool write = false;
  double write_delay_s = 0;  // > 0: the write waits in pg_sleep first
  int instance = 0;
  std::string config_error;  // set: every invocation fails with it

  static Work FromEnv() {
    Work w;
    const std::string workload = Env(kEnvWorkload, "read");
    if (workload == "write") {
      w.write = true;
    } else if (workload != "read") {
      w.config_error =
          absl::StrCat(kEnvWorkload, ": must be 'read' or 'write', got '", workload, "'");
    }
    const std::string delay = Env(kEnvWriteDelayS);
    if (!delay.empty() && (!absl::SimpleAtod(delay, &w.write_delay_s) || w.write_delay_s < 0 ||
                           w.write_delay_s > 60)) {
      w.config_error =
          absl::StrCat(kEnvWriteDelayS, ": not a number of seconds in [0, 60]: '", delay, "'");
    }
    const std::string instance = Env(kEnvInstance, Env(kEnvInvocation, "0").c_str());
    (void)absl::SimpleAtoi(instance, &w.instance);
    return w;
  }

  // The write statement for `invocation`, naming the backend that ran it.
  std::string WriteSql(int invocation) const {
    return absl::StrCat(WriteStatement(invocation, instance, write_delay_s),
                        " RETURNING pg_backend_pid()");
  }
};

class Client {
 public:
  explicit Client(Work work) : work_(std::move(work)) {}
  virtual ~Client() = default;
  // Runs invocation `id` and prints its lines, the answer last.
  void Invoke(int id) {
    if (!work_.config_error.empty()) {
      Emit(FailLine("", absl::StrCat("config: ", work_.config_error)));
      return;
    }
    if (work_.write) {
      Write(id);
    } else {
      Read();
    }
  }

 protected:
  virtual void Read() = 0;
  virtual void Write(int id) = 0;
  const Work work_;
};

// Plain libpq: what most serverless code does. No lease, no reaper, no retry.
class LibpqClient : public Client {
 public:
  using Client::Client;
  ~LibpqClient() override { Close(); }

 protected:
  void Read() override {
    if (!Connected()) return;
    PGresult* r = PQexec(conn_, "SELECT 1");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
        std::string(PQgetvalue(r, 0, 0)) == "1") {
      PQclear(r);
      Emit(absl::StrCat("# pid ", PQbackendPID(conn_)));
      Emit("ok");
      return;
    }
    Failed(r);
  }

  void Write(int id) override {
    if (!Connected()) return;
    PGresult* r = PQexec(conn_, work_.WriteSql(id).c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
      Emit(absl::StrCat("# pid ", PQgetvalue(r, 0, 0)));
      PQclear(r);
      Emit("ok");
      return;
    }
    Failed(r);
  }

 private:
  // Connects if there is no good connection; on failure prints the answer.
  bool Connected() {
    if (conn_ != nullptr && PQstatus(conn_) != CONNECTION_OK) Close();
    if (conn_ != nullptr) return true;
    conn_ = PQconnectdb("");  // PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
    if (conn_ == nullptr) {
      Emit(FailLine("", "PQconnectdb: out of memory"));
      return false;
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(conn_);
      Close();
      // libpq gives no SQLSTATE at connect; name the one the server meant.
      Emit(FailLine(SqlState(ConnectFailureStatus(message)), message));
      return false;
    }
    return true;
  }

  // Prints the failure of `r` (owned; may be null).
  void Failed(PGresult* r) {
    const char* sqlstate = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string message = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
    PQclear(r);
    Emit(FailLine(sqlstate != nullptr ? sqlstate : "",
                  message.empty() ? PQerrorMessage(conn_) : message));
  }

  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }
  PGconn* conn_ = nullptr;
};

// The library's variables (README, "Configuration from the environment")
// that the storm gives defaults of its own.
constexpr char kEnvLeaseRenewBeforeMs[] = "AEQUOR_LEASE_RENEW_BEFORE_MS";
constexpr char kEnvLeaseBlockBeforeMs[] = "AEQUOR_LEASE_BLOCK_BEFORE_MS";

// The storm's environment as the builder reads it (ConnectionManagerBuilder::
// SetOptionsFromEnv()): the process's, with the defaults the instance
// contract (protocol.h) gives where a variable is unset:
//   AEQUOR_SERVICE                 "storm"
//   AEQUOR_LEASE_RENEW_BEFORE_MS   the library's 30 s, or half of a shorter
//                                  AEQUOR_LEASE_TTL_MS
//   AEQUOR_LEASE_BLOCK_BEFORE_MS   the library's 5 s, or half of a shorter
//                                  renewal threshold
// so that a storm's short TTL (2 s by default) keeps the relations Build()
// checks. A TTL that does not read as whole milliseconds gives no defaults
// here; Build() then names AEQUOR_LEASE_TTL_MS.
std::optional<std::string> StormEnv(absl::string_view name) {
  const std::optional<std::string> value = ConnectionManagerBuilder::ProcessEnv()(name);
  if (value.has_value() && !value->empty()) return value;
  auto ms = [](absl::string_view variable) -> std::optional<int64_t> {
    int64_t n = 0;
    const std::optional<std::string> text = ConnectionManagerBuilder::ProcessEnv()(variable);
    if (!text.has_value() || !absl::SimpleAtoi(*text, &n)) return std::nullopt;
    return n;
  };
  const ManagerOptions defaults;
  // The renewal threshold the manager will use, given AEQUOR_LEASE_TTL_MS.
  auto renew_ms = [&]() -> std::optional<int64_t> {
    if (std::optional<int64_t> set = ms(kEnvLeaseRenewBeforeMs)) return set;
    const int64_t library = absl::ToInt64Milliseconds(defaults.lease_renew_before);
    const std::optional<int64_t> ttl = ms(kEnvLeaseTtlMs);
    if (!ttl.has_value() || library < *ttl) return std::nullopt;
    return *ttl / 2;
  };
  if (name == kEnvService) return "storm";
  if (name == kEnvLeaseRenewBeforeMs) {
    if (std::optional<int64_t> renew = renew_ms()) return absl::StrCat(*renew);
  }
  if (name == kEnvLeaseBlockBeforeMs) {
    const std::optional<int64_t> renew = renew_ms();
    const int64_t library = absl::ToInt64Milliseconds(defaults.lease_block_before);
    if (renew.has_value() && library >= *renew) return absl::StrCat(*renew / 2);
  }
  return value;
}

// Hooks that print every reaper pass as a "# reap ..." comment (callbacks
// run synchronously on the calling thread, so a pass's line comes before
// the answer of the call that ran it).
CallbackHooks ReapCommentHooks() {
  CallbackHooks hooks;
  hooks.on_event = [](const Event& e) {
    if (e.kind != EventKind::kReap) return;
    Emit(absl::StrFormat(
        "# reap source=%s outcome=%s scanned=%d candidates=%d killed=%d ms=%d "
        "frozen_leader_killed=%d",
        EventSourceName(e.source), ReapOutcomeName(e.reap.outcome), e.reap.scanned,
        e.reap.candidates, e.reap.killed, absl::ToInt64Milliseconds(e.reap.duration),
        e.reap.frozen_leader_killed ? 1 : 0));
  };
  return hooks;
}

// The aequor ConnectionManager, configured from the storm's environment
// (StormEnv above; every AEQUOR_* variable of the README's table works).
class AequorClient : public Client {
 public:
  explicit AequorClient(Work work) : Client(std::move(work)) {
    ConnectionManagerBuilder builder = ConnectionManagerBuilder::FromEnv(StormEnv);
    // The protocol's AEQUOR_MIN_IDLE_S (seconds, a fraction allowed) is set
    // explicitly, so it wins over the library's AEQUOR_REAP_MIN_IDLE_S.
    const std::string idle_text = Env(kEnvMinIdleS);
    if (!idle_text.empty()) {
      double seconds = 0;
      if (!absl::SimpleAtod(idle_text, &seconds) || seconds < 0) {
        config_error_ =
            absl::StrCat(kEnvMinIdleS, ": not a non-negative number: '", idle_text, "'");
        return;
      }
      builder.SetReapMinIdle(absl::Milliseconds(static_cast<int64_t>(seconds * 1000)));
    }
    builder.SetHooks(ReapCommentHooks());
    absl::StatusOr<std::unique_ptr<ConnectionManager>> manager = builder.Build();
    if (!manager.ok()) {
      config_error_ = std::string(manager.status().message());
      return;
    }
    manager_ = *std::move(manager);
  }

  void Read() override {
    if (manager_ == nullptr) {
      Emit(FailLine("", absl::StrCat("config: ", config_error_)));
      return;
    }
    Answer(manager_->Query("SELECT pg_backend_pid()"));
  }

  void Write(int id) override {
    if (manager_ == nullptr) {
      Emit(FailLine("", absl::StrCat("config: ", config_error_)));
      return;
    }
    // Not idempotent (the default): a connection lost after the INSERT was
    // sent is an outcome-unknown error, never a blind retry.
    absl::StatusOr<QueryResult> r = manager_->Query(work_.WriteSql(id), {}, QueryOptions{});
    if (!r.ok() && IsOutcomeUnknown(r.status())) {
      const std::string sqlstate = SqlState(r.status());
      Emit(FailLine(kUnknownOutcome,
                    absl::StrCat(absl::StripTrailingAsciiWhitespace(r.status().message()),
                                 sqlstate.empty() ? "" : absl::StrCat(" [", sqlstate, "]"))));
      (void)manager_->Flush(absl::Milliseconds(200));
      return;
    }
    Answer(std::move(r));
  }

 private:
  // Prints the answer for `r` (the backend pid in its first cell), then
  // flushes the events, as a handler does before returning.
  void Answer(absl::StatusOr<QueryResult> r) {
    if (r.ok()) {
      Emit(absl::StrCat("# pid ", r->Get(0, 0)));
      Emit(absl::StrCat("# lease ", manager_->application_name()));
      Emit("ok");
    } else {
      std::string sqlstate = SqlState(r.status());
      if (sqlstate.empty()) sqlstate = SqlState(ConnectFailureStatus(r.status().message()));
      Emit(FailLine(sqlstate, r.status().message()));
    }
    (void)manager_->Flush(absl::Milliseconds(200));
  }

  std::unique_ptr<ConnectionManager> manager_;
  std::string config_error_;
};

// A long-running service on an aequor::Pool (the service mode, protocol.h's
// "Service instances"): worker threads send one statement each every
// request interval through Pool::Query until "exit" or end of file.
class PoolService {
 public:
  // Exit status: 0 after "exit" (or end of file), 1 when the pool cannot be
  // built (the reason on stderr and as "# error").
  int Run() {
    int pool_size = 0;
    int workers = 0;
    int interval_ms = 0;
    if (!absl::SimpleAtoi(Env(kEnvPoolSize), &pool_size) || pool_size < 1 ||
        !absl::SimpleAtoi(Env(kEnvWorkers), &workers) || workers < 1 ||
        !absl::SimpleAtoi(Env(kEnvRequestIntervalMs), &interval_ms) || interval_ms < 1) {
      return Fail(absl::StrCat(kEnvPoolSize, ", ", kEnvWorkers, " and ", kEnvRequestIntervalMs,
                               " must be positive integers"));
    }
    ConnectionManagerBuilder builder = ConnectionManagerBuilder::FromEnv(StormEnv);
    const std::string idle_text = Env(kEnvMinIdleS);
    double idle_s = 0;
    if (!idle_text.empty()) {
      if (!absl::SimpleAtod(idle_text, &idle_s) || idle_s < 0) {
        return Fail(absl::StrCat(kEnvMinIdleS, ": not a non-negative number: '", idle_text, "'"));
      }
      builder.SetReapMinIdle(absl::Milliseconds(static_cast<int64_t>(idle_s * 1000)));
    }
    builder.SetHooks(ReapCommentHooks());
    PoolOptions options;
    options.max_size = pool_size;
    options.min_size = pool_size;
    options.keepalive_interval = absl::Milliseconds(250);
    absl::StatusOr<std::unique_ptr<Pool>> built = builder.BuildPool(options);
    if (!built.ok()) return Fail(std::string(built.status().message()));
    pool_ = *std::move(built);
    Emit(absl::StrCat("# instance ", pool_->instance()));
    // Open the pool before the traffic starts, so that every connection is
    // there (and idle ones stay idle) from the first report on.
    const absl::Time end = absl::Now() + absl::Seconds(30);
    while (pool_->stats().idle < pool_size && absl::Now() < end) {
      if (absl::Status s = pool_->Maintain(); !s.ok()) Error(s);
      if (pool_->stats().idle < pool_size) absl::SleepFor(absl::Milliseconds(20));
    }
    Emit("ready");

    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([this, interval_ms] {
        absl::Time next = absl::Now();
        while (!stop_.load()) {
          absl::StatusOr<QueryResult> r = pool_->Query("SELECT pg_backend_pid()");
          if (r.ok()) {
            served_.fetch_add(1);
          } else {
            failed_.fetch_add(1);
            Error(r.status());
          }
          next += absl::Milliseconds(interval_ms);
          const absl::Time now = absl::Now();
          if (next < now) next = now;  // after a freeze: no burst to catch up
          std::unique_lock<std::mutex> lock(mu_);
          wake_.wait_for(lock, absl::ToChronoNanoseconds(next - now), [&] { return stop_.load(); });
        }
      });
    }
    std::thread reporter([this] {
      while (!stop_.load()) {
        Report();
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stop_.load(); });
      }
    });
    std::string line;
    while (std::getline(std::cin, line)) {
      if (absl::StripAsciiWhitespace(line) == kCommandExit) break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread& t : threads) t.join();
    reporter.join();
    (void)pool_->Close(absl::Seconds(5));
    Report();
    return 0;
  }

 private:
  int Fail(const std::string& message) {
    std::fprintf(stderr, "storm_instance: %s\n", message.c_str());
    Emit(absl::StrCat("# error config: ", message));
    return 1;
  }
  // The first 20 failures, then every 100th.
  void Error(const absl::Status& status) {
    const int n = errors_.fetch_add(1) + 1;
    if (n <= 20 || n % 100 == 0) {
      Emit(absl::StrCat("# error ", FailLine(SqlState(status), status.message()).substr(5)));
    }
  }
  void Report() {
    const PoolStats s = pool_->stats();
    Emit(absl::StrCat("# served ", served_.load(), " failed ", failed_.load(),
                      " acquire_timeouts ", s.acquire_timeouts, " idle_renewals ",
                      s.idle_renewals, " size ", s.size, " idle ", s.idle));
  }

  std::unique_ptr<Pool> pool_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> served_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int> errors_{0};
  std::mutex mu_;
  std::condition_variable wake_;
};

constexpr char kUsage[] = "usage: storm_instance --client=aequor|aequor-pool|libpq";

// The command line: --client=aequor|aequor-pool|libpq (the last one counts). Exits 2 on
// anything else, as the harness only ever passes that.
std::optional<std::string> ParseClient(int argc, char** argv) {
  CLI::App app("storm_instance");
  app.set_help_flag();  // --help is an unknown argument, as any other
  app.allow_extras();
  std::string client;
  app.add_option("--client", client)
      ->expected(0, 1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {
    std::fprintf(stderr, "storm_instance: %s (%s)\n", e.what(), kUsage);
    return std::nullopt;
  }
  if (!app.remaining().empty()) {
    std::fprintf(stderr, "storm_instance: unknown argument '%s' (%s)\n",
                 app.remaining().front().c_str(), kUsage);
    return std::nullopt;
  }
  if (client != "aequor" && client != "aequor-pool" && client != "libpq") {
    std::fprintf(stderr,
                 "storm_instance: --client must be 'aequor', 'aequor-pool' or 'libpq', got '%s'\n",
                 client.c_str());
    return std::nullopt;
  }
  return client;
}

int Main(int argc, char** argv) {
  const std::optional<std::string> client = ParseClient(argc, argv);
  if (!client.has_value()) return 2;
  if (*client == "aequor-pool") return PoolService().Run();
  std::unique_ptr<Client> c;
  if (*client == "aequor") {
    c = std::make_unique<AequorClient>(Work::FromEnv());
  } else {
    c = std::make_unique<LibpqClient>(Work::FromEnv());
  }
  int id = 0;
  (void)absl::SimpleAtoi(Env(kEnvInvocation, "1"), &id);
  c->Invoke(id);
  // Frozen here by the harness; a resumed instance reads its next command.
  std::string line;
  for (int commands = 0; commands < 1000000 && std::getline(std::cin, line); ++commands) {
    absl::string_view command = absl::StripAsciiWhitespace(line);
    if (std::optional<int> next = ParseInvokeCommand(command, id)) {
      id = *next;
      c->Invoke(id);
    } else if (command == kCommandExit) {
      break;
    } else if (!command.empty()) {
      Emit(absl::StrCat("# unknown command '", command, "'"));
    }
  }
  return 0;
}

}  // namespace
}  // namespace storm
}  // namespace aequor

int main(int argc, char** argv) { return aequor::storm::Main(argc, argv); }
