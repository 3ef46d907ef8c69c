// QueryResult (api/query_result.h) and Param (api/connection_manager.h)
// without a server: results built by hand with libpq's PQmakeEmptyPGresult,
// PQsetResultAttrs and PQsetvalue. The command tag of a real statement
// ("INSERT 0 3") needs a server and is covered by tests/integration.
#include "api/query_result.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

using Cell = std::optional<std::string>;  // nullopt: NULL

constexpr Oid kTextOid = 25;

// A TUPLES_OK result whose text columns are `names` and whose rows are `rows`.
PGresult* MakeResult(const std::vector<std::string>& names,
                     const std::vector<std::vector<Cell>>& rows) {
  PGresult* result = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  EXPECT_NE(result, nullptr);
  if (!names.empty()) {
    std::vector<PGresAttDesc> attributes(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      attributes[i].name = const_cast<char*>(names[i].c_str());
      attributes[i].tableid = 0;
      attributes[i].columnid = 0;
      attributes[i].format = 0;
      attributes[i].typid = kTextOid;
      attributes[i].typlen = -1;
      attributes[i].atttypmod = -1;
    }
    EXPECT_NE(PQsetResultAttrs(result, static_cast<int>(names.size()), attributes.data()), 0);
  }
  for (size_t row = 0; row < rows.size(); ++row) {
    for (size_t column = 0; column < rows[row].size(); ++column) {
      const Cell& cell = rows[row][column];
      // A null pointer (or length -1) makes the value NULL.
      EXPECT_NE(PQsetvalue(result, static_cast<int>(row), static_cast<int>(column),
                           cell ? const_cast<char*>(cell->data()) : nullptr,
                           cell ? static_cast<int>(cell->size()) : -1),
                0);
    }
  }
  return result;
}

// id | name     | note
//  1 | alpha    | NULL
//  2 | ""       | "x\0y"
QueryResult TwoRows() {
  return QueryResult(
      MakeResult({"id", "name", "note"}, {{Cell("1"), Cell("alpha"), std::nullopt},
                                          {Cell("2"), Cell(""), Cell(std::string("x\0y", 3))}}));
}

TEST(QueryResult, CountsRowsAndColumnsAndNamesTheColumns) {
  QueryResult r = TwoRows();
  EXPECT_EQ(r.rows(), 2);
  EXPECT_EQ(r.columns(), 3);
  EXPECT_EQ(r.column_name(0), "id");
  EXPECT_EQ(r.column_name(1), "name");
  EXPECT_EQ(r.column_name(2), "note");
}

TEST(QueryResult, GivesEachValueAsText) {
  QueryResult r = TwoRows();
  EXPECT_EQ(r.Get(0, 0), "1");
  EXPECT_EQ(r.Get(0, 1), "alpha");
  EXPECT_EQ(r.Get(1, 0), "2");
  EXPECT_EQ(r.GetOptional(0, 1), std::optional<absl::string_view>("alpha"));
}

TEST(QueryResult, TellsANullFromAnEmptyString) {
  QueryResult r = TwoRows();
  EXPECT_TRUE(r.IsNull(0, 2));
  EXPECT_EQ(r.Get(0, 2), "") << "NULL reads as \"\"";
  EXPECT_EQ(r.GetOptional(0, 2), std::nullopt);

  EXPECT_FALSE(r.IsNull(1, 1));
  EXPECT_EQ(r.Get(1, 1), "");
  ASSERT_TRUE(r.GetOptional(1, 1).has_value());
  EXPECT_EQ(*r.GetOptional(1, 1), "");
}

TEST(QueryResult, KeepsTheWholeValueByItsLength) {
  QueryResult r = TwoRows();
  EXPECT_EQ(r.Get(1, 2), absl::string_view("x\0y", 3));
  EXPECT_EQ(r.Get(1, 2).size(), 3u);
}

TEST(QueryResult, OutOfRangeReadsAsNullAndEmpty) {
  QueryResult r = TwoRows();
  for (auto [row, column] :
       std::vector<std::pair<int, int>>{{-1, 0}, {0, -1}, {2, 0}, {0, 3}, {100, 100}, {-5, -5}}) {
    SCOPED_TRACE(::testing::Message() << "row " << row << ", column " << column);
    EXPECT_TRUE(r.IsNull(row, column));
    EXPECT_EQ(r.Get(row, column), "");
    EXPECT_EQ(r.GetOptional(row, column), std::nullopt);
  }
  EXPECT_EQ(r.column_name(-1), "");
  EXPECT_EQ(r.column_name(3), "");
}

TEST(QueryResult, ASelectAffectsAsManyRowsAsItReturned) {
  // A hand-made result has no command tag, like any result without a
  // row count in its tag: affected_rows() falls back to rows().
  QueryResult r = TwoRows();
  EXPECT_EQ(r.command_tag(), "");
  EXPECT_EQ(r.affected_rows(), 2);
}

TEST(QueryResult, AResultWithColumnsButNoRows) {
  QueryResult r(MakeResult({"only"}, {}));
  EXPECT_EQ(r.rows(), 0);
  EXPECT_EQ(r.columns(), 1);
  EXPECT_EQ(r.column_name(0), "only");
  EXPECT_TRUE(r.IsNull(0, 0));
  EXPECT_EQ(r.Get(0, 0), "");
  EXPECT_EQ(r.affected_rows(), 0);
}

TEST(QueryResult, ACommandWithoutRowsIsEmpty) {
  QueryResult r(PQmakeEmptyPGresult(nullptr, PGRES_COMMAND_OK));
  EXPECT_EQ(r.rows(), 0);
  EXPECT_EQ(r.columns(), 0);
  EXPECT_EQ(r.column_name(0), "");
  EXPECT_EQ(r.Get(0, 0), "");
  EXPECT_TRUE(r.IsNull(0, 0));
  EXPECT_EQ(r.affected_rows(), 0);
  EXPECT_EQ(r.command_tag(), "");
}

void ExpectEmpty(const QueryResult& r) {
  EXPECT_EQ(r.rows(), 0);
  EXPECT_EQ(r.columns(), 0);
  EXPECT_EQ(r.column_name(0), "");
  EXPECT_EQ(r.Get(0, 0), "");
  EXPECT_TRUE(r.IsNull(0, 0));
  EXPECT_EQ(r.GetOptional(0, 0), std::nullopt);
  EXPECT_EQ(r.affected_rows(), 0);
  EXPECT_EQ(r.command_tag(), "");
}

TEST(QueryResult, DefaultAndNullAreTheEmptyResult) {
  ExpectEmpty(QueryResult());
  ExpectEmpty(QueryResult(nullptr));
}

TEST(QueryResult, MovingTransfersTheRowsAndLeavesTheSourceEmpty) {
  QueryResult a = TwoRows();
  QueryResult b(std::move(a));
  EXPECT_EQ(b.rows(), 2);
  EXPECT_EQ(b.Get(0, 1), "alpha");
  EXPECT_EQ(a.rows(), 0);  // NOLINT(bugprone-use-after-move): documents the state
  EXPECT_EQ(a.Get(0, 1), "");

  QueryResult c(MakeResult({"z"}, {{Cell("9")}}));
  c = std::move(b);  // frees c's own result
  EXPECT_EQ(c.rows(), 2);
  EXPECT_EQ(c.column_name(2), "note");
}

TEST(QueryResult, ValuesStayValidWhileTheResultLives) {
  QueryResult a = TwoRows();
  absl::string_view name = a.Get(0, 1);
  QueryResult b(std::move(a));  // the PGresult moves, its memory does not
  EXPECT_EQ(name, "alpha");
  EXPECT_EQ(name.data(), b.Get(0, 1).data());
}

TEST(QueryResult, SeveralThreadsMayReadAtOnce) {
  const QueryResult r = TwoRows();
  std::vector<std::thread> readers;
  std::vector<int> matches(4, 0);
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&r, &matches, t] {
      for (int i = 0; i < 1000; ++i) {
        if (r.Get(0, 1) == "alpha" && r.IsNull(0, 2) && r.rows() == 2) ++matches[t];
      }
    });
  }
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(matches, std::vector<int>(4, 1000));
}

TEST(Param, WritesNumbersAndBooleansAsPostgresText) {
  EXPECT_STREQ(Param(int64_t{-9007199254740993}).c_str(), "-9007199254740993");
  EXPECT_STREQ(Param(42).c_str(), "42");
  EXPECT_STREQ(Param(0.25).c_str(), "0.25");
  EXPECT_STREQ(Param(true).c_str(), "true");
  EXPECT_STREQ(Param(false).c_str(), "false");
  EXPECT_STREQ(Param("text").c_str(), "text");
  EXPECT_STREQ(Param(std::string()).c_str(), "");
  EXPECT_FALSE(Param(std::string()).is_null()) << "an empty string is not NULL";
}

TEST(Param, NullHasNoText) {
  Param p = Param::Null();
  EXPECT_TRUE(p.is_null());
  EXPECT_EQ(p.c_str(), nullptr);
}

// Issue 14, item 2: Param(nullptr) threw (std::string from a null pointer).
TEST(Param, NullptrANullCStringAndAnEmptyOptionalAreNull) {
  EXPECT_TRUE(Param(nullptr).is_null());
  const char* none = nullptr;
  EXPECT_TRUE(Param(none).is_null());
  EXPECT_TRUE(Param(std::optional<int64_t>()).is_null());
  EXPECT_TRUE(Param(std::optional<std::string>()).is_null());
  EXPECT_STREQ(Param(std::optional<int64_t>(7)).c_str(), "7");
  EXPECT_STREQ(Param(std::optional<std::string>("x")).c_str(), "x");
  EXPECT_STREQ(Param(std::optional<double>(0.5)).c_str(), "0.5");
}

// absl::StrCat keeps 6 significant digits: pi was sent as 3.14159.
TEST(Param, ADoubleIsWrittenSoThatItReadsBackExactly) {
  for (double v : {3.141592653589793, 0.1, 1.0 / 3.0, 1e300, -2.5e-308, 123456789.123456789,
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min()}) {
    const std::string text = Param(v).c_str();
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
  EXPECT_STREQ(Param(3.141592653589793).c_str(), "3.141592653589793");
  EXPECT_STREQ(Param(0.25).c_str(), "0.25");
  EXPECT_STREQ(Param(std::numeric_limits<double>::infinity()).c_str(), "inf");
  EXPECT_STREQ(Param(-std::numeric_limits<double>::infinity()).c_str(), "-inf");
  EXPECT_STREQ(Param(std::numeric_limits<double>::quiet_NaN()).c_str(), "nan");
}

}  // namespace
}  // namespace aequor
