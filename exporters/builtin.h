// exporters/builtin.h: registers the exporters the core links (callback,
// emf).
// Optional exporters (OTLP over gRPC, Prometheus) live in their own targets
// and register through their own functions.
#ifndef AEQUOR_EXPORTERS_BUILTIN_H_
#define AEQUOR_EXPORTERS_BUILTIN_H_

#include "absl/status/status.h"
#include "api/registry.h"

namespace aequor {

absl::Status RegisterBuiltinExporters(RegistryBuilder& builder);

}  // namespace aequor

#endif  // AEQUOR_EXPORTERS_BUILTIN_H_
