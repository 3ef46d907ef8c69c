// aequorctl: operator tool for aequor. One binary, one subcommand per area:
//
//   aequorctl lease sign|verify ...     (tools/aequorctl/lease_commands.h)
//   aequorctl leases ...                (tools/aequorctl/leases_command.h)
//   aequorctl reap [--dry-run] ...      (tools/aequorctl/reap_command.h)
//   aequorctl doctor ...                (tools/aequorctl/doctor_command.h)
//
// Each command's logic lives in a library next to this file so that it can be
// tested in-process; main() only wires the real streams, clock and randomness.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "api/clock.h"
#include "api/random.h"
#include "tools/aequorctl/cli.h"
#include "tools/aequorctl/dispatch.h"
#include "tools/aequorctl/doctor_command.h"
#include "tools/aequorctl/lease_commands.h"
#include "tools/aequorctl/leases_command.h"
#include "tools/aequorctl/reap_command.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::unique_ptr<aequor::Random> random = aequor::Random::FromEntropy();
  aequor::cli::CliEnv env{&std::cout, &std::cerr, aequor::Clock::Real(), random.get()};
  const aequor::cli::CommandGroup group = {
      "aequorctl", "Usage: aequorctl <command> [flags]",
      "Operator tool for aequor, the PostgreSQL connection manager.\n"
      "Exit status: 0 success, 1 checked and invalid (lease verify: invalid; reap:\n"
      "the pass failed; doctor: something to fix), 2 usage error, missing or\n"
      "unusable secret, or connection error."};
  const std::vector<aequor::cli::Command> commands = {
      aequor::cli::LeaseCommand(),
      aequor::cli::LeasesCommand(),
      aequor::cli::ReapCommand(),
      aequor::cli::DoctorCommand(),
  };
  const int code = aequor::cli::Dispatch(group, commands, args, env);
  std::cout.flush();
  return code;
}
