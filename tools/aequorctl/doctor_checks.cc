#include "tools/aequorctl/doctor_checks.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lease.h"
#include "api/options.h"
#include "api/secret.h"

namespace aequor {
namespace cli {
namespace {

constexpr Severity kOk = Severity::kOk;
constexpr Severity kWarn = Severity::kWarn;
constexpr Severity kFix = Severity::kFix;

std::string Seconds(absl::Duration d) { return absl::FormatDuration(d); }

// Slots left for roles without superuser (and, on 16+, reserved_connections).
int AvailableSlots(const ServerFacts& s) {
  return s.max_connections - s.superuser_reserved - s.reserved;
}

const std::string& Service(const DoctorFacts& facts) { return facts.settings.service.normalized; }

// Sessions of other roles this role cannot see (0 when unknown).
int HiddenCount(const DoctorFacts& facts) { return facts.hidden.ok() ? facts.hidden->count : 0; }

// The leased zombies of the service now, as the headroom check shows them.
std::string ZombiesText(const DoctorFacts& facts) {
  if (!facts.leases.ok()) return "unknown (could not read pg_stat_activity)";
  if (!facts.secret.ok()) return "unknown without the coordination secret";
  const size_t zombies = facts.leases->would_kill.size();
  return absl::StrCat(zombies, zombies > 0 ? " (a reaper pass would kill them now)" : "",
                      HiddenCount(facts) > 0
                          ? absl::StrCat(" among the visible sessions, ", HiddenCount(facts),
                                         " session(s) of other roles not visible")
                          : "");
}

// "; N session(s) of other roles (a, b) are not visible to role R, so ...",
// or "" when every session is visible (or visibility could not be read).
std::string HiddenNote(const DoctorFacts& facts) {
  if (HiddenCount(facts) == 0) return "";
  return absl::StrCat("; ", facts.hidden->count, " session(s) of other roles (",
                      facts.hidden->roles, ") are not visible to role ", facts.server.role,
                      ", so leased zombies among them cannot be counted");
}

std::string GrantFix(absl::string_view grant, const ServerFacts& s) {
  return absl::StrCat("GRANT ", grant, " TO ", s.role_sql, ";");
}

}  // namespace

std::vector<Finding> RunDoctorChecks(const DoctorFacts& facts) {
  std::vector<Finding> findings;
  auto add = [&](Finding f) { findings.push_back(std::move(f)); };
  auto add_all = [&](std::vector<Finding> fs) {
    for (Finding& f : fs) findings.push_back(std::move(f));
  };
  add(CheckConnection(facts));
  add(CheckServerVersion(facts));
  add(CheckClockOffset(facts));
  add(CheckSecret(facts));
  add_all(CheckGrants(facts));
  add(CheckVisibility(facts));
  add(CheckHeadroom(facts));
  add_all(CheckRoleConnectionLimits(facts));
  add(CheckReaperHeadroom(facts));
  add(CheckLeasedZombies(facts));
  add(CheckReaperLock(facts));
  add(CheckPooler(facts));
  add(CheckStartupOptions(facts));
  add_all(CheckOptions(facts));
  return findings;
}

Finding CheckConnection(const DoctorFacts& facts) {
  const ServerFacts& s = facts.server;
  return {"connection", kOk,
          absl::StrCat("connected as role ", s.role, " to database ", s.database, " (PostgreSQL ",
                       s.server_version, ")"),
          ""};
}

Finding CheckServerVersion(const DoctorFacts& facts) {
  const ServerFacts& s = facts.server;
  const std::string version = absl::StrCat("PostgreSQL ", s.server_version, " (server_version_num ",
                                           s.server_version_num, ")");
  if (s.server_version_num >= 140000) {
    return {"server_version", kOk,
            absl::StrCat(version,
                         ": pg_terminate_backend(pid, timeout) and idle_session_timeout "
                         "(PostgreSQL 14+) are available"),
            ""};
  }
  return {"server_version", kFix,
          absl::StrCat(version,
                       ": a reaper pass calls pg_terminate_backend(pid, timeout) and the "
                       "idle_session_timeout backstop needs PostgreSQL 14 or later"),
          "upgrade the server to PostgreSQL 14 or later"};
}

std::optional<ClockOffset> MeasuredClockOffset(const DoctorFacts& facts) {
  if (!facts.clock_samples.ok()) return std::nullopt;
  return BestClockOffset(*facts.clock_samples);
}

Finding CheckClockOffset(const DoctorFacts& facts) {
  if (!facts.clock_samples.ok()) return CouldNotCheck("clock_offset", facts.clock_samples.status());
  const std::optional<ClockOffset> offset = BestClockOffset(*facts.clock_samples);
  if (!offset.has_value()) {
    return CouldNotCheck("clock_offset",
                         absl::InternalError("this machine's clock went backwards meanwhile"));
  }
  return CheckClockOffset(*offset, facts.settings.reaper.clock_skew);
}

Finding CheckSecret(const DoctorFacts& facts) {
  if (facts.secret.ok()) {
    return {"secret", kOk,
            absl::StrCat("coordination secret set (", kSecretEnvVar, " or ", kSecretFileEnvVar,
                         "): leases are verified"),
            ""};
  }
  if (facts.secret.code() == absl::StatusCode::kNotFound) {
    return {"secret", kWarn,
            absl::StrCat(facts.secret.message(),
                         ": leases cannot be verified here, so leased zombies are not counted "
                         "and 'aequorctl reap' cannot run"),
            absl::StrCat("export ", kSecretFileEnvVar,
                         "=<file holding the fleet's coordination secret> (or ", kSecretEnvVar,
                         "; never on the command line)")};
  }
  return {"secret", kFix,
          absl::StrCat("the coordination secret is set but unusable: ", facts.secret.message()),
          absl::StrCat("set exactly one of ", kSecretEnvVar, " and ", kSecretFileEnvVar,
                       " to the fleet's secret (at least ", kMinSecretBytes, " bytes)")};
}

std::vector<Finding> CheckGrants(const DoctorFacts& facts) {
  const ServerFacts& s = facts.server;
  if (s.superuser) {
    std::vector<Finding> findings;
    for (const char* grant : {"pg_read_all_stats", "pg_signal_backend"}) {
      findings.push_back(
          {grant, kOk,
           absl::StrCat("role ", s.role,
                        " is a superuser: it sees and may stop every session (a dedicated "
                        "reaper role with pg_read_all_stats and pg_signal_backend is safer)"),
           ""});
    }
    return findings;
  }
  Finding stats =
      s.read_all_stats
          ? Finding{"pg_read_all_stats", kOk,
                    absl::StrCat("role ", s.role,
                                 " has pg_read_all_stats: it sees the state of every session"),
                    ""}
          : Finding{"pg_read_all_stats", kFix,
                    absl::StrCat("role ", s.role,
                                 " lacks pg_read_all_stats: sessions of other roles show no state "
                                 "in pg_stat_activity, so a pass counts them as not_visible and "
                                 "never reaps them"),
                    GrantFix("pg_read_all_stats", s)};
  Finding signal =
      s.signal_backend
          ? Finding{"pg_signal_backend", kOk,
                    absl::StrCat("role ", s.role,
                                 " has pg_signal_backend: it may terminate sessions of any role "
                                 "but superusers"),
                    ""}
          : Finding{"pg_signal_backend", kFix,
                    absl::StrCat("role ", s.role,
                                 " lacks pg_signal_backend: a pass can only terminate sessions of "
                                 "roles it is a member of (others are skipped as not_permitted)"),
                    GrantFix("pg_signal_backend", s)};
  return {std::move(stats), std::move(signal)};
}

Finding CheckVisibility(const DoctorFacts& facts) {
  if (!facts.hidden.ok()) return CouldNotCheck("visibility", facts.hidden.status());
  const ServerFacts& s = facts.server;
  if (facts.hidden->count == 0) {
    return {"visibility", kOk,
            absl::StrCat("every session of database ", s.database, " is visible to role ", s.role),
            ""};
  }
  return {"visibility", kWarn,
          absl::StrCat(facts.hidden->count, " session(s) of other roles (", facts.hidden->roles,
                       ") in database ", s.database, " are not visible to role ", s.role,
                       ": their state is unknown, so a pass cannot judge them (not_visible)"),
          GrantFix("pg_read_all_stats", s)};
}

Finding CheckHeadroom(const DoctorFacts& facts) {
  if (!facts.in_use.ok()) return CouldNotCheck("headroom", facts.in_use.status());
  const ServerFacts& s = facts.server;
  const int in_use = facts.in_use->server;
  const int in_database = facts.in_use->database;
  const int available = AvailableSlots(s);
  const int free_slots = available - in_use;
  const std::string message = absl::StrCat(
      "max_connections ", s.max_connections, ", superuser_reserved_connections ",
      s.superuser_reserved,
      s.reserved > 0 ? absl::StrCat(", reserved_connections ", s.reserved) : "", ": ", available,
      " slots for other roles; ", in_use,
      " client connection(s) in use on the server (this one included), ", free_slots,
      " free; database ", s.database, ": ", in_database, " in use, connection limit ",
      s.database_connlimit < 0 ? std::string("none") : absl::StrCat(s.database_connlimit),
      "; leased zombies of service ", Service(facts), " now: ", ZombiesText(facts));
  const std::string reap =
      absl::StrCat("free slots with 'aequorctl reap --service ", Service(facts), "'");
  if (s.database_connlimit >= 0 && in_database >= s.database_connlimit) {
    return {"headroom", kFix, absl::StrCat(message, ". The database is at its connection limit."),
            absl::StrCat(reap, ", or ALTER DATABASE ", s.database_sql, " CONNECTION LIMIT ",
                         s.database_connlimit + std::max(10, s.database_connlimit / 2), ";")};
  }
  const std::string raise = absl::StrCat(
      reap, ", or raise the limit: ALTER SYSTEM SET max_connections = ",
      std::max(s.max_connections * 2, s.max_connections + 10), "; (then restart PostgreSQL)");
  if (free_slots <= 0) {
    return {"headroom", kFix, absl::StrCat(message, ". No slot is free for non-superusers."),
            raise};
  }
  if (free_slots < std::max(3, available / 10)) {
    return {"headroom", kWarn, absl::StrCat(message, ". Less than 10% is free."), raise};
  }
  return {"headroom", kOk, message, ""};
}

std::optional<HeadroomFacts> HeadroomFactsOf(const DoctorFacts& facts) {
  if (!facts.roles.ok() || !facts.in_use.ok()) return std::nullopt;
  const ServerFacts& s = facts.server;
  HeadroomFacts h;
  h.max_connections = s.max_connections;
  h.superuser_reserved = s.superuser_reserved;
  h.reserved = s.reserved;
  h.client_backends = facts.in_use->server;
  h.service = Service(facts);
  h.reaper_role_exists = s.reaper_role_exists;
  h.reaper = facts.reaper_role;
  const bool reaper_in = facts.reaper_role.has_value() && facts.reaper_role->connected;
  int app_sessions = 0;
  bool current_is_app = false;
  const RoleUsage* current = nullptr;
  for (const RoleRow& row : *facts.roles) {
    if (row.is_current) current = &row.usage;
    if (row.is_app) {
      h.app_roles.push_back(row.usage);
      app_sessions += row.usage.sessions;
      current_is_app = current_is_app || row.is_current;
    }
  }
  // No session carries the service's leases: take the connecting role as
  // the fleet's, unless it is a superuser or the reaper conninfo's role.
  if (h.app_roles.empty() && current != nullptr && !current->superuser &&
      !(reaper_in && current->name == facts.reaper_role->role.name)) {
    h.app_roles.push_back(*current);
    h.app_roles_guessed = true;
    app_sessions = current->sessions;
    current_is_app = true;
  }
  if (current != nullptr && !current_is_app && !current->superuser && s.read_all_stats &&
      s.signal_backend) {
    h.reaper_candidate = *current;
  }
  h.other_sessions = std::max(0, facts.in_use->server - app_sessions - (current_is_app ? 0 : 1));
  return h;
}

std::vector<Finding> CheckRoleConnectionLimits(const DoctorFacts& facts) {
  if (!facts.roles.ok()) return {CouldNotCheck("role_connection_limit", facts.roles.status())};
  const std::vector<RoleRow>& roles = *facts.roles;
  // What non-superusers may use, split among the app roles, leaving
  // kReaperReservedSlots for a reaper role (doctor_headroom.h).
  const std::optional<HeadroomFacts> headroom = HeadroomFactsOf(facts);
  const int app_roles = static_cast<int>(
      std::count_if(roles.begin(), roles.end(), [](const RoleRow& r) { return r.is_app; }));
  const int suggested = headroom.has_value()
                            ? ComputeHeadroom(*headroom).suggested_limit
                            : std::max(1, (AvailableSlots(facts.server) - kReaperReservedSlots) /
                                              std::max(1, app_roles));
  std::vector<Finding> findings;
  for (const RoleRow& row : roles) {
    const RoleUsage& r = row.usage;
    const int limit = r.connection_limit;
    const std::string who = absl::StrCat(row.is_current && row.is_app ? "role "
                                         : row.is_current             ? "reaper role "
                                                                      : "app role ",
                                         r.name);
    const std::string usage = absl::StrCat(who, ": connection limit ",
                                           limit < 0 ? std::string("none") : absl::StrCat(limit),
                                           ", ", r.sessions, " in use");
    if (limit >= 0 && r.sessions >= limit) {
      findings.push_back(
          {"role_connection_limit", kFix,
           absl::StrCat(usage, ": at its limit, new sessions of ", r.name,
                        " fail with 'too many connections for role'"),
           absl::StrCat(row.is_app ? absl::StrCat("free slots with 'aequorctl reap --service ",
                                                  Service(facts), "' (as another role), or ")
                                   : std::string(),
                        "ALTER ROLE ", r.name_sql, " CONNECTION LIMIT ",
                        limit + std::max(5, limit / 2), ";")});
    } else if (row.is_app && row.is_current && limit < 0 && !r.superuser) {
      findings.push_back(
          {"role_connection_limit", kWarn,
           absl::StrCat(usage,
                        ". The reaper runs as the role that owns the service's leased sessions "
                        "and nothing caps it: when the app fills the server, no session of ",
                        r.name, " can log in to reap"),
           absl::StrCat("give the reaper its own role and cap the app's: CREATE ROLE "
                        "aequor_reaper LOGIN; GRANT pg_read_all_stats, pg_signal_backend TO "
                        "aequor_reaper; ALTER ROLE ",
                        r.name_sql, " CONNECTION LIMIT ", suggested,
                        "; (and point ManagerOptions::reaper_conninfo at aequor_reaper)")});
    } else if (row.is_app && !row.is_current && limit < 0 && !r.superuser) {
      findings.push_back(
          {"role_connection_limit", kWarn,
           absl::StrCat(usage,
                        ": its sessions can take every slot, including the one the reaper "
                        "(role ",
                        facts.server.role, ") needs to log in and free them"),
           absl::StrCat("ALTER ROLE ", r.name_sql, " CONNECTION LIMIT ", suggested,
                        "; (the app roles' limits together should leave room for the reaper "
                        "role)")});
    } else {
      findings.push_back({"role_connection_limit", kOk, usage, ""});
    }
  }
  return findings;
}

Finding CheckReaperHeadroom(const DoctorFacts& facts) {
  const std::optional<HeadroomFacts> headroom = HeadroomFactsOf(facts);
  if (!headroom.has_value()) {
    return CouldNotCheck(
        "reaper_headroom",
        !facts.roles.ok() ? facts.roles.status()
                          : absl::UnavailableError("the connections in use could not be counted"));
  }
  return CheckReaperHeadroom(*headroom);
}

Finding CheckLeasedZombies(const DoctorFacts& facts) {
  if (!facts.leases.ok()) return CouldNotCheck("leased_zombies", facts.leases.status());
  if (!facts.secret.ok()) {
    return {"leased_zombies", kWarn,
            "cannot tell leased zombies from live sessions without the coordination secret",
            absl::StrCat("export ", kSecretFileEnvVar, "=<file holding the fleet's secret>")};
  }
  const size_t zombies = facts.leases->would_kill.size();
  const int leased = facts.leases->leased;
  if (zombies == 0 && HiddenCount(facts) > 0) {
    // Not "none": the sessions this role cannot see may hold some.
    return {"leased_zombies", kWarn,
            absl::StrCat("none of the ", leased, " visible session(s) with leases of service ",
                         Service(facts), " is a leased zombie now", HiddenNote(facts)),
            GrantFix("pg_read_all_stats", facts.server)};
  }
  if (zombies == 0) {
    return {"leased_zombies", kOk,
            absl::StrCat("no leased zombies of service ", Service(facts), " now (", leased,
                         " session(s) carry its leases)"),
            ""};
  }
  return {"leased_zombies", kWarn,
          absl::StrCat(zombies, " of the ", leased, " session(s) with leases of service ",
                       Service(facts), " are leased zombies now (signed, expired, idle at least ",
                       Seconds(facts.settings.reaper.min_idle),
                       "): a pass would kill them; if they stay, no instance is running passes",
                       HiddenNote(facts)),
          absl::StrCat("aequorctl reap --service ", Service(facts),
                       " (and check the instances' reaper scheduler)")};
}

Finding CheckReaperLock(const DoctorFacts& facts) {
  if (!facts.reaper_lock.ok()) return CouldNotCheck("reaper_lock", facts.reaper_lock.status());
  const std::string lock = absl::StrCat("the reaper lock of service ", Service(facts));
  if (!facts.reaper_lock->has_value()) {
    return {"reaper_lock", kOk, absl::StrCat(lock, " is free"), ""};
  }
  const LockHolder& holder = **facts.reaper_lock;
  const std::string held = absl::StrCat(lock, " is held by pid ", holder.pid);
  const bool zombie =
      facts.leases.ok() &&
      std::count(facts.leases->would_kill.begin(), facts.leases->would_kill.end(), holder.pid) > 0;
  if (zombie) {
    return {"reaper_lock", kWarn,
            absl::StrCat(held,
                         ", a leased zombie (a frozen leader): the next pass terminates it and "
                         "takes the lock"),
            absl::StrCat("aequorctl reap --service ", Service(facts))};
  }
  if (!holder.state.has_value()) {
    return {"reaper_lock", kWarn,
            absl::StrCat(held, ", whose state role ", facts.server.role, " cannot see"),
            GrantFix("pg_read_all_stats", facts.server)};
  }
  if (*holder.state == "idle") {
    return {"reaper_lock", kWarn,
            absl::StrCat(held,
                         ", an idle session outside any transaction: a session-level lock (as "
                         "pg-aequor takes), so every pass reports busy until that session "
                         "unlocks, ends, or becomes a leased zombie"),
            ""};
  }
  return {"reaper_lock", kOk,
          absl::StrCat(held, " (", *holder.state, "): a pass is probably running now"), ""};
}

std::vector<Finding> CheckOptions(const DoctorFacts& facts) {
  const ReaperFlags& reaper = facts.settings.reaper;
  const std::optional<absl::Duration>& lease_ttl = facts.settings.lease_ttl;
  std::vector<Finding> findings;
  if (reaper.idle_in_transaction_after > absl::ZeroDuration() &&
      reaper.idle_in_transaction_after < reaper.min_idle) {
    findings.push_back(
        {"options", kFix,
         absl::StrCat("--reap-idle-in-transaction-after-s (",
                      Seconds(reaper.idle_in_transaction_after), ") is below --min-idle-s (",
                      Seconds(reaper.min_idle),
                      "): the connection manager refuses this (reap_idle_in_transaction_after "
                      "must be 0 or at least reap_min_idle)"),
         absl::StrCat("set reap_idle_in_transaction_after to 0 (never) or at least ",
                      Seconds(reaper.min_idle))});
  }
  if (lease_ttl.has_value()) {
    const absl::Duration ttl = *lease_ttl;
    if (reaper.min_idle < ttl) {
      findings.push_back(
          {"options", kWarn,
           absl::StrCat("--min-idle-s (", Seconds(reaper.min_idle), ") is below the lease TTL (",
                        Seconds(ttl),
                        "): a session whose lease expired has been quiet about that long "
                        "anyway, so the idle check adds no margin over expiry (pg-aequor's "
                        "defaults: TTL 90s, min idle 180s)"),
           absl::StrCat("reap_min_idle of at least ", Seconds(2 * ttl), " (twice the TTL)")});
    }
    if (ttl <= absl::Seconds(30)) {
      findings.push_back(
          {"options", kWarn,
           absl::StrCat("the lease TTL (", Seconds(ttl),
                        ") is not above the manager's default lease_renew_before (30s): the "
                        "manager refuses to build unless lease_renew_before (and "
                        "lease_block_before) are lowered"),
           "set lease_renew_before to about a third of lease_ttl, lease_block_before below it"});
    }
    if (reaper.clock_skew >= ttl) {
      findings.push_back(
          {"options", kWarn,
           absl::StrCat("--clock-skew-s (", Seconds(reaper.clock_skew),
                        ") is not below the lease TTL (", Seconds(ttl),
                        "): leases are reaped a whole TTL or more after they expire"),
           absl::StrCat("reap_clock_skew well below the TTL (the manager's default is ",
                        Seconds(ManagerOptions().reap_clock_skew), ")")});
    }
  }
  if (findings.empty()) {
    findings.push_back(
        {"options", kOk,
         absl::StrCat("consistent: min idle ", Seconds(reaper.min_idle), ", clock skew ",
                      Seconds(reaper.clock_skew), ", idle in transaction ",
                      reaper.idle_in_transaction_after > absl::ZeroDuration()
                          ? absl::StrCat("after ", Seconds(reaper.idle_in_transaction_after))
                          : std::string("never"),
                      lease_ttl.has_value()
                          ? absl::StrCat(", lease TTL ", Seconds(*lease_ttl))
                          : std::string(" (pass --lease-ttl-s to check the TTL too)")),
         ""});
  }
  return findings;
}

}  // namespace cli
}  // namespace aequor
