#include "exporters/builtin.h"

#include "exporters/callback/callback.h"
#include "exporters/emf/emf.h"

namespace aequor {

absl::Status RegisterBuiltinExporters(RegistryBuilder& builder) {
  if (absl::Status s = builder.Register(NewCallbackExporterFactory()); !s.ok()) return s;
  return builder.Register(NewEmfExporterFactory());
}

}  // namespace aequor
