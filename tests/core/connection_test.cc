// Connection's spec: whose connect_timeout wins, how much of it an attempt
// gets, and the client socket's settings. No server.
#include "core/connection.h"

#include <cstdlib>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace aequor {
namespace {

// Sets $PGCONNECT_TIMEOUT for one test and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The connect_timeout an attempt with all the time in the world gets.
std::string Attempt(const ManagerOptions& o) {
  return AttemptConnectTimeout(ConnectSpecFrom(o, ""), absl::InfiniteDuration());
}

// The value of `keyword` among the spec's socket settings, "" when absent.
std::string SocketSetting(const ConnectSpec& spec, const std::string& keyword) {
  for (const auto& [k, v] : spec.socket_settings) {
    if (k == keyword) return v;
  }
  return "";
}

TEST(ConnectSpec, TheManagersConnectTimeoutUnlessTheUserSetOne) {
  ScopedEnv env("PGCONNECT_TIMEOUT", nullptr);
  ManagerOptions o;
  o.connect_timeout = absl::Milliseconds(4500);
  o.conninfo = "host=db.internal dbname=orders";
  EXPECT_EQ(Attempt(o), "5") << "whole seconds, rounded up";
  o.conninfo = "host=db.internal connect_timeout=2 dbname=orders";
  EXPECT_EQ(Attempt(o), "") << "the conninfo's 2 s wins";
  o.conninfo = "postgresql://db.internal/orders?connect_timeout=3";
  EXPECT_EQ(Attempt(o), "") << "a URI's too";
  o.conninfo = "host=db.internal connect_timeout='' dbname=orders";
  EXPECT_EQ(Attempt(o), "5") << "an empty value sets nothing";
}

TEST(ConnectSpec, PgConnectTimeoutInTheEnvironmentWins) {
  ScopedEnv env("PGCONNECT_TIMEOUT", "7");
  ManagerOptions o;
  o.conninfo = "host=db.internal";
  EXPECT_TRUE(UserSetsConnectTimeout(o.conninfo));
  EXPECT_EQ(Attempt(o), "");
}

TEST(ConnectSpec, TheEmergencyReaperConnectionAlwaysHasTheManagersTimeout) {
  ManagerOptions o;
  o.connect_timeout = absl::Seconds(3);
  EXPECT_EQ(ConnectTimeoutText(o), "3");
}

TEST(ConnectSpec, AnAttemptGetsWhatIsLeftOfItsDeadlineRoundedUp) {
  ScopedEnv env("PGCONNECT_TIMEOUT", nullptr);
  ManagerOptions o;
  o.connect_timeout = absl::Seconds(5);
  const ConnectSpec spec = ConnectSpecFrom(o, "");
  EXPECT_EQ(AttemptConnectTimeout(spec, absl::Seconds(30)), "5");
  EXPECT_EQ(AttemptConnectTimeout(spec, absl::Milliseconds(2100)), "3");
  EXPECT_EQ(AttemptConnectTimeout(spec, absl::Milliseconds(10)), "1") << "never 0 (no limit)";
  EXPECT_EQ(AttemptConnectTimeout(spec, absl::ZeroDuration()), "1");
  o.conninfo = "connect_timeout=9";
  EXPECT_EQ(AttemptConnectTimeout(ConnectSpecFrom(o, ""), absl::Seconds(1)), "")
      << "the user's own value wins, also over the deadline";
}

TEST(ConnectSpec, ClientKeepalivesAndTcpUserTimeoutByDefaultUnlessTheUserSetsThem) {
  ManagerOptions o;
  o.conninfo = "host=db.internal";
  ConnectSpec spec = ConnectSpecFrom(o, "");
  EXPECT_EQ(SocketSetting(spec, "keepalives"), "1");
  EXPECT_EQ(SocketSetting(spec, "keepalives_idle"), "30");
  EXPECT_EQ(SocketSetting(spec, "keepalives_interval"), "10");
  EXPECT_EQ(SocketSetting(spec, "keepalives_count"), "3");
  EXPECT_EQ(SocketSetting(spec, "tcp_user_timeout"), "30000") << "milliseconds";

  o.conninfo = "host=db.internal keepalives_idle=5 tcp_user_timeout=1000";
  spec = ConnectSpecFrom(o, "");
  EXPECT_EQ(SocketSetting(spec, "keepalives_idle"), "") << "the user's stays, ours is not added";
  EXPECT_EQ(SocketSetting(spec, "tcp_user_timeout"), "");
  EXPECT_EQ(SocketSetting(spec, "keepalives_interval"), "10");

  o.conninfo = "";
  o.client_keepalives = false;
  o.tcp_user_timeout = absl::ZeroDuration();
  EXPECT_TRUE(ConnectSpecFrom(o, "").socket_settings.empty());
}

// Options ValidateOptions never saw (it refuses all of these) still give
// numbers the server and libpq take: the conversions saturate at INT_MAX
// (cases found by the conninfo fuzz target).

TEST(BuildStartupOptions, AnIdleInTransactionTimeoutOverIntMaxMillisecondsSaturates) {
  ScopedEnv env("PGOPTIONS", nullptr);
  ManagerOptions o;
  o.idle_in_transaction_timeout = absl::Milliseconds(2147483648LL);
  o.idle_session_timeout = absl::Milliseconds(2147483648LL);
  EXPECT_EQ(BuildStartupOptions(o),
            "-c idle_in_transaction_session_timeout=2147483647 -c idle_session_timeout=2147483647");
  o.idle_in_transaction_timeout = absl::Microseconds(1500);
  o.idle_session_timeout = absl::ZeroDuration();
  EXPECT_EQ(BuildStartupOptions(o), "-c idle_in_transaction_session_timeout=2")
      << "rounded up: never 0, which would turn it off";
}

TEST(BuildStartupOptions, AnInfiniteIdleInTransactionTimeoutSaturates) {
  ScopedEnv env("PGOPTIONS", nullptr);
  ManagerOptions o;
  o.idle_in_transaction_timeout = absl::InfiniteDuration();
  EXPECT_EQ(BuildStartupOptions(o), "-c idle_in_transaction_session_timeout=2147483647");
}

TEST(ConnectSpec, AKeepalivesIdleOverIntMaxSecondsSaturates) {
  ManagerOptions o;
  o.conninfo = "host=db.internal";
  o.keepalives_idle = absl::Seconds(2199023256LL);
  o.server_keepalives = true;
  EXPECT_EQ(SocketSetting(ConnectSpecFrom(o, ""), "keepalives_idle"), "2147483647");
  ScopedEnv env("PGOPTIONS", nullptr);
  EXPECT_EQ(BuildStartupOptions(o),
            "-c idle_in_transaction_session_timeout=60000 -c tcp_keepalives_idle=2147483647 "
            "-c tcp_keepalives_interval=10 -c tcp_keepalives_count=3");
}

TEST(ConnectSpec, AnInfiniteKeepalivesIdleSaturatesInsteadOfOverflowing) {
  ManagerOptions o;
  o.conninfo = "host=db.internal";
  o.keepalives_idle = absl::InfiniteDuration();
  o.keepalives_interval = -absl::InfiniteDuration();
  o.tcp_user_timeout = absl::InfiniteDuration();
  const ConnectSpec spec = ConnectSpecFrom(o, "");
  EXPECT_EQ(SocketSetting(spec, "keepalives_idle"), "2147483647");
  EXPECT_EQ(SocketSetting(spec, "keepalives_interval"), "1");
  EXPECT_EQ(SocketSetting(spec, "tcp_user_timeout"), "2147483647");
}

TEST(ConnectSpec, AnInfiniteConnectTimeoutAndBudgetSaturate) {
  ScopedEnv env("PGCONNECT_TIMEOUT", nullptr);
  ManagerOptions o;
  o.connect_timeout = absl::InfiniteDuration();
  o.connect_budget = absl::InfiniteDuration();
  EXPECT_EQ(ConnectTimeoutText(o), "2147483647");
  EXPECT_EQ(Attempt(o), "2147483647") << "infinite left too";
  EXPECT_EQ(AttemptConnectTimeout(ConnectSpecFrom(o, ""), absl::Milliseconds(2100)), "3");
  EXPECT_EQ(ConnectTimeoutWithin(absl::InfiniteDuration(), absl::InfiniteDuration()), "2147483647");
  EXPECT_EQ(ConnectTimeoutWithin(-absl::InfiniteDuration(), absl::Seconds(5)), "1");
}

}  // namespace
}  // namespace aequor
