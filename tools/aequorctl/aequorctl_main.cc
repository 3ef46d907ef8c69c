#include "tools/aequorctl/aequorctl_main.h"

#include <iostream>

#include "api/clock.h"
#include "api/random.h"
#include "tools/aequorctl/cli.h"
#include "tools/aequorctl/dispatch.h"
#include "tools/aequorctl/doctor_command.h"
#include "tools/aequorctl/lease_commands.h"
#include "tools/aequorctl/leases_command.h"
#include "tools/aequorctl/reap_command.h"

namespace aequor {
namespace cli {

int AequorctlMain(const std::vector<std::string>& args, std::shared_ptr<const Registry> registry) {
  std::unique_ptr<Random> random = Random::FromEntropy();
  CliEnv env{&std::cout, &std::cerr, Clock::Real(), random.get(), registry.get()};
  const CommandGroup group = {
      "aequorctl", "Usage: aequorctl <command> [flags]",
      "Operator tool for aequor, the PostgreSQL connection manager.\n"
      "Exit status: 0 success, 1 checked and invalid (lease verify: invalid; reap:\n"
      "the pass failed; doctor: something to fix), 2 usage error, missing or\n"
      "unusable secret, or connection error."};
  const std::vector<Command> commands = {
      LeaseCommand(),
      LeasesCommand(),
      ReapCommand(),
      DoctorCommand(),
  };
  const int code = Dispatch(group, commands, args, env);
  std::cout.flush();
  return code;
}

}  // namespace cli
}  // namespace aequor
