#include "tools/aequorctl/doctor_headroom.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace cli {
namespace {

std::string Limit(int limit) { return limit < 0 ? std::string("none") : absl::StrCat(limit); }

bool IsAppRole(const HeadroomFacts& facts, const std::string& name) {
  return std::any_of(facts.app_roles.begin(), facts.app_roles.end(),
                     [&](const RoleUsage& r) { return r.name == name; });
}

// The reaper role's setup for a fleet that has none yet (or whose reaper
// conninfo is unusable): create (or adjust) it, grant what a pass needs.
void AppendReaperRoleSetup(const HeadroomFacts& facts, std::vector<std::string>* sql) {
  if (facts.reaper_candidate.has_value() && !facts.reaper.has_value()) return;  // has it all
  if (facts.reaper_role_exists) {
    sql->push_back(absl::StrCat("ALTER ROLE ", kReaperRoleName, " LOGIN CONNECTION LIMIT ",
                                kReaperRoleConnectionLimit, ";"));
  } else {
    sql->push_back(absl::StrCat("CREATE ROLE ", kReaperRoleName,
                                " LOGIN PASSWORD '<choose a password>' CONNECTION LIMIT ",
                                kReaperRoleConnectionLimit, ";"));
  }
  sql->push_back(
      absl::StrCat("GRANT pg_read_all_stats, pg_signal_backend TO ", kReaperRoleName, ";"));
}

std::string ConninfoAdvice(absl::string_view role) {
  return absl::StrCat(
      "then give the fleet the reaper role's conninfo: ManagerOptions::reaper_conninfo, or "
      "ConnectionManagerBuilder::SetReaperConninfo(\"host=<db host> dbname=<db> user=",
      role,
      "\") with its password in ~/.pgpass or $PGPASSFILE; check it with AEQUOR_REAPER_CONNINFO="
      "'...' aequorctl doctor");
}

}  // namespace

Headroom ComputeHeadroom(const HeadroomFacts& facts) {
  Headroom h;
  h.available = facts.max_connections - facts.superuser_reserved - facts.reserved;
  h.server_free = h.available - facts.client_backends;
  int limited_total = 0;
  bool all_limited = !facts.app_roles.empty();
  for (const RoleUsage& r : facts.app_roles) {
    RoleHeadroom rh;
    rh.role = r.name;
    rh.connection_limit = r.superuser ? -1 : r.connection_limit;
    rh.sessions = r.sessions;
    rh.fleet_free = h.server_free;
    if (rh.connection_limit >= 0) {
      rh.free = std::max(0, rh.connection_limit - r.sessions);
      rh.fleet_free = std::min(rh.fleet_free, *rh.free);
      limited_total += rh.connection_limit;
    } else {
      all_limited = false;
    }
    rh.fleet_free = std::max(0, rh.fleet_free);
    h.roles.push_back(std::move(rh));
  }
  if (all_limited) h.room_when_full = h.available - limited_total - facts.other_sessions;
  const int app_roles = std::max<int>(1, static_cast<int>(facts.app_roles.size()));
  h.suggested_limit =
      std::max(1, (h.available - kReaperReservedSlots - facts.other_sessions) / app_roles);

  const bool reaper_superuser =
      facts.reaper.has_value() && facts.reaper->connected && facts.reaper->role.superuser;
  const bool locked_out_risk =
      !reaper_superuser && (!h.room_when_full.has_value() || *h.room_when_full < 1);
  if (locked_out_risk) {
    for (const RoleUsage& r : facts.app_roles) {
      if (r.superuser) continue;  // no limit applies; said in the message
      if (r.connection_limit < 0 || r.connection_limit > h.suggested_limit) {
        h.sql.push_back(
            absl::StrCat("ALTER ROLE ", r.name_sql, " CONNECTION LIMIT ", h.suggested_limit, ";"));
      }
    }
  }
  const bool reaper_usable = facts.reaper.has_value() && facts.reaper->connected &&
                             !IsAppRole(facts, facts.reaper->role.name);
  if (reaper_usable) {
    const ReaperRoleFacts& rr = *facts.reaper;
    if (!rr.role.superuser) {
      std::vector<std::string> missing;
      if (!rr.read_all_stats) missing.push_back("pg_read_all_stats");
      if (!rr.signal_backend) missing.push_back("pg_signal_backend");
      if (!missing.empty()) {
        h.sql.push_back(
            absl::StrCat("GRANT ", absl::StrJoin(missing, ", "), " TO ", rr.role.name_sql, ";"));
      }
    }
  } else if (facts.reaper.has_value() || locked_out_risk) {
    AppendReaperRoleSetup(facts, &h.sql);
  }
  return h;
}

Finding CheckReaperHeadroom(const HeadroomFacts& facts) {
  const Headroom h = ComputeHeadroom(facts);
  Finding f;
  f.check = "reaper_headroom";

  std::vector<std::string> parts;
  parts.push_back(absl::StrCat("server: ", h.available, " slots for non-superusers, ",
                               facts.client_backends, " client session(s) in use, ", h.server_free,
                               " free"));
  for (size_t i = 0; i < h.roles.size(); ++i) {
    const RoleHeadroom& r = h.roles[i];
    const bool superuser = facts.app_roles[i].superuser;
    parts.push_back(absl::StrCat(
        facts.app_roles_guessed ? "fleet role (the connecting role: no session carries leases of "
                                  "service " +
                                      facts.service + " now) "
                                : "app role ",
        r.role, ": connection limit ",
        superuser ? std::string("none (superuser)") : Limit(r.connection_limit), ", ", r.sessions,
        " session(s), ", r.fleet_free, " slot(s) left for the fleet"));
  }
  if (h.room_when_full.has_value()) {
    parts.push_back(absl::StrCat("with the app role(s) at their limits, ",
                                 std::max(0, *h.room_when_full), " slot(s) stay for other roles (",
                                 facts.other_sessions, " in use by them now)"));
  } else if (!facts.app_roles.empty()) {
    parts.push_back("no limit keeps a slot for a reaper role: the app role(s) can take every one");
  } else {
    parts.push_back(absl::StrCat("no session carries leases of service ", facts.service,
                                 " now, so the fleet's role is unknown (run doctor while the "
                                 "fleet runs, or connect as the fleet's role)"));
  }
  std::string message = absl::StrJoin(parts, "; ");

  Severity severity = Severity::kOk;
  std::vector<std::string> problems;
  std::vector<std::string> advice;
  const bool have_reaper = facts.reaper.has_value();
  const bool reaper_connected = have_reaper && facts.reaper->connected;
  const bool reaper_superuser = reaper_connected && facts.reaper->role.superuser;
  if (have_reaper && !reaper_connected) {
    severity = Severity::kFix;
    problems.push_back(
        absl::StrCat("the reaper conninfo cannot log in (", facts.reaper->connect_error,
                     "): the emergency path fails exactly when the app fills the server"));
    advice.push_back(
        "check the reaper conninfo's host, dbname, user and password, or set the role up:");
  } else if (reaper_connected) {
    const ReaperRoleFacts& rr = *facts.reaper;
    if (IsAppRole(facts, rr.role.name)) {
      severity = std::max(severity, Severity::kWarn);
      problems.push_back(absl::StrCat("the reaper conninfo logs in as app role ", rr.role.name,
                                      ", which shares the app's slots and limit, so it is locked "
                                      "out together with the app"));
      advice.push_back(absl::StrCat("give the reaper a role of its own (", kReaperRoleName, "):"));
    } else {
      std::string reaper_room;
      if (rr.role.connection_limit >= 0 && !rr.role.superuser) {
        reaper_room = absl::StrCat(", connection limit ", rr.role.connection_limit, ", ",
                                   std::max(0, rr.role.sessions - 1), " other session(s)");
      }
      message = absl::StrCat(message, "; reaper role ", rr.role.name,
                             rr.role.superuser ? " (superuser: may use the reserved slots)" : "",
                             " logs in", reaper_room);
      if (!rr.role.superuser && (!rr.read_all_stats || !rr.signal_backend)) {
        severity = Severity::kFix;
        problems.push_back(absl::StrCat(
            "reaper role ", rr.role.name,
            " lacks pg_read_all_stats or pg_signal_backend: its passes cannot see or end the "
            "app's sessions"));
      }
    }
  }
  const bool locked_out_risk =
      !reaper_superuser && (!h.room_when_full.has_value() || *h.room_when_full < 1);
  if (locked_out_risk && !facts.app_roles.empty()) {
    severity = std::max(severity, Severity::kWarn);
    problems.push_back(absl::StrCat(
        "when the fleet fills the server, no session can log in to reap",
        have_reaper ? ", the reaper role's included" : " (and no reaper conninfo is given)",
        "; cap the app role(s) so that ", kReaperReservedSlots, " slots stay for a reaper role"));
    for (const RoleUsage& r : facts.app_roles) {
      if (r.superuser) {
        problems.push_back(absl::StrCat("app role ", r.name,
                                        " is a superuser: connection limits do not apply to it; "
                                        "run the fleet as an ordinary role"));
      }
    }
  }
  if (!have_reaper && facts.reaper_candidate.has_value()) {
    message = absl::StrCat(message, "; role ", facts.reaper_candidate->name,
                           " (connected now) may read and signal every session: it can be the "
                           "reaper role");
  }
  if (severity == Severity::kOk && !have_reaper) {
    message = absl::StrCat(message,
                           ". Give doctor the reaper role's conninfo (--reaper-conninfo or "
                           "$AEQUOR_REAPER_CONNINFO) to check that it logs in");
  }
  for (std::string& p : problems) p[0] = absl::ascii_toupper(p[0]);  // sentences
  if (!problems.empty()) message = absl::StrCat(message, ". ", absl::StrJoin(problems, ". "));
  f.severity = severity;
  f.message = std::move(message);
  if (severity != Severity::kOk) {
    std::vector<std::string> lines = advice;
    for (const std::string& s : h.sql) lines.push_back(s);
    const bool new_role = !reaper_connected || IsAppRole(facts, facts.reaper->role.name);
    if (new_role) {
      lines.push_back(ConninfoAdvice(facts.reaper_candidate.has_value() && !have_reaper
                                         ? facts.reaper_candidate->name
                                         : std::string(kReaperRoleName)));
    }
    f.fix = absl::StrJoin(lines, "\n");
  }
  return f;
}

}  // namespace cli
}  // namespace aequor
