// Every check of `aequorctl doctor` (tools/aequorctl/doctor_checks.h) over
// facts made up here, no server: for each, what passes, what warns and what
// must be fixed, and what a check says when its facts could not be read.
// Plus the order of the checks and the report (doctor_report.h) built from
// them. clock_offset and reaper_headroom's own figures are in
// aequorctl_doctor_test.cc.
#include "tools/aequorctl/doctor_checks.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/aequorctl/cli.h"
#include "tools/aequorctl/doctor_report.h"

namespace aequor {
namespace cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

// Five round trips of 1 ms to a server whose clock is `offset_ms` ahead.
std::vector<ClockSample> Samples(double offset_ms) {
  std::vector<ClockSample> samples;
  for (int i = 0; i < 5; ++i) {
    ClockSample s;
    s.local_before = kT0 + absl::Milliseconds(10 * i);
    s.local_after = s.local_before + absl::Milliseconds(1);
    s.server_us = absl::ToUnixMicros(s.local_before + absl::Microseconds(500) +
                                     absl::Milliseconds(offset_ms));
    samples.push_back(s);
  }
  return samples;
}

RoleRow Role(const std::string& name, int limit, int sessions, bool is_current, bool is_app) {
  RoleRow row;
  row.usage.name = name;
  row.usage.name_sql = name;
  row.usage.connection_limit = limit;
  row.usage.sessions = sessions;
  row.is_current = is_current;
  row.is_app = is_app;
  return row;
}

// A server where everything is well: doctor connects as `reaper` (both
// grants, no limit), the fleet runs as `app` (CONNECTION LIMIT 60, 8
// sessions), 10 client sessions of 97 slots, nothing locked, no pooler.
DoctorFacts Healthy() {
  DoctorFacts f;
  f.settings.service = {"orders", "orders", "--service"};
  ServerFacts& s = f.server;
  s.role = "reaper";
  s.role_sql = "reaper";
  s.database = "app";
  s.database_sql = "app";
  s.server_version = "15.6";
  s.server_version_num = 150006;
  s.read_all_stats = true;
  s.signal_backend = true;
  s.max_connections = 100;
  s.superuser_reserved = 3;
  s.server_port = 5432;
  s.backend_pid = 4711;
  s.application_name = "aequorctl";
  f.clock_samples = Samples(0.2);
  f.secret = absl::OkStatus();
  f.leases = LeaseCounts{2, {}};
  f.hidden = HiddenSessions{0, ""};
  f.in_use = ConnectionsInUse{10, 5};
  f.roles =
      std::vector<RoleRow>{Role("reaper", -1, 1, true, false), Role("app", 60, 8, false, true)};
  f.reaper_lock = std::optional<LockHolder>();
  f.pooler.sent_application_name = "aequorctl";
  f.pooler.second_backend_pid = 4711;
  f.pooler.setting_survived = true;
  f.pooler.startup_backend_pid = 4711;
  f.pooler.port = 5432;
  f.startup_options =
      StartupOptionsFacts{"-c idle_in_transaction_session_timeout=60000", std::nullopt, true};
  return f;
}

const absl::Status kDenied = absl::PermissionDeniedError("permission denied for pg_locks");

void ExpectCouldNotCheck(const Finding& f, const std::string& check) {
  EXPECT_EQ(f.check, check);
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_EQ(f.message, "could not check: permission denied for pg_locks");
  EXPECT_EQ(f.fix, "");
}

// ---- All of them ------------------------------------------------------------

TEST(DoctorChecksTest, AHealthyServerIsOkEverywhereInTheStableOrder) {
  const std::vector<Finding> findings = RunDoctorChecks(Healthy());
  std::vector<std::string> checks;
  for (const Finding& f : findings) {
    checks.push_back(f.check);
    EXPECT_EQ(f.severity, Severity::kOk) << f.check << ": " << f.message;
    EXPECT_EQ(f.fix, "") << f.check;
  }
  EXPECT_THAT(checks,
              ElementsAre("connection", "server_version", "clock_offset", "secret",
                          "pg_read_all_stats", "pg_signal_backend", "visibility", "headroom",
                          "role_connection_limit", "role_connection_limit", "reaper_headroom",
                          "leased_zombies", "reaper_lock", "pooler", "startup_options", "options"));
  EXPECT_EQ(WorstSeverity(findings), Severity::kOk);
}

TEST(DoctorChecksTest, ConnectionSaysWhoAndWhere) {
  EXPECT_EQ(CheckConnection(Healthy()).message,
            "connected as role reaper to database app (PostgreSQL 15.6)");
}

// ---- server_version -----------------------------------------------------------

TEST(DoctorChecksTest, ServerVersion14IsOkAnd13IsAFix) {
  DoctorFacts f = Healthy();
  f.server.server_version_num = 140000;
  EXPECT_EQ(CheckServerVersion(f).severity, Severity::kOk);
  f.server.server_version = "13.4";
  f.server.server_version_num = 130004;
  const Finding old = CheckServerVersion(f);
  EXPECT_EQ(old.severity, Severity::kFix);
  EXPECT_THAT(old.message, HasSubstr("PostgreSQL 13.4 (server_version_num 130004)"));
  EXPECT_EQ(old.fix, "upgrade the server to PostgreSQL 14 or later");
}

// ---- clock_offset ---------------------------------------------------------------

TEST(DoctorChecksTest, ClockOffsetWithinTheMarginIsOkBeyondItAFix) {
  DoctorFacts f = Healthy();
  EXPECT_EQ(CheckClockOffset(f).severity, Severity::kOk);
  f.clock_samples = Samples(250);
  const Finding far = CheckClockOffset(f);
  EXPECT_EQ(far.severity, Severity::kFix);
  EXPECT_THAT(far.fix, HasSubstr("raise reap_clock_skew to at least 251 ms"));
  f.settings.reaper.clock_skew = absl::Seconds(1);  // --clock-skew-s 1
  EXPECT_EQ(CheckClockOffset(f).severity, Severity::kOk);
}

TEST(DoctorChecksTest, ClockOffsetThatCouldNotBeMeasuredIsAWarning) {
  DoctorFacts f = Healthy();
  f.clock_samples = kDenied;
  ExpectCouldNotCheck(CheckClockOffset(f), "clock_offset");
  EXPECT_FALSE(MeasuredClockOffset(f).has_value());
  std::vector<ClockSample> backwards = Samples(0);
  for (ClockSample& s : backwards) s.local_after = s.local_before - absl::Milliseconds(1);
  f.clock_samples = backwards;
  const Finding went_back = CheckClockOffset(f);
  EXPECT_EQ(went_back.severity, Severity::kWarn);
  EXPECT_EQ(went_back.message, "could not check: this machine's clock went backwards meanwhile");
}

// ---- secret ---------------------------------------------------------------------

TEST(DoctorChecksTest, SecretSetIsOkAbsentAWarningUnusableAFix) {
  DoctorFacts f = Healthy();
  EXPECT_EQ(CheckSecret(f).severity, Severity::kOk);
  f.secret = absl::NotFoundError("no coordination secret");
  const Finding absent = CheckSecret(f);
  EXPECT_EQ(absent.severity, Severity::kWarn);
  EXPECT_THAT(absent.message, HasSubstr("no coordination secret: leases cannot be verified"));
  EXPECT_THAT(absent.fix, HasSubstr("export AEQUOR_COORDINATION_SECRET_FILE="));
  f.secret = absl::InvalidArgumentError("the secret must be at least 16 bytes");
  const Finding unusable = CheckSecret(f);
  EXPECT_EQ(unusable.severity, Severity::kFix);
  EXPECT_THAT(unusable.message, HasSubstr("set but unusable: the secret must be at least 16"));
  EXPECT_THAT(unusable.fix, HasSubstr("(at least 16 bytes)"));
}

// ---- pg_read_all_stats, pg_signal_backend ---------------------------------------

TEST(DoctorChecksTest, MissingGrantsAreFixesWithTheQuotedRoleInTheGrant) {
  DoctorFacts f = Healthy();
  f.server.role = "Ops Reaper";
  f.server.role_sql = "\"Ops Reaper\"";
  f.server.read_all_stats = false;
  f.server.signal_backend = false;
  const std::vector<Finding> grants = CheckGrants(f);
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[0].check, "pg_read_all_stats");
  EXPECT_EQ(grants[0].severity, Severity::kFix);
  EXPECT_EQ(grants[0].fix, "GRANT pg_read_all_stats TO \"Ops Reaper\";");
  EXPECT_EQ(grants[1].check, "pg_signal_backend");
  EXPECT_EQ(grants[1].severity, Severity::kFix);
  EXPECT_EQ(grants[1].fix, "GRANT pg_signal_backend TO \"Ops Reaper\";");
}

TEST(DoctorChecksTest, GrantsOfAMemberOrASuperuserAreOk) {
  DoctorFacts f = Healthy();
  for (const Finding& g : CheckGrants(f)) EXPECT_EQ(g.severity, Severity::kOk) << g.check;
  f.server.superuser = true;
  f.server.read_all_stats = false;
  f.server.signal_backend = false;
  const std::vector<Finding> grants = CheckGrants(f);
  ASSERT_EQ(grants.size(), 2u);
  for (const Finding& g : grants) {
    EXPECT_EQ(g.severity, Severity::kOk) << g.check;
    EXPECT_THAT(g.message, HasSubstr("is a superuser"));
  }
}

// ---- visibility -------------------------------------------------------------------

TEST(DoctorChecksTest, HiddenSessionsAreAWarningNamingTheirRoles) {
  DoctorFacts f = Healthy();
  EXPECT_EQ(CheckVisibility(f).severity, Severity::kOk);
  f.hidden = HiddenSessions{2, "app, app2"};
  const Finding hidden = CheckVisibility(f);
  EXPECT_EQ(hidden.severity, Severity::kWarn);
  EXPECT_THAT(hidden.message, HasSubstr("2 session(s) of other roles (app, app2)"));
  EXPECT_EQ(hidden.fix, "GRANT pg_read_all_stats TO reaper;");
  f.hidden = kDenied;
  ExpectCouldNotCheck(CheckVisibility(f), "visibility");
}

// ---- headroom ---------------------------------------------------------------------

TEST(DoctorChecksTest, HeadroomIsOkWithRoomAWarningBelowTenPercentAFixWhenFull) {
  DoctorFacts f = Healthy();
  const Finding ok = CheckHeadroom(f);
  EXPECT_EQ(ok.severity, Severity::kOk);
  EXPECT_THAT(ok.message, HasSubstr("max_connections 100, superuser_reserved_connections 3: 97 "
                                    "slots for other roles; 10 client connection(s) in use"));
  EXPECT_THAT(ok.message, HasSubstr("87 free; database app: 5 in use, connection limit none"));
  EXPECT_THAT(ok.message, HasSubstr("leased zombies of service orders now: 0"));
  f.in_use = ConnectionsInUse{90, 5};
  const Finding low = CheckHeadroom(f);
  EXPECT_EQ(low.severity, Severity::kWarn);
  EXPECT_THAT(low.message, HasSubstr("Less than 10% is free."));
  EXPECT_THAT(low.fix, HasSubstr("ALTER SYSTEM SET max_connections = 200;"));
  f.in_use = ConnectionsInUse{97, 5};
  const Finding full = CheckHeadroom(f);
  EXPECT_EQ(full.severity, Severity::kFix);
  EXPECT_THAT(full.message, HasSubstr("No slot is free for non-superusers."));
  EXPECT_THAT(full.fix, HasSubstr("free slots with 'aequorctl reap --service orders'"));
}

TEST(DoctorChecksTest, ADatabaseAtItsConnectionLimitIsAFix) {
  DoctorFacts f = Healthy();
  f.server.database_connlimit = 5;
  const Finding at_limit = CheckHeadroom(f);
  EXPECT_EQ(at_limit.severity, Severity::kFix);
  EXPECT_THAT(at_limit.message, HasSubstr("The database is at its connection limit."));
  EXPECT_EQ(at_limit.fix,
            "free slots with 'aequorctl reap --service orders', or ALTER DATABASE app "
            "CONNECTION LIMIT 15;");
}

TEST(DoctorChecksTest, HeadroomSaysWhatItCannotKnowAboutZombies) {
  DoctorFacts f = Healthy();
  f.leases = LeaseCounts{3, {101, 102}};
  EXPECT_THAT(CheckHeadroom(f).message, HasSubstr("now: 2 (a reaper pass would kill them now)"));
  f.secret = absl::NotFoundError("no coordination secret");
  EXPECT_THAT(CheckHeadroom(f).message, HasSubstr("now: unknown without the coordination secret"));
  f.leases = kDenied;
  EXPECT_THAT(CheckHeadroom(f).message,
              HasSubstr("now: unknown (could not read pg_stat_activity)"));
  f.in_use = kDenied;
  ExpectCouldNotCheck(CheckHeadroom(f), "headroom");
}

// ---- role_connection_limit --------------------------------------------------------

TEST(DoctorChecksTest, ARoleAtItsLimitIsAFix) {
  DoctorFacts f = Healthy();
  f.roles =
      std::vector<RoleRow>{Role("reaper", -1, 1, true, false), Role("app", 8, 8, false, true)};
  const std::vector<Finding> limits = CheckRoleConnectionLimits(f);
  ASSERT_EQ(limits.size(), 2u);
  EXPECT_EQ(limits[0].severity, Severity::kOk);
  EXPECT_EQ(limits[0].message, "reaper role reaper: connection limit none, 1 in use");
  EXPECT_EQ(limits[1].severity, Severity::kFix);
  EXPECT_THAT(limits[1].message, HasSubstr("app role app: connection limit 8, 8 in use: at its"));
  EXPECT_EQ(limits[1].fix,
            "free slots with 'aequorctl reap --service orders' (as another role), or ALTER ROLE "
            "app CONNECTION LIMIT 13;");
}

TEST(DoctorChecksTest, AnUncappedAppRoleIsAWarningWithTheSuggestedLimit) {
  DoctorFacts f = Healthy();
  f.roles =
      std::vector<RoleRow>{Role("reaper", -1, 1, true, false), Role("app", -1, 8, false, true)};
  const std::vector<Finding> limits = CheckRoleConnectionLimits(f);
  ASSERT_EQ(limits.size(), 2u);
  EXPECT_EQ(limits[1].severity, Severity::kWarn);
  EXPECT_THAT(limits[1].message, HasSubstr("including the one the reaper (role reaper) needs"));
  // (97 - 3 reserved - 1 other session) / 1 app role.
  EXPECT_THAT(limits[1].fix, HasSubstr("ALTER ROLE app CONNECTION LIMIT 93;"));
}

TEST(DoctorChecksTest, AReaperThatIsTheUncappedAppRoleIsAWarningToSplitThem) {
  DoctorFacts f = Healthy();
  f.server.role = "app";
  f.roles = std::vector<RoleRow>{Role("app", -1, 8, true, true)};
  const std::vector<Finding> limits = CheckRoleConnectionLimits(f);
  ASSERT_EQ(limits.size(), 1u);
  EXPECT_EQ(limits[0].severity, Severity::kWarn);
  EXPECT_THAT(limits[0].message, HasSubstr("role app: connection limit none, 8 in use. The "
                                           "reaper runs as the role that owns"));
  EXPECT_THAT(limits[0].fix, HasSubstr("give the reaper its own role and cap the app's"));
  f.roles = kDenied;
  const std::vector<Finding> unknown = CheckRoleConnectionLimits(f);
  ASSERT_EQ(unknown.size(), 1u);
  ExpectCouldNotCheck(unknown[0], "role_connection_limit");
}

// ---- reaper_headroom (from the facts) ---------------------------------------------

TEST(DoctorChecksTest, ReaperHeadroomFromTheFactsOkWarnAndCouldNotCheck) {
  DoctorFacts f = Healthy();
  EXPECT_EQ(CheckReaperHeadroom(f).severity, Severity::kOk);
  f.roles =
      std::vector<RoleRow>{Role("reaper", -1, 1, true, false), Role("app", -1, 8, false, true)};
  EXPECT_EQ(CheckReaperHeadroom(f).severity, Severity::kWarn);
  f.in_use = kDenied;
  const Finding uncounted = CheckReaperHeadroom(f);
  EXPECT_EQ(uncounted.severity, Severity::kWarn);
  EXPECT_EQ(uncounted.message, "could not check: the connections in use could not be counted");
  f.roles = kDenied;
  ExpectCouldNotCheck(CheckReaperHeadroom(f), "reaper_headroom");
}

TEST(DoctorChecksTest, HeadroomFactsTakeTheAppRolesAndCountTheOthers) {
  const std::optional<HeadroomFacts> h = HeadroomFactsOf(Healthy());
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(h->app_roles.size(), 1u);
  EXPECT_EQ(h->app_roles[0].name, "app");
  EXPECT_FALSE(h->app_roles_guessed);
  EXPECT_EQ(h->other_sessions, 1);  // 10 - 8 of the app - doctor's own
  ASSERT_TRUE(h->reaper_candidate.has_value());
  EXPECT_EQ(h->reaper_candidate->name, "reaper");
  EXPECT_EQ(h->service, "orders");
}

TEST(DoctorChecksTest, WithoutLeasesTheConnectingRoleIsTakenForTheFleetUnlessSuperuser) {
  DoctorFacts f = Healthy();
  f.roles = std::vector<RoleRow>{Role("app", -1, 3, true, false)};
  std::optional<HeadroomFacts> h = HeadroomFactsOf(f);
  ASSERT_TRUE(h.has_value());
  ASSERT_EQ(h->app_roles.size(), 1u);
  EXPECT_EQ(h->app_roles[0].name, "app");
  EXPECT_TRUE(h->app_roles_guessed);
  EXPECT_FALSE(h->reaper_candidate.has_value());
  f.roles = std::vector<RoleRow>{Role("postgres", -1, 3, true, false)};
  (*f.roles)[0].usage.superuser = true;
  h = HeadroomFactsOf(f);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->app_roles.empty());
}

TEST(DoctorChecksTest, TheReaperConninfosRoleIsNeverTakenForTheFleet) {
  DoctorFacts f = Healthy();
  f.roles = std::vector<RoleRow>{Role("reaper", 2, 1, true, false)};
  ReaperRoleFacts reaper;
  reaper.connected = true;
  reaper.role.name = "reaper";
  f.reaper_role = reaper;
  const std::optional<HeadroomFacts> h = HeadroomFactsOf(f);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->app_roles.empty());
  ASSERT_TRUE(h->reaper.has_value());
}

// ---- leased_zombies ---------------------------------------------------------------

TEST(DoctorChecksTest, LeasedZombiesNoneIsOkSomeAWarningWithTheReapCommand) {
  DoctorFacts f = Healthy();
  const Finding none = CheckLeasedZombies(f);
  EXPECT_EQ(none.severity, Severity::kOk);
  EXPECT_EQ(none.message,
            "no leased zombies of service orders now (2 session(s) carry its leases)");
  f.leases = LeaseCounts{3, {101, 102}};
  const Finding some = CheckLeasedZombies(f);
  EXPECT_EQ(some.severity, Severity::kWarn);
  EXPECT_THAT(some.message, HasSubstr("2 of the 3 session(s) with leases of service orders are "
                                      "leased zombies now (signed, expired, idle at least 3m)"));
  EXPECT_EQ(some.fix,
            "aequorctl reap --service orders (and check the instances' reaper scheduler)");
}

TEST(DoctorChecksTest, LeasedZombiesWithoutTheSecretOrTheScanAreWarnings) {
  DoctorFacts f = Healthy();
  f.secret = absl::NotFoundError("no coordination secret");
  const Finding no_secret = CheckLeasedZombies(f);
  EXPECT_EQ(no_secret.severity, Severity::kWarn);
  EXPECT_THAT(no_secret.message, HasSubstr("without the coordination secret"));
  f.leases = kDenied;
  ExpectCouldNotCheck(CheckLeasedZombies(f), "leased_zombies");
}

// ---- reaper_lock ------------------------------------------------------------------

TEST(DoctorChecksTest, AFreeLockOrARunningPassIsOk) {
  DoctorFacts f = Healthy();
  EXPECT_EQ(CheckReaperLock(f).message, "the reaper lock of service orders is free");
  f.reaper_lock = std::optional<LockHolder>(LockHolder{77, "active"});
  const Finding running = CheckReaperLock(f);
  EXPECT_EQ(running.severity, Severity::kOk);
  EXPECT_EQ(running.message,
            "the reaper lock of service orders is held by pid 77 (active): a pass is probably "
            "running now");
}

TEST(DoctorChecksTest, ASessionLockAFrozenLeaderOrAnUnseenHolderIsAWarning) {
  DoctorFacts f = Healthy();
  f.reaper_lock = std::optional<LockHolder>(LockHolder{77, "idle"});
  const Finding session_lock = CheckReaperLock(f);
  EXPECT_EQ(session_lock.severity, Severity::kWarn);
  EXPECT_THAT(session_lock.message, HasSubstr("a session-level lock (as pg-aequor takes)"));
  EXPECT_EQ(session_lock.fix, "");

  f.leases = LeaseCounts{1, {77}};
  const Finding frozen = CheckReaperLock(f);
  EXPECT_EQ(frozen.severity, Severity::kWarn);
  EXPECT_THAT(frozen.message, HasSubstr("a leased zombie (a frozen leader)"));
  EXPECT_EQ(frozen.fix, "aequorctl reap --service orders");

  f.leases = LeaseCounts{};
  f.reaper_lock = std::optional<LockHolder>(LockHolder{77, std::nullopt});
  const Finding unseen = CheckReaperLock(f);
  EXPECT_EQ(unseen.severity, Severity::kWarn);
  EXPECT_THAT(unseen.message, HasSubstr("whose state role reaper cannot see"));
  EXPECT_EQ(unseen.fix, "GRANT pg_read_all_stats TO reaper;");

  f.reaper_lock = kDenied;
  ExpectCouldNotCheck(CheckReaperLock(f), "reaper_lock");
}

// ---- pooler -----------------------------------------------------------------------

TEST(DoctorChecksTest, NoSignOfAPoolerIsOkAndSaysWhatWasSeen) {
  const Finding ok = CheckPooler(Healthy());
  EXPECT_EQ(ok.severity, Severity::kOk);
  EXPECT_EQ(ok.message,
            "no pooler detected: application_name arrived intact; pg_backend_pid() stayed the "
            "same across statements; a session setting survived; the startup's backend pid is "
            "the server's; the server's port is the one connected to (5432) (a quiet "
            "transaction pooler may still pass these checks)");
}

TEST(DoctorChecksTest, EachStrongSignOfATransactionPoolerIsAFix) {
  DoctorFacts rewritten = Healthy();
  rewritten.server.application_name = "pgbouncer";
  DoctorFacts moved = Healthy();
  moved.pooler.second_backend_pid = 4712;
  DoctorFacts forgot = Healthy();
  forgot.pooler.setting_survived = false;
  for (const DoctorFacts& f : {rewritten, moved, forgot}) {
    const Finding pooled = CheckPooler(f);
    EXPECT_EQ(pooled.severity, Severity::kFix) << pooled.message;
    EXPECT_THAT(pooled.message, HasSubstr("a transaction-mode pooler seems to be in between: "));
    EXPECT_THAT(pooled.fix, HasSubstr("session-mode pooler"));
  }
  EXPECT_THAT(CheckPooler(rewritten).message,
              HasSubstr("application_name sent at connect (aequorctl) arrived as 'pgbouncer'"));
  EXPECT_THAT(CheckPooler(moved).message,
              HasSubstr("pg_backend_pid() changed between two statements (4711 then 4712)"));
}

TEST(DoctorChecksTest, EachWeakSignOfAPoolerOrProxyIsAWarning) {
  DoctorFacts startup = Healthy();
  startup.pooler.startup_backend_pid = 1;
  EXPECT_EQ(CheckPooler(startup).severity, Severity::kWarn);
  EXPECT_THAT(CheckPooler(startup).message,
              HasSubstr("the startup reported backend pid 1 but the server says 4711"));
  DoctorFacts mapped = Healthy();
  mapped.pooler.port = 6432;
  EXPECT_EQ(CheckPooler(mapped).severity, Severity::kWarn);
  EXPECT_THAT(CheckPooler(mapped).message,
              HasSubstr("connected to port 6432 but the server listens on 5432"));
  // Over a unix socket the port says nothing.
  mapped.pooler.unix_socket = true;
  EXPECT_EQ(CheckPooler(mapped).severity, Severity::kOk);
}

TEST(DoctorChecksTest, ASecondClientOnTheSameServerSessionIsATransactionPoolerToFix) {
  DoctorFacts shared = Healthy();
  shared.pooler.startup_backend_pid = -1066225734;  // PgBouncer's made-up pid
  shared.pooler.other_client_backend_pid = 4711;
  shared.pooler.other_client_shared = true;
  const Finding pooled = CheckPooler(shared);
  EXPECT_EQ(pooled.severity, Severity::kFix);
  EXPECT_EQ(pooled.message,
            "a transaction-mode pooler seems to be in between: a second client connected "
            "meanwhile ran on the server session this one had just used (pid 4711): server "
            "sessions are lent to clients in turn. Leases in application_name then describe "
            "pooled server sessions, not clients");
  EXPECT_EQ(pooled.fix,
            "connect the instances (and their reaper) to PostgreSQL directly or through a "
            "session-mode pooler; leases and the reaper lock need one server session per client\n"
            "while the transaction pooler stays, run no reaper pass through it (a pooled server "
            "session keeps the last client's lease, and killing it cuts the live clients that "
            "share it), and let the pooler drop frozen clients: PgBouncer's client_idle_timeout "
            "(idle_transaction_timeout for a client frozen inside a transaction)");

  // A client of its own: only the made-up startup pid is left, a warning.
  DoctorFacts own = shared;
  own.pooler.other_client_backend_pid = 5000;
  own.pooler.other_client_shared = false;
  const Finding session = CheckPooler(own);
  EXPECT_EQ(session.severity, Severity::kWarn);
  EXPECT_THAT(session.message, HasSubstr("the startup reported backend pid -1066225734"));
  EXPECT_THAT(session.fix, Not(HasSubstr("client_idle_timeout")));

  DoctorFacts direct = Healthy();
  direct.pooler.other_client_backend_pid = 5000;
  EXPECT_EQ(CheckPooler(direct).severity, Severity::kOk);
  EXPECT_THAT(CheckPooler(direct).message,
              HasSubstr("; a session setting survived; a second client connected meanwhile got a "
                        "server session of its own; the startup's backend pid is the server's"));
}

// ---- startup_options --------------------------------------------------------------

TEST(DoctorChecksTest, StartupOptionsThatArriveAreOk) {
  const Finding ok = CheckStartupOptions(Healthy());
  EXPECT_EQ(ok.check, "startup_options");
  EXPECT_EQ(ok.severity, Severity::kOk);
  EXPECT_EQ(ok.message,
            "the startup parameter options reaches the server session (sent "
            "'-c idle_in_transaction_session_timeout=60000')");
  EXPECT_EQ(ok.fix, "");
}

TEST(DoctorChecksTest, RefusedStartupOptionsAreAFixThatSetsTheBackstopOnTheAppRoles) {
  DoctorFacts f = Healthy();
  f.startup_options = StartupOptionsFacts{
      "-c idle_in_transaction_session_timeout=60000",
      "connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  unsupported startup "
      "parameter: options",
      false};
  const Finding refused = CheckStartupOptions(f);
  EXPECT_EQ(refused.severity, Severity::kFix);
  EXPECT_EQ(refused.message,
            "the server, or a pooler in between, refuses the startup parameter options "
            "(connection to server at \"127.0.0.1\", port 6432 failed: FATAL:  unsupported "
            "startup parameter: options). A connection manager sends its server-side backstops "
            "in it ('-c idle_in_transaction_session_timeout=60000' with the defaults; "
            "idle_session_timeout and TCP keepalives when set), so its connects are refused or "
            "go without them");
  EXPECT_EQ(refused.fix,
            "connect the instances to PostgreSQL directly, or set the backstops on the role "
            "instead, where every server session of the role gets them: ALTER ROLE app SET "
            "idle_in_transaction_session_timeout = '60s';\n"
            "with PgBouncer, ignore_startup_parameters = options then lets such connects in (it "
            "drops the parameter)");
  EXPECT_EQ(WorstSeverity(RunDoctorChecks(f)), Severity::kFix);

  // No app role known: the connecting role.
  f.roles = std::vector<RoleRow>{Role("reaper", -1, 1, true, false)};
  EXPECT_THAT(CheckStartupOptions(f).fix,
              HasSubstr("ALTER ROLE reaper SET idle_in_transaction_session_timeout = '60s';"));
  f.roles = kDenied;
  EXPECT_THAT(CheckStartupOptions(f).fix,
              HasSubstr("ALTER ROLE reaper SET idle_in_transaction_session_timeout = '60s';"));
}

TEST(DoctorChecksTest, StartupOptionsDroppedOnTheWayAreAWarning) {
  DoctorFacts f = Healthy();
  f.startup_options =
      StartupOptionsFacts{"-c idle_in_transaction_session_timeout=60000", std::nullopt, false};
  const Finding dropped = CheckStartupOptions(f);
  EXPECT_EQ(dropped.severity, Severity::kWarn);
  EXPECT_EQ(dropped.message,
            "the startup parameter options is accepted but does not reach the server session "
            "(sent '-c idle_in_transaction_session_timeout=60000'): a pooler in between drops it "
            "(PgBouncer's ignore_startup_parameters = options), so a connection manager's "
            "backstops do not apply");
  EXPECT_THAT(dropped.fix,
              HasSubstr("ALTER ROLE app SET idle_in_transaction_session_timeout = '60s';"));
  EXPECT_EQ(WorstSeverity(RunDoctorChecks(f)), Severity::kWarn);

  f.startup_options = kDenied;
  ExpectCouldNotCheck(CheckStartupOptions(f), "startup_options");
}

// ---- options ----------------------------------------------------------------------

TEST(DoctorChecksTest, ConsistentOptionsAreOneOkFinding) {
  DoctorFacts f = Healthy();
  std::vector<Finding> options = CheckOptions(f);
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0].severity, Severity::kOk);
  EXPECT_EQ(options[0].message,
            "consistent: min idle 3m, clock skew 100ms, idle in transaction never (pass "
            "--lease-ttl-s to check the TTL too)");
  f.settings.lease_ttl = absl::Seconds(90);
  options = CheckOptions(f);
  ASSERT_EQ(options.size(), 1u);
  EXPECT_THAT(options[0].message, HasSubstr(", lease TTL 1m30s"));
}

TEST(DoctorChecksTest, IdleInTransactionBelowMinIdleIsAFixTheManagerRefuses) {
  DoctorFacts f = Healthy();
  f.settings.reaper.idle_in_transaction_after = absl::Seconds(60);
  const std::vector<Finding> options = CheckOptions(f);
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0].severity, Severity::kFix);
  EXPECT_THAT(options[0].message, HasSubstr("the connection manager refuses this"));
  EXPECT_EQ(options[0].fix, "set reap_idle_in_transaction_after to 0 (never) or at least 3m");
}

TEST(DoctorChecksTest, SettingsThatContradictTheTtlAreOneWarningEach) {
  DoctorFacts f = Healthy();
  f.settings.lease_ttl = absl::Seconds(20);
  f.settings.reaper.min_idle = absl::Seconds(10);
  f.settings.reaper.clock_skew = absl::Seconds(30);
  const std::vector<Finding> options = CheckOptions(f);
  ASSERT_EQ(options.size(), 3u);
  for (const Finding& o : options) EXPECT_EQ(o.severity, Severity::kWarn) << o.message;
  EXPECT_THAT(options[0].message, HasSubstr("--min-idle-s (10s) is below the lease TTL (20s)"));
  EXPECT_EQ(options[0].fix, "reap_min_idle of at least 40s (twice the TTL)");
  EXPECT_THAT(options[1].message, HasSubstr("the lease TTL (20s) is not above the manager's"));
  EXPECT_THAT(options[2].message, HasSubstr("--clock-skew-s (30s) is not below the lease TTL"));
}

// ---- The report -------------------------------------------------------------------

TEST(DoctorReportTest, TextHasOneLinePerFindingItsFixAndACount) {
  const DoctorFacts f = Healthy();
  const std::vector<Finding> findings = {
      {"connection", Severity::kOk, "connected", ""},
      {"pooler", Severity::kWarn, "maybe", "line one\nline two"},
      {"server_version", Severity::kFix, "old", "upgrade"},
  };
  EXPECT_EQ(DoctorText(f, findings),
            "aequorctl doctor: service orders (--service), role reaper, database app\n"
            "\n"
            "[ok]   connection: connected\n"
            "[warn] pooler: maybe\n"
            "       fix: line one\n"
            "            line two\n"
            "[fix]  server_version: old\n"
            "       fix: upgrade\n"
            "\n"
            "1 to fix, 1 warning(s).\n");
  EXPECT_THAT(DoctorText(f, {{"connection", Severity::kOk, "connected", ""}}),
              HasSubstr("\nAll is well.\n"));
}

TEST(DoctorReportTest, JsonHasTheDocumentedMembersInOrder) {
  const DoctorFacts f = Healthy();
  const std::vector<Finding> findings = {
      {"connection", Severity::kOk, "connected", ""},
      {"pooler", Severity::kWarn, "maybe", "do this"},
  };
  const nlohmann::ordered_json doc = DoctorJson(f, findings);
  std::vector<std::string> keys;
  for (const auto& item : doc.items()) keys.push_back(item.key());
  EXPECT_THAT(keys, ElementsAre("service", "role", "database", "status", "findings", "clock_offset",
                                "headroom"));
  EXPECT_EQ(doc["status"], "warn");
  EXPECT_EQ(JsonText(doc["findings"]),
            "[{\"check\":\"connection\",\"severity\":\"ok\",\"message\":\"connected\","
            "\"fix\":null},{\"check\":\"pooler\",\"severity\":\"warn\",\"message\":\"maybe\","
            "\"fix\":\"do this\"}]");
  EXPECT_EQ(doc["clock_offset"]["samples"], 5);
  EXPECT_EQ(doc["headroom"]["app_roles"][0]["role"], "app");

  DoctorFacts unread = Healthy();
  unread.clock_samples = kDenied;
  unread.in_use = kDenied;
  const nlohmann::ordered_json nulls = DoctorJson(unread, findings);
  EXPECT_TRUE(nulls["clock_offset"].is_null());
  EXPECT_TRUE(nulls["headroom"].is_null());
}

// Without pg_read_all_stats other roles' sessions are hidden: doctor says how
// many it cannot see instead of "no leased zombies" (issue 12, item 7).
TEST(DoctorChecksTest, LeasedZombiesSaysHowManySessionsItCannotSeeNeverNone) {
  DoctorFacts f = Healthy();
  f.server.read_all_stats = false;
  f.hidden = HiddenSessions{3, "app2, app3"};
  const Finding none = CheckLeasedZombies(f);
  EXPECT_EQ(none.severity, Severity::kWarn);
  EXPECT_THAT(none.message, Not(HasSubstr("no leased zombies")));
  EXPECT_THAT(none.message, HasSubstr("3 session(s) of other roles (app2, app3)"));
  EXPECT_THAT(none.message, HasSubstr("not visible to role reaper"));
  EXPECT_EQ(none.fix, "GRANT pg_read_all_stats TO reaper;");
  const Finding headroom = CheckHeadroom(f);
  EXPECT_THAT(headroom.message, Not(HasSubstr("now: 0;")));
  EXPECT_THAT(headroom.message, HasSubstr("3 session(s) of other roles not visible"));
  f.leases = LeaseCounts{3, {101}};
  const Finding some = CheckLeasedZombies(f);
  EXPECT_EQ(some.severity, Severity::kWarn);
  EXPECT_THAT(some.message, HasSubstr("1 of the 3 session(s) with leases of service orders"));
  EXPECT_THAT(some.message, HasSubstr("3 session(s) of other roles (app2, app3)"));
}

}  // namespace
}  // namespace cli
}  // namespace aequor
