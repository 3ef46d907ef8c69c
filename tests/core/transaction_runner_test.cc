// BeginStatement: the BEGIN a transaction's options make.
#include "core/transaction_runner.h"

#include "gtest/gtest.h"

namespace aequor {
namespace {

TEST(BeginStatement, EachIsolationLevelAndTheOutcomeLookup) {
  TransactionOptions o;
  o.resolve_outcome = false;
  EXPECT_EQ(*BeginStatement(o), "BEGIN");
  o.isolation = Isolation::kReadCommitted;
  EXPECT_EQ(*BeginStatement(o), "BEGIN ISOLATION LEVEL read committed");
  o.isolation = Isolation::kRepeatableRead;
  EXPECT_EQ(*BeginStatement(o), "BEGIN ISOLATION LEVEL repeatable read");
  o.isolation = Isolation::kSerializable;
  o.read_only = true;
  EXPECT_EQ(*BeginStatement(o), "BEGIN ISOLATION LEVEL serializable READ ONLY");
  o.resolve_outcome = true;
  EXPECT_EQ(*BeginStatement(o),
            "BEGIN ISOLATION LEVEL serializable READ ONLY; SELECT pg_current_xact_id()::text");
}

TEST(BeginStatement, AValueOutsideTheEnumIsRefusedByName) {
  TransactionOptions o;
  o.isolation = static_cast<Isolation>(7);
  absl::StatusOr<std::string> begin = BeginStatement(o);
  ASSERT_FALSE(begin.ok());
  EXPECT_EQ(begin.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(begin.status().message().find("TransactionOptions.isolation"), std::string::npos);
}

}  // namespace
}  // namespace aequor
