// testing/postgres_environment.h: one throwaway PostgreSQL server shared by
// all the tests of a GoogleTest binary.
//
// SharedPostgres() starts the server on its first call (with the default
// ThrowawayPostgresOptions) and returns the same one afterwards. On that
// first call it also registers a ::testing::Environment whose TearDown()
// (after the last test) stops the server and removes its directory. The
// server object is otherwise leaked on purpose, so no static destructor
// races with tests that still use it.
//
//   TEST(Reaper, SeesOtherSessions) {
//     absl::StatusOr<ThrowawayPostgres*> pg = SharedPostgres();
//     ASSERT_TRUE(pg.ok()) << pg.status();
//     PGconn* c = PQconnectdb((*pg)->ConninfoFor(ThrowawayPostgres::kAppRole).c_str());
//     ...
//   }
//
// Tests share the server: each should use its own tables (or a schema of its
// own) and application_name, and leave settings and roles as it found them.
// A test that needs other options, a Restart()/Stop(), or a full server must
// start its own with ThrowawayPostgres::Start().
//
// A failure to start is remembered and returned to every later caller, so a
// broken setup fails each test at once instead of retrying initdb each time.
// With --gtest_repeat the server is torn down after the last repetition only
// (or after each with --gtest_recreate_environments_when_repeating, after
// which the next call starts a new one).
//
// Call SharedPostgres() first from the main thread (gtest runs tests there)
// so that the server's crash guard applies (see throwaway_postgres.h).
//
// Thread-safety: SharedPostgres() is thread-safe. The returned server is valid
// until the environment's TearDown(), i.e. for every test of the binary.
#ifndef AEQUOR_TESTING_POSTGRES_ENVIRONMENT_H_
#define AEQUOR_TESTING_POSTGRES_ENVIRONMENT_H_

#include "absl/status/statusor.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {

// The binary's shared server, started on first use. Never null when OK.
absl::StatusOr<ThrowawayPostgres*> SharedPostgres();

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_POSTGRES_ENVIRONMENT_H_
