// api/query_result.h: the rows a query returned, as text or as C++ values.
//
// A QueryResult owns libpq's result without copying it. Values arrive in
// PostgreSQL's text format; the typed getters convert them and return a
// status instead of throwing or guessing:
//
//   absl::StatusOr<aequor::QueryResult> r =
//       manager->Query("SELECT id, name, price, photo FROM products");
//   if (!r.ok()) return r.status();
//   for (const aequor::Row& row : *r) {
//     // NULL, or text that is no integer, is an error naming column and row.
//     absl::StatusOr<int64_t> id = row.GetInt64("id");
//     if (!id.ok()) return id.status();
//     absl::StatusOr<std::string> name = row.GetString(1);  // or by index
//     // NULL is std::nullopt.
//     absl::StatusOr<std::optional<double>> price = row.GetOptionalDouble("price");
//     // A bytea's bytes, NULs included.
//     absl::StatusOr<std::string> photo = row.GetBytes("photo");
//   }
//   absl::StatusOr<aequor::QueryResult> u = manager->Query("UPDATE t SET x = 1");
//   if (!u.ok()) return u.status();
//   int64_t changed = u->affected_rows();  // from the command tag "UPDATE 3"
//
// Columns are named by index (0-based) or by name wherever a column is
// taken (ColumnRef). Names match exactly, case included, as the server
// spelled them ("?column?" for an unnamed expression); with duplicate names
// the first column wins. A lookup by name scans the names, so in a loop over
// many rows look the index up once with column_index().
//
// The typed getters (GetInt64, GetInt32, GetDouble, GetBool, GetString,
// GetBytes and their GetOptional... forms) return:
//   - OutOfRange for a row or column index out of range;
//   - NotFound for a column name the result does not have (the message lists
//     the names it has);
//   - InvalidArgument when the value cannot be read as the type, naming the
//     column (name and index), the row, the type and the start of the
//     value's text; a value too large for the type is InvalidArgument too;
//   - InvalidArgument for NULL from a non-optional getter (never a silent 0
//     or ""); the GetOptional... form returns std::nullopt for NULL.
// What each accepts, which is exactly what PostgreSQL's text output gives:
//   int64, int32  decimal digits with an optional '-' (int2/int4/int8, or a
//                 numeric without a fraction). Not "1.0", "1e3", " 1" or
//                 "+1": a float8 or numeric with a fraction is an error, not
//                 truncated (a whole float8 prints as "3" and reads).
//                 int32 also fails outside [-2^31, 2^31-1].
//   double        a decimal number ("1.5", "-2e-05", "42") or PostgreSQL's
//                 "NaN", "Infinity", "-Infinity". Out of double's range
//                 (a numeric like 1e400) is an error.
//   bool          "t" or "f" (a boolean column); nothing else.
//   string        the text as it is (any column).
//   bytes         a bytea: hex output ("\x00ff", the server's default) or,
//                 for a column of type bytea, escape output (bytea_output =
//                 escape). The bytes come back in a std::string, NULs
//                 included. Malformed text is an error, never partial bytes.
// The typed getters need text format (what ConnectionManager::Query asks
// for); a column in binary format is InvalidArgument.
//
// Get(), IsNull() and GetOptional() (text views) keep their old, lenient
// contract: a row or column out of range, or a name not in the result, reads
// as NULL ("" / true / nullopt). Prefer the typed getters, which say why.
//
// Lifetimes: string_views point into libpq's result and are valid while the
// QueryResult that holds it lives (a move keeps them valid: the memory does
// not move). Row views and iterators point to the QueryResult object itself:
// valid while it lives and until it is moved from. A QueryResult outlives the
// call that made it and the connection that ran it.
//
// Thread-safety: immutable; safe to read from several threads. QueryResult
// is move-only; Row and the iterators are cheap to copy.
#ifndef AEQUOR_API_QUERY_RESULT_H_
#define AEQUOR_API_QUERY_RESULT_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct pg_result PGresult;  // libpq's, opaque here

namespace aequor {

class QueryResult;

// A column, by 0-based index or by name: GetInt64(0, 2) and
// GetInt64(0, "price") both work. Made implicitly; rarely named.
class ColumnRef {
 public:
  ColumnRef(int index) : index_(index) {}                                     // NOLINT
  ColumnRef(absl::string_view name) : index_(-1), name_(name) {}              // NOLINT
  ColumnRef(const char* name) : ColumnRef(absl::string_view(name)) {}         // NOLINT
  ColumnRef(const std::string& name) : ColumnRef(absl::string_view(name)) {}  // NOLINT

  bool by_name() const { return index_ < 0 && name_.data() != nullptr; }
  int index() const { return index_; }              // Only when !by_name().
  absl::string_view name() const { return name_; }  // Only when by_name().

 private:
  int index_;
  absl::string_view name_;  // Not owned: a ColumnRef lives for one call.
};

// One row of a QueryResult: its row index and the result. The same getters
// as QueryResult's without the row argument. A view: valid while the
// QueryResult lives (and is not moved from); copying it copies two words.
class Row {
 public:
  // This row's index in the result (0-based).
  int index() const { return row_; }
  // The result's column count and names.
  int columns() const;
  absl::string_view column_name(int column) const;
  // -1 when there is no column `name`.
  int column_index(absl::string_view name) const;

  // As QueryResult's (lenient: "" / true / nullopt out of range).
  absl::string_view Get(ColumnRef column) const;
  bool IsNull(ColumnRef column) const;
  std::optional<absl::string_view> GetOptional(ColumnRef column) const;

  // As QueryResult's typed getters.
  absl::StatusOr<int64_t> GetInt64(ColumnRef column) const;
  absl::StatusOr<int32_t> GetInt32(ColumnRef column) const;
  absl::StatusOr<double> GetDouble(ColumnRef column) const;
  absl::StatusOr<bool> GetBool(ColumnRef column) const;
  absl::StatusOr<std::string> GetString(ColumnRef column) const;
  absl::StatusOr<std::string> GetBytes(ColumnRef column) const;
  absl::StatusOr<std::optional<int64_t>> GetOptionalInt64(ColumnRef column) const;
  absl::StatusOr<std::optional<int32_t>> GetOptionalInt32(ColumnRef column) const;
  absl::StatusOr<std::optional<double>> GetOptionalDouble(ColumnRef column) const;
  absl::StatusOr<std::optional<bool>> GetOptionalBool(ColumnRef column) const;
  absl::StatusOr<std::optional<std::string>> GetOptionalString(ColumnRef column) const;
  absl::StatusOr<std::optional<std::string>> GetOptionalBytes(ColumnRef column) const;

 private:
  friend class QueryResult;
  Row(const QueryResult* result, int row) : result_(result), row_(row) {}

  const QueryResult* result_;
  int row_;
};

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
  // The index of the first column named exactly `name`, or -1.
  int column_index(absl::string_view name) const;

  // The value as text; "" for NULL or out of range (check IsNull()).
  absl::string_view Get(int row, int column) const;
  bool IsNull(int row, int column) const;
  // The value, or nullopt for NULL / out of range.
  std::optional<absl::string_view> GetOptional(int row, int column) const;
  // The same by name or index; a name not in the result reads as NULL.
  absl::string_view Get(int row, ColumnRef column) const;
  bool IsNull(int row, ColumnRef column) const;
  std::optional<absl::string_view> GetOptional(int row, ColumnRef column) const;

  // Typed getters (see the top of this file for what each accepts and the
  // status codes). NULL is an error here...
  absl::StatusOr<int64_t> GetInt64(int row, ColumnRef column) const;
  absl::StatusOr<int32_t> GetInt32(int row, ColumnRef column) const;
  absl::StatusOr<double> GetDouble(int row, ColumnRef column) const;
  absl::StatusOr<bool> GetBool(int row, ColumnRef column) const;
  // The text, copied.
  absl::StatusOr<std::string> GetString(int row, ColumnRef column) const;
  // A bytea's bytes, decoded.
  absl::StatusOr<std::string> GetBytes(int row, ColumnRef column) const;
  // ...and std::nullopt here.
  absl::StatusOr<std::optional<int64_t>> GetOptionalInt64(int row, ColumnRef column) const;
  absl::StatusOr<std::optional<int32_t>> GetOptionalInt32(int row, ColumnRef column) const;
  absl::StatusOr<std::optional<double>> GetOptionalDouble(int row, ColumnRef column) const;
  absl::StatusOr<std::optional<bool>> GetOptionalBool(int row, ColumnRef column) const;
  absl::StatusOr<std::optional<std::string>> GetOptionalString(int row, ColumnRef column) const;
  absl::StatusOr<std::optional<std::string>> GetOptionalBytes(int row, ColumnRef column) const;

  // Rows affected by INSERT/UPDATE/DELETE/..., or rows() for a SELECT.
  int64_t affected_rows() const;
  // The command tag, e.g. "INSERT 0 1" or "SELECT 3".
  absl::string_view command_tag() const;

  // The rows in order: for (const aequor::Row& row : result) { ... }.
  // An input iterator whose Row lives in the iterator (so `const Row&`,
  // `const auto&` and `Row` all work in a range-for).
  class const_iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Row;
    using difference_type = std::ptrdiff_t;
    using pointer = const Row*;
    using reference = const Row&;

    reference operator*() const { return row_; }
    pointer operator->() const { return &row_; }
    const_iterator& operator++() {
      ++row_.row_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++row_.row_;
      return before;
    }
    bool operator==(const const_iterator& other) const {
      return row_.result_ == other.row_.result_ && row_.row_ == other.row_.row_;
    }
    bool operator!=(const const_iterator& other) const { return !(*this == other); }

   private:
    friend class QueryResult;
    const_iterator(const QueryResult* result, int row) : row_(result, row) {}
    Row row_;
  };
  using iterator = const_iterator;
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const { return const_iterator(this, rows()); }

 private:
  struct Deleter {
    void operator()(PGresult* r) const;
  };
  // Reads one value as Kind (query_result.cc): NULL as nullopt, errors as
  // the top of this file says.
  template <typename Kind>
  absl::StatusOr<std::optional<typename Kind::Type>> Read(int row, const ColumnRef& column) const;
  template <typename Kind>
  absl::StatusOr<typename Kind::Type> ReadRequired(int row, const ColumnRef& column) const;
  int Resolve(const ColumnRef& column) const;  // The index, or -1.

  std::unique_ptr<PGresult, Deleter> result_;
};

}  // namespace aequor

#endif  // AEQUOR_API_QUERY_RESULT_H_
