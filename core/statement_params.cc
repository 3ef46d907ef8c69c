#include "core/statement_params.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace aequor {

absl::Status StatementParams::Set(absl::Span<const Param> params) {
  values_.resize(params.size());
  bool binary = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    values_[i] = p.c_str();
    const absl::string_view value = p.value();
    if (p.is_binary()) {
      binary = true;
      if (value.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "parameter $", i + 1, ": ", value.size(), " bytes, more than libpq sends (2 GiB - 1)"));
      }
    } else if (!value.empty() && std::memchr(value.data(), '\0', value.size()) != nullptr) {
      // Never the value itself: it may be anything, a secret included.
      return absl::InvalidArgumentError(absl::StrCat(
          "parameter $", i + 1, " holds a NUL byte at offset ",
          static_cast<const char*>(std::memchr(value.data(), '\0', value.size())) - value.data(),
          ", which text cannot carry; send binary data with Param::Bytes (a bytea)"));
    }
  }
  lengths_.clear();
  formats_.clear();
  if (binary) {
    lengths_.resize(params.size());
    formats_.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      lengths_[i] = static_cast<int>(params[i].value().size());
      formats_[i] = params[i].is_binary() ? 1 : 0;
    }
  }
  return absl::OkStatus();
}

void StatementParams::Into(pg::Statement& statement) const {
  statement.n_params = static_cast<int>(values_.size());
  statement.values = values_.empty() ? nullptr : values_.data();
  statement.lengths = lengths_.empty() ? nullptr : lengths_.data();
  statement.formats = formats_.empty() ? nullptr : formats_.data();
}

}  // namespace aequor
