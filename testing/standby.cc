// testing/standby.cc: see standby.h.
#include "testing/standby.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace aequor {
namespace testing {
namespace {

// Runs `query` as the admin on `server` until it returns `want`, or until
// `timeout` passes: DeadlineExceeded naming `what` and the last answer.
absl::Status AwaitAnswer(const ThrowawayPostgres& server, absl::string_view query,
                         absl::string_view want, absl::Duration timeout, absl::string_view what) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(1);
  std::string last;
  while (true) {
    absl::StatusOr<std::string> answer = server.AdminQuery(query);
    if (answer.ok() && *answer == want) return absl::OkStatus();
    last = answer.ok() ? absl::StrCat("'", *answer, "'") : answer.status().ToString();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          what, " not within ", absl::FormatDuration(timeout), " (last answer: ", last, ")"));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> StartStandby(const ThrowawayPostgres& primary,
                                                                const StandbyOptions& options) {
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("StandbyOptions.timeout must be > 0, got ",
                                                   absl::FormatDuration(options.timeout)));
  }
  ThrowawayPostgresOptions server_options;
  server_options.standby_of = &primary;
  absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> standby =
      ThrowawayPostgres::Start(server_options);
  if (!standby.ok()) return standby.status();
  if (absl::Status s = AwaitAnswer(**standby, "SELECT status FROM pg_stat_wal_receiver",
                                   "streaming", options.timeout, "the standby streaming");
      !s.ok()) {
    return s;
  }
  if (!options.synchronous) return standby;
  // ALTER SYSTEM cannot run in a transaction block: one statement a call.
  for (const char* sql : {"ALTER SYSTEM SET synchronous_standby_names = '*'",
                          "ALTER SYSTEM SET synchronous_commit = on", "SELECT pg_reload_conf()"}) {
    if (absl::StatusOr<std::string> r = primary.AdminQuery(sql); !r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("making the standby synchronous: ", r.status().message()));
    }
  }
  if (absl::Status s =
          AwaitAnswer(primary, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
                      "1", options.timeout, "the standby synchronous");
      !s.ok()) {
    return s;
  }
  return standby;
}

absl::Status Promote(const ThrowawayPostgres& standby, absl::Duration timeout) {
  const int64_t seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(timeout, absl::Seconds(1))));
  absl::StatusOr<std::string> promoted =
      standby.AdminQuery(absl::StrCat("SELECT pg_promote(true, ", seconds, ")"));
  if (!promoted.ok()) {
    return absl::Status(promoted.status().code(),
                        absl::StrCat("promoting the standby: ", promoted.status().message()));
  }
  if (*promoted != "t") {
    return absl::DeadlineExceededError(
        absl::StrCat("the standby was not promoted within ", seconds, " s (pg_promote)"));
  }
  return AwaitAnswer(standby, "SELECT pg_is_in_recovery()", "f", timeout,
                     "the promoted standby out of recovery");
}

}  // namespace testing
}  // namespace aequor
