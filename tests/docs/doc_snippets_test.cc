// The C++ blocks of README.md and docs/, compiled and, where they talk to a
// database, run against a real PostgreSQL server.
//
// doc_snippets.inc is generated from the Markdown by
// tools/doc_snippets/extract.py (docs/TESTING.md, "Code in the docs"): every
// block is in it, so this file compiling is the check that every block
// compiles, and a compile error names the Markdown file and line. The tests
// below call what the blocks annotated with an id define, as the docs say a
// reader would, and check what it did to the database.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/connection_manager.h"
#include "gtest/gtest.h"
#include "testing/manager_builders.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"
#include "tests/docs/doc_snippets.inc"

namespace aequor {
namespace {

constexpr char kSecret[] = "doc-snippets-test-secret-0123456";

class DocSnippetsTest : public testing::PostgresTest<DocSnippetsTest> {
 public:
  // The handler and pool blocks configure themselves from the environment,
  // as a deployed function would: set it before any manager (and so any
  // thread that might read it) exists.
  static void SetUpTestSuite() {
    PostgresTest<DocSnippetsTest>::SetUpTestSuite();
    if (server_ == nullptr) return;
    const std::string conninfo = server_->ConninfoFor(testing::ThrowawayPostgres::kAppRole);
    ASSERT_EQ(setenv("DATABASE_URL", conninfo.c_str(), 1), 0);
    ASSERT_EQ(setenv("AEQUOR_CONNINFO", conninfo.c_str(), 1), 0);
    ASSERT_EQ(setenv("AEQUOR_COORDINATION_SECRET", kSecret, 1), 0);
    ASSERT_EQ(unsetenv("AEQUOR_COORDINATION_SECRET_FILE"), 0);
  }

 protected:
  void SetUp() override {
    db_ = testing::MakeManager(testing::QuietBuilder(*server_, "doc-snippets-test", kSecret));
    ASSERT_NE(db_, nullptr);
  }

  // Runs `sql` as the superuser and grants the app role the table `table`.
  void CreateTable(absl::string_view table, absl::string_view sql) {
    absl::StatusOr<std::string> r = server_->AdminQuery(absl::StrCat(
        "DROP TABLE IF EXISTS ", table, "; ", sql, "; GRANT ALL ON ", table, " TO aequor_app"));
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::string AdminValue(absl::string_view sql) {
    absl::StatusOr<std::string> r = server_->AdminQuery(sql);
    EXPECT_TRUE(r.ok()) << r.status() << " for " << sql;
    return r.ok() ? *r : "";
  }

  std::unique_ptr<ConnectionManager> db_;
};

// README.md, "In a Lambda-style handler".
TEST_F(DocSnippetsTest, TheLambdaHandlerAnswersFromItsEnvironmentsDatabase) {
  CreateTable("customers", "CREATE TABLE customers (id text PRIMARY KEY, name text)");
  ASSERT_TRUE(server_->AdminQuery("INSERT INTO customers VALUES ('42', 'Ada')").ok());
  absl::StatusOr<std::string> name = doc_snippets::readme_lambda::Handle("42");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "Ada");
  // Db() is the container's one manager: the second call reuses it.
  EXPECT_EQ(&doc_snippets::readme_lambda::Db(), &doc_snippets::readme_lambda::Db());
}

// README.md, "In a long-running service".
TEST_F(DocSnippetsTest, ThePoolBlockBorrowsAndQueries) {
  CreateTable("orders", "CREATE TABLE orders (id int8 PRIMARY KEY, total numeric)");
  doc_snippets::readme_pool::Snippet snippet;
  absl::Status s = snippet.Run();
  EXPECT_TRUE(s.ok()) << s;
}

// README.md, "Transactions and writes that must not run twice".
TEST_F(DocSnippetsTest, TheTransactionMovesTheAmountBetweenAccounts) {
  CreateTable("accounts", "CREATE TABLE accounts (id int8 PRIMARY KEY, balance int8)");
  ASSERT_TRUE(server_->AdminQuery("INSERT INTO accounts VALUES (1, 100), (2, 5)").ok());
  doc_snippets::readme_transfer::Snippet snippet(*db_, /*amount=*/30, /*from=*/1, /*to=*/2);
  absl::Status s = snippet.Run();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(AdminValue("SELECT string_agg(id || '=' || balance, ',' ORDER BY id) FROM accounts"),
            "1=70,2=35");
}

// README.md, "Parameters".
TEST_F(DocSnippetsTest, TheParametersBlockStoresEveryByteAndANull) {
  CreateTable("photos", "CREATE TABLE photos (id int8 PRIMARY KEY, owner text, data bytea)");
  const std::string jpeg("\xff\xd8\0\xff\xd9", 5);
  doc_snippets::readme_photo::Snippet snippet(*db_, 7, jpeg);
  absl::Status s = snippet.Run();
  ASSERT_TRUE(s.ok()) << s;
  absl::StatusOr<QueryResult> r = db_->Query("SELECT owner, data FROM photos WHERE id = 7");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows(), 1);
  EXPECT_EQ(*r->GetOptionalString(0, "owner"), std::nullopt);
  EXPECT_EQ(*r->GetBytes(0, "data"), jpeg);
}

// README.md, "What the manager does not wrap: WithConnection".
TEST_F(DocSnippetsTest, TheWithConnectionBlockCopiesARowIn) {
  CreateTable("items", "CREATE TABLE items (id int8 PRIMARY KEY, name text)");
  doc_snippets::readme_copy::Snippet snippet(db_.get());
  absl::Status s = snippet.Run();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(AdminValue("SELECT string_agg(id || ':' || name, ',') FROM items"), "1:bolt");
  // The connection it lent is usable afterwards.
  absl::StatusOr<QueryResult> r = db_->Query("SELECT 1");
  EXPECT_TRUE(r.ok()) << r.status();
}

// README.md, "Reading results".
TEST_F(DocSnippetsTest, TheReadingResultsExampleReadsRowsAndCountsAWrite) {
  using doc_snippets::readme_products::ActiveProducts;
  using doc_snippets::readme_products::Product;
  using doc_snippets::readme_products::RetireUnpriced;
  CreateTable("products",
              "CREATE TABLE products (id int8, name text, price float8, photo bytea, active bool); "
              "INSERT INTO products VALUES (1, 'a', 1.5, '\\x0001', true), "
              "(2, 'b', NULL, NULL, true), (9, 'gone', 1, NULL, false)");
  absl::StatusOr<std::vector<Product>> products = ActiveProducts(*db_);
  ASSERT_TRUE(products.ok()) << products.status();
  ASSERT_EQ(products->size(), 2u);
  EXPECT_EQ((*products)[0].id, 1);
  EXPECT_EQ((*products)[0].name, "a");
  EXPECT_EQ((*products)[0].price, std::optional<double>(1.5));
  EXPECT_EQ((*products)[0].photo, std::string("\0\1", 2));
  EXPECT_EQ((*products)[1].price, std::nullopt);
  EXPECT_EQ((*products)[1].photo, "");

  EXPECT_EQ(*RetireUnpriced(*db_), 1);
  EXPECT_EQ(*RetireUnpriced(*db_), 0);

  absl::StatusOr<QueryResult> no_name =
      db_->Query("INSERT INTO products (id, price, active) VALUES (3, 2, true)");
  ASSERT_TRUE(no_name.ok()) << no_name.status();
  products = ActiveProducts(*db_);
  EXPECT_EQ(products.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(products.status().message(),
            "column 'name' (1) row 1 is NULL; use GetOptionalString to read NULL as nullopt");
}

}  // namespace
}  // namespace aequor
