// A primary/standby failover, both servers started by the test: a primary
// and its synchronous streaming standby (so that every commit the primary
// acknowledged is on the standby), a manager on both through libpq's
// multi-host conninfo with target_session_attrs=read-write, writes in a loop,
// the primary stopped immediately (SIGQUIT: every backend gone at once, as
// in a crash) and the standby promoted a second later. Writes resume on the
// new primary within connect_budget, none is lost or duplicated, and the
// lease follows the connection. And a user's connect_timeout in the
// conninfo is libpq's, per host, not replaced by the manager's own.
// docs/RELIABILITY.md lists these faults.
#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/postgres_test_base.h"
#include "testing/standby.h"
#include "testing/tcp_proxy.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

using testing::TcpProxy;
using testing::ThrowawayPostgres;
using testing::ThrowawayPostgresOptions;

constexpr char kSecret[] = "failover-test-secret-0123456789";

// Prints a measured figure to the test log and records it in the XML report.
void Report(const std::string& name, absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  std::cout << "[ figure   ] " << name << " = " << ms << " ms" << std::endl;
  ::testing::Test::RecordProperty(name + "_ms", std::to_string(ms));
}

// A manager of service `service` on `conninfo`, leases on, never a reaper pass.
std::unique_ptr<ConnectionManager> Manager(std::string conninfo, absl::string_view service) {
  ManagerOptions o;
  o.conninfo = std::move(conninfo);
  o.service = std::string(service);
  o.coordination_secret = Secret(kSecret);
  o.reaper_scheduler = PluginSpec("aequor.reaper.probability", {{"p", "0"}});
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m =
      ConnectionManagerBuilder().SetOptions(o).Build();
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : nullptr;
}

// One INSERT as the caller saw it.
struct Write {
  int64_t id = 0;
  absl::Status status;
  int server_port = 0;  // the server that answered OK (RETURNING inet_server_port())
  absl::Time done;
};

// Writes rows with ids 1, 2, 3, ... one after the other on its own thread,
// each a non-idempotent autocommit INSERT, until Finish() (or destruction).
// Its lock is a std::mutex: ThreadSanitizer cannot see Debian's prebuilt
// absl::Mutex synchronise, and reported the counter as a race.
class Writer {
 public:
  explicit Writer(ConnectionManager* db) : db_(db), thread_([this] { Run(); }) {}
  ~Writer() { (void)Finish(); }

  // Waits until `n` writes have returned OK in all, at most `limit`.
  bool AwaitOk(int n, absl::Duration limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoMilliseconds(limit),
                             [this, n] { return ok_ >= n; });
  }
  int ok() {
    std::lock_guard<std::mutex> lock(mu_);
    return ok_;
  }
  // Stops after the write in progress and returns every write, in order.
  std::vector<Write> Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }

 private:
  void Run() {
    QueryOptions options;
    options.idempotent = false;  // a write the manager must never replay
    for (int64_t id = 1;; ++id) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      Write w;
      w.id = id;
      absl::StatusOr<QueryResult> r =
          db_->Query("INSERT INTO failover_writes (id) VALUES ($1) RETURNING inet_server_port()",
                     {id}, options);
      w.done = absl::Now();
      w.status = r.status();
      if (r.ok() && (r->rows() != 1 || !absl::SimpleAtoi(r->Get(0, 0), &w.server_port))) {
        w.status = absl::InternalError("INSERT ... RETURNING returned no port");
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (w.status.ok()) ++ok_;
      writes_.push_back(std::move(w));
      changed_.notify_all();
    }
  }

  ConnectionManager* const db_;
  std::mutex mu_;  // guards the three below
  std::condition_variable changed_;
  bool stop_ = false;
  int ok_ = 0;
  std::vector<Write> writes_;
  std::thread thread_;  // last: starts once the members above exist
};

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ThrowawayPostgresOptions options;
    options.allow_replication = true;
    auto primary = ThrowawayPostgres::Start(options);
    ASSERT_TRUE(primary.ok()) << primary.status();
    primary_ = *std::move(primary);
    ASSERT_TRUE(primary_
                    ->AdminQuery("CREATE TABLE failover_writes (id bigint NOT NULL); "
                                 "GRANT ALL ON failover_writes TO aequor_app")
                    .ok());
    auto standby = testing::StartStandby(*primary_);
    ASSERT_TRUE(standby.ok()) << standby.status();
    standby_ = *std::move(standby);
  }

  // host=127.0.0.1,127.0.0.1 port=PRIMARY,STANDBY ... read-write.
  std::string Conninfo() const {
    return absl::StrCat(
        "host=127.0.0.1,127.0.0.1 port=", primary_->port(), ",", standby_->port(),
        " dbname=aequor user=aequor_app password=", ThrowawayPostgres::PasswordFor("aequor_app"),
        " target_session_attrs=read-write");
  }

  // How many rows each id has on `server`.
  std::map<int64_t, int> RowsById(const ThrowawayPostgres& server) {
    std::map<int64_t, int> rows;
    auto r = server.AdminQueryRows("SELECT id, count(*) FROM failover_writes GROUP BY id");
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return rows;
    for (const std::vector<std::string>& row : *r) {
      int64_t id = 0;
      int n = 0;
      EXPECT_TRUE(absl::SimpleAtoi(row[0], &id) && absl::SimpleAtoi(row[1], &n));
      rows[id] = n;
    }
    return rows;
  }

  std::unique_ptr<ThrowawayPostgres> primary_;
  std::unique_ptr<ThrowawayPostgres> standby_;
};

TEST_F(FailoverTest, WritesResumeOnThePromotedStandbyWithinTheConnectBudgetNoneLostOrDuplicated) {
  // Issue 12, item 9: reconnecting gave up after the retry policy's 3
  // retries (about 0.7 s) although connect_budget is 15 s, so even a 1.3 s
  // failover failed calls.
  const absl::Duration connect_budget = ManagerOptions().connect_budget;
  std::unique_ptr<ConnectionManager> db = Manager(Conninfo(), "failover");
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Connect().ok());
  Writer writer(db.get());
  ASSERT_TRUE(writer.AwaitOk(50, absl::Seconds(30))) << "no writes on the primary";

  const absl::Time stop = absl::Now();
  ASSERT_TRUE(primary_->StopImmediately().ok());
  const int ok_before = writer.ok();
  // The fault itself: the standby is promoted a second after the primary
  // went away (a timed gap on purpose, not a wait for a condition).
  absl::SleepFor(stop + absl::Seconds(1) - absl::Now());
  const absl::Time promoting = absl::Now();
  ASSERT_TRUE(testing::Promote(*standby_).ok());
  const absl::Time promoted = absl::Now();
  ASSERT_TRUE(writer.AwaitOk(ok_before + 50, connect_budget + absl::Seconds(5)))
      << "writes did not resume on the new primary";
  const std::vector<Write> writes = writer.Finish();

  // What the caller saw, write by write, against what the new primary holds.
  const std::map<int64_t, int> rows = RowsById(*standby_);
  auto count = [&rows](int64_t id) {
    auto it = rows.find(id);
    return it == rows.end() ? 0 : it->second;
  };
  std::optional<absl::Time> resumed;  // the first OK write on the new primary
  int failed = 0;
  int unknown = 0;
  for (const Write& w : writes) {
    if (w.status.ok()) {
      EXPECT_EQ(count(w.id), 1) << "write " << w.id << " was reported OK";
      EXPECT_TRUE(w.server_port == primary_->port() || w.server_port == standby_->port())
          << w.server_port;
      if (w.server_port == standby_->port() && !resumed.has_value()) resumed = w.done;
      continue;
    }
    ++failed;
    if (IsOutcomeUnknown(w.status)) {
      ++unknown;
      EXPECT_LE(count(w.id), 1) << "outcome unknown, never replayed: " << w.status;
    } else {
      EXPECT_EQ(count(w.id), 0) << "reported as a plain failure, yet committed: " << w.status;
    }
  }
  for (const auto& [id, n] : rows) EXPECT_EQ(n, 1) << "id " << id << " written " << n << " times";
  // Only the write in flight when the primary went away may fail: the
  // others wait for the new primary within connect_budget.
  EXPECT_LE(failed, 1) << "writes failed across a failover shorter than connect_budget";

  ASSERT_TRUE(resumed.has_value()) << "no OK write on the new primary";
  const absl::Duration gap = *resumed - stop;
  EXPECT_LE(gap, connect_budget) << "writes resumed after the connect budget";
  EXPECT_GT(*resumed, promoting) << "a write on the standby before its promotion?";
  Report("failover_stop_to_promote_call", promoting - stop);
  Report("failover_promote_call", promoted - promoting);
  Report("failover_stop_to_first_ok_write", gap);
  std::cout << "[ figure   ] writes " << writes.size() << ", failed " << failed
            << " (outcome unknown " << unknown << ")" << std::endl;

  // The lease follows the connection: the manager's session on the new
  // primary carries it.
  const std::string lease = db->application_name();
  ASSERT_FALSE(lease.empty());
  auto pids = standby_->BackendPids(lease);
  ASSERT_TRUE(pids.ok()) << pids.status();
  EXPECT_EQ(pids->size(), 1u) << "the lease is not on the new primary";
  absl::StatusOr<QueryResult> port = db->Query("SELECT inet_server_port()");
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(port->Get(0, 0), absl::StrCat(standby_->port()));
}

// The first host accepts TCP connections and then never answers (the test
// proxy's stall mode: no byte, no FIN, no RST, like a blackholed host).
class UserConnectTimeoutTest : public testing::PostgresTest<UserConnectTimeoutTest> {};

TEST_F(UserConnectTimeoutTest,
       TheConninfosConnectTimeoutEndsEachHostsAttemptThenTheNextHostIsUsed) {
  // Issue 12, item 9: the manager's own connect_timeout (default 5 s)
  // replaced the user's: a blackholed first host took 5.02 s where psql
  // with connect_timeout=2 took 2.07 s.
  ASSERT_EQ(ManagerOptions().connect_timeout, absl::Seconds(5)) << "the test needs 5 s vs 2 s";
  auto proxy = TcpProxy::Start("127.0.0.1", server_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  (*proxy)->SetStalled(true);
  std::unique_ptr<ConnectionManager> db =
      Manager(absl::StrCat("host=127.0.0.1,127.0.0.1 port=", (*proxy)->port(), ",", server_->port(),
                           " dbname=aequor user=aequor_app password=",
                           ThrowawayPostgres::PasswordFor("aequor_app"), " connect_timeout=2"),
              "user-connect-timeout");
  ASSERT_NE(db, nullptr);

  const absl::Time start = absl::Now();
  absl::Status connected = db->Connect();
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(connected.ok()) << connected;
  Report("connect_timeout_2_first_host_stalled", took);
  // One attempt on the stalled host, ended by libpq at the user's 2 s
  // (whole seconds), then the second host in milliseconds.
  // libpq 15 counts connect_timeout in whole seconds of the wall clock, so
  // an attempt may end up to a second early; the upper bound is the point
  // (the manager's own 5 s would show there).
  EXPECT_GE(took, absl::Seconds(1)) << "ended long before the user's connect_timeout";
  EXPECT_LE(took, absl::Seconds(3.5)) << "not the user's connect_timeout=2";
  EXPECT_EQ((*proxy)->connections_accepted(), 1) << "the stalled host was tried again";

  absl::StatusOr<QueryResult> port = db->Query("SELECT inet_server_port()");
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(port->Get(0, 0), absl::StrCat(server_->port()));
  auto pids = server_->BackendPids(db->application_name());
  ASSERT_TRUE(pids.ok()) << pids.status();
  EXPECT_EQ(pids->size(), 1u) << "the lease is on the second host";
  db->Close();
  (*proxy)->SetStalled(false);
}

}  // namespace
}  // namespace aequor
