// QueryResult, its typed getters and Row; and Param.
#include "api/query_result.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/connection_manager.h"

namespace aequor {
namespace {

constexpr Oid kByteaOid = 17;  // pg_type.oid of bytea (catalog/pg_type.dat)

// How many column names an error lists.
constexpr int kListedColumns = 20;

// What an error says of a value it could not read: its size, never its
// bytes. A status travels into logs and exporters, and a column may hold
// anything a user stored (a token, a person's data); the column, row and
// wanted type say where to look.
std::string Describe(absl::string_view text) {
  return absl::StrCat("its value (", text.size(), text.size() == 1 ? " byte)" : " bytes)");
}

std::string DescribeColumn(const QueryResult& r, int column) {
  return absl::StrCat("column '", r.column_name(column), "' (", column, ")");
}

std::string ListColumns(const QueryResult& r) {
  if (r.columns() == 0) return "none";
  std::string names;
  for (int i = 0; i < r.columns() && i < kListedColumns; ++i) {
    absl::StrAppend(&names, i > 0 ? ", " : "", r.column_name(i));
  }
  if (r.columns() > kListedColumns) absl::StrAppend(&names, ", ...");
  return names;
}

// Why `column` names no column of `r`.
absl::Status ColumnError(const QueryResult& r, const ColumnRef& column) {
  if (column.by_name()) {
    return absl::NotFoundError(absl::StrCat("no column named '", column.name(),
                                            "'; the result's columns: ", ListColumns(r)));
  }
  return absl::OutOfRangeError(absl::StrCat("column ", column.index(),
                                            " out of range: the result has ", r.columns(),
                                            " columns (", ListColumns(r), ")"));
}

// The conversions. Each Kind names its C++ type, its name in errors, the
// getter that accepts NULL, and parses PostgreSQL's text output into `out`
// (false when it cannot; `why` may add a reason). `bytea` says whether the
// column's type is bytea.

// "-"? digits, nothing else: std::from_chars takes exactly that (no '+', no
// spaces, no fraction or exponent), so a float8's "1.5" or "1e3" fails
// instead of being truncated.
template <typename Int>
bool ParseInteger(absl::string_view text, Int* out, std::string* why) {
  const char* end = text.data() + text.size();
  const std::from_chars_result r = std::from_chars(text.data(), end, *out);
  if (r.ec == std::errc::result_out_of_range) {
    *why = "out of range";
    return false;
  }
  return r.ec == std::errc() && r.ptr == end && !text.empty();
}

struct Int64Kind {
  using Type = int64_t;
  static constexpr char kName[] = "int64";
  static constexpr char kOptionalGetter[] = "GetOptionalInt64";
  static bool Parse(absl::string_view text, bool, Type* out, std::string* why) {
    return ParseInteger(text, out, why);
  }
};

struct Int32Kind {
  using Type = int32_t;
  static constexpr char kName[] = "int32";
  static constexpr char kOptionalGetter[] = "GetOptionalInt32";
  static bool Parse(absl::string_view text, bool, Type* out, std::string* why) {
    return ParseInteger(text, out, why);
  }
};

struct DoubleKind {
  using Type = double;
  static constexpr char kName[] = "double";
  static constexpr char kOptionalGetter[] = "GetOptionalDouble";
  static bool Parse(absl::string_view text, bool, Type* out, std::string* why) {
    // float8out's spellings of the special values.
    if (text == "NaN") {
      *out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    if (text == "Infinity" || text == "-Infinity") {
      *out = text[0] == '-' ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
      return true;
    }
    // Otherwise a decimal number: from_chars would also take "inf", "nan"
    // and "nan(...)", which no PostgreSQL type prints.
    const size_t first = !text.empty() && text[0] == '-' ? 1 : 0;
    if (first >= text.size() || !(absl::ascii_isdigit(text[first]) || text[first] == '.')) {
      return false;
    }
    const char* end = text.data() + text.size();
    const std::from_chars_result r = std::from_chars(text.data(), end, *out);
    if (r.ec == std::errc::result_out_of_range) {
      *why = "out of range";
      return false;
    }
    return r.ec == std::errc() && r.ptr == end;
  }
};

struct BoolKind {
  using Type = bool;
  static constexpr char kName[] = "bool";
  static constexpr char kOptionalGetter[] = "GetOptionalBool";
  static bool Parse(absl::string_view text, bool, Type* out, std::string*) {
    // boolout prints "t" or "f"; anything else is not a boolean column.
    if (text != "t" && text != "f") return false;
    *out = text == "t";
    return true;
  }
};

struct StringKind {
  using Type = std::string;
  static constexpr char kName[] = "string";
  static constexpr char kOptionalGetter[] = "GetOptionalString";
  static bool Parse(absl::string_view text, bool, Type* out, std::string*) {
    *out = std::string(text);
    return true;
  }
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// byteaout's output decoded here rather than with PQunescapeBytea: that one
// does not check its input (a bad hex digit becomes a wrong byte, an odd
// last digit is dropped, and any text that lacks "\x" is taken as escape
// format, so a text column would read as bytes), and it returns a malloc'd
// copy to free. This decoder fails on anything byteaout cannot print and
// writes the bytes straight into the string.
struct BytesKind {
  using Type = std::string;
  static constexpr char kName[] = "bytes";
  static constexpr char kOptionalGetter[] = "GetOptionalBytes";
  static bool Parse(absl::string_view text, bool bytea, Type* out, std::string* why) {
    if (absl::StartsWith(text, "\\x")) return DecodeHex(text.substr(2), out, why);
    // Escape format (bytea_output = escape) has no marker: only a bytea
    // column's text is read that way.
    if (bytea) return DecodeEscape(text, out, why);
    *why = "not bytea output (\\x followed by hex digits)";
    return false;
  }

  static bool DecodeHex(absl::string_view hex, std::string* out, std::string* why) {
    if (hex.size() % 2 != 0) {
      *why = "odd number of hex digits";
      return false;
    }
    out->resize(hex.size() / 2);
    for (size_t i = 0; i < out->size(); ++i) {
      const int high = HexDigit(hex[2 * i]);
      const int low = HexDigit(hex[2 * i + 1]);
      if (high < 0 || low < 0) {
        *why = absl::StrCat("not a hex digit at offset ", 2 + 2 * i + (high < 0 ? 0 : 1));
        return false;
      }
      (*out)[i] = static_cast<char>(high << 4 | low);
    }
    return true;
  }

  // Bytes as they are, except "\\" for a backslash and "\ooo" (octal).
  static bool DecodeEscape(absl::string_view text, std::string* out, std::string* why) {
    out->clear();
    out->reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      if (text[i] != '\\') {
        out->push_back(text[i++]);
      } else if (i + 1 < text.size() && text[i + 1] == '\\') {
        out->push_back('\\');
        i += 2;
      } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' &&
                 text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' &&
                 text[i + 3] <= '7') {
        out->push_back(static_cast<char>((text[i + 1] - '0') << 6 | (text[i + 2] - '0') << 3 |
                                         (text[i + 3] - '0')));
        i += 4;
      } else {
        *why = absl::StrCat("bad escape at offset ", i);
        return false;
      }
    }
    return true;
  }
};

}  // namespace

void QueryResult::Deleter::operator()(PGresult* r) const { PQclear(r); }

int QueryResult::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int QueryResult::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

absl::string_view QueryResult::column_name(int column) const {
  if (column < 0 || column >= columns()) return "";
  const char* name = PQfname(result_.get(), column);
  return name != nullptr ? name : "";
}

// Not PQfnumber: it folds unquoted names to lower case (so "Total" never
// finds the column the server named Total) and needs a NUL-terminated name.
int QueryResult::column_index(absl::string_view name) const {
  for (int i = 0; i < columns(); ++i) {
    if (column_name(i) == name) return i;
  }
  return -1;
}

int QueryResult::Resolve(const ColumnRef& column) const {
  if (column.by_name()) return column_index(column.name());
  return column.index() >= 0 && column.index() < columns() ? column.index() : -1;
}

bool QueryResult::IsNull(int row, int column) const {
  if (row < 0 || row >= rows() || column < 0 || column >= columns()) return true;
  return PQgetisnull(result_.get(), row, column) != 0;
}

absl::string_view QueryResult::Get(int row, int column) const {
  if (IsNull(row, column)) return "";
  return absl::string_view(PQgetvalue(result_.get(), row, column),
                           static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

std::optional<absl::string_view> QueryResult::GetOptional(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Get(row, column);
}

absl::string_view QueryResult::Get(int row, ColumnRef column) const {
  return Get(row, Resolve(column));
}

bool QueryResult::IsNull(int row, ColumnRef column) const { return IsNull(row, Resolve(column)); }

std::optional<absl::string_view> QueryResult::GetOptional(int row, ColumnRef column) const {
  return GetOptional(row, Resolve(column));
}

template <typename Kind>
absl::StatusOr<std::optional<typename Kind::Type>> QueryResult::Read(int row,
                                                                     const ColumnRef& ref) const {
  const int column = Resolve(ref);
  if (column < 0) return ColumnError(*this, ref);
  if (row < 0 || row >= rows()) {
    return absl::OutOfRangeError(
        absl::StrCat("row ", row, " out of range: the result has ", rows(), " rows"));
  }
  // Text parsers would misread binary values (aequor asks for text).
  if (PQfformat(result_.get(), column) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        DescribeColumn(*this, column), " is in binary format; typed getters read text"));
  }
  if (PQgetisnull(result_.get(), row, column) != 0) return std::nullopt;
  const absl::string_view text = Get(row, column);
  typename Kind::Type value{};
  std::string why;
  if (!Kind::Parse(text, PQftype(result_.get(), column) == kByteaOid, &value, &why)) {
    return absl::InvalidArgumentError(absl::StrCat(DescribeColumn(*this, column), " row ", row,
                                                   ": cannot read ", Describe(text), " as ",
                                                   Kind::kName, why.empty() ? "" : ": ", why));
  }
  return std::optional<typename Kind::Type>(std::move(value));
}

template <typename Kind>
absl::StatusOr<typename Kind::Type> QueryResult::ReadRequired(int row, const ColumnRef& ref) const {
  absl::StatusOr<std::optional<typename Kind::Type>> value = Read<Kind>(row, ref);
  if (!value.ok()) return value.status();
  if (!value->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(DescribeColumn(*this, Resolve(ref)), " row ",
                                                   row, " is NULL; use ", Kind::kOptionalGetter,
                                                   " to read NULL as nullopt"));
  }
  return **std::move(value);
}

absl::StatusOr<int64_t> QueryResult::GetInt64(int row, ColumnRef column) const {
  return ReadRequired<Int64Kind>(row, column);
}
absl::StatusOr<int32_t> QueryResult::GetInt32(int row, ColumnRef column) const {
  return ReadRequired<Int32Kind>(row, column);
}
absl::StatusOr<double> QueryResult::GetDouble(int row, ColumnRef column) const {
  return ReadRequired<DoubleKind>(row, column);
}
absl::StatusOr<bool> QueryResult::GetBool(int row, ColumnRef column) const {
  return ReadRequired<BoolKind>(row, column);
}
absl::StatusOr<std::string> QueryResult::GetString(int row, ColumnRef column) const {
  return ReadRequired<StringKind>(row, column);
}
absl::StatusOr<std::string> QueryResult::GetBytes(int row, ColumnRef column) const {
  return ReadRequired<BytesKind>(row, column);
}
absl::StatusOr<std::optional<int64_t>> QueryResult::GetOptionalInt64(int row,
                                                                     ColumnRef column) const {
  return Read<Int64Kind>(row, column);
}
absl::StatusOr<std::optional<int32_t>> QueryResult::GetOptionalInt32(int row,
                                                                     ColumnRef column) const {
  return Read<Int32Kind>(row, column);
}
absl::StatusOr<std::optional<double>> QueryResult::GetOptionalDouble(int row,
                                                                     ColumnRef column) const {
  return Read<DoubleKind>(row, column);
}
absl::StatusOr<std::optional<bool>> QueryResult::GetOptionalBool(int row, ColumnRef column) const {
  return Read<BoolKind>(row, column);
}
absl::StatusOr<std::optional<std::string>> QueryResult::GetOptionalString(int row,
                                                                          ColumnRef column) const {
  return Read<StringKind>(row, column);
}
absl::StatusOr<std::optional<std::string>> QueryResult::GetOptionalBytes(int row,
                                                                         ColumnRef column) const {
  return Read<BytesKind>(row, column);
}

int64_t QueryResult::affected_rows() const {
  if (!result_) return 0;
  const char* tuples = PQcmdTuples(result_.get());
  int64_t n = 0;
  if (tuples != nullptr && tuples[0] != '\0' && absl::SimpleAtoi(tuples, &n)) return n;
  return rows();
}

absl::string_view QueryResult::command_tag() const {
  if (!result_) return "";
  const char* tag = PQcmdStatus(result_.get());
  return tag != nullptr ? tag : "";
}

int Row::columns() const { return result_->columns(); }
absl::string_view Row::column_name(int column) const { return result_->column_name(column); }
int Row::column_index(absl::string_view name) const { return result_->column_index(name); }
absl::string_view Row::Get(ColumnRef column) const { return result_->Get(row_, column); }
bool Row::IsNull(ColumnRef column) const { return result_->IsNull(row_, column); }
std::optional<absl::string_view> Row::GetOptional(ColumnRef column) const {
  return result_->GetOptional(row_, column);
}
absl::StatusOr<int64_t> Row::GetInt64(ColumnRef column) const {
  return result_->GetInt64(row_, column);
}
absl::StatusOr<int32_t> Row::GetInt32(ColumnRef column) const {
  return result_->GetInt32(row_, column);
}
absl::StatusOr<double> Row::GetDouble(ColumnRef column) const {
  return result_->GetDouble(row_, column);
}
absl::StatusOr<bool> Row::GetBool(ColumnRef column) const { return result_->GetBool(row_, column); }
absl::StatusOr<std::string> Row::GetString(ColumnRef column) const {
  return result_->GetString(row_, column);
}
absl::StatusOr<std::string> Row::GetBytes(ColumnRef column) const {
  return result_->GetBytes(row_, column);
}
absl::StatusOr<std::optional<int64_t>> Row::GetOptionalInt64(ColumnRef column) const {
  return result_->GetOptionalInt64(row_, column);
}
absl::StatusOr<std::optional<int32_t>> Row::GetOptionalInt32(ColumnRef column) const {
  return result_->GetOptionalInt32(row_, column);
}
absl::StatusOr<std::optional<double>> Row::GetOptionalDouble(ColumnRef column) const {
  return result_->GetOptionalDouble(row_, column);
}
absl::StatusOr<std::optional<bool>> Row::GetOptionalBool(ColumnRef column) const {
  return result_->GetOptionalBool(row_, column);
}
absl::StatusOr<std::optional<std::string>> Row::GetOptionalString(ColumnRef column) const {
  return result_->GetOptionalString(row_, column);
}
absl::StatusOr<std::optional<std::string>> Row::GetOptionalBytes(ColumnRef column) const {
  return result_->GetOptionalBytes(row_, column);
}

Param::Param(int64_t v) : value_(absl::StrCat(v)) {}
// absl::StrCat keeps 6 significant digits (3.14159 for pi): a double sent
// that way came back as another number. std::to_chars gives the shortest
// text that reads back exactly.
Param::Param(double v) {
  char text[64];
  const std::to_chars_result r = std::to_chars(text, text + sizeof(text), v);
  value_ = std::string(text, r.ptr);
}

}  // namespace aequor
