#include "tools/aequorctl/ops_flags.h"

#include <cmath>
#include <cstdlib>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/lease.h"

namespace aequor {
namespace cli {
std::vector<FlagDef> OpsFlagDefs() {
  return {
      {"dsn", "DSN",
       "libpq connection string or URI (e.g. 'host=db dbname=app\n"
       "user=reaper' or 'postgresql://reaper@db/app'); without it,\n"
       "the PG* environment variables (PGHOST, PGPORT, PGUSER,\n"
       "PGDATABASE, PGPASSWORD, PGSERVICE, ...) and libpq's defaults.\n"
       "Prefer PGPASSWORD or ~/.pgpass to a password in the DSN\n"
       "(the command line is visible to other users). The DSN and\n"
       "passwords are never printed."},
      {"service", "S",
       "the aequor service whose leases a pass judges (default:\n"
       "$AEQUOR_SERVICE, else $AWS_LAMBDA_FUNCTION_NAME, else\n"
       "sls_pg, as the connection manager does); normalised as\n"
       "leases carry it. Not libpq's service file: use PGSERVICE\n"
       "or service= in the DSN for that."},
      {"json", "", "machine-readable output (see below)"},
      {"min-idle-s", "N",
       "a session must be idle this long before a pass may kill\n"
       "it (default 180, the manager's reap_min_idle)"},
      {"clock-skew-s", "N",
       "a lease counts as expired once the server's clock is this\n"
       "far past its expiry (default 0.1, reap_clock_skew)"},
      {"reap-idle-in-transaction-after-s", "N",
       "0 (default): sessions idle in transaction are never\n"
       "reaped; else reaped once idle in transaction this long\n"
       "(must then be >= --min-idle-s)"},
  };
}

absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view name, absl::string_view text) {
  double seconds = 0;
  const bool ok = !text.empty() && (absl::ascii_isdigit(text[0]) || text[0] == '.') &&
                  absl::SimpleAtod(text, &seconds) && std::isfinite(seconds) && seconds >= 0 &&
                  seconds <= 10.0 * 365 * 24 * 3600;
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a non-negative number of seconds (e.g. 180 or 0.5)"));
  }
  return absl::Milliseconds(std::llround(seconds * 1000));
}

absl::StatusOr<ReaperFlags> ParseReaperFlags(const Flags& flags, bool check_relations) {
  ReaperFlags r;
  struct Field {
    const char* name;
    absl::Duration* target;
  };
  for (const Field& f : {Field{"min-idle-s", &r.min_idle}, Field{"clock-skew-s", &r.clock_skew},
                         Field{"reap-idle-in-transaction-after-s", &r.idle_in_transaction_after}}) {
    if (std::optional<std::string> text = flags.Get(f.name); text.has_value()) {
      absl::StatusOr<absl::Duration> d = ParseSeconds(f.name, *text);
      if (!d.ok()) return d.status();
      *f.target = *d;
    }
  }
  if (std::optional<std::string> text = flags.Get("max-kills"); text.has_value()) {
    int n = 0;
    if (text->empty() || !absl::ascii_isdigit((*text)[0]) || !absl::SimpleAtoi(*text, &n) ||
        n < 1 || n > 1000) {
      return absl::InvalidArgumentError("--max-kills must be a whole number from 1 to 1000");
    }
    r.max_kills = n;
  }
  if (check_relations && r.idle_in_transaction_after > absl::ZeroDuration() &&
      r.idle_in_transaction_after < r.min_idle) {
    return absl::InvalidArgumentError(
        "--reap-idle-in-transaction-after-s must be 0 (never) or at least --min-idle-s, as "
        "the connection manager requires (reap_idle_in_transaction_after >= reap_min_idle)");
  }
  return r;
}

absl::StatusOr<ServiceChoice> ServiceFromFlags(const Flags& flags) {
  ServiceChoice choice;
  if (std::optional<std::string> given = flags.Get("service"); given.has_value()) {
    if (given->empty()) return absl::InvalidArgumentError("--service must not be empty");
    choice.given = *given;
    choice.source = "--service";
  } else if (const char* env = NonEmptyEnv(kServiceEnvVar)) {
    choice.given = env;
    choice.source = absl::StrCat("$", kServiceEnvVar);
  } else if (const char* lambda = NonEmptyEnv("AWS_LAMBDA_FUNCTION_NAME")) {
    choice.given = lambda;
    choice.source = "$AWS_LAMBDA_FUNCTION_NAME";
  } else {
    choice.given = "sls_pg";
    choice.source = "default";
  }
  choice.normalized = NormalizeService(choice.given);
  return choice;
}

ReaperSettings SettingsFor(const ServiceChoice& service, const ReaperFlags& reaper, bool dry_run) {
  // The manager's own mapping, from options with these four values.
  ManagerOptions o;
  o.reap_min_idle = reaper.min_idle;
  o.reap_idle_in_transaction_after = reaper.idle_in_transaction_after;
  o.reap_clock_skew = reaper.clock_skew;
  o.reap_max_kills = reaper.max_kills;
  return ReaperSettingsFromOptions(o, service.normalized, dry_run);
}

}  // namespace cli
}  // namespace aequor
