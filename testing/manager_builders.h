// testing/manager_builders.h: the manager most tests start from, on a
// ThrowawayPostgres, and Build() with its error in the test's log.
//
//   ConnectionManagerBuilder b = testing::QuietBuilder(*server, "orders-api", kSecret);
//   b.SetClock(&clock);
//   std::unique_ptr<ConnectionManager> m = testing::MakeManager(std::move(b));
//
// Thread-safety: plain functions; the builder they return is the caller's.
#ifndef AEQUOR_TESTING_MANAGER_BUILDERS_H_
#define AEQUOR_TESTING_MANAGER_BUILDERS_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/connection_manager.h"
#include "api/plugin.h"
#include "gtest/gtest.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {

// A builder for a manager of `service` on `server` as `role`, with
// `secret`, that never runs a reaper pass (the probability scheduler with
// p=0): a test sees only what it sets up itself.
inline ConnectionManagerBuilder QuietBuilder(const ThrowawayPostgres& server,
                                             absl::string_view service, absl::string_view secret,
                                             absl::string_view role = ThrowawayPostgres::kAppRole) {
  ConnectionManagerBuilder b;
  b.SetConninfo(server.ConninfoFor(role))
      .SetService(std::string(service))
      .SetCoordinationSecret(std::string(secret))
      .UseReaperScheduler(PluginSpec("aequor.reaper.probability", {{"p", "0"}}));
  return b;
}

// b.Build(); on an error, fails the running test with it and returns null.
inline std::unique_ptr<ConnectionManager> MakeManager(ConnectionManagerBuilder b) {
  absl::StatusOr<std::unique_ptr<ConnectionManager>> m = b.Build();
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : nullptr;
}

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_MANAGER_BUILDERS_H_
