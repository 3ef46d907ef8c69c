// tools/aequorctl/doctor_command.h: `aequorctl doctor`, checks what the reaper
// needs on the database you connect to and says how to fix what is missing.
//
//   $ aequorctl doctor --dsn 'host=db dbname=app user=app' --service orders
//   aequorctl doctor: service orders (--service), role app, database app
//   [ok]   connection: connected as role app to database app (PostgreSQL 15.6)
//   [fix]  pg_read_all_stats: role app lacks pg_read_all_stats: ...
//          fix: GRANT pg_read_all_stats TO app;
//
// The command reads its flags, gathers the facts (doctor_facts.h), runs the
// checks (doctor_checks.h) and prints them (doctor_report.h: the text and the
// --json shape).
//
// Exit status: 0 nothing to fix (warnings allowed), 1 something must be fixed,
// 2 usage or connection error (nothing on stdout then).
//
// Thread-safety: each call uses only its arguments and `env`.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_COMMAND_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_COMMAND_H_

#include <string>
#include <vector>

#include "tools/aequorctl/cli.h"
#include "tools/aequorctl/dispatch.h"

namespace aequor {
namespace cli {

// `aequorctl doctor [flags]`.
int RunDoctorCommand(const std::vector<std::string>& args, CliEnv& env);

// The `doctor` entry for a top-level command table.
Command DoctorCommand();

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_COMMAND_H_
