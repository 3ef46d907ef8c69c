// QueryResult's typed getters, names and rows (api/query_result.h) on what a
// real PostgreSQL sends through a ConnectionManager: each type's text
// output, NULLs, bytea with NULs, several rows, and a write's row count.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

// One server for the whole binary (testing/postgres_test_base.h).
class QueryApiTest : public testing::PostgresTest<QueryApiTest> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_
                    ->AdminQuery("DROP TABLE IF EXISTS items; "
                                 "CREATE TABLE items (id int8 PRIMARY KEY, qty int4, "
                                 "price float8, active bool, name text, blob bytea); "
                                 "GRANT ALL ON items TO aequor_app")
                    .ok());
    db_ = testing::MakeManager(
        testing::QuietBuilder(*server_, "query-api-test", "query-api-test-secret-0123456"));
    ASSERT_NE(db_, nullptr);
  }

  QueryResult Must(absl::string_view sql, std::initializer_list<Param> params = {}) {
    absl::StatusOr<QueryResult> r = db_->Query(sql, params);
    EXPECT_TRUE(r.ok()) << r.status() << " for " << sql;
    return r.ok() ? *std::move(r) : QueryResult();
  }

  std::unique_ptr<ConnectionManager> db_;
};

TEST_F(QueryApiTest, EachTypedGetterReadsItsPostgresType) {
  QueryResult r = Must(
      "SELECT 9223372036854775807::int8 AS big, (-2147483648)::int4 AS small, "
      "3.141592653589793::float8 AS pi, true AS yes, false AS no, 'héllo'::text AS greeting, "
      "'\\x00ff00'::bytea AS bytes, 12::numeric AS whole");
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(*r.GetInt64(0, "big"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*r.GetInt32(0, "small"), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(*r.GetInt64(0, "small"), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(*r.GetDouble(0, "pi"), 3.141592653589793);
  EXPECT_EQ(*r.GetBool(0, "yes"), true);
  EXPECT_EQ(*r.GetBool(0, "no"), false);
  EXPECT_EQ(*r.GetString(0, "greeting"), "héllo");
  absl::StatusOr<std::string> bytes = r.GetBytes(0, "bytes");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, std::string("\0\xff\0", 3));
  EXPECT_EQ(bytes->size(), 3u);
  EXPECT_EQ(*r.GetInt64(0, "whole"), 12) << "a numeric without a fraction is an integer";
  EXPECT_EQ(*r.GetDouble(0, "whole"), 12.0);
}

TEST_F(QueryApiTest, Float8SpecialValuesAndExtremesReadBackExactly) {
  QueryResult r = Must(
      "SELECT 'NaN'::float8 AS nan, 'Infinity'::float8 AS inf, '-Infinity'::float8 AS ninf, "
      "'5e-324'::float8 AS tiny, '1.7976931348623157e308'::float8 AS huge, 0.1::float8 AS tenth, "
      "'-0'::float8 AS negzero");
  EXPECT_TRUE(std::isnan(*r.GetDouble(0, "nan")));
  EXPECT_EQ(*r.GetDouble(0, "inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(*r.GetDouble(0, "ninf"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(*r.GetDouble(0, "tiny"), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(*r.GetDouble(0, "huge"), std::numeric_limits<double>::max());
  EXPECT_EQ(*r.GetDouble(0, "tenth"), 0.1);
  EXPECT_TRUE(std::signbit(*r.GetDouble(0, "negzero")));
}

TEST_F(QueryApiTest, ByteaWithNulsRoundTripsThroughATable) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  // A bytea parameter in text format: bytea's hex input.
  Must("INSERT INTO items (id, blob) VALUES (1, '\\x00ff00'), (2, $1::bytea), (3, '')",
       {Param("\\x" + absl::BytesToHexString(every_byte))});
  QueryResult r = Must("SELECT id, blob FROM items ORDER BY id");
  ASSERT_EQ(r.rows(), 3);
  EXPECT_EQ(*r.GetBytes(0, "blob"), std::string("\0\xff\0", 3));
  EXPECT_EQ(*r.GetBytes(1, "blob"), every_byte);
  EXPECT_EQ(*r.GetBytes(2, "blob"), "") << "an empty bytea is not NULL";
}

// bytea_output = escape has no "\x" marker; a bytea column is still decoded.
TEST_F(QueryApiTest, ByteaInEscapeOutputIsDecodedToo) {
  absl::Status s = db_->RunTransaction([](Transaction& tx) -> absl::Status {
    if (auto set = tx.Query("SET LOCAL bytea_output = escape"); !set.ok()) return set.status();
    absl::StatusOr<QueryResult> r = tx.Query("SELECT '\\x005c41ff'::bytea AS b");
    if (!r.ok()) return r.status();
    EXPECT_EQ(r->Get(0, "b"), "\\000\\\\A\\377") << "escape output as the server sends it";
    absl::StatusOr<std::string> bytes = r->GetBytes(0, "b");
    if (!bytes.ok()) return bytes.status();
    EXPECT_EQ(*bytes, std::string("\0\\A\xff", 4));
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(QueryApiTest, NullColumnsAreNulloptOrAnErrorNeverAZero) {
  Must("INSERT INTO items (id) VALUES (7)");
  QueryResult r = Must("SELECT id, qty, price, active, name, blob FROM items");
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(*r.GetOptionalInt32(0, "qty"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalDouble(0, "price"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalBool(0, "active"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalString(0, "name"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalBytes(0, "blob"), std::nullopt);
  EXPECT_EQ(*r.GetOptionalInt64(0, "id"), std::optional<int64_t>(7));

  absl::StatusOr<int32_t> qty = r.GetInt32(0, "qty");
  EXPECT_EQ(qty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(qty.status().message(),
            "column 'qty' (1) row 0 is NULL; use GetOptionalInt32 to read NULL as nullopt");
  EXPECT_EQ(r.GetDouble(0, "price").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.GetString(0, "name").status().code(), absl::StatusCode::kInvalidArgument);
}

// Decided: integer getters refuse a float8's text rather than truncate it.
TEST_F(QueryApiTest, AnIntegerGetterRefusesAFloatColumn) {
  QueryResult r =
      Must("SELECT 2.5::float8 AS f, 3::float8 AS whole_float, 3000000000::int8 AS big");
  absl::Status s = r.GetInt64(0, "f").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "column 'f' (0) row 0: cannot read its value (3 bytes) as int64");
  EXPECT_EQ(*r.GetInt64(0, "whole_float"), 3) << "float8 prints 3.0 as \"3\"";
  EXPECT_EQ(r.GetInt32(0, "big").status().message(),
            "column 'big' (2) row 0: cannot read its value (10 bytes) as int32: out of range");
  EXPECT_EQ(r.GetBool(0, "f").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(QueryApiTest, ColumnsByNameAsTheServerSpellsThem) {
  QueryResult r = Must("SELECT 1 AS \"Total\", 2 AS lower_case, 3, 4 AS lower_case");
  EXPECT_EQ(r.column_index("Total"), 0);
  EXPECT_EQ(r.column_index("total"), -1);
  EXPECT_EQ(r.column_index("lower_case"), 1);
  EXPECT_EQ(r.column_name(2), "?column?");
  EXPECT_EQ(*r.GetInt32(0, "?column?"), 3);
  EXPECT_EQ(*r.GetInt32(0, "lower_case"), 2) << "the first of two with one name";
  absl::Status s = r.GetInt32(0, "LOWER_CASE").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "no column named 'LOWER_CASE'; the result's columns: Total, lower_case, ?column?, "
            "lower_case");
}

TEST_F(QueryApiTest, RangeForVisitsSeveralRowsInOrder) {
  Must(
      "INSERT INTO items (id, qty, price, active, name) VALUES "
      "(1, 10, 1.5, true, 'one'), (2, NULL, 2.25, false, 'two'), (3, 30, NULL, NULL, NULL)");
  QueryResult r = Must("SELECT id, qty, price, active, name FROM items ORDER BY id");
  ASSERT_EQ(r.columns(), 5);
  std::vector<std::string> seen;
  for (const Row& row : r) {
    absl::StatusOr<int64_t> id = row.GetInt64("id");
    absl::StatusOr<std::optional<int32_t>> qty = row.GetOptionalInt32("qty");
    absl::StatusOr<std::optional<double>> price = row.GetOptionalDouble(2);
    absl::StatusOr<std::optional<bool>> active = row.GetOptionalBool("active");
    absl::StatusOr<std::optional<std::string>> name = row.GetOptionalString("name");
    ASSERT_TRUE(id.ok() && qty.ok() && price.ok() && active.ok() && name.ok());
    seen.push_back(absl::StrCat(row.index(), ":", *id, ",", qty->has_value() ? **qty : -1, ",",
                                price->value_or(-1), ",", active->has_value() ? **active : -1, ",",
                                name->value_or("NULL")));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0:1,10,1.5,1,one", "1:2,-1,2.25,0,two",
                                            "2:3,30,-1,-1,NULL"}));
}

TEST_F(QueryApiTest, AWriteReportsItsAffectedRows) {
  Must("INSERT INTO items (id, qty) VALUES (1, 1), (2, 2), (3, 3)");
  QueryResult update = Must("UPDATE items SET qty = qty + 1 WHERE id >= $1", {2});
  EXPECT_EQ(update.command_tag(), "UPDATE 2");
  EXPECT_EQ(update.affected_rows(), 2);
  EXPECT_EQ(update.rows(), 0);
  EXPECT_EQ(update.begin(), update.end());
  QueryResult none = Must("DELETE FROM items WHERE id > 100");
  EXPECT_EQ(none.affected_rows(), 0);
  QueryResult returning = Must("UPDATE items SET qty = 0 WHERE id = 1 RETURNING id, qty");
  EXPECT_EQ(returning.affected_rows(), 1);
  EXPECT_EQ(*returning.GetInt32(0, "qty"), 0);
}

}  // namespace
}  // namespace aequor
