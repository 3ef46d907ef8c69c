// bench/storm/storm_instance.cc: one serverless instance of the storm, with a
// built-in client. The harness (bench/storm:storm) starts one per invocation;
// the contract (environment, output lines, stdin commands) is in
// bench/storm/protocol.h.
//
//   storm_instance --client=aequor   a ConnectionManager: lease in
//                                    application_name, reaper pass per its
//                                    scheduler; runs SELECT pg_backend_pid()
//   storm_instance --client=libpq    PQconnectdb("") + SELECT 1, no reaper
//
// Both read the connection from PG* variables, run one invocation at start,
// print "# pid <backend_pid>" and "ok" (or "fail <SQLSTATE> <text>"), then
// wait on stdin: "invoke" runs one more invocation on the same connection
// (reconnecting if it was lost, as each client would), "exit" or end of file
// closes the connection and exits 0.
#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "api/connection_manager.h"
#include "api/errors.h"
#include "api/plugin.h"
#include "bench/storm/protocol.h"
#include "core/connect_error.h"

namespace aequor {
namespace storm {
namespace {

void Emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string Env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

class Client {
 public:
  virtual ~Client() = default;
  // Runs one invocation and prints its lines, the answer last.
  virtual void Invoke() = 0;
};

// Plain libpq: what most serverless code does. No lease, no reaper, no retry.
class LibpqClient : public Client {
 public:
  ~LibpqClient() override { Close(); }

  void Invoke() override {
    if (conn_ != nullptr && PQstatus(conn_) != CONNECTION_OK) Close();
    if (conn_ == nullptr) {
      conn_ = PQconnectdb("");  // PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
      if (conn_ == nullptr) {
        Emit(FailLine("", "PQconnectdb: out of memory"));
        return;
      }
      if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string message = PQerrorMessage(conn_);
        Close();
        // libpq gives no SQLSTATE at connect; name the one the server meant.
        Emit(FailLine(SqlState(ConnectFailureStatus(message)), message));
        return;
      }
    }
    PGresult* r = PQexec(conn_, "SELECT 1");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
        std::string(PQgetvalue(r, 0, 0)) == "1") {
      PQclear(r);
      Emit(absl::StrCat("# pid ", PQbackendPID(conn_)));
      Emit("ok");
      return;
    }
    const char* sqlstate = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string message = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
    PQclear(r);
    Emit(FailLine(sqlstate != nullptr ? sqlstate : "", message.empty() ? PQerrorMessage(conn_) : message));
  }

 private:
  void Close() {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }
  PGconn* conn_ = nullptr;
};

// The aequor ConnectionManager, configured from the storm's environment.
class AequorClient : public Client {
 public:
  AequorClient() {
    ConnectionManagerBuilder builder;
    builder.SetConninfo("")  // libpq reads the PG* variables
        .SetService(Env(kEnvService, "storm"))
        .SetCoordinationSecretFromEnv();
    int ttl_ms = 0;
    const std::string ttl_text = Env(kEnvLeaseTtlMs);
    if (!ttl_text.empty()) {
      if (!absl::SimpleAtoi(ttl_text, &ttl_ms) || ttl_ms <= 0) {
        config_error_ = absl::StrCat(kEnvLeaseTtlMs, ": not a positive integer: '", ttl_text, "'");
        return;
      }
      const absl::Duration ttl = absl::Milliseconds(ttl_ms);
      builder.SetLeaseTtl(ttl);
      // The renewal thresholds default to 30 s / 5 s, more than a storm's
      // short TTL: scale them down so that the relations Build() checks hold.
      ManagerOptions& o = builder.mutable_options();
      if (o.lease_renew_before >= ttl) o.lease_renew_before = ttl / 2;
      if (o.lease_block_before >= o.lease_renew_before) o.lease_block_before = o.lease_renew_before / 2;
    }
    const std::string idle_text = Env(kEnvMinIdleS);
    if (!idle_text.empty()) {
      double seconds = 0;
      if (!absl::SimpleAtod(idle_text, &seconds) || seconds < 0) {
        config_error_ = absl::StrCat(kEnvMinIdleS, ": not a non-negative number: '", idle_text, "'");
        return;
      }
      builder.SetReapMinIdle(absl::Milliseconds(static_cast<int64_t>(seconds * 1000)));
    }
    const std::string scheduler = Env(kEnvReaperScheduler);
    if (!scheduler.empty()) {
      absl::StatusOr<PluginSpec> spec = ParsePluginSpec(scheduler);
      if (!spec.ok()) {
        config_error_ = absl::StrCat(kEnvReaperScheduler, ": ", spec.status().message());
        return;
      }
      builder.UseReaperScheduler(*std::move(spec));
    }
    CallbackHooks hooks;
    // Reaper passes are reported as comments (callbacks run synchronously on
    // the calling thread, so they come before the answer).
    hooks.on_event = [](const Event& e) {
      if (e.kind != EventKind::kReap) return;
      Emit(absl::StrFormat("# reap source=%s outcome=%s scanned=%d candidates=%d killed=%d ms=%d",
                           e.source, ReapOutcomeName(e.reap.outcome), e.reap.scanned,
                           e.reap.candidates, e.reap.killed,
                           absl::ToInt64Milliseconds(e.reap.duration)));
    };
    builder.SetHooks(std::move(hooks));
    absl::StatusOr<std::unique_ptr<ConnectionManager>> manager = builder.Build();
    if (!manager.ok()) {
      config_error_ = std::string(manager.status().message());
      return;
    }
    manager_ = *std::move(manager);
  }

  void Invoke() override {
    if (manager_ == nullptr) {
      Emit(FailLine("", absl::StrCat("config: ", config_error_)));
      return;
    }
    absl::StatusOr<QueryResult> r = manager_->Query("SELECT pg_backend_pid()");
    if (r.ok()) {
      Emit(absl::StrCat("# pid ", r->Get(0, 0)));
      Emit(absl::StrCat("# lease ", manager_->application_name()));
      Emit("ok");
    } else {
      std::string sqlstate = SqlState(r.status());
      if (sqlstate.empty()) sqlstate = SqlState(ConnectFailureStatus(r.status().message()));
      Emit(FailLine(sqlstate, r.status().message()));
    }
    // What a handler does before returning: hand events to the exporters.
    (void)manager_->Flush(absl::Milliseconds(200));
  }

 private:
  std::unique_ptr<ConnectionManager> manager_;
  std::string config_error_;
};

int Main(int argc, char** argv) {
  std::string client;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--client=")) {
      client = std::string(arg);
    } else {
      std::fprintf(stderr, "storm_instance: unknown argument '%s' (usage: storm_instance --client=aequor|libpq)\n",
                   argv[i]);
      return 2;
    }
  }
  std::unique_ptr<Client> c;
  if (client == "aequor") {
    c = std::make_unique<AequorClient>();
  } else if (client == "libpq") {
    c = std::make_unique<LibpqClient>();
  } else {
    std::fprintf(stderr, "storm_instance: --client must be 'aequor' or 'libpq', got '%s'\n",
                 client.c_str());
    return 2;
  }
  c->Invoke();
  // Frozen here by the harness; a resumed instance reads its next command.
  std::string line;
  for (int commands = 0; commands < 1000000 && std::getline(std::cin, line); ++commands) {
    absl::string_view command = absl::StripAsciiWhitespace(line);
    if (command == kCommandInvoke) {
      c->Invoke();
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
