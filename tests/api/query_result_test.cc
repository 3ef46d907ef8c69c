// QueryResult (api/query_result.h) and Param (api/connection_manager.h)
// without a server: results built by hand with libpq's PQmakeEmptyPGresult,
// PQsetResultAttrs and PQsetvalue, holding the text the server would send.
// The command tag of a real statement ("INSERT 0 3") needs a server and is
// covered by tests/core/query_api_test.cc, which also reads every typed
// getter's type from a real server.
#include "api/query_result.h"

#include <libpq-fe.h>

#include <cmath>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

using Cell = std::optional<std::string>;  // nullopt: NULL

constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;

// A column of a hand-made result: its name, type and format (0 text, 1 binary).
struct ColumnSpec {
  std::string name;
  Oid type = kTextOid;
  int format = 0;
};

// A TUPLES_OK result with `columns` and whose rows are `rows`.
PGresult* MakeTypedResult(const std::vector<ColumnSpec>& columns,
                          const std::vector<std::vector<Cell>>& rows) {
  PGresult* result = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  EXPECT_NE(result, nullptr);
  if (!columns.empty()) {
    std::vector<PGresAttDesc> attributes(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      attributes[i].name = const_cast<char*>(columns[i].name.c_str());
      attributes[i].tableid = 0;
      attributes[i].columnid = 0;
      attributes[i].format = columns[i].format;
      attributes[i].typid = columns[i].type;
      attributes[i].typlen = -1;
      attributes[i].atttypmod = -1;
    }
    EXPECT_NE(PQsetResultAttrs(result, static_cast<int>(columns.size()), attributes.data()), 0);
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

// A TUPLES_OK result whose text columns are `names` and whose rows are `rows`.
PGresult* MakeResult(const std::vector<std::string>& names,
                     const std::vector<std::vector<Cell>>& rows) {
  std::vector<ColumnSpec> columns;
  for (const std::string& name : names) columns.push_back(ColumnSpec{name});
  return MakeTypedResult(columns, rows);
}

// One text column "v" holding `text` in row 0.
QueryResult OneValue(absl::string_view text, Oid type = kTextOid) {
  return QueryResult(MakeTypedResult({{"v", type}}, {{Cell(std::string(text))}}));
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

// --- Issue 14, item 3: columns by name, typed getters, rows by range-for. ---

// id | name     | note
//  1 | alpha    | NULL
//  2 | ""       | "x\0y"
// (TwoRows() above), by name.
TEST(QueryResult, ColumnIndexFindsTheExactNameOrGivesMinusOne) {
  QueryResult r = TwoRows();
  EXPECT_EQ(r.column_index("id"), 0);
  EXPECT_EQ(r.column_index("note"), 2);
  EXPECT_EQ(r.column_index("ID"), -1) << "names match case and all";
  EXPECT_EQ(r.column_index("nam"), -1);
  EXPECT_EQ(r.column_index(""), -1);
  EXPECT_EQ(QueryResult().column_index("id"), -1);

  // The server keeps a quoted name's case; PQfnumber would fold "Total".
  QueryResult dup(MakeResult({"Total", "id", "id"}, {{Cell("1"), Cell("2"), Cell("3")}}));
  EXPECT_EQ(dup.column_index("Total"), 0);
  EXPECT_EQ(dup.column_index("total"), -1);
  EXPECT_EQ(dup.column_index("id"), 1) << "the first of two columns with one name";
  EXPECT_EQ(*dup.GetInt64(0, "id"), 2);
}

TEST(QueryResult, TheTextGettersTakeANameWhereTheyTakeAnIndex) {
  QueryResult r = TwoRows();
  EXPECT_EQ(r.Get(0, "name"), "alpha");
  EXPECT_EQ(r.Get(1, std::string("note")), absl::string_view("x\0y", 3));
  EXPECT_EQ(r.Get(0, absl::string_view("id")), "1");
  EXPECT_TRUE(r.IsNull(0, "note"));
  EXPECT_FALSE(r.IsNull(1, "name"));
  EXPECT_EQ(r.GetOptional(0, "note"), std::nullopt);
  EXPECT_EQ(r.GetOptional(1, "name"), std::optional<absl::string_view>(""));
  // Their old contract: what is not there reads as NULL.
  EXPECT_TRUE(r.IsNull(0, "missing"));
  EXPECT_EQ(r.Get(0, "missing"), "");
  EXPECT_EQ(r.GetOptional(5, "id"), std::nullopt);
}

TEST(QueryResult, GetInt64ReadsPostgresIntegers) {
  for (auto [text, want] : std::vector<std::pair<std::string, int64_t>>{
           {"0", 0},
           {"-0", 0},
           {"42", 42},
           {"-17", -17},
           {"9223372036854775807", std::numeric_limits<int64_t>::max()},
           {"-9223372036854775808", std::numeric_limits<int64_t>::min()}}) {
    absl::StatusOr<int64_t> v = OneValue(text).GetInt64(0, 0);
    ASSERT_TRUE(v.ok()) << text << ": " << v.status();
    EXPECT_EQ(*v, want) << text;
  }
}

// Decided: a float8 or numeric with a fraction is not an integer, even "3.0";
// truncating would hide a wrong column or a wrong cast.
TEST(QueryResult, GetInt64RefusesFloatTextAndAnythingElseThatIsNotAnInteger) {
  for (const std::string text :
       {"1.5", "3.0", "1e3", "NaN", "Infinity", " 1", "1 ", "+1", "", "-", "abc", "12abc", "0x10",
        "9223372036854775808", "-9223372036854775809"}) {
    absl::StatusOr<int64_t> v = OneValue(text).GetInt64(0, "v");
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << "'" << text << "'";
  }
  EXPECT_EQ(OneValue("9223372036854775808").GetInt64(0, 0).status().message(),
            "column 'v' (0) row 0: cannot read its value (19 bytes) as int64: out of range");
}

TEST(QueryResult, GetInt32ReadsItsRangeAndRefusesBeyondIt) {
  EXPECT_EQ(*OneValue("2147483647").GetInt32(0, 0), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(*OneValue("-2147483648").GetInt32(0, 0), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(*OneValue("7").GetInt32(0, "v"), 7);
  for (const std::string text : {"2147483648", "-2147483649", "9223372036854775807"}) {
    absl::StatusOr<int32_t> v = OneValue(text).GetInt32(0, 0);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(v.status().message(), absl::StrCat("column 'v' (0) row 0: cannot read its value (",
                                                 text.size(), " bytes) as int32: out of range"));
  }
  EXPECT_EQ(OneValue("1.0").GetInt32(0, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(QueryResult, GetDoubleReadsFloat8TextWithItsSpecialValues) {
  for (auto [text, want] : std::vector<std::pair<std::string, double>>{
           {"1.5", 1.5},
           {"-2e-05", -2e-05},
           {"42", 42.0},
           {"0.1", 0.1},
           {"3.141592653589793", 3.141592653589793},
           {"1.7976931348623157e+308", std::numeric_limits<double>::max()},
           {"5e-324", std::numeric_limits<double>::denorm_min()},
           {"Infinity", std::numeric_limits<double>::infinity()},
           {"-Infinity", -std::numeric_limits<double>::infinity()}}) {
    absl::StatusOr<double> v = OneValue(text).GetDouble(0, 0);
    ASSERT_TRUE(v.ok()) << text << ": " << v.status();
    EXPECT_EQ(*v, want) << text;
  }
  absl::StatusOr<double> nan = OneValue("NaN").GetDouble(0, 0);
  ASSERT_TRUE(nan.ok()) << nan.status();
  EXPECT_TRUE(std::isnan(*nan));
  absl::StatusOr<double> negative_zero = OneValue("-0").GetDouble(0, 0);
  ASSERT_TRUE(negative_zero.ok());
  EXPECT_TRUE(std::signbit(*negative_zero));
}

TEST(QueryResult, GetDoubleRefusesTextNoPostgresTypePrints) {
  for (const std::string text :
       {"inf", "nan", "infinity", "-nan", "abc", "1.5x", "", "-", " 1", "1 ", "+1", "0x1p3"}) {
    EXPECT_EQ(OneValue(text).GetDouble(0, 0).status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << text << "'";
  }
  // A numeric beyond double's range.
  EXPECT_EQ(OneValue("1e400").GetDouble(0, 0).status().message(),
            "column 'v' (0) row 0: cannot read its value (5 bytes) as double: out of range");
}

TEST(QueryResult, GetBoolReadsTAndFOnly) {
  EXPECT_EQ(*OneValue("t").GetBool(0, 0), true);
  EXPECT_EQ(*OneValue("f").GetBool(0, 0), false);
  for (const std::string text : {"true", "false", "T", "1", "0", "yes", ""}) {
    EXPECT_EQ(OneValue(text).GetBool(0, 0).status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << text << "'";
  }
}

TEST(QueryResult, GetStringCopiesTheWholeText) {
  QueryResult r = TwoRows();
  EXPECT_EQ(*r.GetString(0, "name"), "alpha");
  EXPECT_EQ(*r.GetString(1, "name"), "") << "an empty string is not NULL";
  EXPECT_EQ(*r.GetString(1, 2), std::string("x\0y", 3));
  EXPECT_EQ(*r.GetString(0, "id"), "1") << "any column reads as text";
}

TEST(QueryResult, GetBytesDecodesHexExactlyNulsIncluded) {
  EXPECT_EQ(*OneValue("\\x00ff00", kByteaOid).GetBytes(0, 0), std::string("\0\xff\0", 3));
  EXPECT_EQ(*OneValue("\\x", kByteaOid).GetBytes(0, 0), "");
  EXPECT_EQ(*OneValue("\\x4142", kByteaOid).GetBytes(0, 0), "AB");
  EXPECT_EQ(*OneValue("\\xABcd").GetBytes(0, 0), "\xab\xcd") << "either case, any column type";
  std::string all;
  std::string hex = "\\x";
  for (int b = 0; b < 256; ++b) {
    all.push_back(static_cast<char>(b));
    absl::StrAppend(&hex, absl::Hex(b, absl::kZeroPad2));
  }
  EXPECT_EQ(*OneValue(hex, kByteaOid).GetBytes(0, 0), all);
}

TEST(QueryResult, GetBytesRefusesMalformedHexInsteadOfGuessing) {
  for (const std::string text : {"\\x0", "\\x000", "\\xzz", "\\x0g", "\\x 00", "\\x00 "}) {
    EXPECT_EQ(OneValue(text, kByteaOid).GetBytes(0, 0).status().code(),
              absl::StatusCode::kInvalidArgument)
        << text;
  }
  EXPECT_EQ(
      OneValue("\\x0", kByteaOid).GetBytes(0, 0).status().message(),
      "column 'v' (0) row 0: cannot read its value (3 bytes) as bytes: odd number of hex digits");
  // Text that is not bytea output, from a column that is not a bytea.
  EXPECT_EQ(OneValue("hello").GetBytes(0, 0).status().message(),
            "column 'v' (0) row 0: cannot read its value (5 bytes) as bytes: not bytea output (\\x "
            "followed by hex digits)");
}

// bytea_output = escape: no "\x" marker, so only a bytea column's text is
// read that way.
TEST(QueryResult, GetBytesReadsEscapeOutputFromAByteaColumn) {
  EXPECT_EQ(*OneValue("a\\\\b\\000\\377z", kByteaOid).GetBytes(0, 0),
            std::string("a\\b\0\xffz", 6));
  EXPECT_EQ(*OneValue("", kByteaOid).GetBytes(0, 0), "");
  for (const std::string text : {"\\", "a\\9", "\\0", "\\00", "\\400", "\\08x"}) {
    EXPECT_EQ(OneValue(text, kByteaOid).GetBytes(0, 0).status().code(),
              absl::StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(QueryResult, NullIsAnErrorForEveryNonOptionalGetterNeverAZero) {
  QueryResult r = TwoRows();  // row 0, column 2 ("note") is NULL
  const std::vector<std::pair<absl::Status, std::string>> reads = {
      {r.GetInt64(0, "note").status(), "GetOptionalInt64"},
      {r.GetInt32(0, "note").status(), "GetOptionalInt32"},
      {r.GetDouble(0, "note").status(), "GetOptionalDouble"},
      {r.GetBool(0, 2).status(), "GetOptionalBool"},
      {r.GetString(0, 2).status(), "GetOptionalString"},
      {r.GetBytes(0, 2).status(), "GetOptionalBytes"},
  };
  for (const auto& [status, getter] : reads) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << getter;
    EXPECT_EQ(status.message(), absl::StrCat("column 'note' (2) row 0 is NULL; use ", getter,
                                             " to read NULL as nullopt"));
  }
}

TEST(QueryResult, OptionalGettersGiveNulloptForNullAndTheValueOtherwise) {
  QueryResult r(
      MakeTypedResult({{"i"}, {"d"}, {"b"}, {"s"}, {"bytes", kByteaOid}},
                      {{Cell("-5"), Cell("0.5"), Cell("t"), Cell("text"), Cell("\\x0001")},
                       {std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt}}));
  EXPECT_EQ(*r.GetOptionalInt64(0, "i"), std::optional<int64_t>(-5));
  EXPECT_EQ(*r.GetOptionalInt32(0, "i"), std::optional<int32_t>(-5));
  EXPECT_EQ(*r.GetOptionalDouble(0, "d"), std::optional<double>(0.5));
  EXPECT_EQ(*r.GetOptionalBool(0, "b"), std::optional<bool>(true));
  EXPECT_EQ(*r.GetOptionalString(0, "s"), std::optional<std::string>("text"));
  EXPECT_EQ(*r.GetOptionalBytes(0, "bytes"), std::optional<std::string>(std::string("\0\1", 2)));

  EXPECT_EQ(*r.GetOptionalInt64(1, "i"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalInt32(1, "i"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalDouble(1, "d"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalBool(1, "b"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalString(1, "s"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalBytes(1, "bytes"), std::nullopt);
}

// Unlike GetOptional(), the typed optional getters tell NULL from a column
// or row that is not there, and from text of another type.
TEST(QueryResult, OptionalGettersStillFailOnBadTextAndOnWhatIsNotThere) {
  QueryResult r = TwoRows();
  EXPECT_EQ(r.GetOptionalInt64(0, "name").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.GetOptionalInt64(2, "id").status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(r.GetOptionalInt64(0, 3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(r.GetOptionalInt64(0, "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(QueryResult, ARowOrColumnOutOfRangeIsOutOfRange) {
  QueryResult r = TwoRows();
  for (auto [row, column] : std::vector<std::pair<int, int>>{{-1, 0}, {2, 0}, {0, -1}, {0, 3}}) {
    SCOPED_TRACE(::testing::Message() << "row " << row << ", column " << column);
    EXPECT_EQ(r.GetInt64(row, column).status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_EQ(r.GetString(row, column).status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_EQ(r.GetOptionalBytes(row, column).status().code(), absl::StatusCode::kOutOfRange);
  }
  EXPECT_EQ(r.GetInt64(2, 0).status().message(), "row 2 out of range: the result has 2 rows");
  EXPECT_EQ(r.GetInt64(0, 3).status().message(),
            "column 3 out of range: the result has 3 columns (id, name, note)");
  EXPECT_EQ(QueryResult().GetString(0, 0).status().message(),
            "column 0 out of range: the result has 0 columns (none)");
  EXPECT_EQ(QueryResult(MakeResult({"only"}, {})).GetString(0, "only").status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(QueryResult, AnUnknownColumnNameIsNotFoundAndListsTheColumns) {
  absl::Status s = TwoRows().GetInt64(0, "nmae").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "no column named 'nmae'; the result's columns: id, name, note");
}

TEST(QueryResult, ATypeErrorNamesTheColumnTheRowTheTypeAndTheStartOfTheValue) {
  QueryResult r = TwoRows();
  absl::Status s = r.GetInt64(0, "name").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "column 'name' (1) row 0: cannot read its value (5 bytes) as int64");
  // Bytes that are not printable are escaped, and a long value is cut.
  EXPECT_EQ(r.GetBool(1, "note").status().message(),
            "column 'note' (2) row 1: cannot read its value (3 bytes) as bool");
  const std::string long_text(1000, 'z');
  EXPECT_EQ(OneValue(long_text).GetDouble(0, 0).status().message(),
            "column 'v' (0) row 0: cannot read its value (1000 bytes) as double");
  // Never the value: a column may hold anything a user stored.
  EXPECT_FALSE(absl::StrContains(OneValue("s3cret").GetInt64(0, 0).status().message(), "s3cret"));
}

TEST(QueryResult, TypedGettersRefuseAColumnInBinaryFormat) {
  QueryResult r(MakeTypedResult({{"n", 20, /*format=*/1}}, {{Cell(std::string("\0\0\0\1", 4))}}));
  absl::Status s = r.GetInt64(0, "n").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "column 'n' (0) is in binary format; typed getters read text");
}

TEST(QueryResult, RangeForVisitsEveryRowInOrder) {
  QueryResult r(
      MakeResult({"id", "name"},
                 {{Cell("10"), Cell("a")}, {Cell("20"), std::nullopt}, {Cell("30"), Cell("c")}}));
  std::vector<int64_t> ids;
  std::vector<int> indexes;
  for (const Row& row : r) {
    absl::StatusOr<int64_t> id = row.GetInt64("id");
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
    indexes.push_back(row.index());
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{10, 20, 30}));
  EXPECT_EQ(indexes, (std::vector<int>{0, 1, 2}));

  std::vector<std::string> names;
  for (auto& row : r) names.push_back(std::string(row.Get("name")));
  EXPECT_EQ(names, (std::vector<std::string>{"a", "", "c"}));
  int nulls = 0;
  for (Row row : r) nulls += row.IsNull(1) ? 1 : 0;
  EXPECT_EQ(nulls, 1);
}

TEST(QueryResult, RangeForOverNoRowsRunsNoIterations) {
  int seen = 0;
  for (const Row& row : QueryResult()) seen += row.index() + 1;
  const QueryResult columns_only(MakeResult({"only"}, {}));
  for (const Row& row : columns_only) seen += row.index() + 1;
  const QueryResult command(PQmakeEmptyPGresult(nullptr, PGRES_COMMAND_OK));
  for (const Row& row : command) seen += row.index() + 1;
  EXPECT_EQ(seen, 0);
}

TEST(QueryResult, IteratorsCompareAdvanceAndCountTheRows) {
  const QueryResult r = TwoRows();
  QueryResult::const_iterator it = r.begin();
  EXPECT_NE(it, r.end());
  EXPECT_EQ(it->index(), 0);
  QueryResult::const_iterator before = it++;
  EXPECT_EQ(before->index(), 0);
  EXPECT_EQ((*it).index(), 1);
  EXPECT_EQ((++it), r.end());
  EXPECT_EQ(std::distance(r.begin(), r.end()), 2);
  const QueryResult other = TwoRows();
  EXPECT_NE(r.begin(), other.begin()) << "iterators of different results differ";
}

TEST(Row, HasTheResultsGettersWithoutTheRowArgument) {
  QueryResult r(MakeTypedResult(
      {{"i"}, {"d"}, {"b"}, {"s"}, {"bytes", kByteaOid}, {"none"}},
      {{Cell("2147483647"), Cell("-1.25"), Cell("f"), Cell("hi"), Cell("\\x00ff"), std::nullopt}}));
  const Row row = *r.begin();
  EXPECT_EQ(row.index(), 0);
  EXPECT_EQ(row.columns(), 6);
  EXPECT_EQ(row.column_name(3), "s");
  EXPECT_EQ(row.column_index("bytes"), 4);
  EXPECT_EQ(row.column_index("x"), -1);

  EXPECT_EQ(row.Get("s"), "hi");
  EXPECT_EQ(row.Get(3), "hi");
  EXPECT_TRUE(row.IsNull("none"));
  EXPECT_TRUE(row.IsNull(99));
  EXPECT_EQ(row.GetOptional("none"), std::nullopt);
  EXPECT_EQ(row.GetOptional("s"), std::optional<absl::string_view>("hi"));

  EXPECT_EQ(*row.GetInt64("i"), 2147483647);
  EXPECT_EQ(*row.GetInt32(0), 2147483647);
  EXPECT_EQ(*row.GetDouble("d"), -1.25);
  EXPECT_EQ(*row.GetBool("b"), false);
  EXPECT_EQ(*row.GetString("s"), "hi");
  EXPECT_EQ(*row.GetBytes("bytes"), std::string("\0\xff", 2));
  EXPECT_EQ(*row.GetOptionalInt64("i"), std::optional<int64_t>(2147483647));
  EXPECT_EQ(*row.GetOptionalInt32("none"), std::nullopt);
  EXPECT_EQ(*row.GetOptionalDouble("none"), std::nullopt);
  EXPECT_EQ(*row.GetOptionalBool("b"), std::optional<bool>(false));
  EXPECT_EQ(*row.GetOptionalString("none"), std::nullopt);
  EXPECT_EQ(*row.GetOptionalBytes("none"), std::nullopt);

  EXPECT_EQ(row.GetInt64("none").status().message(),
            "column 'none' (5) row 0 is NULL; use GetOptionalInt64 to read NULL as nullopt");
  EXPECT_EQ(row.GetInt64("s").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(row.GetInt64("zz").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(row.GetInt64(6).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(Row, StaysValidAsACopyWhileTheResultLives) {
  const QueryResult r = TwoRows();
  std::vector<Row> rows(r.begin(), r.end());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[0].GetString("name"), "alpha");
  EXPECT_EQ(*rows[1].GetInt64("id"), 2);
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
