// api/query_result.h: the rows a query returned.
//
// A QueryResult owns libpq's result without copying it; values are text
// (libpq's text format) and are valid as long as the QueryResult lives.
//
//   absl::StatusOr<aequor::QueryResult> r = manager->Query("SELECT id, name FROM t");
//   for (int row = 0; row < r->rows(); ++row) {
//     absl::string_view id = r->Get(row, 0);
//     if (r->IsNull(row, 1)) continue;
//   }
//
// Thread-safety: immutable; safe to read from several threads. Move-only.
#ifndef AEQUOR_API_QUERY_RESULT_H_
#define AEQUOR_API_QUERY_RESULT_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/strings/string_view.h"

typedef struct pg_result PGresult;  // libpq's, opaque here

namespace aequor {

class QueryResult {
 public:
  QueryResult() = default;
  // Takes ownership of `result` (may be null: an empty result).
  explicit QueryResult(PGresult* result) : result_(result) {}
  QueryResult(QueryResult&&) = default;
  QueryResult& operator=(QueryResult&&) = default;

  int rows() const;
  int columns() const;
  // Column name, or "" when out of range.
  absl::string_view column_name(int column) const;
  // The value as text; "" for NULL or out of range (check IsNull()).
  absl::string_view Get(int row, int column) const;
  bool IsNull(int row, int column) const;
  // The value, or nullopt for NULL / out of range.
  std::optional<absl::string_view> GetOptional(int row, int column) const;
  // Rows affected by INSERT/UPDATE/DELETE/..., or rows() for a SELECT.
  int64_t affected_rows() const;
  // The command tag, e.g. "INSERT 0 1" or "SELECT 3".
  absl::string_view command_tag() const;

 private:
  struct Deleter {
    void operator()(PGresult* r) const;
  };
  std::unique_ptr<PGresult, Deleter> result_;
};

}  // namespace aequor

#endif  // AEQUOR_API_QUERY_RESULT_H_
