// StatementParams: the arrays libpq takes for a call's Params. No server
// (manager_test sends bytes and refused text to a real one).
#include "core/statement_params.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

TEST(StatementParams, TextOnlyHasNoLengthsOrFormats) {
  const std::vector<Param> params = {"a", 42, Param::Null()};
  StatementParams arrays;
  ASSERT_TRUE(arrays.Set(params).ok());
  pg::Statement s{"SELECT $1, $2, $3"};
  arrays.Into(s);
  ASSERT_EQ(s.n_params, 3);
  EXPECT_STREQ(s.values[0], "a");
  EXPECT_STREQ(s.values[1], "42");
  EXPECT_EQ(s.values[2], nullptr);
  EXPECT_EQ(s.lengths, nullptr);
  EXPECT_EQ(s.formats, nullptr);
}

TEST(StatementParams, OneBinaryGivesEveryParameterItsLengthAndFormat) {
  const std::string bytes("\0\xff\0", 3);
  const std::vector<Param> params = {"abc", Param::Bytes(bytes), Param::Null()};
  StatementParams arrays;
  ASSERT_TRUE(arrays.Set(params).ok());
  pg::Statement s{"INSERT ..."};
  arrays.Into(s);
  ASSERT_EQ(s.n_params, 3);
  ASSERT_NE(s.lengths, nullptr);
  ASSERT_NE(s.formats, nullptr);
  EXPECT_EQ(s.lengths[0], 3);
  EXPECT_EQ(s.formats[0], 0);
  EXPECT_EQ(s.lengths[1], 3);
  EXPECT_EQ(s.formats[1], 1);
  EXPECT_EQ(std::string(s.values[1], 3), bytes);
  EXPECT_EQ(s.values[2], nullptr);
}

TEST(StatementParams, ATextParameterWithANulIsRefusedWithoutItsValue) {
  const std::vector<Param> params = {"ok", std::string("s3\0cret", 7)};
  StatementParams arrays;
  const absl::Status s = arrays.Set(params);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "parameter $2 holds a NUL byte at offset 2")) << s;
  EXPECT_FALSE(absl::StrContains(s.message(), "cret")) << s;
}

TEST(StatementParams, NoParameters) {
  StatementParams arrays;
  ASSERT_TRUE(arrays.Set({}).ok());
  pg::Statement s{"SELECT 1"};
  arrays.Into(s);
  EXPECT_EQ(s.n_params, 0);
  EXPECT_EQ(s.values, nullptr);
}

}  // namespace
}  // namespace aequor
