// testing/postgres_environment.cc: see postgres_environment.h.
#include "testing/postgres_environment.h"

#include <memory>
#include <mutex>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {
namespace {

struct SharedState {
  std::mutex mu;
  std::unique_ptr<ThrowawayPostgres> server ABSL_GUARDED_BY(mu);
  absl::Status failure ABSL_GUARDED_BY(mu);
  bool environment_registered ABSL_GUARDED_BY(mu) = false;
};

SharedState& State() {
  static SharedState* state = new SharedState;  // Leaked on purpose.
  return *state;
}

// Stops the shared server after the last test (gtest owns and deletes it).
class SharedPostgresEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    std::unique_ptr<ThrowawayPostgres> server;
    {
      SharedState& state = State();
      std::lock_guard<std::mutex> lock(state.mu);
      server = std::move(state.server);
      state.failure = absl::OkStatus();
    }
    // Destroyed outside the lock: stops the server, removes its directory.
  }
};

}  // namespace

absl::StatusOr<ThrowawayPostgres*> SharedPostgres() {
  SharedState& state = State();
  std::lock_guard<std::mutex> lock(state.mu);
  if (state.server != nullptr) return state.server.get();
  if (!state.failure.ok()) return state.failure;
  if (!state.environment_registered) {
    // Registering after RUN_ALL_TESTS() began is fine: gtest tears its
    // environments down from the list as it is at the end.
    ::testing::AddGlobalTestEnvironment(new SharedPostgresEnvironment);
    state.environment_registered = true;
  }
  absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> started = ThrowawayPostgres::Start();
  if (!started.ok()) {
    state.failure = absl::Status(started.status().code(),
                                 absl::StrCat("SharedPostgres: starting the shared server failed: ",
                                              started.status().message()));
    return state.failure;
  }
  state.server = *std::move(started);
  return state.server.get();
}

}  // namespace testing
}  // namespace aequor
