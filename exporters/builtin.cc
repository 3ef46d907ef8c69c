#include "exporters/builtin.h"

#include "exporters/callback/callback.h"

namespace aequor {

absl::Status RegisterBuiltinExporters(RegistryBuilder& builder) {
  return builder.Register(NewCallbackExporterFactory());
}

}  // namespace aequor
