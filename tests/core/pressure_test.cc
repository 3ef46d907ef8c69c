// Issue 10 against a real PostgreSQL 15: the probe that tells a new
// connection how full the database is and whether anything is reapable, a
// pass that kills every eligible zombie under pressure, the default
// scheduler, the clock offset and the leases compensated for it, and a
// connect-time pass that loses its own connection.
#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/lease.h"
#include "core/reaper.h"
#include "core/server_probe.h"
#include "gtest/gtest.h"
#include "signers/hmac_sha256_botan.h"
#include "testing/fake_clock.h"
#include "testing/manager_builders.h"
#include "testing/throwaway_postgres.h"
#include "testing/zombies.h"
#include "util/pg.h"

namespace aequor {
namespace {

using testing::ThrowawayPostgres;
using testing::Zombie;

constexpr char kSecret[] = "pressure-test-secret-0123456789";

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string Lease(const std::string& service, int64_t expires_ms, const std::string& instance) {
  auto signer = NewHmacSha256BotanSigner(Secret(kSecret));
  absl::StatusOr<std::string> lease = SignLease(**signer, service, instance, expires_ms);
  EXPECT_TRUE(lease.ok()) << lease.status();
  return lease.ok() ? *lease : "";
}

// Each test gets its own small server: usage is a property of the whole
// server, so tests must not share one.
class PressureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ThrowawayPostgresOptions options;
    options.max_connections = 23;  // 20 for roles other than superusers
    auto started = ThrowawayPostgres::Start(options);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
  }

  std::vector<std::unique_ptr<Zombie>> Zombies(const std::string& service, int n,
                                               int64_t expires_ms) {
    std::vector<std::unique_ptr<Zombie>> out;
    for (int i = 0; i < n; ++i) {
      auto z = Zombie::Start(server_->ConninfoFor(ThrowawayPostgres::kAppRole),
                             Lease(service, expires_ms, absl::StrCat("zombie0", i)), "idle");
      EXPECT_TRUE(z.ok()) << z.status();
      if (z.ok()) out.push_back(*std::move(z));
    }
    return out;
  }

  // The probe's three columns, run as the app role.
  ProbeReading Probe(const std::string& service, absl::Duration min_idle,
                     absl::Duration skew = absl::Milliseconds(100)) {
    pg::Conn conn(PQconnectdb(server_->ConninfoFor(ThrowawayPostgres::kAppRole).c_str()));
    EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << pg::ErrorMessage(conn.get());
    const std::string sql =
        ProbeSql(ProbeSettings{service, min_idle, absl::ZeroDuration(), skew}, /*check_lock=*/true);
    pg::Result r(PQexec(conn.get(), sql.c_str()));
    EXPECT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << pg::ErrorMessage(conn.get());
    return ReadProbe(r.get(), 0, 0);
  }

  ConnectionManagerBuilder Builder(const std::string& service, std::vector<Event>* events) {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, service, kSecret);
    CallbackHooks hooks;
    hooks.on_event = [events](const Event& e) { events->push_back(e); };
    b.SetHooks(std::move(hooks)).SetReapMinIdle(absl::ZeroDuration());
    return b;
  }

  static std::vector<Event> OfKind(const std::vector<Event>& events, EventKind kind) {
    std::vector<Event> out;
    for (const Event& e : events) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  std::unique_ptr<ThrowawayPostgres> server_;
};

TEST_F(PressureTest, TheProbeCountsUsageAgainstTheSlotsTheRoleMayUseAndOnlyExpiredIdleLeases) {
  auto expired = Zombies("svc_probe", 4, NowMs() - 60000);
  auto live = Zombies("svc_probe", 2, NowMs() + 600000);
  auto other = Zombies("svc_other", 1, NowMs() - 60000);
  ProbeReading r = Probe("svc_probe", absl::ZeroDuration());
  ASSERT_TRUE(r.usage.has_value());
  ASSERT_TRUE(r.reapable.has_value());
  ASSERT_TRUE(r.server_us.has_value());
  // 7 zombies + the probe's own session of 20 non-superuser slots (the
  // throwaway server's own admin session may add one).
  EXPECT_GE(*r.usage, 8.0 / 20);
  EXPECT_LE(*r.usage, 9.0 / 20);
  EXPECT_EQ(*r.reapable, 4);
  EXPECT_NEAR(static_cast<double>(*r.server_us) / 1000, static_cast<double>(NowMs()), 5000);
  // Idle less than the minimum: not reapable.
  EXPECT_EQ(*Probe("svc_probe", absl::Hours(1)).reapable, 0);

  // A role's own CONNECTION LIMIT is what it fills first.
  ASSERT_TRUE(server_->AdminQuery("ALTER ROLE aequor_app CONNECTION LIMIT 10").ok());
  ProbeReading capped = Probe("svc_probe", absl::ZeroDuration());
  ASSERT_TRUE(capped.usage.has_value());
  EXPECT_DOUBLE_EQ(*capped.usage, 8.0 / 10);  // 7 zombies + the probe, all aequor_app
  ASSERT_TRUE(server_->AdminQuery("ALTER ROLE aequor_app CONNECTION LIMIT -1").ok());
}

TEST_F(PressureTest, UnderPressureAPassKillsEveryEligibleZombieNotReapMaxKills) {
  auto zombies = Zombies("svc_all", 6, NowMs() - 60000);
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_all", &events);
  b.mutable_options().reap_max_kills = 2;
  b.mutable_options().reap_pressure_threshold = 0.3;  // 7 of 20 in use: 0.35
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  absl::StatusOr<ReapReport> report = m->RunReaperPass();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->outcome, ReapOutcome::kCompleted) << report->message;
  EXPECT_TRUE(report->under_pressure);
  ASSERT_TRUE(report->connection_usage.has_value());
  EXPECT_GE(*report->connection_usage, 0.3);
  EXPECT_EQ(report->killed, 6);
  EXPECT_EQ(report->skipped.count(std::string(skip_reason::kOverLimit)), 0u);
}

TEST_F(PressureTest, WithRoomAPassKeepsToReapMaxKills) {
  auto zombies = Zombies("svc_room", 6, NowMs() - 60000);
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_room", &events);
  b.mutable_options().reap_max_kills = 2;
  b.mutable_options().reap_pressure_threshold = 0.9;
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  absl::StatusOr<ReapReport> report = m->RunReaperPass();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->under_pressure);
  EXPECT_EQ(report->killed, 2);
  EXPECT_EQ(report->skipped[std::string(skip_reason::kOverLimit)], 4);
}

TEST_F(PressureTest, TheDefaultSchedulerReapsEveryZombieOnConnectUnderPressure) {
  auto zombies = Zombies("svc_default", 6, NowMs() - 60000);
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_default", &events);
  b.UseReaperScheduler(DefaultReaperSchedulerSpec());  // aequor.reaper.adaptive
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  ASSERT_TRUE(m->Connect().ok());
  std::vector<Event> reaps = OfKind(events, EventKind::kReap);
  ASSERT_EQ(reaps.size(), 1u);  // 7 of 20 slots: 0.35 >= 0.25
  EXPECT_EQ(EventSourceName(reaps[0].source), "connect");
  EXPECT_TRUE(reaps[0].reap.under_pressure);
  EXPECT_EQ(reaps[0].reap.killed, 6);
  // The usage is the probe's, a moment before; the pass did not read it (nor
  // the clock) again.
  ASSERT_TRUE(reaps[0].reap.connection_usage.has_value());
  EXPECT_GE(*reaps[0].reap.connection_usage, 0.25);
  EXPECT_FALSE(reaps[0].reap.clock_offset.has_value());
  EXPECT_EQ(OfKind(events, EventKind::kClockOffset).size(), 1u);  // from the probe
  EXPECT_TRUE(m->Query("SELECT 1").ok());
}

// A warm invocation never probes: it judges from the usage its process saw
// last (here the connect-time pass, 10 s earlier).
TEST_F(PressureTest, AWarmInvocationUnderPressureRunsAPassFromWhatItSawLast) {
  auto first = Zombies("svc_warm", 6, NowMs() - 60000);
  testing::FakeClock clock{absl::Now()};
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_warm", &events);
  b.SetClock(&clock).UseReaperScheduler(DefaultReaperSchedulerSpec());
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  ASSERT_TRUE(m->Connect().ok());
  ASSERT_EQ(OfKind(events, EventKind::kReap).size(), 1u);
  auto more = Zombies("svc_warm", 6, NowMs() - 60000);  // frozen meanwhile
  events.clear();
  clock.Advance(absl::Seconds(10));  // a warm invocation: past invocation_gap
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  std::vector<Event> reaps = OfKind(events, EventKind::kReap);
  ASSERT_EQ(reaps.size(), 1u);
  EXPECT_EQ(EventSourceName(reaps[0].source), "invocation");
  EXPECT_TRUE(reaps[0].reap.under_pressure);
  EXPECT_EQ(reaps[0].reap.killed, 6);
  // 61 s on, what it saw is too old to judge by: with room's rules, warm
  // invocations leave the reaping to connects.
  auto late = Zombies("svc_warm", 6, NowMs() - 60000);
  events.clear();
  clock.Advance(absl::Seconds(61));
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  EXPECT_TRUE(OfKind(events, EventKind::kReap).empty());
}

TEST_F(PressureTest, TheDefaultSchedulerRunsNoPassWhenTheProbeSeesNothingReapable) {
  auto live = Zombies("svc_nothing", 6, NowMs() + 600000);  // pressure, but all alive
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_nothing", &events);
  b.UseReaperScheduler(DefaultReaperSchedulerSpec());
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  ASSERT_TRUE(m->Connect().ok());
  EXPECT_TRUE(OfKind(events, EventKind::kReap).empty());
  EXPECT_TRUE(m->Query("SELECT 1").ok());
}

// A frozen pg-aequor leader (a session holding pg-aequor's session lock,
// its lease expired) stops every pg-aequor instance of a mixed fleet from
// reaping: the default frees it on connect even with plenty of room.
TEST_F(PressureTest, TheDefaultSchedulerFreesAFrozenPgAequorLeaderEvenWithRoom) {
  auto leader =
      Zombie::Start(server_->ConninfoFor(ThrowawayPostgres::kAppRole),
                    Lease("svc_leader", NowMs() - 60000, "leader00"), "session-lock:svc_leader");
  ASSERT_TRUE(leader.ok()) << leader.status();
  ProbeReading probe = Probe("svc_leader", absl::ZeroDuration());
  ASSERT_TRUE(probe.lock_busy.has_value());
  EXPECT_TRUE(*probe.lock_busy);
  EXPECT_EQ(probe.reapable, 1);   // the leader itself
  EXPECT_LT(*probe.usage, 0.25);  // room: 2 or 3 of 20 slots
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_leader", &events);
  b.UseReaperScheduler(PluginSpec("aequor.reaper.adaptive", {{"p", "0"}}));
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  ASSERT_TRUE(m->Connect().ok());
  std::vector<Event> reaps = OfKind(events, EventKind::kReap);
  ASSERT_EQ(reaps.size(), 1u);
  EXPECT_TRUE(reaps[0].reap.frozen_leader_killed);
  EXPECT_EQ(reaps[0].reap.outcome, ReapOutcome::kCompleted);
  EXPECT_FALSE(*Probe("svc_leader", absl::ZeroDuration()).lock_busy);

  // A live holder (its lease still valid) keeps the lock busy, but nothing
  // is reapable: no pass.
  auto live = Zombie::Start(server_->ConninfoFor(ThrowawayPostgres::kAppRole),
                            Lease("svc_live_leader", NowMs() + 600000, "leader01"),
                            "session-lock:svc_live_leader");
  ASSERT_TRUE(live.ok()) << live.status();
  ProbeReading held = Probe("svc_live_leader", absl::ZeroDuration());
  EXPECT_TRUE(*held.lock_busy);
  EXPECT_EQ(held.reapable, 0);
  events.clear();
  ConnectionManagerBuilder b2 = Builder("svc_live_leader", &events);
  b2.UseReaperScheduler(PluginSpec("aequor.reaper.adaptive", {{"p", "0"}}));
  std::unique_ptr<ConnectionManager> m2 = testing::MakeManager(std::move(b2));
  ASSERT_TRUE(m2->Connect().ok());
  EXPECT_TRUE(OfKind(events, EventKind::kReap).empty());
}

TEST_F(PressureTest, PgAequorsSpecIgnoresPressure) {
  auto zombies = Zombies("svc_pg", 6, NowMs() - 60000);
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_pg", &events);
  // pg-aequor's spec with the coin never landing: no pass, however full.
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(
      "aequor.reaper.all_of(aequor.reaper.probability(p=0), aequor.reaper.cooldown())");
  ASSERT_TRUE(spec.ok());
  b.UseReaperScheduler(*spec);
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  ASSERT_TRUE(m->Connect().ok());
  EXPECT_TRUE(OfKind(events, EventKind::kReap).empty());
}

// A host whose clock is 10 s behind the server's: the first lease (signed
// before anything was measured) expires 10 s early on the server; the probe
// measures the offset, warns, and every later lease is compensated.
TEST_F(PressureTest, AClockBehindTheServersIsMeasuredReportedAndCompensated) {
  testing::FakeClock clock{absl::Now() - absl::Seconds(10)};
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_clock", &events);
  b.SetClock(&clock).UseReaperScheduler(DefaultReaperSchedulerSpec());
  b.SetLeaseTtl(absl::Seconds(60));
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  ASSERT_TRUE(m->Connect().ok());
  std::vector<Event> offsets = OfKind(events, EventKind::kClockOffset);
  ASSERT_EQ(offsets.size(), 1u);
  EXPECT_NEAR(absl::ToDoubleSeconds(offsets[0].clock_offset.offset), 10.0, 1.0);
  EXPECT_FALSE(offsets[0].message.empty());  // over the 100 ms margin: a warning
  EXPECT_NE(offsets[0].message.find("behind the server's"), std::string::npos)
      << offsets[0].message;

  // Renew now (past lease_block_before): the new lease is 60 s by the
  // server's clock.
  clock.Advance(absl::Seconds(58));
  ASSERT_TRUE(m->Query("SELECT 1").ok());
  absl::StatusOr<ParsedLease> lease = ParseLease(m->application_name());
  ASSERT_TRUE(lease.ok());
  absl::StatusOr<QueryResult> now =
      m->Query("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint");
  ASSERT_TRUE(now.ok());
  int64_t server_ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(now->Get(0, 0), &server_ms));
  // The fake clock moved 58 s while the server's moved a few ms: the server
  // sees 60 s + 58 s left, never less than 60 s.
  EXPECT_GE(lease->expires_ms, server_ms + 60'000);
  const MetricsSnapshot metrics = m->metrics();
  ASSERT_TRUE(metrics.clock_offset_ms.has_value());
  EXPECT_GE(metrics.clock_offset_warnings, 1);
}

// A scheduler whose pass-time decision terminates the app role's own
// backends (as an administrator's kill or a restart would in that moment).
class KillOwnBackends final : public ReaperScheduler {
 public:
  explicit KillOwnBackends(ThrowawayPostgres* server) : server_(server) {}
  bool ShouldRun(const ScheduleInput& input) override {
    if (input.trigger == ReapTrigger::kConnect && !done_) {
      done_ = true;
      (void)server_->AdminQuery(
          "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
          "WHERE usename = 'aequor_app'");
      return true;  // the pass then finds its connection gone
    }
    return false;
  }

 private:
  ThrowawayPostgres* server_;
  bool done_ = false;
};

// Issue 11's bug: the connect-time step lost the connection it had just
// opened and still returned OK; Query() then reported a statement that was
// never sent as "outcome unknown".
TEST_F(PressureTest, AConnectionLostDuringTheConnectTimePassIsReplacedBeforeTheQuery) {
  std::vector<Event> events;
  ConnectionManagerBuilder b = Builder("svc_lost", &events);
  b.UseReaperScheduler(std::make_unique<KillOwnBackends>(server_.get()));
  std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
  absl::StatusOr<QueryResult> r = m->Query("SELECT 1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(IsOutcomeUnknown(r.status()));
  EXPECT_EQ(r->Get(0, 0), "1");
}

}  // namespace
}  // namespace aequor
