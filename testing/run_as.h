// testing/run_as.h: whom a child process runs as, looked up before fork().
//
// A child started by Spawn() (testing/subprocess.h) either keeps this
// process's credentials or, when switch_user is set, drops to another user
// with setgroups/setgid/setuid. The lookups (getpwnam_r, getgrouplist) are
// not async-signal-safe, so they happen here, in the parent, before any
// fork().
//
//   absl::StatusOr<RunAs> who = RunAs::User("postgres");  // needs root
//   RunAs me = RunAs::Current();
//
// Thread-safety: the functions are thread-safe; a RunAs is a plain value.
#ifndef AEQUOR_TESTING_RUN_AS_H_
#define AEQUOR_TESTING_RUN_AS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace testing {

struct RunAs {
  // This process's effective user and group; switch_user is false.
  static RunAs Current();
  // The system user `name` with its supplementary groups; switch_user is
  // true. NotFound when there is no such user; Internal when the lookup
  // failed.
  static absl::StatusOr<RunAs> User(absl::string_view name);

  // Whether the child calls setgroups(groups), setgid(gid), setuid(uid).
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  // The user's name and home directory ("" for Current()).
  std::string name;
  std::string home;
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_RUN_AS_H_
