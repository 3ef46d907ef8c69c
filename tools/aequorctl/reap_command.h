// tools/aequorctl/reap_command.h: `aequorctl reap`, one reaper pass now.
//
//   $ export AEQUOR_COORDINATION_SECRET_FILE=/run/secrets/aequor
//   $ aequorctl reap --dsn 'host=db dbname=app user=reaper' --service orders --dry-run --json
//   {"outcome":"completed","service":"orders","dry_run":true,"scanned":3,"candidates":1,
//    "killed":0,"skipped":{"dry_run":1,"not_expired":2},"frozen_leader_killed":false,
//    "duration_ms":3.2,"message":null}
//
// The pass is core's RunReaperPass() on aequorctl's own connection
// (application_name "aequorctl"), with the ReaperSettings a connection
// manager with the same options would use (SettingsFor() in ops_flags.h):
// the service's transaction-scoped advisory lock, a frozen leader freed,
// the guarded kill statement, at most --max-kills kills.
//
// --json prints ONE object:
//   outcome               "completed" | "busy" | "error"
//   service               the normalised service
//   dry_run               bool
//   scanned, candidates, killed   numbers
//   skipped               object: skip reason -> count (core/reaper.h names)
//   frozen_leader_killed  bool
//   duration_ms           number
//   message               string for busy and error, else null
//
// Exit status: 0 the pass completed, or was busy (another instance holds the
// lock: nothing done, not an error); 1 the pass failed; 2 usage error,
// missing or unusable secret, or connection error (nothing on stdout then).
//
// Thread-safety: each call uses only its arguments and `env`.
#ifndef AEQUOR_TOOLS_AEQUORCTL_REAP_COMMAND_H_
#define AEQUOR_TOOLS_AEQUORCTL_REAP_COMMAND_H_

#include <string>
#include <vector>

#include "tools/aequorctl/cli.h"
#include "tools/aequorctl/dispatch.h"

namespace aequor {
namespace cli {

// `aequorctl reap [flags]`.
int RunReapCommand(const std::vector<std::string>& args, CliEnv& env);

// The `reap` entry for a top-level command table.
Command ReapCommand();

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_REAP_COMMAND_H_
