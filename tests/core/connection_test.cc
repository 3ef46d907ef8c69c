// Connection's spec: whose connect_timeout wins. No server.
#include "core/connection.h"

#include <cstdlib>

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

TEST(ConnectSpec, TheManagersConnectTimeoutUnlessTheUserSetOne) {
  ScopedEnv env("PGCONNECT_TIMEOUT", nullptr);
  ManagerOptions o;
  o.connect_timeout = absl::Milliseconds(4500);
  o.conninfo = "host=db.internal dbname=orders";
  EXPECT_EQ(ConnectSpecFrom(o, "").connect_timeout_seconds, "5") << "whole seconds, rounded up";
  o.conninfo = "host=db.internal connect_timeout=2 dbname=orders";
  EXPECT_EQ(ConnectSpecFrom(o, "").connect_timeout_seconds, "") << "the conninfo's 2 s wins";
  o.conninfo = "postgresql://db.internal/orders?connect_timeout=3";
  EXPECT_EQ(ConnectSpecFrom(o, "").connect_timeout_seconds, "") << "a URI's too";
  o.conninfo = "host=db.internal connect_timeout='' dbname=orders";
  EXPECT_EQ(ConnectSpecFrom(o, "").connect_timeout_seconds, "5") << "an empty value sets nothing";
}

TEST(ConnectSpec, PgConnectTimeoutInTheEnvironmentWins) {
  ScopedEnv env("PGCONNECT_TIMEOUT", "7");
  ManagerOptions o;
  o.conninfo = "host=db.internal";
  EXPECT_TRUE(UserSetsConnectTimeout(o.conninfo));
  EXPECT_EQ(ConnectSpecFrom(o, "").connect_timeout_seconds, "");
}

TEST(ConnectSpec, TheEmergencyReaperConnectionAlwaysHasTheManagersTimeout) {
  ManagerOptions o;
  o.connect_timeout = absl::Seconds(3);
  EXPECT_EQ(ConnectTimeoutText(o), "3");
}

}  // namespace
}  // namespace aequor
