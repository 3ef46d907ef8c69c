// The reaper pass against a real PostgreSQL 15, with zombies that are real
// processes frozen with SIGSTOP after their query.
#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/lease.h"
#include "core/reaper.h"
#include "gtest/gtest.h"
#include "signers/hmac_sha256_botan.h"
#include "testing/fake_clock.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"
#include "testing/zombies.h"

namespace aequor {
namespace {

using testing::ThrowawayPostgres;
using testing::Zombie;

constexpr char kSecret[] = "reaper-test-secret-0123456789";
constexpr char kOtherSecret[] = "another-fleet-secret-987654321";

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string Lease(const std::string& service, int64_t expires_ms, const char* secret = kSecret,
                  const std::string& instance = "AbCdEfGh") {
  auto signer = NewHmacSha256BotanSigner(Secret(secret));
  absl::StatusOr<std::string> lease = SignLease(**signer, service, instance, expires_ms);
  EXPECT_TRUE(lease.ok()) << lease.status();
  return lease.ok() ? *lease : "";
}

std::string Expired(const std::string& service, const std::string& instance = "AbCdEfGh") {
  return Lease(service, NowMs() - 60000, kSecret, instance);
}

// One server for the whole binary (testing/postgres_test_base.h).
class ReaperTest : public testing::PostgresTest<ReaperTest> {
 protected:
  std::unique_ptr<Zombie> Freeze(const std::string& application_name,
                                 const std::string& mode = "idle",
                                 const char* role = ThrowawayPostgres::kAppRole) {
    auto z = Zombie::Start(server_->ConninfoFor(role), application_name, mode);
    EXPECT_TRUE(z.ok()) << z.status();
    return z.ok() ? *std::move(z) : nullptr;
  }

  // A builder for a manager of `service` on `clock` whose scheduler is
  // `scheduler`, and whose reaper passes are appended to *reaps.
  ConnectionManagerBuilder Scheduled(const std::string& service, Clock* clock,
                                     std::vector<Event>* reaps, PluginSpec scheduler) {
    CallbackHooks hooks;
    hooks.on_event = [reaps](const Event& e) {
      if (e.kind == EventKind::kReap) reaps->push_back(e);
    };
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, service, kSecret);
    b.SetClock(clock).SetHooks(std::move(hooks)).UseReaperScheduler(std::move(scheduler));
    return b;
  }

  // A manager of `service` used as the reaper, with min idle 0.
  std::unique_ptr<ConnectionManager> Reaper(const std::string& service,
                                            const char* role = ThrowawayPostgres::kAppRole,
                                            int max_kills = 10) {
    ConnectionManagerBuilder b = testing::QuietBuilder(*server_, service, kSecret, role);
    b.SetReapMinIdle(absl::ZeroDuration());
    b.mutable_options().reap_max_kills = max_kills;
    return testing::MakeManager(std::move(b));
  }

  bool Alive(int backend_pid) {
    absl::StatusOr<std::string> n = server_->AdminQuery(
        absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE pid = ", backend_pid));
    return n.ok() && *n == "1";
  }

  // Waits (bounded) for the server to remove a terminated backend.
  bool GoneWithin(int backend_pid, absl::Duration limit) {
    absl::Time end = absl::Now() + limit;
    while (absl::Now() < end) {
      if (!Alive(backend_pid)) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }
};

TEST_F(ReaperTest, ExpiredIdleZombiesOfTheServiceAreReaped) {
  std::vector<std::unique_ptr<Zombie>> zombies;
  for (const char* instance : {"zzzzzzz1", "zzzzzzz2", "zzzzzzz3"}) {
    zombies.push_back(Freeze(Expired("svc_a", instance)));
  }
  std::unique_ptr<ConnectionManager> reaper = Reaper("svc_a");
  absl::StatusOr<ReapReport> report = reaper->RunReaperPass();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->outcome, ReapOutcome::kCompleted) << report->message;
  EXPECT_EQ(report->scanned, 3);
  EXPECT_EQ(report->candidates, 3);
  EXPECT_EQ(report->killed, 3);
  for (auto& z : zombies) {
    EXPECT_TRUE(GoneWithin(z->backend_pid(), absl::Seconds(5)));
    EXPECT_EQ(z->Thaw(), "dead");
  }
  // The reaper's own connection is untouched.
  EXPECT_TRUE(reaper->Query("SELECT 1").ok());
}

TEST_F(ReaperTest, NeverKillsWhatIsNotAnExpiredIdleSignedLeaseOfThisService) {
  const std::string svc = "svc_b";
  std::string valid_expired = Expired(svc, "tampered");
  std::string tampered = valid_expired;
  tampered[tampered.find(";e=") + 5] = tampered[tampered.find(";e=") + 5] == '1' ? '2' : '1';

  struct Case {
    std::string application_name;
    std::string mode;
    const char* expected_reason;  // nullptr: not even scanned
  };
  std::vector<Case> cases = {
      {Lease(svc, NowMs() + 600000), "idle", skip_reason::kNotExpired},
      {Lease(svc, NowMs() - 60000, kOtherSecret), "idle", skip_reason::kBadTag},
      {"s=svc_b;i=AbCdEfGh;e=1000", "idle", skip_reason::kBadLease},  // unsigned
      {tampered, "idle", skip_reason::kBadTag},
      {valid_expired.substr(0, 40), "idle", skip_reason::kBadLease},  // truncated
      {Expired(svc, "active00"), "active", skip_reason::kActive},
      {Expired(svc, "inxact00"), "idle-in-transaction", skip_reason::kIdleInTransaction},
      // Look-alikes: LIKE 's=svc_b;%' would match "s=svcXb;"; a text prefix does not.
      {Expired("svcXb"), "idle", nullptr},
      {Expired("svc_b2"), "idle", nullptr},
      {"plain application", "idle", nullptr},
  };
  std::vector<std::unique_ptr<Zombie>> keep;
  for (const Case& c : cases) keep.push_back(Freeze(c.application_name, c.mode));
  std::unique_ptr<Zombie> real = Freeze(Expired(svc, "reaped00"));

  absl::StatusOr<ReapReport> report = Reaper(svc)->RunReaperPass();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->outcome, ReapOutcome::kCompleted) << report->message;
  EXPECT_EQ(report->killed, 1) << "only the genuine expired idle zombie";
  EXPECT_EQ(report->scanned, 8);
  std::map<std::string, int> expected;
  for (const Case& c : cases) {
    if (c.expected_reason != nullptr) ++expected[c.expected_reason];
  }
  EXPECT_EQ(report->skipped, expected);
  EXPECT_TRUE(GoneWithin(real->backend_pid(), absl::Seconds(5)));
  for (size_t i = 0; i < keep.size(); ++i) {
    EXPECT_TRUE(Alive(keep[i]->backend_pid())) << cases[i].application_name;
  }
}

TEST_F(ReaperTest, IdleTooShortIsSpared) {
  std::unique_ptr<Zombie> z = Freeze(Expired("svc_idle"));
  ConnectionManagerBuilder b;
  b.SetConninfo(server_->ConninfoFor(ThrowawayPostgres::kAppRole))
      .SetService("svc_idle")
      .SetCoordinationSecret(kSecret)
      .SetReapMinIdle(absl::Seconds(60))
      .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}));
  auto m = b.Build();
  ASSERT_TRUE(m.ok());
  absl::StatusOr<ReapReport> report = (*m)->RunReaperPass();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->killed, 0);
  EXPECT_EQ(report->skipped[skip_reason::kIdleTooShort], 1);
  EXPECT_TRUE(Alive(z->backend_pid()));
}

TEST_F(ReaperTest, IdleInTransactionIsReapedOnlyWhenEnabled) {
  std::unique_ptr<Zombie> z = Freeze(Expired("svc_tx"), "idle-in-transaction");
  ConnectionManagerBuilder b;
  b.SetConninfo(server_->ConninfoFor(ThrowawayPostgres::kAppRole))
      .SetService("svc_tx")
      .SetCoordinationSecret(kSecret)
      .SetReapMinIdle(absl::ZeroDuration())
      // Only the pass below: a pass on connect would take the zombie first.
      .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}));
  b.mutable_options().reap_idle_in_transaction_after = absl::Milliseconds(1);
  auto m = b.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<ReapReport> report = (*m)->RunReaperPass();
  ASSERT_TRUE(report.ok());
  std::string skipped;
  for (const auto& [reason, n] : report->skipped) absl::StrAppend(&skipped, reason, "=", n, " ");
  EXPECT_EQ(report->killed, 1) << report->message << " skipped: " << skipped << " outcome "
                               << ReapOutcomeName(report->outcome) << " scanned " << report->scanned
                               << " candidates " << report->candidates;
  EXPECT_TRUE(GoneWithin(z->backend_pid(), absl::Seconds(5)));
}

TEST_F(ReaperTest, OtherRolesAndSuperusersNeedTheRightGrants) {
  std::unique_ptr<Zombie> super =
      Freeze(Expired("svc_roles", "super000"), "idle", ThrowawayPostgres::kSuperRole);
  std::unique_ptr<Zombie> other =
      Freeze(Expired("svc_roles", "other000"), "idle", ThrowawayPostgres::kApp2Role);
  // The app role cannot see other roles' session state: it must say so.
  absl::StatusOr<ReapReport> app = Reaper("svc_roles")->RunReaperPass();
  ASSERT_TRUE(app.ok());
  EXPECT_EQ(app->killed, 0);
  EXPECT_EQ(app->skipped[skip_reason::kNotVisible], 2);
  // The reaper role (pg_read_all_stats, pg_signal_backend) kills the other
  // role's zombie but never a superuser's session.
  absl::StatusOr<ReapReport> granted =
      Reaper("svc_roles", ThrowawayPostgres::kReaperRole)->RunReaperPass();
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(granted->killed, 1) << granted->message;
  EXPECT_EQ(granted->skipped[skip_reason::kSuperuser], 1);
  EXPECT_TRUE(GoneWithin(other->backend_pid(), absl::Seconds(5)));
  EXPECT_TRUE(Alive(super->backend_pid()));
}

TEST_F(ReaperTest, ASessionThatTurnsActiveBetweenScanAndKillIsSpared) {
  // The victim is a live session this test holds, with an expired lease.
  std::string conninfo = server_->ConninfoFor(ThrowawayPostgres::kAppRole);
  std::string lease = Expired("svc_race");
  const char* kw[] = {"dbname", "application_name", nullptr};
  const char* vals[] = {conninfo.c_str(), lease.c_str(), nullptr};
  PGconn* victim = PQconnectdbParams(kw, vals, 1);
  ASSERT_EQ(PQstatus(victim), CONNECTION_OK);
  PQclear(PQexec(victim, "SELECT 1"));

  const char* rkw[] = {"dbname", nullptr};
  const char* rvals[] = {conninfo.c_str(), nullptr};
  PGconn* reaper = PQconnectdbParams(rkw, rvals, 1);
  ASSERT_EQ(PQstatus(reaper), CONNECTION_OK);
  ReaperSettings settings;
  settings.service = "svc_race";
  settings.min_idle = absl::ZeroDuration();
  settings.before_terminate_for_testing = [&] {
    // The instance thaws and runs a query right after the scan.
    PQclear(PQexec(victim, "SELECT 2"));
  };
  auto signer = NewHmacSha256BotanSigner(Secret(kSecret));
  ReapReport report = RunReaperPass(reaper, settings, **signer, *Clock::Real());
  EXPECT_EQ(report.outcome, ReapOutcome::kCompleted) << report.message;
  EXPECT_EQ(report.candidates, 1);
  EXPECT_EQ(report.killed, 0);
  EXPECT_EQ(report.skipped[skip_reason::kChanged], 1);
  PGresult* r = PQexec(victim, "SELECT 3");
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << "the live session survived";
  PQclear(r);
  PQfinish(victim);
  PQfinish(reaper);
}

// The leader freezes last, just before the pass that must find it busy: its
// 3 s idle-in-transaction timeout (testing/zombie_main.cc) starts when it
// froze, and with a 1 s one a slow sanitized run under load started that
// pass after the server had already cut the leader off.
TEST_F(ReaperTest, ALeaderFrozenMidPassLosesTheLockWithinTheTimeout) {
  std::unique_ptr<Zombie> zombie = Freeze(Expired("svc_lead", "zombie00"));
  std::unique_ptr<ConnectionManager> reaper = Reaper("svc_lead");
  std::unique_ptr<Zombie> leader = Freeze(Expired("svc_lead", "leader00"), "xact-lock:svc_lead");
  const absl::Time frozen_by = absl::Now();
  absl::StatusOr<ReapReport> busy = reaper->RunReaperPass();
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(busy->outcome, ReapOutcome::kBusy) << busy->message;
  // The server cuts the frozen leader off (its pass set a 3 s
  // idle_in_transaction_session_timeout) and the lock is free again.
  ASSERT_TRUE(GoneWithin(leader->backend_pid(), absl::Seconds(10)));
  EXPECT_LT(absl::Now() - frozen_by, absl::Seconds(3) + absl::Seconds(2));
  absl::StatusOr<ReapReport> next = reaper->RunReaperPass();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->outcome, ReapOutcome::kCompleted) << next->message;
  EXPECT_EQ(next->killed, 1);
  EXPECT_TRUE(GoneWithin(zombie->backend_pid(), absl::Seconds(5)));
}

TEST_F(ReaperTest, AFrozenSessionLockHolderWithAnExpiredLeaseIsReapedFirst) {
  // A pg-aequor leader frozen holding its session-level lock: nobody else
  // could ever reap again. It is an expired lease of the service, so it goes.
  std::unique_ptr<Zombie> leader = Freeze(Expired("svc_node", "nodeldr0"), "session-lock:svc_node");
  std::unique_ptr<Zombie> zombie = Freeze(Expired("svc_node", "zombie00"));
  absl::StatusOr<ReapReport> report = Reaper("svc_node")->RunReaperPass();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->outcome, ReapOutcome::kCompleted) << report->message;
  EXPECT_TRUE(report->frozen_leader_killed);
  EXPECT_EQ(report->killed, 2);
  EXPECT_TRUE(GoneWithin(leader->backend_pid(), absl::Seconds(5)));
  EXPECT_TRUE(GoneWithin(zombie->backend_pid(), absl::Seconds(5)));
}

TEST_F(ReaperTest, ALiveSessionLockHolderMeansBusyAndIsNotKilled) {
  std::unique_ptr<Zombie> leader =
      Freeze(Lease("svc_live", NowMs() + 600000), "session-lock:svc_live");
  absl::StatusOr<ReapReport> report = Reaper("svc_live")->RunReaperPass();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->outcome, ReapOutcome::kBusy);
  EXPECT_FALSE(report->frozen_leader_killed);
  EXPECT_TRUE(Alive(leader->backend_pid()));
}

TEST_F(ReaperTest, KillsPerPassAreBoundedOldestExpiryFirst) {
  std::vector<std::unique_ptr<Zombie>> zombies;
  for (int i = 0; i < 5; ++i) {
    zombies.push_back(
        Freeze(Lease("svc_max", NowMs() - 60000 - i * 1000, kSecret, absl::StrCat("maxzomb", i))));
  }
  std::unique_ptr<ConnectionManager> reaper = Reaper("svc_max", ThrowawayPostgres::kAppRole, 2);
  absl::StatusOr<ReapReport> report = reaper->RunReaperPass();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->killed, 2);
  EXPECT_EQ(report->skipped[skip_reason::kOverLimit], 3);
  // The two oldest expiries (i = 4, 3) went first.
  EXPECT_TRUE(GoneWithin(zombies[4]->backend_pid(), absl::Seconds(5)));
  EXPECT_TRUE(GoneWithin(zombies[3]->backend_pid(), absl::Seconds(5)));
  EXPECT_TRUE(Alive(zombies[0]->backend_pid()));
}

TEST_F(ReaperTest, DryRunReportsAndKillsNothing) {
  std::unique_ptr<Zombie> z = Freeze(Expired("svc_dry"));
  absl::StatusOr<ReapReport> report = Reaper("svc_dry")->RunReaperPass(/*dry_run=*/true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->outcome, ReapOutcome::kCompleted);
  EXPECT_EQ(report->candidates, 1);
  EXPECT_EQ(report->killed, 0);
  EXPECT_EQ(report->skipped[skip_reason::kDryRun], 1);
  EXPECT_TRUE(Alive(z->backend_pid()));
}

TEST_F(ReaperTest, TheSchedulerRunsPassesOnConnectAndOnWarmInvocations) {
  std::unique_ptr<Zombie> first = Freeze(Expired("svc_sched", "first000"));
  testing::FakeClock clock{absl::Now()};
  std::vector<Event> reaps;
  ConnectionManagerBuilder b =
      Scheduled("svc_sched", &clock, &reaps,
                PluginSpec("aequor.reaper.probability", {{"p", "1"}, {"warm_p", "1"}}));
  b.SetReapMinIdle(absl::ZeroDuration());
  auto m = b.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE((*m)->Query("SELECT 1").ok());
  ASSERT_EQ(reaps.size(), 1u);
  EXPECT_EQ(EventSourceName(reaps[0].source), "connect");
  EXPECT_EQ(reaps[0].reap.killed, 1);
  EXPECT_TRUE(GoneWithin(first->backend_pid(), absl::Seconds(5)));

  // A warm invocation, a while later: another pass.
  std::unique_ptr<Zombie> second = Freeze(Expired("svc_sched", "second00"));
  ASSERT_TRUE((*m)->Query("SELECT 1").ok());
  EXPECT_EQ(reaps.size(), 1u) << "no pass within invocation_gap";
  clock.Advance(absl::Seconds(5));
  ASSERT_TRUE((*m)->Query("SELECT 1").ok());
  ASSERT_EQ(reaps.size(), 2u);
  EXPECT_EQ(EventSourceName(reaps[1].source), "invocation");
  EXPECT_EQ(reaps[1].reap.killed, 1);
  EXPECT_TRUE(GoneWithin(second->backend_pid(), absl::Seconds(5)));
}

// A warm query skips its preparation only below both thresholds: with the
// thaw check set far off, the scheduler still hears of a warm invocation
// after invocation_gap.
TEST_F(ReaperTest, AWarmInvocationReachesTheSchedulerWhenTheThawCheckIsFarOff) {
  testing::FakeClock clock{absl::Now()};
  std::vector<Event> reaps;
  ConnectionManagerBuilder b =
      Scheduled("svc_gap", &clock, &reaps,
                PluginSpec("aequor.reaper.probability", {{"p", "0"}, {"warm_p", "1"}}));
  b.mutable_options().thaw_check_after = absl::Hours(1);
  b.mutable_options().invocation_gap = absl::Seconds(1);
  auto m = b.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE((*m)->Query("SELECT 1").ok());
  clock.Advance(absl::Milliseconds(900));
  ASSERT_TRUE((*m)->Query("SELECT 1").ok());
  EXPECT_TRUE(reaps.empty()) << "a pass within invocation_gap";
  clock.Advance(absl::Seconds(2));
  ASSERT_TRUE((*m)->Query("SELECT 1").ok());
  ASSERT_EQ(reaps.size(), 1u);
  EXPECT_EQ(EventSourceName(reaps[0].source), "invocation");
}

TEST_F(ReaperTest, BackstopsTravelInTheStartupPacketAndTheUsersOptionsWin) {
  ConnectionManagerBuilder b;
  b.SetConninfo(server_->ConninfoFor(ThrowawayPostgres::kAppRole) +
                " options='-c statement_timeout=1234 -c idle_session_timeout=777000'")
      .SetService("svc_opts")
      .SetCoordinationSecret(kSecret)
      .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}));
  b.mutable_options().idle_session_timeout = absl::Seconds(30);
  b.mutable_options().server_keepalives = true;
  auto m = b.Build();
  ASSERT_TRUE(m.ok()) << m.status();
  auto show = [&](const char* setting) {
    absl::StatusOr<QueryResult> r = (*m)->Query(absl::StrCat("SHOW ", setting));
    return r.ok() ? std::string(r->Get(0, 0)) : r.status().ToString();
  };
  EXPECT_EQ(show("idle_in_transaction_session_timeout"), "1min");
  EXPECT_EQ(show("idle_session_timeout"), "777s") << "the user's own setting wins";
  EXPECT_EQ(show("statement_timeout"), "1234ms");
  EXPECT_EQ(show("tcp_keepalives_idle"), "30");
  EXPECT_EQ(show("tcp_keepalives_count"), "3");
}

TEST_F(ReaperTest, TheLeaseIsRenewedWithTheQueryAndAloneWhenAboutToExpire) {
  testing::FakeClock clock{absl::Now()};
  std::vector<std::string> kinds;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) {
    kinds.push_back(absl::StrCat(EventKindName(e.kind), e.source == EventSource::kNone ? "" : ":",
                                 EventSourceName(e.source)));
  };
  ConnectionManagerBuilder b;
  b.SetConninfo(server_->ConninfoFor(ThrowawayPostgres::kAppRole))
      .SetService("svc_renew")
      .SetCoordinationSecret(kSecret)
      .SetClock(&clock)
      .SetHooks(std::move(hooks))
      .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}));
  auto m = b.Build();
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->Connect().ok());
  auto server_lease = [&] {
    absl::StatusOr<QueryResult> r = (*m)->Query("SHOW application_name");
    return r.ok() ? std::string(r->Get(0, 0)) : "";
  };
  std::string first = (*m)->application_name();
  EXPECT_EQ(server_lease(), first);

  // 61 s later, 29 s are left (< 30 s): renewed in the same pipeline as the query.
  clock.Advance(absl::Seconds(61));
  kinds.clear();
  absl::StatusOr<QueryResult> r = (*m)->Query("SELECT $1::int * 3", {14});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "42");
  // The renewal also read the server's clock: this fake clock is now 61 s
  // ahead of it, which is reported (a warning: far over the margin).
  EXPECT_EQ(kinds, (std::vector<std::string>{"query_start", "lease_renewed:pipeline",
                                             "clock_offset", "query_end"}));
  std::string second = (*m)->application_name();
  EXPECT_NE(second, first);
  EXPECT_EQ(server_lease(), second);
  absl::StatusOr<ParsedLease> parsed = ParseLease(second);
  ASSERT_TRUE(parsed.ok());
  // Signed before the offset was known: by this host's clock.
  EXPECT_EQ(parsed->expires_ms, absl::ToUnixMillis(clock.Now() + absl::Seconds(90)));

  // 87 s later, 3 s are left (< 5 s): renewed first, alone.
  clock.Advance(absl::Seconds(87));
  kinds.clear();
  ASSERT_TRUE((*m)->Query("SELECT 1").ok());
  EXPECT_EQ(kinds, (std::vector<std::string>{"lease_renewed:blocking", "clock_offset",
                                             "query_start", "query_end"}));
  EXPECT_EQ(server_lease(), (*m)->application_name());
  // Signed with the offset known: compensated by the offset the previous
  // renewal measured (this fake clock was then 61 s ahead of the server's),
  // so the lease is 61 s shorter by this host's clock than an uncompensated
  // one. (Here only the fake clock moved since; real clocks move together.)
  absl::StatusOr<ParsedLease> third = ParseLease((*m)->application_name());
  ASSERT_TRUE(third.ok());
  const int64_t uncompensated = absl::ToUnixMillis(clock.Now() + absl::Seconds(90));
  EXPECT_LE(third->expires_ms, uncompensated - 61'000 + 1'000);
  EXPECT_GE(third->expires_ms, uncompensated - 61'000 - 1'000);
}

// A database full of zombies: the emergency path lets a new instance in.
TEST(EmergencyPath, AFullDatabaseOfZombiesLetsANewInstanceIn) {
  testing::ThrowawayPostgresOptions options;
  options.max_connections = 12;
  auto started = ThrowawayPostgres::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  ThrowawayPostgres& server = **started;
  // The app role gets 5 slots; the reaper role keeps its own headroom.
  ASSERT_TRUE(server.AdminQuery("ALTER ROLE aequor_app CONNECTION LIMIT 5").ok());
  std::vector<std::unique_ptr<Zombie>> zombies;
  for (int i = 0; i < 5; ++i) {
    auto z = Zombie::Start(server.ConninfoFor(ThrowawayPostgres::kAppRole),
                           Expired("svc_full", absl::StrCat("fullzom", i)), "idle");
    ASSERT_TRUE(z.ok()) << z.status();
    zombies.push_back(*std::move(z));
  }
  std::vector<Event> events;
  CallbackHooks hooks;
  hooks.on_event = [&](const Event& e) { events.push_back(e); };
  auto build = [&](bool with_reaper) {
    ConnectionManagerBuilder b;
    b.SetConninfo(server.ConninfoFor(ThrowawayPostgres::kAppRole))
        .SetService("svc_full")
        .SetCoordinationSecret(kSecret)
        .SetReapMinIdle(absl::ZeroDuration())
        .SetConnectBudget(absl::Seconds(3))
        .SetConnectTimeout(absl::Seconds(2))
        .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}))
        .UseRetryPolicy(PluginSpec("aequor.retry.decorrelated_jitter", {{"retries", "1"}}))
        .SetHooks(hooks);
    if (with_reaper) b.SetReaperConninfo(server.ConninfoFor(ThrowawayPostgres::kReaperRole));
    return b.Build();
  };
  // Without the emergency path the new instance is refused.
  auto plain = build(false);
  ASSERT_TRUE(plain.ok());
  absl::Status refused = (*plain)->Connect();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(SqlState(refused), "53300");

  auto m = build(true);
  ASSERT_TRUE(m.ok()) << m.status();
  events.clear();
  absl::StatusOr<QueryResult> r = (*m)->Query("SELECT 1");
  ASSERT_TRUE(r.ok()) << r.status();
  bool emergency = false;
  for (const Event& e : events) {
    if (e.kind == EventKind::kReap && e.source == EventSource::kEmergency) {
      emergency = true;
      EXPECT_EQ(e.reap.killed, 5) << e.reap.message;
    }
  }
  EXPECT_TRUE(emergency);
}

}  // namespace
}  // namespace aequor
