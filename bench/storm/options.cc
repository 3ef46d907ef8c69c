#include "bench/storm/options.h"

namespace aequor {
namespace storm {

absl::string_view WorkloadName(Workload workload) {
  return workload == Workload::kWrite ? "write" : "read";
}

absl::string_view ClientKindName(ClientKind kind) {
  switch (kind) {
    case ClientKind::kAequor: return "aequor";
    case ClientKind::kAequorPool: return "aequor-pool";
    case ClientKind::kLibpq: return "libpq";
    case ClientKind::kCommand: return "cmd";
  }
  return "?";
}

}  // namespace storm
}  // namespace aequor
