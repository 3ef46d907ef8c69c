// aequorctl: operator tool for aequor. One binary, one subcommand per area:
//
//   aequorctl lease sign|verify ...     (tools/aequorctl/lease_commands.h)
//   aequorctl leases ...                (tools/aequorctl/leases_command.h)
//   aequorctl reap [--dry-run] ...      (tools/aequorctl/reap_command.h)
//   aequorctl doctor ...                (tools/aequorctl/doctor_command.h)
//
// Each command's logic lives in a library next to this file so that it can be
// tested in-process; AequorctlMain() (tools/aequorctl/aequorctl_main.h) wires
// the real streams, clock and randomness, and a team's own aequorctl calls it
// with a registry holding its plugins.
#include <string>
#include <vector>

#include "tools/aequorctl/aequorctl_main.h"

int main(int argc, char** argv) {
  return aequor::cli::AequorctlMain(std::vector<std::string>(argv + 1, argv + argc));
}
