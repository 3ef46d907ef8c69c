// tools/aequorctl/ops_common.h: what `aequorctl leases`, `reap` and `doctor`
// share: connection settings the libpq way, the service, the reaper settings
// a pass would use, the optional coordination secret, redaction of anything
// printed, and small formatting helpers.
//
//   Flags flags = *ParseFlags(args, OpsFlagSpec({{"dry-run", false}}));
//   absl::StatusOr<ReaperFlags> reaper = ParseReaperFlags(flags, /*with_max_kills=*/true);
//   Redactor redactor;
//   absl::StatusOr<pg::Conn> conn = ConnectFromFlags(flags, "aequorctl", redactor);
//   if (!conn.ok()) { *env.err << conn.status().message(); return kExitUsage; }
//
// Connection settings: `--dsn` (a libpq keyword/value string or a
// postgresql:// URI) and/or the PG* environment variables (PGHOST, PGPORT,
// PGUSER, PGPASSWORD, PGDATABASE, PGSERVICE, ...), with libpq's precedence:
// what --dsn says wins. The tool's own session is named `aequorctl` (its
// application_name), and libpq's connect_timeout defaults to 10 s unless the
// DSN or PGCONNECT_TIMEOUT says otherwise.
//
// Never printed: the DSN, any password (from the DSN or PGPASSWORD) and the
// coordination secret. Every message that comes from libpq or the server goes
// through a Redactor first, which also blanks `password=...` and the password
// of a URI's user info wherever they appear.
//
// Thread-safety: plain values and free functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_OPS_COMMON_H_
#define AEQUOR_TOOLS_AEQUORCTL_OPS_COMMON_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/lease_signer.h"
#include "api/options.h"
#include "util/pg.h"
#include "core/reaper.h"
#include "tools/aequorctl/cli.h"

namespace aequor {
namespace cli {

// Environment variable naming the service when --service is not given.
inline constexpr char kServiceEnvVar[] = "AEQUOR_SERVICE";

// The application_name of aequorctl's own session.
inline constexpr char kToolApplicationName[] = "aequorctl";

// The reason `leases` gives for a lease of the service it cannot verify
// because no coordination secret is set (not a core skip reason: a pass
// never runs without a secret).
inline constexpr char kNoSecretReason[] = "no_secret";

// The flags every database command takes (--dsn, --service, --json and the
// reaper's --min-idle-s, --clock-skew-s, --reap-idle-in-transaction-after-s),
// plus `extra`.
FlagSpec OpsFlagSpec(std::initializer_list<std::pair<const std::string, bool>> extra = {});

// The help text lines describing the flags of OpsFlagSpec() (for usages).
extern const char kConnectionFlagsHelp[];
extern const char kReaperFlagsHelp[];

// The reaper settings given on the command line, with the library's
// defaults (api/options.h).
struct ReaperFlags {
  absl::Duration min_idle = ManagerOptions().reap_min_idle;     // --min-idle-s
  absl::Duration clock_skew = ManagerOptions().reap_clock_skew;  // --clock-skew-s
  absl::Duration idle_in_transaction_after =
      absl::ZeroDuration();  // --reap-idle-in-transaction-after-s
  int max_kills = 10;        // --max-kills
};

// Parses the reaper flags present in `flags` (seconds: a non-negative
// decimal number; --max-kills: 1..1000). With `check_relations`, also
// InvalidArgument when --reap-idle-in-transaction-after-s is neither 0 nor
// at least --min-idle-s (the connection manager refuses that combination);
// the message names the flags, never their values' neighbours.
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

// The coordination secret from the environment, as a signer.
struct SecretState {
  std::unique_ptr<LeaseSigner> signer;  // null when absent or unusable
  // OK with a signer; NotFound when neither variable is set; another code
  // (FailedPrecondition, InvalidArgument) when it is set but unusable. The
  // message never holds the secret.
  absl::Status status;
};
SecretState SignerFromEnvironment();

// A signer that verifies nothing: lets ReapDecision() judge every rule it can
// without a secret (a lease of the service then comes out as bad_tag, which
// callers report as kNoSecretReason).
std::unique_ptr<LeaseSigner> NoSecretSigner();

// Blanks secrets in text meant for the terminal.
class Redactor {
 public:
  // Values to blank wherever they appear (ignored when shorter than 3 bytes,
  // which would mangle every message; such a password is still never printed
  // by aequorctl itself).
  void AddSensitive(absl::string_view value);
  // `text` with every sensitive value, every `password=...` value and the
  // password of any URI user info replaced by "<redacted>".
  std::string Apply(absl::string_view text) const;

 private:
  std::vector<std::string> sensitive_;
};

// Connects with --dsn and/or the PG* variables. Adds the DSN, its password,
// $PGPASSWORD and the coordination secret to `redactor`. The status message
// is ready to print (already redacted, starting with what went wrong):
//   InvalidArgument    --dsn is not a valid connection string or URI, or a
//                      connection setting is invalid
//   Unauthenticated    the server refused the credentials (28P01/28000)
//   NotFound           the database does not exist (3D000)
//   ResourceExhausted  no free connection slot (53300)
//   Unavailable        refused, unreachable, timed out, starting up
absl::StatusOr<pg::Conn> ConnectFromFlags(const Flags& flags, absl::string_view application_name,
                                          Redactor& redactor);

// Runs `sql` with text parameters; the result, or an error carrying the
// server's message (redacted) and SQLSTATE.
absl::StatusOr<pg::Result> Exec(PGconn* conn, const std::string& sql,
                                const std::vector<std::string>& params, const Redactor& redactor);

// "45s", "3m12s", "2h03m", "4d06h" (whole seconds, rounded down; "0s" for
// anything below a second or negative).
std::string HumanSeconds(double seconds);

// Lays `rows` out in left-aligned columns separated by two spaces, one line
// each, the last column unpadded.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// A JSON number for `value` with `decimals` decimals.
std::string JsonNumber(double value, int decimals);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_OPS_COMMON_H_
