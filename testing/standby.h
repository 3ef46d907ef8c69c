// testing/standby.h: a streaming-replication standby of a throwaway
// PostgreSQL server, and its promotion, for failover tests.
//
// StartStandby() copies a running ThrowawayPostgres (started with
// ThrowawayPostgresOptions::allow_replication) with `pg_basebackup -R` into a
// directory of its own (<tmpdir>/aequor-pg-XXXXXX), starts it as the same
// user on its own 127.0.0.1 port, and returns once it streams from the
// primary. By default it is then also the primary's synchronous standby, so
// that every commit the primary acknowledged is on the standby: a failover
// that loses an acknowledged write is then the client's fault, not
// asynchronous replication's.
//
//   ThrowawayPostgresOptions o;
//   o.allow_replication = true;
//   absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> primary = ThrowawayPostgres::Start(o);
//   absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> standby = StartStandby(**primary);
//   ...
//   (*primary)->StopImmediately();
//   absl::Status promoted = Promote(**standby);  // now it takes writes
//
// The standby has the primary's roles, passwords and database; its
// ConninfoFor(), AdminQuery() etc. work as on any ThrowawayPostgres (read
// only until promoted). While it is a synchronous standby, commits on the
// primary wait for it: stop the primary (or promote) before destroying it.
//
// Thread-safety: StartStandby() and Promote() are thread-safe; the servers
// are as testing/throwaway_postgres.h says.
#ifndef AEQUOR_TESTING_STANDBY_H_
#define AEQUOR_TESTING_STANDBY_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {

struct StandbyOptions {
  // Make it the primary's synchronous standby once it streams: on the
  // primary, ALTER SYSTEM SET synchronous_standby_names = '*' and
  // synchronous_commit = on (the throwaway default is off), reloaded, and
  // waited for until the standby's sync_state is 'sync'. Set after the copy,
  // so the standby, once promoted, does not wait for a standby of its own.
  // Default true.
  bool synchronous = true;
  // How long StartStandby() waits for the standby to stream (and to become
  // synchronous). Default 30 s. REQUIRES: > 0.
  absl::Duration timeout = absl::Seconds(30);
};

// Makes and starts a standby of `primary` (see the file comment). Errors:
// those of ThrowawayPostgres::Start() (pg_basebackup's failure with its log
// tail, e.g. when the primary lacks allow_replication); DeadlineExceeded
// when it does not stream in time, with what it last reported. On failure
// nothing is left behind; the primary's settings may have been changed.
absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> StartStandby(const ThrowawayPostgres& primary,
                                                                const StandbyOptions& options = {});

// Promotes `standby` (SELECT pg_promote(), which waits) and returns once it
// is out of recovery and takes writes. Internal with the server's message,
// or DeadlineExceeded when it is not promoted within `timeout`.
absl::Status Promote(const ThrowawayPostgres& standby, absl::Duration timeout = absl::Seconds(30));

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_STANDBY_H_
