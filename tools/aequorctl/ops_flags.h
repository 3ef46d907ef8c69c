// tools/aequorctl/ops_flags.h: the flags `aequorctl leases`, `reap` and
// `doctor` share, and what they mean: where to connect, the service, the
// output, and the reaper settings a pass would use.
//
//   std::vector<FlagDef> defs = OpsFlagDefs();
//   defs.push_back({"dry-run", "", "take the lock and report, kill nothing"});
//   absl::StatusOr<Flags> flags = ParseFlags(args, defs);
//   absl::StatusOr<ReaperFlags> reaper = ParseReaperFlags(*flags, /*check_relations=*/true);
//   absl::StatusOr<ServiceChoice> service = ServiceFromFlags(*flags);
//   ReaperSettings settings = SettingsFor(*service, *reaper, /*dry_run=*/false);
//
// Thread-safety: plain values and free functions (ServiceFromFlags reads
// the environment).
#ifndef AEQUOR_TOOLS_AEQUORCTL_OPS_FLAGS_H_
#define AEQUOR_TOOLS_AEQUORCTL_OPS_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/options.h"
#include "core/reap_decision.h"
#include "tools/aequorctl/flags.h"

namespace aequor {
namespace cli {

// Environment variable naming the service when --service is not given.
inline constexpr char kServiceEnvVar[] = "AEQUOR_SERVICE";

// --dsn, --service, --json, then the reaper's --min-idle-s, --clock-skew-s
// and --reap-idle-in-transaction-after-s, with their help.
std::vector<FlagDef> OpsFlagDefs();

// The reaper settings given on the command line, with the library's
// defaults (api/options.h).
struct ReaperFlags {
  absl::Duration min_idle = ManagerOptions().reap_min_idle;      // --min-idle-s
  absl::Duration clock_skew = ManagerOptions().reap_clock_skew;  // --clock-skew-s
  absl::Duration idle_in_transaction_after =
      absl::ZeroDuration();  // --reap-idle-in-transaction-after-s
  int max_kills = 10;        // --max-kills
};

// Parses the reaper flags present in `flags` (seconds: a non-negative
// decimal number; --max-kills: 1..1000). With `check_relations`, also
// InvalidArgument when --reap-idle-in-transaction-after-s is neither 0 nor
// at least --min-idle-s (the connection manager refuses that combination);
// the message names the flags, never their values.
absl::StatusOr<ReaperFlags> ParseReaperFlags(const Flags& flags, bool check_relations);

// A non-negative decimal number of seconds (at most ten years), or
// InvalidArgument naming --`name`.
absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view name, absl::string_view text);

// The service a pass works for: --service, else $AEQUOR_SERVICE, else the
// manager's default ($AWS_LAMBDA_FUNCTION_NAME, else "sls_pg").
struct ServiceChoice {
  std::string given;       // as given (before normalisation)
  std::string normalized;  // NormalizeService(given): what leases carry
  std::string source;      // "--service", "$AEQUOR_SERVICE", ...
};
absl::StatusOr<ServiceChoice> ServiceFromFlags(const Flags& flags);

// The ReaperSettings a ConnectionManager with these options runs its passes
// with (core ReaperSettingsFromOptions; ManagerOptions defaults for the
// statement and lock timeouts).
ReaperSettings SettingsFor(const ServiceChoice& service, const ReaperFlags& reaper, bool dry_run);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_OPS_FLAGS_H_
