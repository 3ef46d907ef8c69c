// testing/postgres_cluster.h: making the data directory of a throwaway
// PostgreSQL server (internal to //testing:throwaway_postgres): initdb,
// pg_hba.conf, the roles and database set up in single-user mode, the
// per-process template cluster that later servers copy, and the
// postgresql.conf settings.
//
//   absl::StatusOr<RunAs> who = ServerUser();
//   absl::Status s = MakeCluster(bindir, *who, base + "/data", base, options);
//   s = WriteFile(base + "/data/postgresql.conf", ServerSettings(options, socket_dir),
//                 WriteMode::kAppend, *who);
//
// Thread-safety: thread-safe; the template cache is guarded by a mutex.
#ifndef AEQUOR_TESTING_POSTGRES_CLUSTER_H_
#define AEQUOR_TESTING_POSTGRES_CLUSTER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "testing/run_as.h"
#include "testing/subprocess.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {
namespace cluster {

// Where the server directories go: $AEQUOR_PG_TMPDIR, else /tmp (no trailing '/').
std::string TempParent();

// Whom the server programs run as: this user, or `postgres` when root
// (initdb and postgres refuse to run as root). FailedPrecondition when root
// and there is no `postgres` user.
absl::StatusOr<RunAs> ServerUser();

// A SpawnSpec for a server program: argv, working directory `cwd`, stdout
// and stderr appended to `output_path`, the server environment (ours without
// PG*, locale and TZ variables, plus LC_ALL=C and TZ=UTC, and HOME/USER/
// LOGNAME of `who` when it switches user), run as `who`, and SIGQUIT on the
// death of the spawning thread when that is the main thread.
SpawnSpec ServerProgram(std::vector<std::string> argv, const std::string& cwd,
                        const std::string& output_path, const RunAs& who);

// Makes the cluster in `data_dir` (which must not exist; its parent
// `work_dir` also receives the programs' logs): a copy of the template
// cluster when options.reuse_initdb allows one, else initdb, pg_hba.conf and
// the database `aequor` with (options.create_roles) the roles.
absl::Status MakeCluster(const std::string& bindir, const RunAs& who, const std::string& data_dir,
                         const std::string& work_dir, const ThrowawayPostgresOptions& options);

// The lines added to postgresql.conf: the built-in settings (listen on
// 127.0.0.1 and `socket_dir`, fsync off, ...) and then options.extra_settings.
std::string ServerSettings(const ThrowawayPostgresOptions& options, const std::string& socket_dir);

}  // namespace cluster
}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_POSTGRES_CLUSTER_H_
