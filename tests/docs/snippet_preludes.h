// tests/docs/snippet_preludes.h: what the C++ blocks of README.md and docs/
// may use without declaring it, for doc_snippets_test.
//
// tools/doc_snippets/extract.py turns each block annotated
// `<!-- snippet: body prelude=NAME -->` into a struct derived from
// doc_snippets::prelude::Name (NAME in CamelCase; no prelude: None) whose
// Run() holds the block's statements. So a block's free names (`db`,
// `builder`, `amount`, ...) are the members of its prelude, and a test that
// runs the block constructs it with real values:
//
//   doc_snippets::readme_photo::Snippet snippet(*manager, 7, "\xff\xd8");
//   absl::Status s = snippet.Run();
//
// The headers below are the ones a reader of the docs would include; the
// blocks do not repeat them (their own #include lines are kept, moved to
// the top of the generated file).
// Nothing here is in namespace aequor, so a block must qualify aequor's
// names as a reader's code must.
//
// Thread-safety: plain structs, used by one thread.
#ifndef AEQUOR_TESTS_DOCS_SNIPPET_PRELUDES_H_
#define AEQUOR_TESTS_DOCS_SNIPPET_PRELUDES_H_

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/connection_manager.h"
#include "api/hooks.h"
#include "api/lease_signer.h"
#include "api/plugin.h"
#include "api/pool.h"
#include "api/registry.h"
#include "exporters/otlp_grpc/otlp_grpc.h"
#include "exporters/prometheus/prometheus.h"
#include "libpq-fe.h"

namespace doc_snippets {
namespace prelude {

// `prelude` omitted: no names; Run() may `return status;` as a handler would.
struct None {};

// prelude=transfer: `Db()`, the handler's manager, and the transfer's
// `amount`, `from` and `to` (account ids).
struct Transfer {
  Transfer(aequor::ConnectionManager& db, int64_t amount, int64_t from, int64_t to)
      : amount(amount), from(from), to(to), db_(db) {}
  aequor::ConnectionManager& Db() { return db_; }

  int64_t amount;
  int64_t from;
  int64_t to;

 private:
  aequor::ConnectionManager& db_;
};

// prelude=photo: `db`, a manager, and a photo's `id` and `jpeg` bytes.
struct Photo {
  Photo(aequor::ConnectionManager& db, int64_t id, std::string jpeg)
      : db(db), id(id), jpeg(std::move(jpeg)) {}

  aequor::ConnectionManager& db;
  int64_t id;
  std::string jpeg;
};

// prelude=manager: `manager`, a pointer to a manager.
struct Manager {
  explicit Manager(aequor::ConnectionManager* manager) : manager(manager) {}

  aequor::ConnectionManager* manager;
};

// A signer plugin's factory for the "Writing your own" block: the name
// acme.signer.kms, one required option key_id. It creates no signer
// (Unimplemented): the block is compiled, not run.
class MySignerFactory final
    : public aequor::TypedPluginFactory<aequor::LeaseSigner, aequor::SignerContext, std::string> {
 public:
  absl::string_view name() const override { return "acme.signer.kms"; }
  absl::string_view description() const override { return "a stand-in for tests/docs"; }

 protected:
  absl::StatusOr<std::string> ParseTyped(const aequor::PluginSpec& spec,
                                         const aequor::Registry&) const override {
    aequor::ParamReader r(spec);
    std::string key_id = r.String("key_id", "");
    if (key_id.empty()) r.Fail("option 'key_id' is required");
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    return key_id;
  }
  absl::StatusOr<std::unique_ptr<aequor::LeaseSigner>> CreateTyped(
      const std::string&, const aequor::SignerContext&) const override {
    return absl::UnimplementedError("acme.signer.kms is a stand-in that signs nothing");
  }
};

// prelude=builder: `builder`, a ConnectionManagerBuilder, and the type
// `MySignerFactory` (above).
struct Builder {
  using MySignerFactory = ::doc_snippets::prelude::MySignerFactory;

  aequor::ConnectionManagerBuilder builder;
};

}  // namespace prelude
}  // namespace doc_snippets

#endif  // AEQUOR_TESTS_DOCS_SNIPPET_PRELUDES_H_
