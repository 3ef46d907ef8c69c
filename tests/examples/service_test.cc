// examples/service, run as the README's "In a long-running service" says:
// worker threads serving requests on a pool, against a real server.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "testing/file_util.h"
#include "testing/postgres_test_base.h"
#include "testing/subprocess.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

class ServiceExampleTest : public testing::PostgresTest<ServiceExampleTest> {};

std::string ServiceBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/",
                      workspace != nullptr ? workspace : "aequor", "/examples/service/service");
}

TEST_F(ServiceExampleTest, WorkersServeEveryRequestOnAPoolNoLargerThanAsked) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string out = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/service.out");
  testing::SpawnSpec spec;
  spec.argv = {ServiceBinary(), "--workers", "8", "--pool-size", "3", "--requests", "400"};
  std::vector<std::string> env = {
      absl::StrCat("AEQUOR_CONNINFO=", server_->ConninfoFor(testing::ThrowawayPostgres::kAppRole)),
      "AEQUOR_COORDINATION_SECRET=service-example-test-secret-0123"};
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name); v != nullptr) env.push_back(absl::StrCat(name, "=", v));
  }
  spec.env = env;
  spec.out = testing::Stream::File(out);
  ASSERT_TRUE(testing::RunToCompletion(spec, "examples/service").ok());
  const nlohmann::json result = nlohmann::json::parse(testing::ReadFileTail(out, 1 << 16));
  EXPECT_EQ(result["requests"], 400);
  EXPECT_EQ(result["served"], 400);
  EXPECT_EQ(result["failed"], 0);
  EXPECT_LE(result["pool"]["size"].get<int>(), 3);
  EXPECT_GE(result["pool"]["size"].get<int>(), 1);
  EXPECT_EQ(result["pool"]["in_use"], 0);
  EXPECT_GE(result["pool"]["acquired"].get<int>(), 401) << "the table, then one per request";
  absl::StatusOr<std::string> rows = server_->AdminQuery("SELECT count(*) FROM orders");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, "400");
}

}  // namespace
}  // namespace aequor
