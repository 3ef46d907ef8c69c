// examples/quickstart: connect with a signed lease, run a query, print what
// happened.
//
//   bazel run //examples/quickstart                      # throwaway PostgreSQL
//   bazel run //examples/quickstart -- 'postgresql://app@db/orders'
//   bazel run //examples/quickstart -- --emf             # + CloudWatch EMF metrics
//
// Every option comes from its AEQUOR_* variable where one is set
// (ConnectionManagerBuilder::FromEnv(); the README's "Configuration from the
// environment"), e.g. AEQUOR_CONNINFO instead of the argument,
// AEQUOR_SERVICE (default here "quickstart"), AEQUOR_LEASE_TTL_MS or
// AEQUOR_EXPORTERS. The coordination secret comes from
// AEQUOR_COORDINATION_SECRET (or the file named by
// AEQUOR_COORDINATION_SECRET_FILE). Without one, a random demo secret is made
// for this run, and the program says so.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/lease.h"
#include "api/random.h"
#include "testing/throwaway_postgres.h"

namespace {

void Say(const std::string& line) { std::printf("%s\n", line.c_str()); }

int Fail(absl::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "quickstart: %s: %s\n", std::string(what).c_str(),
               status.ToString().c_str());
  return 1;
}

std::string DemoSecret() {
  std::unique_ptr<aequor::Random> random = aequor::Random::FromEntropy();
  std::string bytes;
  for (int i = 0; i < 3; ++i) {
    uint64_t v = random->Next64();
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  return absl::WebSafeBase64Escape(bytes);
}

// The process's environment, with this example's own default service.
std::optional<std::string> QuickstartEnv(absl::string_view name) {
  std::optional<std::string> value = aequor::ConnectionManagerBuilder::ProcessEnv()(name);
  if (name == "AEQUOR_SERVICE" && (!value.has_value() || value->empty())) return "quickstart";
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dsn;
  bool emf = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Say("usage: quickstart [--emf] [CONNINFO]\n"
          "  Connects with a signed lease and runs a query. Without CONNINFO it starts a\n"
          "  throwaway PostgreSQL 15 for the run, unless AEQUOR_CONNINFO is set. The\n"
          "  secret comes from AEQUOR_COORDINATION_SECRET or\n"
          "  AEQUOR_COORDINATION_SECRET_FILE; every other option from its AEQUOR_*\n"
          "  variable (README: Configuration from the environment).\n"
          "  --emf  also turns on the aequor.exporter.emf exporter: Flush() at the end\n"
          "         prints the metrics as a CloudWatch Embedded Metric Format line.");
      return 0;
    }
    if (arg == "--emf") {
      emf = true;
    } else {
      dsn = arg;
    }
  }

  // The argument wins over AEQUOR_CONNINFO, which wins over a throwaway server.
  const std::optional<std::string> env_dsn = QuickstartEnv("AEQUOR_CONNINFO");
  const bool dsn_from_env = dsn.empty() && env_dsn.has_value() && !env_dsn->empty();
  std::unique_ptr<aequor::testing::ThrowawayPostgres> server;
  if (dsn.empty() && !dsn_from_env) {
    Say("No connection string given: starting a throwaway PostgreSQL 15...");
    absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<aequor::testing::ThrowawayPostgres>> started =
        aequor::testing::ThrowawayPostgres::Start();
    if (!started.ok()) return Fail("starting PostgreSQL", started.status());
    server = *std::move(started);
    dsn = server->ConninfoFor("aequor_app");
    Say(absl::StrCat(
        "  started on 127.0.0.1:", server->port(), " in ",
        absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))));
  }

  if (dsn_from_env) Say("Connection string from AEQUOR_CONNINFO.");  // never its value
  aequor::ConnectionManagerBuilder builder =
      aequor::ConnectionManagerBuilder::FromEnv(QuickstartEnv);
  if (!dsn.empty()) builder.SetConninfo(dsn);
  builder.SetCoordinationSecretFromEnv();
  if (builder.options().coordination_secret.empty()) {
    Say("No AEQUOR_COORDINATION_SECRET set: using a random demo secret for this run.");
    builder.SetCoordinationSecret(DemoSecret());
  }
  aequor::CallbackHooks hooks;
  hooks.on_connect = [](const aequor::Event& e) {
    Say(absl::StrCat("  [hook] ", aequor::EventKindName(e.kind), " in ",
                     absl::FormatDuration(absl::Trunc(e.duration, absl::Microseconds(10)))));
  };
  hooks.on_query_end = [](const aequor::Event& e) {
    Say(absl::StrCat("  [hook] query_end '", e.sql, "' ", e.rows, " row(s) in ",
                     absl::FormatDuration(absl::Trunc(e.duration, absl::Microseconds(10)))));
  };
  builder.SetHooks(std::move(hooks));
  if (emf) builder.AddExporter(aequor::PluginSpec("aequor.exporter.emf"));

  absl::StatusOr<std::unique_ptr<aequor::ConnectionManager>> manager = builder.Build();
  if (!manager.ok()) return Fail("configuration", manager.status());
  aequor::ConnectionManager& db = **manager;

  Say(absl::StrCat("Connecting as service '", db.service(), "', instance '", db.instance(),
                   "'..."));
  if (absl::Status s = db.Connect(); !s.ok()) return Fail("connect", s);
  Say(absl::StrCat("  lease sent in the startup packet: ", db.application_name()));

  absl::StatusOr<aequor::QueryResult> r = db.Query(
      "SELECT application_name, pg_backend_pid()::text, current_user::text, version() "
      "FROM pg_stat_activity WHERE pid = pg_backend_pid()");
  if (!r.ok()) return Fail("query", r.status());
  Say(absl::StrCat("The server sees application_name = ", r->Get(0, 0)));
  Say(absl::StrCat("  backend pid ", r->Get(0, 1), ", role ", r->Get(0, 2)));
  Say(absl::StrCat("  ", r->Get(0, 3)));

  absl::StatusOr<aequor::ParsedLease> lease = aequor::ParseLease(r->Get(0, 0));
  if (!lease.ok()) return Fail("reading the lease back", lease.status());
  Say(absl::StrCat("  lease: service=", lease->service, " instance=", lease->instance,
                   " expires in ",
                   absl::FormatDuration(absl::Trunc(
                       absl::FromUnixMillis(lease->expires_ms) - absl::Now(), absl::Seconds(1)))));

  absl::StatusOr<aequor::QueryResult> sum = db.Query("SELECT $1::int + $2::int", {40, 2});
  if (!sum.ok()) return Fail("query", sum.status());
  Say(absl::StrCat("SELECT $1::int + $2::int with (40, 2) = ", sum->Get(0, 0)));

  absl::StatusOr<aequor::QueryResult> bad = db.Query("SELECT 1/0");
  Say(absl::StrCat("SELECT 1/0 fails as it should: SQLSTATE ", aequor::SqlState(bad.status()), " (",
                   absl::StatusCodeToString(bad.status().code()), ": ", bad.status().message(),
                   ")"));

  if (emf) {
    // What a Lambda handler does before returning: the line below goes to
    // stdout, which Lambda sends to CloudWatch Logs, which makes metrics of it.
    Say("Flushing the exporters (one EMF line follows):");
    if (absl::Status s = db.Flush(absl::Seconds(1)); !s.ok()) return Fail("flush", s);
  }

  db.Close();
  Say("Closed. Done.");
  return 0;
}
