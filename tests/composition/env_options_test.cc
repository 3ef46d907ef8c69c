// Options from AEQUOR_* variables (composition/env_options.h and
// ConnectionManagerBuilder::SetOptionsFromEnv()): every unit read, explicit
// setters winning in either call order, bad values refused naming the
// variable, and the table agreeing with ManagerOptions and the README.
// The environment is injected (a map), so no test calls setenv() except the
// one about the secret, which is read from the process environment.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/connection_manager.h"
#include "api/pool.h"
#include "composition/env_options.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

constexpr char kSecret[] = "coord-secret-0123456789";
// A conninfo that parses and that nothing connects to at Build().
constexpr char kConninfo[] = "host=127.0.0.1 port=1 dbname=x";

using Vars = std::map<std::string, std::string>;

ConnectionManagerBuilder::EnvLookup Env(Vars vars) {
  return [vars = std::move(vars)](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The options `vars` give over the defaults, or the error.
absl::StatusOr<ManagerOptions> Read(Vars vars, EnvSources* sources = nullptr) {
  ManagerOptions o;
  absl::Status s = ApplyEnvOptions(
      Env(std::move(vars)), [](const EnvOption&) { return false; }, o, sources);
  if (!s.ok()) return s;
  return o;
}

// A builder that would build: conninfo, secret (set explicitly).
ConnectionManagerBuilder Good(Vars vars) {
  ConnectionManagerBuilder b = ConnectionManagerBuilder::FromEnv(Env(std::move(vars)));
  b.SetConninfo(kConninfo).SetCoordinationSecret(kSecret);
  return b;
}

// A retry policy given as an object.
std::shared_ptr<const RetryPolicy> NoRetry() {
  const Registry& registry = *Registry::Default();
  absl::StatusOr<const RetryPolicyFactory*> factory = registry.FindRetryPolicy("aequor.retry.none");
  if (!factory.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<ParsedConfig>> config =
      (*factory)->ParseConfig(PluginSpec("aequor.retry.none"), registry);
  if (!config.ok()) return nullptr;
  RetryContext context{&registry};
  absl::StatusOr<std::unique_ptr<RetryPolicy>> policy = (*factory)->Create(**config, context);
  if (!policy.ok()) return nullptr;
  return std::shared_ptr<const RetryPolicy>(*std::move(policy));
}

std::string ReadFile(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const std::string path =
      srcdir != nullptr ? absl::StrCat(srcdir, "/aequor/", relative) : relative;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class EnvSecretGuard : public ::testing::Test {
 protected:
  // The secret is read from the process environment: none must leak in.
  void SetUp() override {
    unsetenv("AEQUOR_COORDINATION_SECRET");
    unsetenv("AEQUOR_COORDINATION_SECRET_FILE");
    unsetenv("AWS_LAMBDA_FUNCTION_NAME");
  }
  void TearDown() override { SetUp(); }
};
using EnvOptionsTest = EnvSecretGuard;

// --- The table against ManagerOptions and the README. ---

// The field names of struct ManagerOptions, read from api/options.h: every
// declaration line ("type name;" or "type name = ...;") between its braces.
std::vector<std::string> ManagerOptionsFields() {
  const std::string header = ReadFile("api/options.h");
  const size_t begin = header.find("struct ManagerOptions {");
  const size_t end = header.find("\n};", begin);
  std::vector<std::string> fields;
  if (begin == std::string::npos || end == std::string::npos) return fields;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(header).substr(begin, end - begin), '\n')) {
    if (const size_t comment = line.find("//"); comment != absl::string_view::npos) {
      line = line.substr(0, comment);
    }
    line = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumeSuffix(&line, ";")) continue;
    if (const size_t eq = line.find('='); eq != absl::string_view::npos) line = line.substr(0, eq);
    line = absl::StripTrailingAsciiWhitespace(line);
    size_t start = line.size();
    while (start > 0 && (absl::ascii_isalnum(static_cast<unsigned char>(line[start - 1])) ||
                         line[start - 1] == '_')) {
      --start;
    }
    if (start < line.size() && start > 0) fields.emplace_back(line.substr(start));
  }
  return fields;
}

TEST_F(EnvOptionsTest, EveryManagerOptionsFieldHasAVariableOrIsListedWithItsReason) {
  const std::vector<std::string> fields = ManagerOptionsFields();
  ASSERT_GE(fields.size(), 30u) << "api/options.h not read, or its layout changed";
  EXPECT_EQ(fields.front(), "conninfo");
  EXPECT_EQ(fields.back(), "exporter_interval");

  std::map<std::string, std::string> covered;  // option -> where
  for (const EnvOption& entry : EnvOptions()) {
    EXPECT_TRUE(covered.emplace(std::string(entry.option), std::string(entry.variable)).second)
        << entry.option << " has two variables";
    EXPECT_TRUE(absl::StartsWith(entry.variable, "AEQUOR_")) << entry.variable;
  }
  for (const OptionNotFromEnv& not_env : OptionsNotFromEnv()) {
    EXPECT_FALSE(not_env.reason.empty()) << not_env.option;
    EXPECT_TRUE(covered.emplace(std::string(not_env.option), "not from the environment").second)
        << not_env.option << " both has a variable and is listed as having none";
  }
  for (const std::string& field : fields) {
    EXPECT_EQ(covered.count(field), 1u)
        << "ManagerOptions::" << field
        << " has no AEQUOR_* variable: add one to composition/env_options.cc (and the README), "
           "or list it in OptionsNotFromEnv() with the reason";
  }
  const std::set<std::string> field_set(fields.begin(), fields.end());
  for (const auto& [option, where] : covered) {
    EXPECT_EQ(field_set.count(option), 1u) << option << " (" << where << ") is not a field";
  }
  // The table is in the order of the fields (so is the README).
  std::vector<std::string> table_order, field_order;
  for (const EnvOption& entry : EnvOptions()) table_order.emplace_back(entry.option);
  for (const std::string& field : fields) {
    if (std::find(table_order.begin(), table_order.end(), field) != table_order.end()) {
      field_order.push_back(field);
    }
  }
  EXPECT_EQ(table_order, field_order);
}

// The README's table, between "## Configuration from the environment" and
// the next heading: its lines that start with '|'.
std::string ReadmeEnvTable() {
  const std::string readme = ReadFile("README.md");
  const size_t begin = readme.find("\n## Configuration from the environment\n");
  if (begin == std::string::npos) return "(no section 'Configuration from the environment')";
  size_t end = readme.find("\n#", begin + 1);
  if (end == std::string::npos) end = readme.size();
  std::string table;
  bool in_table = false;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(readme).substr(begin, end - begin), '\n')) {
    if (absl::StartsWith(line, "|")) {
      if (!in_table && !table.empty()) return "(two tables in the section)";
      in_table = true;
      absl::StrAppend(&table, line, "\n");
    } else {
      in_table = false;
    }
  }
  return table;
}

TEST_F(EnvOptionsTest, TheReadmeTableListsExactlyTheTablesVariablesWithUnitAndDefault) {
  EXPECT_EQ(ReadmeEnvTable(), EnvOptionsMarkdownTable())
      << "README.md's table in 'Configuration from the environment' should be exactly:\n"
      << EnvOptionsMarkdownTable();
}

TEST_F(EnvOptionsTest, TheDocumentedNamesOfTheIssueAreTheTablesAndTheStormsStayAsTheyAre) {
  std::set<std::string> variables;
  for (const EnvOption& entry : EnvOptions()) variables.emplace(entry.variable);
  for (const char* name : {"AEQUOR_SERVICE", "AEQUOR_LEASE_TTL_MS", "AEQUOR_QUERY_BUDGET_MS",
                           "AEQUOR_CONNECT_BUDGET_MS", "AEQUOR_REAP_MIN_IDLE_S", "AEQUOR_SIGNER",
                           "AEQUOR_REAPER_SCHEDULER", "AEQUOR_RETRY_POLICY", "AEQUOR_EXPORTERS",
                           // Already read by aequorctl doctor and the storm's instances.
                           "AEQUOR_REAPER_CONNINFO", "AEQUOR_CONNINFO"}) {
    EXPECT_EQ(variables.count(name), 1u) << name;
  }
  // The secret keeps its own variables (api/secret.h), outside the table.
  EXPECT_EQ(variables.count("AEQUOR_COORDINATION_SECRET"), 0u);
  EXPECT_EQ(variables.count("AEQUOR_COORDINATION_SECRET_FILE"), 0u);
}

// --- Each unit. ---

TEST_F(EnvOptionsTest, EveryVariableReachesItsOwnOption) {
  absl::StatusOr<ManagerOptions> o = Read({
      {"AEQUOR_CONNINFO", "host=db dbname=orders"},
      {"AEQUOR_SERVICE", "orders-api"},
      {"AEQUOR_LEASE_MODE", "optional"},
      {"AEQUOR_LEASE_TTL_MS", "60001"},
      {"AEQUOR_LEASE_RENEW_BEFORE_MS", "20002"},
      {"AEQUOR_LEASE_BLOCK_BEFORE_MS", "4003"},
      {"AEQUOR_LEASE_RENEW_TIMEOUT_MS", "1004"},
      {"AEQUOR_REAP_MIN_IDLE_S", "65"},
      {"AEQUOR_REAP_MAX_KILLS", "7"},
      {"AEQUOR_REAP_IDLE_IN_TRANSACTION_AFTER_S", "600"},
      {"AEQUOR_REAP_CLOCK_SKEW_MS", "250"},
      {"AEQUOR_REAP_PRESSURE_THRESHOLD", "0.5"},
      {"AEQUOR_REAP_STATEMENT_TIMEOUT_MS", "3005"},
      {"AEQUOR_REAP_LOCK_TIMEOUT_MS", "1506"},
      {"AEQUOR_INVOCATION_GAP_MS", "2007"},
      {"AEQUOR_THAW_CHECK_AFTER_MS", "0"},
      {"AEQUOR_REAPER_CONNINFO", "user=reaper"},
      {"AEQUOR_IDLE_IN_TRANSACTION_TIMEOUT_MS", "30008"},
      {"AEQUOR_IDLE_SESSION_TIMEOUT_MS", "900009"},
      {"AEQUOR_SERVER_KEEPALIVES", "1"},
      {"AEQUOR_CLIENT_KEEPALIVES", "false"},
      {"AEQUOR_KEEPALIVES_IDLE_S", "41"},
      {"AEQUOR_KEEPALIVES_INTERVAL_S", "12"},
      {"AEQUOR_KEEPALIVES_COUNT", "5"},
      {"AEQUOR_TCP_USER_TIMEOUT_MS", "20010"},
      {"AEQUOR_CONNECT_BUDGET_MS", "inf"},
      {"AEQUOR_QUERY_BUDGET_MS", "2500"},
      {"AEQUOR_CANCEL_TIMEOUT_MS", "500"},
      {"AEQUOR_CONNECT_TIMEOUT_S", "3"},
      {"AEQUOR_SIGNER", "aequor.signer.key_ring"},
      {"AEQUOR_REAPER_SCHEDULER", "aequor.reaper.probability(p=1)"},
      {"AEQUOR_RETRY_POLICY", "aequor.retry.none"},
      {"AEQUOR_EXPORTERS", "aequor.exporter.emf(namespace=orders)"},
      {"AEQUOR_EXPORTER_QUEUE_CAPACITY", "64"},
      {"AEQUOR_EXPORTER_INTERVAL_MS", "250"},
  });
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->conninfo, "host=db dbname=orders");
  EXPECT_EQ(o->service, "orders-api");
  EXPECT_EQ(o->lease_mode, LeaseMode::kOptional);
  EXPECT_EQ(o->lease_ttl, absl::Milliseconds(60001));
  EXPECT_EQ(o->lease_renew_before, absl::Milliseconds(20002));
  EXPECT_EQ(o->lease_block_before, absl::Milliseconds(4003));
  EXPECT_EQ(o->lease_renew_timeout, absl::Milliseconds(1004));
  EXPECT_EQ(o->reap_min_idle, absl::Seconds(65));
  EXPECT_EQ(o->reap_max_kills, 7);
  EXPECT_EQ(o->reap_idle_in_transaction_after, absl::Seconds(600));
  EXPECT_EQ(o->reap_clock_skew, absl::Milliseconds(250));
  EXPECT_EQ(o->reap_pressure_threshold, 0.5);
  EXPECT_EQ(o->reap_statement_timeout, absl::Milliseconds(3005));
  EXPECT_EQ(o->reap_lock_timeout, absl::Milliseconds(1506));
  EXPECT_EQ(o->invocation_gap, absl::Milliseconds(2007));
  EXPECT_EQ(o->thaw_check_after, absl::ZeroDuration());
  EXPECT_EQ(o->reaper_conninfo, "user=reaper");
  EXPECT_EQ(o->idle_in_transaction_timeout, absl::Milliseconds(30008));
  EXPECT_EQ(o->idle_session_timeout, absl::Milliseconds(900009));
  EXPECT_TRUE(o->server_keepalives);
  EXPECT_FALSE(o->client_keepalives);
  EXPECT_EQ(o->keepalives_idle, absl::Seconds(41));
  EXPECT_EQ(o->keepalives_interval, absl::Seconds(12));
  EXPECT_EQ(o->keepalives_count, 5);
  EXPECT_EQ(o->tcp_user_timeout, absl::Milliseconds(20010));
  EXPECT_EQ(o->connect_budget, absl::InfiniteDuration());
  EXPECT_EQ(o->query_budget, absl::Milliseconds(2500));
  EXPECT_EQ(o->cancel_timeout, absl::Milliseconds(500));
  EXPECT_EQ(o->connect_timeout, absl::Seconds(3));
  EXPECT_EQ(o->signer, PluginSpec("aequor.signer.key_ring", {}));
  EXPECT_EQ(o->reaper_scheduler, PluginSpec("aequor.reaper.probability", {{"p", "1"}}));
  EXPECT_EQ(o->retry_policy, PluginSpec("aequor.retry.none", {}));
  EXPECT_EQ(o->exporters, std::vector<PluginSpec>(
                              {PluginSpec("aequor.exporter.emf", {{"namespace", "orders"}})}));
  EXPECT_EQ(o->exporter_queue_capacity, 64);
  EXPECT_EQ(o->exporter_interval, absl::Milliseconds(250));
  EXPECT_TRUE(ValidateOptions(*o).ok()) << ValidateOptions(*o);
}

TEST_F(EnvOptionsTest, UnsetAndEmptyVariablesLeaveTheDefaults) {
  absl::StatusOr<ManagerOptions> o = Read({{"AEQUOR_LEASE_TTL_MS", ""}, {"AEQUOR_SIGNER", ""}});
  ASSERT_TRUE(o.ok()) << o.status();
  for (const EnvOption& entry : EnvOptions()) {
    EXPECT_TRUE(HoldsDefault(entry, *o)) << entry.variable;
  }
}

TEST_F(EnvOptionsTest, BooleansAreOneZeroTrueOrFalseInAnyCase) {
  for (const auto& [text, value] : std::vector<std::pair<std::string, bool>>{{"1", true},
                                                                             {"true", true},
                                                                             {"TRUE", true},
                                                                             {"True", true},
                                                                             {"0", false},
                                                                             {"false", false},
                                                                             {"FALSE", false}}) {
    absl::StatusOr<ManagerOptions> o = Read({{"AEQUOR_SERVER_KEEPALIVES", text}});
    ASSERT_TRUE(o.ok()) << text << ": " << o.status();
    EXPECT_EQ(o->server_keepalives, value) << text;
  }
  for (const char* bad : {"yes", "on", "2", "t"}) {
    absl::StatusOr<ManagerOptions> o = Read({{"AEQUOR_SERVER_KEEPALIVES", bad}});
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(
        o.status().message(),
        absl::StrCat("AEQUOR_SERVER_KEEPALIVES: expected 1, 0, true or false, got '", bad, "'"));
  }
}

TEST_F(EnvOptionsTest, SpacesAroundAValueAreIgnoredExceptInText) {
  absl::StatusOr<ManagerOptions> o = Read({{"AEQUOR_LEASE_TTL_MS", " 3000\n"},
                                           {"AEQUOR_SERVER_KEEPALIVES", "true\n"},
                                           {"AEQUOR_LEASE_MODE", " optional "},
                                           {"AEQUOR_SERVICE", " svc "}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lease_ttl, absl::Seconds(3));
  EXPECT_TRUE(o->server_keepalives);
  EXPECT_EQ(o->lease_mode, LeaseMode::kOptional);
  EXPECT_EQ(o->service, " svc ");
}

TEST_F(EnvOptionsTest, DurationsAreWholeInTheUnitTheNameSays) {
  absl::StatusOr<ManagerOptions> o =
      Read({{"AEQUOR_LEASE_TTL_MS", "1500"}, {"AEQUOR_REAP_MIN_IDLE_S", "2"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lease_ttl, absl::Milliseconds(1500));
  EXPECT_EQ(o->reap_min_idle, absl::Seconds(2));
  // Only the two budgets may be infinite.
  o = Read({{"AEQUOR_QUERY_BUDGET_MS", "inf"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->query_budget, absl::InfiniteDuration());
  EXPECT_EQ(Read({{"AEQUOR_LEASE_TTL_MS", "inf"}}).status().message(),
            "AEQUOR_LEASE_TTL_MS: expected whole milliseconds, got 'inf'");
}

TEST_F(EnvOptionsTest, AnExporterListSplitsAtSemicolonsOutsideParenthesesAndQuotes) {
  absl::StatusOr<ManagerOptions> o =
      Read({{"AEQUOR_EXPORTERS",
             " aequor.exporter.emf(namespace=a;b) ; aequor.exporter.callback(delivery=queued);"
             "acme.exporter.x(path=\"c;d)\");"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->exporters, std::vector<PluginSpec>(
                              {PluginSpec("aequor.exporter.emf", {{"namespace", "a;b"}}),
                               PluginSpec("aequor.exporter.callback", {{"delivery", "queued"}}),
                               PluginSpec("acme.exporter.x", {{"path", "c;d)"}})}));
  absl::StatusOr<ManagerOptions> bad =
      Read({{"AEQUOR_EXPORTERS", "aequor.exporter.emf;aequor.exporter.emf(stream"}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad.status().message(),
                               "AEQUOR_EXPORTERS: spec 2: expected plugin specs separated by ';', "
                               "got 'aequor.exporter.emf(stream': plugin spec: "))
      << bad.status();
}

// --- Bad values. ---

TEST_F(EnvOptionsTest, AValueThatIsNotItsUnitIsRefusedNamingTheVariableAndWhatItExpects) {
  const std::vector<std::pair<Vars, std::string>> cases = {
      {{{"AEQUOR_LEASE_TTL_MS", "ten"}},
       "AEQUOR_LEASE_TTL_MS: expected whole milliseconds, got 'ten'"},
      {{{"AEQUOR_LEASE_TTL_MS", "2.5"}},
       "AEQUOR_LEASE_TTL_MS: expected whole milliseconds, got '2.5'"},
      {{{"AEQUOR_REAP_MIN_IDLE_S", "3m"}},
       "AEQUOR_REAP_MIN_IDLE_S: expected whole seconds, got '3m'"},
      {{{"AEQUOR_CONNECT_BUDGET_MS", "forever"}},
       "AEQUOR_CONNECT_BUDGET_MS: expected whole milliseconds or 'inf', got 'forever'"},
      {{{"AEQUOR_REAP_MAX_KILLS", "99999999999"}},
       "AEQUOR_REAP_MAX_KILLS: expected an integer, got '99999999999'"},
      {{{"AEQUOR_REAP_PRESSURE_THRESHOLD", "nan"}},
       "AEQUOR_REAP_PRESSURE_THRESHOLD: expected a decimal number, got 'nan'"},
      {{{"AEQUOR_LEASE_MODE", "off"}},
       "AEQUOR_LEASE_MODE: expected 'required' or 'optional', got 'off'"},
      {{{"AEQUOR_SIGNER", "aequor.signer.key_ring("}},
       "AEQUOR_SIGNER: expected a plugin spec, got 'aequor.signer.key_ring(': plugin spec: "
       "expected an option name or a plugin spec at offset 23"},
      // Control characters are escaped, long values cut.
      {{{"AEQUOR_KEEPALIVES_COUNT", "3\x01"}},
       "AEQUOR_KEEPALIVES_COUNT: expected an integer, got '3\\x01'"},
      {{{"AEQUOR_KEEPALIVES_COUNT", std::string(100, 'x')}},
       absl::StrCat("AEQUOR_KEEPALIVES_COUNT: expected an integer, got '", std::string(64, 'x'),
                    "'...")},
  };
  for (const auto& [vars, message] : cases) {
    absl::StatusOr<ManagerOptions> o = Read(vars);
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(o.status().message(), message);
    // The same through Build().
    absl::StatusOr<std::unique_ptr<ConnectionManager>> m = Good(vars).Build();
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(m.status().message(), message);
  }
}

TEST_F(EnvOptionsTest, ARangeErrorFromAVariableNamesTheOptionAndTheVariable) {
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m =
      Good({{"AEQUOR_LEASE_TTL_MS", "500"}}).Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(),
            "lease_ttl: must be at least 1s, got 500ms (lease_ttl from AEQUOR_LEASE_TTL_MS)");

  // A relation: both sides named when both came from the environment.
  m = Good({{"AEQUOR_LEASE_TTL_MS", "3000"}, {"AEQUOR_LEASE_RENEW_BEFORE_MS", "4000"}}).Build();
  EXPECT_EQ(m.status().message(),
            "lease_renew_before: (4s) must be less than lease_ttl (3s) (lease_ttl from "
            "AEQUOR_LEASE_TTL_MS, lease_renew_before from AEQUOR_LEASE_RENEW_BEFORE_MS)");

  // "conninfo" is not named by "reaper_conninfo: ...".
  m = Good({{"AEQUOR_REAP_MAX_KILLS", "0"}}).Build();
  EXPECT_EQ(m.status().message(),
            "reap_max_kills: must be in [1, 1000], got 0 (reap_max_kills from "
            "AEQUOR_REAP_MAX_KILLS)");

  // A plugin the registry does not know keeps its code.
  m = Good({{"AEQUOR_RETRY_POLICY", "aequor.retry.sometimes"}}).Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(m.status().message(), "retry_policy: ")) << m.status();
  EXPECT_TRUE(absl::EndsWith(m.status().message(), " (retry_policy from AEQUOR_RETRY_POLICY)"))
      << m.status();

  m = Good({{"AEQUOR_EXPORTERS", "aequor.exporter.emf;aequor.exporter.emf(stream=pipe)"}}).Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(m.status().message(), "exporters[1]: ")) << m.status();
  EXPECT_TRUE(absl::EndsWith(m.status().message(), " (exporters from AEQUOR_EXPORTERS)"))
      << m.status();
}

// The project's rule: no part of a password appears in any status.
TEST_F(EnvOptionsTest, ABadConninfoFromTheEnvironmentNeverShowsItsPassword) {
  for (const char* variable : {"AEQUOR_CONNINFO", "AEQUOR_REAPER_CONNINFO"}) {
    ConnectionManagerBuilder b = ConnectionManagerBuilder::FromEnv(
        Env({{variable, "host=db password=hunter2 battery staple"}}));
    b.SetCoordinationSecret(kSecret);
    absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
    ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << variable;
    EXPECT_TRUE(absl::StrContains(m.status().message(), variable)) << m.status();
    for (const char* part : {"hunter2", "battery", "staple"}) {
      EXPECT_FALSE(absl::StrContains(m.status().ToString(), part)) << m.status();
    }
  }
}

// --- Precedence. ---

TEST_F(EnvOptionsTest, TheEnvironmentWinsOverTheDefaults) {
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m =
      Good({{"AEQUOR_SERVICE", "from-env"}}).Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->service(), "from-env");
}

TEST_F(EnvOptionsTest, AnExplicitSetterWinsWhetherCalledBeforeOrAfterSetOptionsFromEnv) {
  const Vars vars = {{"AEQUOR_SERVICE", "from-env"},
                     {"AEQUOR_LEASE_TTL_MS", "ten"},            // never read: set explicitly
                     {"AEQUOR_SIGNER", "not a spec ("},         // never read: UseSigner(spec)
                     {"AEQUOR_RETRY_POLICY", "not a spec ("}};  // never read: an object
  // Setters after.
  ConnectionManagerBuilder after = ConnectionManagerBuilder::FromEnv(Env(vars));
  after.SetConninfo(kConninfo)
      .SetCoordinationSecret(kSecret)
      .SetService("from-code")
      .SetLeaseTtl(absl::Seconds(60))
      .UseSigner("aequor.signer.hmac_sha256")
      .UseRetryPolicy(NoRetry());
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = after.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->service(), "from-code");

  // Setters before.
  ConnectionManagerBuilder before;
  before.SetConninfo(kConninfo)
      .SetCoordinationSecret(kSecret)
      .SetService("from-code")
      .SetLeaseTtl(absl::Seconds(60))
      .UseSigner("aequor.signer.hmac_sha256")
      .UseRetryPolicy(NoRetry());
  before.SetOptionsFromEnv(Env(vars));
  m = before.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->service(), "from-code");
}

TEST_F(EnvOptionsTest, AValueChangedThroughMutableOptionsOrSetOptionsIsExplicit) {
  ConnectionManagerBuilder b = Good({{"AEQUOR_LEASE_TTL_MS", "ten"}, {"AEQUOR_SERVICE", "env"}});
  b.mutable_options().lease_ttl = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->service(), "env") << "the default service is still read";

  ManagerOptions o;
  o.conninfo = kConninfo;
  o.service = "options";
  ConnectionManagerBuilder s = ConnectionManagerBuilder::FromEnv(Env({{"AEQUOR_SERVICE", "env"}}));
  s.SetOptions(o).SetCoordinationSecret(kSecret);
  m = s.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->service(), "options");
}

TEST_F(EnvOptionsTest, AddExporterReplacesTheListButSetHooksKeepsItsCallback) {
  // AddExporter(spec): the variable is not read (its bad spec never fails).
  ConnectionManagerBuilder added = Good({{"AEQUOR_EXPORTERS", "aequor.exporter.nope"}});
  added.AddExporter("aequor.exporter.emf");
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = added.Build();
  EXPECT_TRUE(m.ok()) << m.status();

  // SetHooks() alone does not stop the variable, and its callback stays.
  ConnectionManagerBuilder hooked = Good({{"AEQUOR_EXPORTERS", "aequor.exporter.nope"}});
  hooked.SetHooks(CallbackHooks());
  m = hooked.Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound) << m.status();

  // The variable may configure the callback exporter itself.
  hooked = Good({{"AEQUOR_EXPORTERS", "aequor.exporter.callback(delivery=sometimes)"}});
  hooked.SetHooks(CallbackHooks());
  m = hooked.Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << m.status();
  EXPECT_TRUE(absl::StrContains(m.status().message(), "sometimes")) << m.status();

  // And with other exporters listed, the hooks still hear the events.
  int events = 0;
  CallbackHooks hooks;
  hooks.on_event = [&events](const Event&) { ++events; };
  hooked = ConnectionManagerBuilder::FromEnv(Env({{"AEQUOR_EXPORTERS", "aequor.exporter.emf"},
                                                  {"AEQUOR_CONNECT_BUDGET_MS", "2000"},
                                                  {"AEQUOR_CONNECT_TIMEOUT_S", "2"},
                                                  {"AEQUOR_RETRY_POLICY", "aequor.retry.none"}}));
  hooked.SetConninfo(kConninfo).SetCoordinationSecret(kSecret).SetHooks(std::move(hooks));
  m = hooked.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE((*m)->Connect().ok()) << "port 1 refuses";
  EXPECT_GT(events, 0) << "the callback exporter was dropped";
}

// The secret is read as SetCoordinationSecretFromEnv() reads it, from the
// process environment, unless given in code.
TEST_F(EnvOptionsTest, TheSecretComesFromItsOwnVariablesUnlessGivenInCode) {
  ConnectionManagerBuilder none =
      ConnectionManagerBuilder::FromEnv(Env({{"AEQUOR_CONNINFO", kConninfo}}));
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = none.Build();
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(m.status().message(), "AEQUOR_COORDINATION_SECRET")) << m.status();

  setenv("AEQUOR_COORDINATION_SECRET", kSecret, 1);
  m = ConnectionManagerBuilder::FromEnv(Env({{"AEQUOR_CONNINFO", kConninfo}})).Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE((*m)->leases_enabled());

  setenv("AEQUOR_COORDINATION_SECRET", "short", 1);  // would fail: not read
  ConnectionManagerBuilder code =
      ConnectionManagerBuilder::FromEnv(Env({{"AEQUOR_CONNINFO", kConninfo}}));
  code.SetCoordinationSecret(kSecret);
  m = code.Build();
  EXPECT_TRUE(m.ok()) << m.status();

  // AEQUOR_LEASE_MODE=optional: no secret is no error.
  unsetenv("AEQUOR_COORDINATION_SECRET");
  m = ConnectionManagerBuilder::FromEnv(
          Env({{"AEQUOR_CONNINFO", kConninfo}, {"AEQUOR_LEASE_MODE", "optional"}}))
          .Build();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE((*m)->leases_enabled());
}

TEST_F(EnvOptionsTest, FromEnvWithoutAnArgumentReadsTheProcessEnvironment) {
  setenv("AEQUOR_SERVICE", "process-env", 1);
  setenv("AEQUOR_CONNINFO", kConninfo, 1);
  ConnectionManagerBuilder b = ConnectionManagerBuilder::FromEnv();
  b.SetCoordinationSecret(kSecret);
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  unsetenv("AEQUOR_SERVICE");
  unsetenv("AEQUOR_CONNINFO");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->service(), "process-env");
}

// A builder without SetOptionsFromEnv() reads no variable (as before).
TEST_F(EnvOptionsTest, WithoutSetOptionsFromEnvNoVariableIsRead) {
  setenv("AEQUOR_LEASE_TTL_MS", "ten", 1);
  ConnectionManagerBuilder b;
  b.SetConninfo(kConninfo).SetCoordinationSecret(kSecret);
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  unsetenv("AEQUOR_LEASE_TTL_MS");
  EXPECT_TRUE(m.ok()) << m.status();
}

// A pool's own options from AEQUOR_POOL_* (BuildPool() without arguments),
// and a bad one named; BuildPool(options) takes the options as given.
TEST_F(EnvOptionsTest, PoolOptionsComeFromTheirVariablesWhenNotGiven) {
  Vars vars = {{"AEQUOR_CONNINFO", kConninfo},
               {"AEQUOR_POOL_MAX_SIZE", "7"},
               {"AEQUOR_POOL_MIN_SIZE", "0"},
               {"AEQUOR_POOL_ACQUIRE_TIMEOUT_MS", "250"},
               {"AEQUOR_POOL_MAX_BATCH", "1"}};
  PoolOptions o;
  ASSERT_TRUE(ApplyPoolEnvOptions(Env(vars), o).ok());
  EXPECT_EQ(o.max_size, 7);
  EXPECT_EQ(o.max_batch, 1);
  EXPECT_EQ(o.acquire_timeout, absl::Milliseconds(250));
  EXPECT_EQ(o.idle_timeout, absl::Minutes(10)) << "unset keeps its default";

  ConnectionManagerBuilder b = ConnectionManagerBuilder::FromEnv(Env(vars));
  b.SetCoordinationSecret(kSecret);
  PoolOptions by_hand;
  by_hand.maintenance_thread = false;
  absl::StatusOr<std::unique_ptr<Pool>> pool = b.BuildPool();
  ASSERT_TRUE(pool.ok()) << pool.status();

  vars["AEQUOR_POOL_MAX_SIZE"] = "many";
  absl::StatusOr<std::unique_ptr<Pool>> bad =
      ConnectionManagerBuilder::FromEnv(Env(vars)).SetCoordinationSecret(kSecret).BuildPool();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "AEQUOR_POOL_MAX_SIZE: expected an integer, got 'many'");
  vars["AEQUOR_POOL_MAX_SIZE"] = "0";
  bad = ConnectionManagerBuilder::FromEnv(Env(vars)).SetCoordinationSecret(kSecret).BuildPool();
  EXPECT_EQ(bad.status().message(),
            "pool max_size: must be 1 to 10000, got 0 (max_size from AEQUOR_POOL_MAX_SIZE)");
  // Given explicitly, the variables are not read.
  absl::StatusOr<std::unique_ptr<Pool>> given =
      ConnectionManagerBuilder::FromEnv(Env(vars)).SetCoordinationSecret(kSecret).BuildPool(by_hand);
  EXPECT_TRUE(given.ok()) << given.status();
}

// The README's pool variables are exactly PoolEnvOptions().
TEST_F(EnvOptionsTest, TheReadmeListsEveryPoolVariable) {
  const std::string readme = ReadFile("README.md");
  for (const PoolEnvOption& e : PoolEnvOptions()) {
    const std::string row = absl::StrCat("| `", e.variable, "` | `", e.option, "` | ",
                                         EnvUnitText(e.unit), " | `", e.default_text, "` |");
    EXPECT_TRUE(absl::StrContains(readme, row)) << "README lacks: " << row;
  }
}

TEST_F(EnvOptionsTest, SourcesNameOnlyWholeOptionNames) {
  const EnvSources sources = {{"conninfo", "AEQUOR_CONNINFO"}};
  absl::Status s = absl::InvalidArgumentError("reaper_conninfo: bad");
  EXPECT_EQ(NameEnvSources(s, sources), s);
  s = absl::InvalidArgumentError("conninfo: bad");
  s.SetPayload("aequor.test", absl::Cord("kept"));
  absl::Status named = NameEnvSources(s, sources);
  EXPECT_EQ(named.message(), "conninfo: bad (conninfo from AEQUOR_CONNINFO)");
  EXPECT_EQ(named.GetPayload("aequor.test"), absl::Cord("kept"));
}

}  // namespace
}  // namespace aequor
