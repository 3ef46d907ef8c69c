// testing/postgres_test_base.h: PostgresTest, the GoogleTest fixture base of
// the suites that run against a real PostgreSQL server.
//
// A suite derives its fixture from PostgresTest<itself>; its tests then use
// the static `server_` (never null while they run: when the server cannot
// start, the suite's SetUpTestSuite() fails and GoogleTest skips its tests
// with the reason).
//
//   class OrdersTest : public testing::PostgresTest<OrdersTest> {};
//   TEST_F(OrdersTest, Inserts) {
//     ASSERT_TRUE(server_->AdminQuery("CREATE TABLE orders (id int)").ok());
//   }
//
// By default the suite uses the binary's shared server (SharedPostgres() from
// testing/postgres_environment.h: default options, one for every suite of the
// binary that wants it, stopped after the last test). A suite that needs
// other settings, or a server nobody else touches, declares (public)
//
//   static SuiteServer Server() {
//     ThrowawayPostgresOptions options;
//     options.max_connections = 23;
//     return SuiteServer::Own(options);
//   }
//
// and gets a server of its own, started before its first test and stopped
// (directory removed) after its last. Tests of one suite share the server:
// each should use its own tables and application_name.
//
// Thread-safety: `server_` is set before the first test and cleared after the
// last; the server itself is thread-safe as throwaway_postgres.h says.
#ifndef AEQUOR_TESTING_POSTGRES_TEST_BASE_H_
#define AEQUOR_TESTING_POSTGRES_TEST_BASE_H_

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "testing/postgres_environment.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {

// Which server a PostgresTest suite runs against.
struct SuiteServer {
  // The binary's shared server (default options).
  static SuiteServer Shared() { return SuiteServer(); }
  // A server of the suite's own, started with `options`.
  static SuiteServer Own(ThrowawayPostgresOptions options = {}) {
    SuiteServer s;
    s.own = true;
    s.options = std::move(options);
    return s;
  }

  bool own = false;
  ThrowawayPostgresOptions options;  // Only when own.
};

// `Suite` is the deriving fixture (each suite gets its own static server_).
template <typename Suite>
class PostgresTest : public ::testing::Test {
 public:
  // What the suite runs against; a suite redeclares it to choose.
  static SuiteServer Server() { return SuiteServer::Shared(); }

  static void SetUpTestSuite() {
    const SuiteServer how = Suite::Server();
    if (!how.own) {
      absl::StatusOr<ThrowawayPostgres*> shared = SharedPostgres();
      ASSERT_TRUE(shared.ok()) << shared.status();
      server_ = *shared;
      return;
    }
    absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> started =
        ThrowawayPostgres::Start(how.options);
    ASSERT_TRUE(started.ok()) << started.status();
    owned_ = started->release();
    server_ = owned_;
  }

  static void TearDownTestSuite() {
    server_ = nullptr;
    delete owned_;  // Stops the suite's own server; the shared one lives on.
    owned_ = nullptr;
  }

 protected:
  static ThrowawayPostgres* server_;

 private:
  static ThrowawayPostgres* owned_;
};

template <typename Suite>
ThrowawayPostgres* PostgresTest<Suite>::server_ = nullptr;
template <typename Suite>
ThrowawayPostgres* PostgresTest<Suite>::owned_ = nullptr;

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_POSTGRES_TEST_BASE_H_
