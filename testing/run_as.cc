// testing/run_as.cc: see run_as.h.
#include "testing/run_as.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "testing/posix_error.h"

namespace aequor {
namespace testing {

RunAs RunAs::Current() {
  RunAs run_as;
  run_as.uid = geteuid();
  run_as.gid = getegid();
  return run_as;
}

absl::StatusOr<RunAs> RunAs::User(absl::string_view name) {
  const std::string user(name);
  std::vector<char> buffer(16384);
  struct passwd pw;
  struct passwd* found = nullptr;
  int err = getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found);
  if (err != 0) return ErrnoStatus(absl::StrCat("looking up the '", user, "' user"), err);
  if (found == nullptr) return absl::NotFoundError(absl::StrCat("no system user '", user, "'"));
  RunAs run_as;
  run_as.switch_user = true;
  run_as.uid = pw.pw_uid;
  run_as.gid = pw.pw_gid;
  run_as.name = pw.pw_name;
  run_as.home = pw.pw_dir != nullptr ? pw.pw_dir : "/";
  int count = 32;
  for (int attempt = 0; attempt < 4; ++attempt) {
    run_as.groups.assign(static_cast<size_t>(count), 0);
    int n = count;
    if (getgrouplist(pw.pw_name, pw.pw_gid, run_as.groups.data(), &n) >= 0) {
      run_as.groups.resize(static_cast<size_t>(n));
      return run_as;
    }
    count = std::max(n, count * 2);
  }
  run_as.groups.assign(1, pw.pw_gid);
  return run_as;
}

}  // namespace testing
}  // namespace aequor
