// QueryResult and Param.
#include "api/query_result.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/connection_manager.h"

namespace aequor {

void QueryResult::Deleter::operator()(PGresult* r) const { PQclear(r); }

int QueryResult::rows() const { return result_ ? PQntuples(result_.get()) : 0; }

int QueryResult::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

absl::string_view QueryResult::column_name(int column) const {
  if (column < 0 || column >= columns()) return "";
  const char* name = PQfname(result_.get(), column);
  return name != nullptr ? name : "";
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
