// tools/aequorctl/aequorctl_main.h: aequorctl as a function, for a team that
// builds its own aequorctl with its own plugins (a custom signer), so that
// `leases`, `reap` and `doctor` verify its leases as its managers sign them.
//
//   // my_aequorctl.cc, linked with //tools/aequorctl:aequorctl_main and the
//   // team's plugin targets:
//   int main(int argc, char** argv) {
//     aequor::RegistryBuilder builder(aequor::Registry::Default());
//     if (!acme::RegisterAcmeSigner(builder).ok()) return 2;
//     return aequor::cli::AequorctlMain({argv + 1, argv + argc}, builder.Build());
//   }
//   // then: AEQUOR_SIGNER='acme.signer.kms(key=orders)' my_aequorctl leases ...
//
// Thread-safety: call it once, from main().
#ifndef AEQUOR_TOOLS_AEQUORCTL_AEQUORCTL_MAIN_H_
#define AEQUOR_TOOLS_AEQUORCTL_AEQUORCTL_MAIN_H_

#include <memory>
#include <string>
#include <vector>

#include "api/registry.h"

namespace aequor {
namespace cli {

// Runs aequorctl with `args` (argv without the program's name) on the
// process's standard streams, real clock and randomness, with the plugins of
// `registry`. Returns the exit status (0, 1 or 2; `aequorctl --help`).
int AequorctlMain(const std::vector<std::string>& args,
                  std::shared_ptr<const Registry> registry = Registry::Default());

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_AEQUORCTL_MAIN_H_
