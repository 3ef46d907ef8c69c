// core/statement_params.h (internal): a call's Params as the arrays libpq's
// PQsendQueryParams takes, pointing into the Params (nothing is copied).
//
//   StatementParams arrays;
//   if (absl::Status s = arrays.Set(params); !s.ok()) return s;  // names it
//   pg::Statement statement{sql};
//   arrays.Into(statement);
//
// Text parameters go as NUL-terminated text with no lengths (libpq's
// fastest form, and the only one when every parameter is text); once one is
// binary (Param::Bytes), every parameter gets its length and format.
//
// Thread-safety: none; one per call. The Params must outlive it.
#ifndef AEQUOR_CORE_STATEMENT_PARAMS_H_
#define AEQUOR_CORE_STATEMENT_PARAMS_H_

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "api/connection_manager.h"
#include "util/pg.h"

namespace aequor {

class StatementParams {
 public:
  // Points at `params`. InvalidArgument, naming the parameter ($1 is the
  // first), when a text parameter holds a NUL byte (libpq would send the
  // text up to it: silently cut) or a binary one is over 2 GiB - 1.
  absl::Status Set(absl::Span<const Param> params);

  // Sets `statement`'s n_params, values, lengths and formats.
  void Into(pg::Statement& statement) const;

 private:
  // 16 inline: most statements have fewer parameters, and the warm query
  // path allocates nothing (docs/BENCHMARKS.md, "The query path").
  absl::InlinedVector<const char*, 16> values_;
  absl::InlinedVector<int, 16> lengths_;  // empty while every one is text
  absl::InlinedVector<int, 16> formats_;  // likewise
};

}  // namespace aequor

#endif  // AEQUOR_CORE_STATEMENT_PARAMS_H_
