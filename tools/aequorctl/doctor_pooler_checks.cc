// tools/aequorctl/doctor_pooler_checks.cc: the checks of doctor_checks.h
// that judge a pooler in between: pooler and startup_options.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "api/options.h"
#include "tools/aequorctl/doctor_checks.h"

namespace aequor {
namespace cli {
namespace {

constexpr Severity kOk = Severity::kOk;
constexpr Severity kWarn = Severity::kWarn;
constexpr Severity kFix = Severity::kFix;

}  // namespace

Finding CheckPooler(const DoctorFacts& facts) {
  const ServerFacts& s = facts.server;
  const PoolerProbe& p = facts.pooler;
  std::vector<std::string> strong;
  std::vector<std::string> weak;
  std::vector<std::string> fine;
  if (s.application_name != p.sent_application_name) {
    strong.push_back(absl::StrCat("application_name sent at connect (", p.sent_application_name,
                                  ") arrived as '", s.application_name, "'"));
  } else {
    fine.push_back("application_name arrived intact");
  }
  if (p.second_backend_pid.has_value()) {
    if (*p.second_backend_pid != s.backend_pid) {
      strong.push_back(absl::StrCat("pg_backend_pid() changed between two statements (",
                                    s.backend_pid, " then ", *p.second_backend_pid, ")"));
    } else {
      fine.push_back("pg_backend_pid() stayed the same across statements");
    }
  }
  if (p.setting_survived.has_value()) {
    if (!*p.setting_survived) {
      strong.push_back("a session setting did not survive to the next statement");
    } else {
      fine.push_back("a session setting survived");
    }
  }
  if (p.other_client_backend_pid.has_value()) {
    if (p.other_client_shared) {
      strong.push_back(absl::StrCat(
          "a second client connected meanwhile ran on the server session this one had just used "
          "(pid ",
          *p.other_client_backend_pid, "): server sessions are lent to clients in turn"));
    } else {
      fine.push_back("a second client connected meanwhile got a server session of its own");
    }
  }
  if (p.startup_backend_pid != s.backend_pid) {
    weak.push_back(absl::StrCat("the startup reported backend pid ", p.startup_backend_pid,
                                " but the server says ", s.backend_pid,
                                " (something answered the startup for the server)"));
  } else {
    fine.push_back("the startup's backend pid is the server's");
  }
  if (!p.unix_socket && s.server_port.has_value()) {
    if (*s.server_port != p.port) {
      weak.push_back(absl::StrCat("connected to port ", p.port, " but the server listens on ",
                                  *s.server_port, " (a proxy, pooler or port mapping)"));
    } else {
      fine.push_back(absl::StrCat("the server's port is the one connected to (", p.port, ")"));
    }
  }
  const std::string advice =
      "connect the instances (and their reaper) to PostgreSQL directly or through a "
      "session-mode pooler; leases and the reaper lock need one server session per client";
  if (!strong.empty()) {
    return {"pooler", kFix,
            absl::StrCat(
                "a transaction-mode pooler seems to be in between: ", absl::StrJoin(strong, "; "),
                ". Leases in application_name then describe pooled server sessions, "
                "not clients"),
            absl::StrCat(advice,
                         "\nwhile the transaction pooler stays, run no reaper pass through it "
                         "(a pooled server session keeps the last client's lease, and killing "
                         "it cuts the live clients that share it), and let the pooler drop "
                         "frozen clients: PgBouncer's client_idle_timeout (idle_transaction_"
                         "timeout for a client frozen inside a transaction)")};
  }
  if (!weak.empty()) {
    return {"pooler", kWarn,
            absl::StrCat("a pooler or proxy may be in between: ", absl::StrJoin(weak, "; "),
                         ". Harmless for a session-mode pooler or a plain TCP proxy"),
            advice};
  }
  return {"pooler", kOk,
          absl::StrCat("no pooler detected: ", absl::StrJoin(fine, "; "),
                       " (a quiet transaction pooler may still pass these checks)"),
          ""};
}

Finding CheckStartupOptions(const DoctorFacts& facts) {
  if (!facts.startup_options.ok()) {
    return CouldNotCheck("startup_options", facts.startup_options.status());
  }
  const StartupOptionsFacts& o = *facts.startup_options;
  const std::string sent = absl::StrCat("'", o.sent, "'");
  // The backstop set on the fleet's roles, where no startup parameter is
  // needed: the app roles, else the connecting role.
  std::vector<std::string> roles;
  if (facts.roles.ok()) {
    for (const RoleRow& row : *facts.roles) {
      if (row.is_app) roles.push_back(row.usage.name_sql);
    }
  }
  if (roles.empty()) roles.push_back(facts.server.role_sql);
  std::vector<std::string> sql;
  const int64_t seconds = absl::ToInt64Seconds(
      absl::Ceil(ManagerOptions().idle_in_transaction_timeout, absl::Seconds(1)));
  for (const std::string& role : roles) {
    sql.push_back(absl::StrCat("ALTER ROLE ", role, " SET idle_in_transaction_session_timeout = '",
                               seconds, "s';"));
  }
  const std::string on_roles = absl::StrCat(
      "set the backstops on the role instead, where every server session of the role gets "
      "them: ",
      absl::StrJoin(sql, " "));
  if (o.refusal.has_value()) {
    return {"startup_options", kFix,
            absl::StrCat("the server, or a pooler in between, refuses the startup parameter "
                         "options (",
                         *o.refusal,
                         "). A connection manager sends its server-side backstops in it (", sent,
                         " with the defaults; idle_session_timeout and TCP keepalives when "
                         "set), so its connects are refused or go without them"),
            absl::StrCat("connect the instances to PostgreSQL directly, or ", on_roles,
                         "\nwith PgBouncer, ignore_startup_parameters = options then lets "
                         "such connects in (it drops the parameter)")};
  }
  if (!o.arrived) {
    return {"startup_options", kWarn,
            absl::StrCat("the startup parameter options is accepted but does not reach the "
                         "server session (sent ",
                         sent,
                         "): a pooler in between drops it (PgBouncer's ignore_startup_parameters "
                         "= options), so a connection manager's backstops do not apply"),
            absl::StrCat("connect the instances to PostgreSQL directly, or ", on_roles)};
  }
  return {
      "startup_options", kOk,
      absl::StrCat("the startup parameter options reaches the server session (sent ", sent, ")"),
      ""};
}

}  // namespace cli
}  // namespace aequor
