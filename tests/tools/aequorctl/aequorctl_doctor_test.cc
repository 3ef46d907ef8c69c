// doctor's clock_offset and reaper_headroom judgements
// (tools/aequorctl/doctor_clock.h, doctor_headroom.h), over figures made up
// here: the clock offset estimate and its check against the reaper's margin,
// the reaper's headroom with the SQL it prints, and their JSON
// (doctor_report.h). The other checks are in doctor_checks_test.cc; the
// end-to-end runs against a real server in doctor_command_test.cc.
#include "tools/aequorctl/cli.h"
#include "tools/aequorctl/doctor_clock.h"
#include "tools/aequorctl/doctor_finding.h"
#include "tools/aequorctl/doctor_headroom.h"
#include "tools/aequorctl/doctor_report.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aequor {
namespace cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1800000000);

// A round trip sent at kT0 + `sent_ms`, lasting `round_trip_ms`, answered by
// a server whose clock is `offset_ms` ahead, read at the midpoint.
ClockSample Sample(double sent_ms, double round_trip_ms, double offset_ms) {
  ClockSample s;
  s.local_before = kT0 + absl::Milliseconds(sent_ms);
  s.local_after = s.local_before + absl::Milliseconds(round_trip_ms);
  s.server_us = absl::ToUnixMicros(s.local_before + absl::Milliseconds(round_trip_ms / 2) +
                                   absl::Milliseconds(offset_ms));
  return s;
}

ClockOffset Offset(double offset_ms, double uncertainty_ms) {
  ClockOffset o;
  o.offset = absl::Milliseconds(offset_ms);
  o.uncertainty = absl::Milliseconds(uncertainty_ms);
  o.samples = 5;
  return o;
}

// ---- clock_offset ----------------------------------------------------------

TEST(DoctorClockOffsetTest, TheShortestRoundTripGivesTheOffsetAndHalfItIsTheUncertainty) {
  const std::optional<ClockOffset> best =
      BestClockOffset({Sample(0, 10, 7), Sample(20, 2, 3), Sample(40, 4, 5)});
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->offset, absl::Milliseconds(3));
  EXPECT_EQ(best->uncertainty, absl::Milliseconds(1));
  EXPECT_EQ(best->samples, 3);
}

TEST(DoctorClockOffsetTest, AServerBehindGivesANegativeOffset) {
  const std::optional<ClockOffset> best = BestClockOffset({Sample(0, 1, -250)});
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->offset, absl::Milliseconds(-250));
}

TEST(DoctorClockOffsetTest, SamplesWhoseLocalClockWentBackwardsAreIgnored) {
  ClockSample backwards = Sample(0, 1, 0);
  backwards.local_after = backwards.local_before - absl::Milliseconds(5);
  EXPECT_FALSE(BestClockOffset({backwards}).has_value());
  EXPECT_FALSE(BestClockOffset({}).has_value());
  const std::optional<ClockOffset> best = BestClockOffset({backwards, Sample(10, 6, 2)});
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->offset, absl::Milliseconds(2));
  EXPECT_EQ(best->samples, 2);
}

TEST(DoctorClockOffsetTest, WithinTheMarginIsOkAndSaysByHowMuch) {
  const Finding f = CheckClockOffset(Offset(0.3, 0.1), absl::Milliseconds(100));
  EXPECT_EQ(f.check, "clock_offset");
  EXPECT_EQ(f.severity, Severity::kOk);
  EXPECT_THAT(f.message, HasSubstr("0.300 ms behind the server's"));
  EXPECT_THAT(f.message, HasSubstr("offset +0.300 ms +- 0.100 ms"));
  EXPECT_THAT(f.message, HasSubstr("within the reaper's clock-skew margin (reap_clock_skew 100ms) "
                                   "by 99.600 ms"));
  EXPECT_EQ(f.fix, "");
}

TEST(DoctorClockOffsetTest, ExactlyAtTheMarginIsStillOk) {
  EXPECT_EQ(CheckClockOffset(Offset(-99, 1), absl::Milliseconds(100)).severity, Severity::kOk);
}

TEST(DoctorClockOffsetTest, AServerAheadBeyondTheMarginIsAFixNamingNtpAndTheSkewNeeded) {
  const Finding f = CheckClockOffset(Offset(250, 0.4), absl::Milliseconds(100));
  EXPECT_EQ(f.severity, Severity::kFix);
  EXPECT_THAT(f.message, HasSubstr("250.000 ms behind the server's"));
  EXPECT_THAT(f.message, HasSubstr("exceeds the reaper's clock-skew margin"));
  EXPECT_THAT(f.message, HasSubstr("by 150.400 ms"));
  EXPECT_THAT(f.message, HasSubstr("kill live sessions"));
  EXPECT_EQ(f.fix,
            "synchronise this machine's clock with NTP/chrony (e.g. chronyc tracking), or raise "
            "reap_clock_skew to at least 251 ms");
}

TEST(DoctorClockOffsetTest, AMachineAheadBeyondTheMarginIsAFixSayingZombiesAreKept) {
  const Finding f = CheckClockOffset(Offset(-3000, 1), absl::Seconds(2));
  EXPECT_EQ(f.severity, Severity::kFix);
  EXPECT_THAT(f.message, HasSubstr("3000.000 ms ahead of the server's"));
  EXPECT_THAT(f.message, HasSubstr("zombies are kept"));
  EXPECT_THAT(f.fix, HasSubstr("raise reap_clock_skew to at least 3001 ms"));
}

TEST(DoctorClockOffsetTest, AnOffsetWithinTheMarginButAnUncertaintyBeyondItIsAFix) {
  const Finding f = CheckClockOffset(Offset(90, 20), absl::Milliseconds(100));
  EXPECT_EQ(f.severity, Severity::kFix);
  EXPECT_THAT(f.message, HasSubstr("round trip is too long"));
  EXPECT_THAT(f.fix, HasSubstr("at least 110 ms"));
}

TEST(DoctorClockOffsetTest, AZeroMarginFailsEveryRealMeasurement) {
  EXPECT_EQ(CheckClockOffset(Offset(0, 0.01), absl::ZeroDuration()).severity, Severity::kFix);
}

// ---- reaper_headroom -------------------------------------------------------

RoleUsage Role(const std::string& name, int limit, int sessions) {
  RoleUsage r;
  r.name = name;
  r.name_sql = name;
  r.connection_limit = limit;
  r.sessions = sessions;
  return r;
}

// max_connections 100, superuser_reserved_connections 3: 97 for the others.
HeadroomFacts Server(std::vector<RoleUsage> app_roles, int client_backends, int other_sessions) {
  HeadroomFacts h;
  h.max_connections = 100;
  h.superuser_reserved = 3;
  h.client_backends = client_backends;
  h.app_roles = std::move(app_roles);
  h.other_sessions = other_sessions;
  h.service = "orders";
  return h;
}

ReaperRoleFacts Reaper(bool stats, bool signal) {
  ReaperRoleFacts r;
  r.connected = true;
  r.role = Role("aequor_reaper", 2, 1);
  r.read_all_stats = stats;
  r.signal_backend = signal;
  return r;
}

TEST(DoctorHeadroomTest, FiguresForARoleWithAndWithoutALimit) {
  const Headroom h = ComputeHeadroom(
      Server({Role("app", -1, 40), Role("capped", 10, 7)}, /*client_backends=*/50, 3));
  EXPECT_EQ(h.available, 97);
  EXPECT_EQ(h.server_free, 47);
  ASSERT_EQ(h.roles.size(), 2u);
  EXPECT_FALSE(h.roles[0].free.has_value());
  EXPECT_EQ(h.roles[0].fleet_free, 47);
  EXPECT_EQ(h.roles[1].free, 3);
  EXPECT_EQ(h.roles[1].fleet_free, 3);
  EXPECT_FALSE(h.room_when_full.has_value());
  EXPECT_EQ(h.suggested_limit, (97 - kReaperReservedSlots - 3) / 2);
}

TEST(DoctorHeadroomTest, AnUncappedAppRoleWithoutAReaperIsAWarningWithTheWholeSetup) {
  const Finding f = CheckReaperHeadroom(Server({Role("app", -1, 10)}, 12, 2));
  EXPECT_EQ(f.check, "reaper_headroom");
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_THAT(f.message, HasSubstr("app role app: connection limit none, 10 session(s), 85 slot"));
  EXPECT_THAT(f.message, HasSubstr("no reaper conninfo is given"));
  // 97 - 3 for the reaper - 2 of other roles.
  EXPECT_EQ(f.fix,
            "ALTER ROLE app CONNECTION LIMIT 92;\n"
            "CREATE ROLE aequor_reaper LOGIN PASSWORD '<choose a password>' CONNECTION LIMIT 2;\n"
            "GRANT pg_read_all_stats, pg_signal_backend TO aequor_reaper;\n"
            "then give the fleet the reaper role's conninfo: ManagerOptions::reaper_conninfo, or "
            "ConnectionManagerBuilder::SetReaperConninfo(\"host=<db host> dbname=<db> "
            "user=aequor_reaper\") with its password in ~/.pgpass or $PGPASSFILE; check it with "
            "AEQUOR_REAPER_CONNINFO='...' aequorctl doctor");
}

TEST(DoctorHeadroomTest, RoleNamesAreQuotedAsTheServerQuotedThem) {
  RoleUsage odd = Role("Orders-App", -1, 1);
  odd.name_sql = "\"Orders-App\"";
  HeadroomFacts facts = Server({odd}, 3, 1);
  facts.reaper_role_exists = true;
  const Finding f = CheckReaperHeadroom(facts);
  EXPECT_THAT(f.fix, HasSubstr("ALTER ROLE \"Orders-App\" CONNECTION LIMIT 93;"));
  // The role exists: adjusted, not created.
  EXPECT_THAT(f.fix, HasSubstr("ALTER ROLE aequor_reaper LOGIN CONNECTION LIMIT 2;"));
  EXPECT_THAT(f.fix, Not(HasSubstr("CREATE ROLE")));
}

TEST(DoctorHeadroomTest, AConnectingRoleWithBothGrantsIsTheReaperRoleTheAdviceNames) {
  HeadroomFacts facts = Server({Role("app", -1, 10)}, 12, 2);
  facts.reaper_candidate = Role("ops_reaper", -1, 1);
  const Finding f = CheckReaperHeadroom(facts);
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_THAT(f.message, HasSubstr("role ops_reaper (connected now) may read and signal"));
  EXPECT_THAT(f.fix, HasSubstr("ALTER ROLE app CONNECTION LIMIT 92;\nthen give the fleet"));
  EXPECT_THAT(f.fix, HasSubstr("user=ops_reaper\")"));
  EXPECT_THAT(f.fix, Not(HasSubstr("GRANT")));
  EXPECT_THAT(f.fix, Not(HasSubstr("CREATE ROLE")));
}

TEST(DoctorHeadroomTest, ACappedAppRoleLeavingRoomIsOkAndAsksForTheReaperConninfo) {
  const HeadroomFacts facts = Server({Role("app", 60, 20)}, 25, 4);
  const Headroom h = ComputeHeadroom(facts);
  EXPECT_EQ(h.room_when_full, 97 - 60 - 4);
  EXPECT_TRUE(h.sql.empty());
  const Finding f = CheckReaperHeadroom(facts);
  EXPECT_EQ(f.severity, Severity::kOk);
  EXPECT_THAT(f.message, HasSubstr("connection limit 60, 20 session(s), 40 slot(s) left"));
  EXPECT_THAT(f.message, HasSubstr("33 slot(s) stay for other roles"));
  EXPECT_THAT(f.message, HasSubstr("--reaper-conninfo"));
  EXPECT_EQ(f.fix, "");
}

TEST(DoctorHeadroomTest, LimitsThatTogetherTakeEverySlotAreAWarning) {
  const Finding f = CheckReaperHeadroom(Server({Role("a", 50, 1), Role("b", 50, 1)}, 3, 1));
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_THAT(f.fix, HasSubstr("ALTER ROLE a CONNECTION LIMIT 46;\nALTER ROLE b CONNECTION "
                               "LIMIT 46;"));
}

TEST(DoctorHeadroomTest, AReaperWithItsGrantsAndCappedAppRolesIsOk) {
  HeadroomFacts facts = Server({Role("app", 60, 20)}, 25, 4);
  facts.reaper = Reaper(true, true);
  const Finding f = CheckReaperHeadroom(facts);
  EXPECT_EQ(f.severity, Severity::kOk);
  EXPECT_THAT(f.message, HasSubstr("reaper role aequor_reaper logs in, connection limit 2"));
  EXPECT_THAT(f.message, Not(HasSubstr("--reaper-conninfo")));
}

TEST(DoctorHeadroomTest, AReaperWithAnUncappedAppRoleIsStillAWarning) {
  HeadroomFacts facts = Server({Role("app", -1, 20)}, 25, 4);
  facts.reaper = Reaper(true, true);
  const Finding f = CheckReaperHeadroom(facts);
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_THAT(f.message, HasSubstr("the reaper role's included"));
  EXPECT_EQ(f.fix, "ALTER ROLE app CONNECTION LIMIT 90;");
}

TEST(DoctorHeadroomTest, AReaperLackingAGrantIsAFix) {
  HeadroomFacts facts = Server({Role("app", 60, 20)}, 25, 4);
  facts.reaper = Reaper(true, false);
  const Finding f = CheckReaperHeadroom(facts);
  EXPECT_EQ(f.severity, Severity::kFix);
  EXPECT_EQ(f.fix, "GRANT pg_signal_backend TO aequor_reaper;");
}

TEST(DoctorHeadroomTest, AReaperConninfoThatCannotLogInIsAFix) {
  HeadroomFacts facts = Server({Role("app", 60, 20)}, 25, 4);
  ReaperRoleFacts failed;
  failed.connect_error = "authentication failed";
  facts.reaper = failed;
  const Finding f = CheckReaperHeadroom(facts);
  EXPECT_EQ(f.severity, Severity::kFix);
  EXPECT_THAT(f.message, HasSubstr("cannot log in (authentication failed)"));
  EXPECT_THAT(f.fix, HasSubstr("CREATE ROLE aequor_reaper"));
}

TEST(DoctorHeadroomTest, AReaperThatIsTheAppRoleSharesItsFateAndIsAWarning) {
  HeadroomFacts facts = Server({Role("app", 60, 20)}, 25, 4);
  facts.reaper = Reaper(true, true);
  facts.reaper->role = Role("app", 60, 21);
  const Finding f = CheckReaperHeadroom(facts);
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_THAT(f.message, HasSubstr("logs in as app role app"));
  EXPECT_THAT(f.fix, HasSubstr("CREATE ROLE aequor_reaper"));
}

TEST(DoctorHeadroomTest, ASuperuserReaperUsesTheReservedSlots) {
  HeadroomFacts facts = Server({Role("app", -1, 20)}, 25, 4);
  facts.reaper = Reaper(false, false);
  facts.reaper->role.superuser = true;
  EXPECT_EQ(CheckReaperHeadroom(facts).severity, Severity::kOk);
}

TEST(DoctorJsonTest, ClockOffsetAndHeadroomFiguresAsJson) {
  EXPECT_EQ(JsonText(ClockOffsetJson(std::nullopt, absl::Milliseconds(100))), "null");
  EXPECT_EQ(JsonText(ClockOffsetJson(Offset(-1.5, 0.25), absl::Milliseconds(100))),
            "{\"offset_us\":-1500,\"uncertainty_us\":250,\"samples\":5,\"margin_us\":100000}");
  EXPECT_EQ(JsonText(HeadroomJson(std::nullopt)), "null");
  EXPECT_EQ(JsonText(HeadroomJson(Server({Role("app", 5, 2)}, 10, 3))),
            "{\"max_connections\":100,\"superuser_reserved_connections\":3,"
            "\"reserved_connections\":0,\"available\":97,\"client_connections\":10,"
            "\"free\":87,\"app_roles\":[{\"role\":\"app\",\"connection_limit\":5,"
            "\"sessions\":2,\"free\":3,\"fleet_free\":3}],\"app_roles_guessed\":false,"
            "\"other_sessions\":3,\"room_when_full\":89,\"reserved_for_reaper\":3,"
            "\"suggested_connection_limit\":91,\"reaper_conninfo\":false,"
            "\"reaper_role\":null,\"sql\":[]}");
}

TEST(DoctorHeadroomTest, SeverityNamesAreTheJsonOnes) {
  EXPECT_STREQ(SeverityName(Severity::kOk), "ok");
  EXPECT_STREQ(SeverityName(Severity::kWarn), "warn");
  EXPECT_STREQ(SeverityName(Severity::kFix), "fix");
}

}  // namespace
}  // namespace cli
}  // namespace aequor
