// Tests of testing/postgres_environment.h: one server per test binary,
// stopped and removed after the last test.
#include "testing/postgres_environment.h"

#include <libpq-fe.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {
namespace {

// The directory of the shared server, checked after gtest's tear-down.
std::string* shared_dir = new std::string;

TEST(SharedPostgres, StartsOnFirstUseAndAcceptsConnections) {
  absl::StatusOr<ThrowawayPostgres*> pg = SharedPostgres();
  ASSERT_TRUE(pg.ok()) << pg.status();
  ASSERT_NE(*pg, nullptr);
  *shared_dir = (*pg)->base_dir();
  PGconn* conn = PQconnectdb((*pg)->ConninfoFor(ThrowawayPostgres::kAppRole).c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PQfinish(conn);
}

TEST(SharedPostgres, ReturnsTheSameServerEveryTime) {
  absl::StatusOr<ThrowawayPostgres*> a = SharedPostgres();
  absl::StatusOr<ThrowawayPostgres*> b = SharedPostgres();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
  EXPECT_EQ((*a)->base_dir(), *shared_dir);
  EXPECT_EQ((*a)->AdminQuery("SELECT 1").value_or(""), "1");
}

}  // namespace
}  // namespace testing
}  // namespace aequor

// gtest_main's main() returns RUN_ALL_TESTS(); the environment's TearDown
// ran by then, so at exit the directory must be gone.
namespace {
struct CheckDirectoryRemovedAtExit {
  CheckDirectoryRemovedAtExit() {
    std::atexit([] {
      const std::string& dir = *aequor::testing::shared_dir;
      struct stat st;
      if (!dir.empty() && stat(dir.c_str(), &st) == 0) {
        std::fprintf(stderr, "FAILED: %s still exists after the tests\n", dir.c_str());
        std::_Exit(1);
      }
    });
  }
} check_directory_removed_at_exit;
}  // namespace
