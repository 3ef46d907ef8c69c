// bench/storm/backends.h: backends kept from poll to poll, and attributed
// to the instance that reported them.
#include "bench/storm/backends.h"

#include <map>
#include <vector>

#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

Backend Polled(int pid, int64_t start_ms, const char* state = "idle") {
  Backend b;
  b.pid = pid;
  b.start_ms = start_ms;
  b.state = state;
  b.user = "aequor_app";
  return b;
}

TEST(StormBackendsTest, APollAddsUpdatesAndLeavesTheGoneForTakeGone) {
  BackendTable table;
  BackendTable::Merged m = table.Merge({Polled(10, 1000), Polled(11, 1001)}, 50);
  EXPECT_EQ(m.present, 2);
  EXPECT_EQ(m.added, (std::vector<BackendKey>{{10, 1000}, {11, 1001}}));
  EXPECT_TRUE(table.TakeGone().empty());

  m = table.Merge({Polled(11, 1001, "active"), Polled(12, 1100)}, 100);
  EXPECT_EQ(m.present, 2);
  EXPECT_EQ(m.added, (std::vector<BackendKey>{{12, 1100}}));
  const Backend& kept = table.all().at({11, 1001});
  EXPECT_EQ(kept.state, "active");
  EXPECT_EQ(kept.first_seen_ms, 50);
  EXPECT_EQ(kept.last_seen_ms, 100);
  std::vector<Backend> gone = table.TakeGone();
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].pid, 10);
  EXPECT_EQ(gone[0].last_seen_ms, 50);
  EXPECT_EQ(table.all().size(), 2u);
}

TEST(StormBackendsTest, AReusedPidIsANewBackend) {
  BackendTable table;
  table.Merge({Polled(10, 1000)}, 50);
  BackendTable::Merged m = table.Merge({Polled(10, 2000)}, 100);
  EXPECT_EQ(m.added, (std::vector<BackendKey>{{10, 2000}}));
  std::vector<Backend> gone = table.TakeGone();
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].start_ms, 1000);
}

TEST(StormBackendsTest, ReportedPidsAttributeButNeverTheLeader) {
  BackendTable table;
  table.set_leader({20, 900});
  table.Merge({Polled(10, 1000), Polled(20, 900), Polled(30, 1200)}, 50);
  EXPECT_TRUE(table.all().at({20, 900}).leader);
  AttributeBackends({{10, 4}, {20, 5}}, {}, 5432, &table.all());
  EXPECT_EQ(table.all().at({10, 1000}).instance, 4);
  EXPECT_EQ(table.all().at({20, 900}).instance, 0);
  EXPECT_EQ(table.all().at({30, 1200}).instance, 0);
}

}  // namespace
}  // namespace storm
}  // namespace aequor
