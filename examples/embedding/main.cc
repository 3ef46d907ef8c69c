// examples/embedding: a service of another workspace that depends on
// aequor (docs/EMBEDDING.md, "Bazel"). Configured from the environment
// (AEQUOR_*, the secret in AEQUOR_COORDINATION_SECRET), with one plugin of
// its own chosen by name:
//
//   bazel run //:service -- 'host=... dbname=... user=...'
//
// Prints the answer, the lease and the plugin's count; exits non-zero on
// any error, with the status.
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "api/connection_manager.h"
#include "api/registry.h"
#include "tally_exporter.h"

int main(int argc, char** argv) {
  aequor::RegistryBuilder registry(*aequor::Registry::Default());
  if (absl::Status s = registry.Register(embedding::NewTallyExporterFactory()); !s.ok()) {
    std::fprintf(stderr, "register: %s\n", s.ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<aequor::ConnectionManager>> db =
      aequor::ConnectionManagerBuilder::FromEnv()
          .SetConninfo(argc > 1 ? argv[1] : "")
          .SetService("embedding-service")
          .SetRegistry(std::move(registry).Build())
          .AddExporter("embedding.exporter.tally(prefix=tally:)")
          .Build();
  if (!db.ok()) {
    std::fprintf(stderr, "build: %s\n", db.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<aequor::QueryResult> r = (*db)->Query("SELECT 41 + 1");
  if (!r.ok()) {
    std::fprintf(stderr, "query: %s\n", r.status().ToString().c_str());
    return 1;
  }
  std::printf("answer %s\n", std::string(r->Get(0, 0)).c_str());
  std::printf("lease %s\n", (*db)->application_name().c_str());
  if (absl::Status s = (*db)->Flush(absl::Seconds(1)); !s.ok()) {
    std::fprintf(stderr, "flush: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
