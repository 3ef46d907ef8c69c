// core/statement_cache.h without a server: when a statement is prepared,
// what the cache holds, and what a retired or disabled cache does.
#include "core/statement_cache.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

TEST(StatementCacheTest, AStatementIsPreparedOnItsSecondUseAndRunByNameAfterwards) {
  StatementCache cache(4, "aq_test_1_");
  StatementCache::Use first = cache.Next("SELECT $1");
  EXPECT_EQ(first.name, nullptr) << "a first use (a cold invocation's) is never prepared";
  StatementCache::Use second = cache.Next("SELECT $1");
  ASSERT_NE(second.name, nullptr);
  EXPECT_TRUE(second.prepare);
  const std::string name = second.name;
  EXPECT_EQ(name, "aq_test_1_0");
  cache.Prepared("SELECT $1");
  StatementCache::Use third = cache.Next("SELECT $1");
  ASSERT_NE(third.name, nullptr);
  EXPECT_FALSE(third.prepare);
  EXPECT_EQ(third.name, name);
  EXPECT_EQ(cache.prepared(), 1);
  // A prepare that failed (its text does not parse) is tried again.
  cache.Next("SELEC 1");
  EXPECT_TRUE(cache.Next("SELEC 1").prepare);
  EXPECT_TRUE(cache.Next("SELEC 1").prepare);
}

TEST(StatementCacheTest, AtMostCapacityArePreparedAndTheRestRunUnnamed) {
  StatementCache cache(2, "aq_test_1_");
  for (int i = 0; i < 3; ++i) {
    const std::string sql = absl::StrCat("SELECT ", i);
    cache.Next(sql);
    StatementCache::Use u = cache.Next(sql);
    if (u.prepare) cache.Prepared(sql);
    EXPECT_EQ(u.prepare, i < 2) << sql;
  }
  EXPECT_EQ(cache.prepared(), 2);
  EXPECT_EQ(cache.Next("SELECT 2").name, nullptr);
  EXPECT_NE(cache.Next("SELECT 1").name, nullptr);
}

TEST(StatementCacheTest, StatementsSeenOnceDoNotGrowWithoutBound) {
  StatementCache cache(2, "aq_test_1_");
  cache.Next("SELECT 'kept'");
  ASSERT_TRUE(cache.Next("SELECT 'kept'").prepare);
  cache.Prepared("SELECT 'kept'");
  for (int i = 0; i < 10000; ++i) cache.Next(absl::StrCat("SELECT ", i, " -- dynamic"));
  // The prepared one survives the churn of statements seen once.
  StatementCache::Use kept = cache.Next("SELECT 'kept'");
  ASSERT_NE(kept.name, nullptr);
  EXPECT_FALSE(kept.prepare);
}

TEST(StatementCacheTest, RetiredAndDisabledRunUnnamed) {
  StatementCache cache(4, "aq_test_1_");
  cache.Next("a");
  cache.Next("a");
  cache.Prepared("a");
  cache.Retire("a");
  EXPECT_EQ(cache.Next("a").name, nullptr) << "a plan the server will not reuse";
  cache.Next("b");
  cache.Next("b");
  cache.Prepared("b");
  cache.Disable();
  EXPECT_EQ(cache.Next("b").name, nullptr) << "a pooler in between";
  EXPECT_TRUE(cache.disabled());
}

}  // namespace
}  // namespace aequor
