// examples/embedding/tally_exporter.h: "embedding.exporter.tally", a hook
// exporter of the consuming workspace: counts the statements that ended and
// prints "<prefix> <n> statements" on each Flush().
//
// Thread-safety: kSynchronous delivery; the manager serialises its calls.
#ifndef EMBEDDING_TALLY_EXPORTER_H_
#define EMBEDDING_TALLY_EXPORTER_H_

#include <memory>

#include "api/hook_exporter.h"

namespace embedding {

std::unique_ptr<aequor::HookExporterFactory> NewTallyExporterFactory();

}  // namespace embedding

#endif  // EMBEDDING_TALLY_EXPORTER_H_
