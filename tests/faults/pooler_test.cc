// A transaction pooler between the manager and the server: a real PgBouncer
// in transaction mode with its default configuration, started by the test.
// Issue 12: every connect failed on the startup `options`, and a reaper pass
// through it killed PgBouncer's shared server connection, which carried the
// expired lease of the last (frozen) client, cutting live clients.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/pgbouncer.h"
#include "testing/postgres_test_base.h"
#include "testing/shifted_clock.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

using testing::PgBouncer;
using testing::ThrowawayPostgres;

// Every event, as it happens.
class Recorder final : public HookExporter {
 public:
  struct Seen {
    EventKind kind;
    EventSource source;
    std::string message;
  };
  explicit Recorder(std::shared_ptr<std::vector<Seen>> seen, std::shared_ptr<std::mutex> mu)
      : seen_(std::move(seen)), mu_(std::move(mu)) {}
  void Export(absl::Span<const Event> batch) override {
    std::lock_guard<std::mutex> lock(*mu_);
    for (const Event& e : batch) seen_->push_back({e.kind, e.source, e.message});
  }
  Delivery delivery() const override { return Delivery::kSynchronous; }

 private:
  std::shared_ptr<std::vector<Seen>> seen_;
  std::shared_ptr<std::mutex> mu_;
};

class PoolerTest : public testing::PostgresTest<PoolerTest> {
 protected:
  void SetUp() override {
    auto bouncer = PgBouncer::Start(*server_);  // transaction mode, default config
    ASSERT_TRUE(bouncer.ok()) << bouncer.status();
    bouncer_ = *std::move(bouncer);
  }

  // A manager through PgBouncer; `p` is the reaper scheduler's probability.
  std::unique_ptr<ConnectionManager> Manager(const std::string& p, Clock* clock) {
    ManagerOptions o;
    o.conninfo = bouncer_->ConninfoFor(ThrowawayPostgres::kAppRole);
    o.service = "pooled";
    o.coordination_secret = Secret("pooler-test-secret-0123456789");
    o.lease_ttl = absl::Seconds(10);
    o.lease_renew_before = absl::Seconds(5);
    o.lease_block_before = absl::Seconds(2);
    o.reap_min_idle = absl::ZeroDuration();
    o.reap_clock_skew = absl::ZeroDuration();
    o.reaper_scheduler = PluginSpec("aequor.reaper.probability", {{"p", p}});
    auto m = ConnectionManagerBuilder()
                 .SetOptions(o)
                 .SetClock(clock)
                 .AddExporter(std::make_unique<Recorder>(seen_, mu_))
                 .Build();
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *std::move(m) : nullptr;
  }

  std::vector<Recorder::Seen> Degraded(EventSource source) {
    std::lock_guard<std::mutex> lock(*mu_);
    std::vector<Recorder::Seen> out;
    for (const auto& s : *seen_) {
      if (s.kind == EventKind::kDegraded && s.source == source) out.push_back(s);
    }
    return out;
  }
  int Reaps() {
    std::lock_guard<std::mutex> lock(*mu_);
    int n = 0;
    for (const auto& s : *seen_) n += s.kind == EventKind::kReap;
    return n;
  }
  // The server sessions of the app role (PgBouncer's server connections).
  std::string ServerSessions() {
    auto r = server_->AdminQuery(
        "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity "
        "WHERE usename = 'aequor_app'");
    return r.ok() ? *r : r.status().ToString();
  }

  std::unique_ptr<PgBouncer> bouncer_;
  std::shared_ptr<std::vector<Recorder::Seen>> seen_ =
      std::make_shared<std::vector<Recorder::Seen>>();
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
};

TEST_F(PoolerTest, RefusedStartupOptionsAreDroppedOnceWithAnEventAndQueriesWork) {
  auto db = Manager("0", Clock::Real());
  ASSERT_NE(db, nullptr);
  absl::Status connected = db->Connect();
  ASSERT_TRUE(connected.ok()) << connected;
  absl::StatusOr<QueryResult> r = db->Query("SELECT 41 + 1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Get(0, 0), "42");
  std::vector<Recorder::Seen> degraded = Degraded(EventSource::kStartupOptions);
  ASSERT_EQ(degraded.size(), 1u);
  EXPECT_TRUE(absl::StrContains(degraded[0].message, "ALTER ROLE")) << degraded[0].message;
  db->Close();
  ASSERT_TRUE(db->Connect().ok());
  EXPECT_EQ(Degraded(EventSource::kStartupOptions).size(), 1u) << "dropped for good, said once";
}

TEST_F(PoolerTest, NoReaperPassRunsThroughThePoolerAndTheSharedServerSessionLives) {
  // A frozen client's lease, validly signed and long expired, on one of
  // PgBouncer's server sessions (its clock runs ten minutes behind, so it
  // signs leases that expired before they were sent).
  testing::ShiftedClock frozen_clock;
  frozen_clock.Advance(-absl::Minutes(10));
  auto frozen = Manager("0", &frozen_clock);
  ASSERT_NE(frozen, nullptr);
  ASSERT_TRUE(frozen->Query("SELECT 1").ok());
  const std::string sessions_before = ServerSessions();
  // The live client: every invocation would run a pass.
  auto live = Manager("1", Clock::Real());
  ASSERT_NE(live, nullptr);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<QueryResult> r = live->Query("SELECT 2");
    ASSERT_TRUE(r.ok()) << r.status();
  }
  EXPECT_EQ(Reaps(), 0) << "no pass through the pooler";
  std::vector<Recorder::Seen> degraded = Degraded(EventSource::kPooler);
  ASSERT_EQ(degraded.size(), 1u);
  EXPECT_TRUE(absl::StrContains(degraded[0].message, "client_idle_timeout")) << degraded[0].message;
  absl::StatusOr<ReapReport> manual = live->RunReaperPass();
  EXPECT_EQ(manual.status().code(), absl::StatusCode::kFailedPrecondition) << manual.status();
  EXPECT_EQ(ServerSessions(), sessions_before) << "PgBouncer's server session was not killed";
  EXPECT_TRUE(frozen->Query("SELECT 3").ok()) << "the other client still works";
}

}  // namespace
}  // namespace aequor
