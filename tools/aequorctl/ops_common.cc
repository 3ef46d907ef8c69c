#include "tools/aequorctl/ops_common.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "api/errors.h"
#include "api/lease.h"
#include "api/options.h"
#include "api/secret.h"
#include "core/connect_error.h"
#include "signers/hmac_sha256_botan.h"

namespace aequor {
namespace cli {
namespace {

constexpr char kRedacted[] = "<redacted>";

const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}


class NoSecret : public LeaseSigner {
 public:
  absl::StatusOr<std::string> Sign(absl::string_view) const override {
    return absl::FailedPreconditionError("no coordination secret");
  }
  bool Verify(absl::string_view, absl::string_view) const override { return false; }
};

}  // namespace

const char kConnectionFlagsHelp[] =
    "  --dsn DSN        libpq connection string or URI (e.g. 'host=db dbname=app\n"
    "                   user=reaper' or 'postgresql://reaper@db/app'); without it,\n"
    "                   the PG* environment variables (PGHOST, PGPORT, PGUSER,\n"
    "                   PGDATABASE, PGPASSWORD, PGSERVICE, ...) and libpq's defaults.\n"
    "                   Prefer PGPASSWORD or ~/.pgpass to a password in the DSN\n"
    "                   (the command line is visible to other users). The DSN and\n"
    "                   passwords are never printed.\n"
    "  --service S      the aequor service whose leases a pass judges (default:\n"
    "                   $AEQUOR_SERVICE, else $AWS_LAMBDA_FUNCTION_NAME, else\n"
    "                   sls_pg, as the connection manager does); normalised as\n"
    "                   leases carry it. Not libpq's service file: use PGSERVICE\n"
    "                   or service= in the DSN for that.\n"
    "  --json           machine-readable output (see below)\n";

const char kReaperFlagsHelp[] =
    "  --min-idle-s N   a session must be idle this long before a pass may kill\n"
    "                   it (default 180, the manager's reap_min_idle)\n"
    "  --clock-skew-s N a lease counts as expired once the server's clock is this\n"
    "                   far past its expiry (default 0.1, reap_clock_skew)\n"
    "  --reap-idle-in-transaction-after-s N\n"
    "                   0 (default): sessions idle in transaction are never\n"
    "                   reaped; else reaped once idle in transaction this long\n"
    "                   (must then be >= --min-idle-s)\n";

FlagSpec OpsFlagSpec(std::initializer_list<std::pair<const std::string, bool>> extra) {
  FlagSpec spec = {{"dsn", true},          {"service", true},
                   {"json", false},        {"min-idle-s", true},
                   {"clock-skew-s", true}, {"reap-idle-in-transaction-after-s", true}};
  for (const auto& [name, takes_value] : extra) spec[name] = takes_value;
  return spec;
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
  } else if (const char* env = Env(kServiceEnvVar)) {
    choice.given = env;
    choice.source = absl::StrCat("$", kServiceEnvVar);
  } else if (const char* lambda = Env("AWS_LAMBDA_FUNCTION_NAME")) {
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

SecretState SignerFromEnvironment() {
  SecretState state;
  absl::StatusOr<Secret> secret = ReadSecretFromEnvironment();
  if (!secret.ok()) {
    state.status = secret.status();
    return state;
  }
  absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = NewHmacSha256BotanSigner(*secret);
  if (!signer.ok()) {
    state.status = signer.status();  // names the length rule, never the bytes
    return state;
  }
  state.signer = *std::move(signer);
  return state;
}

std::unique_ptr<LeaseSigner> NoSecretSigner() { return std::make_unique<NoSecret>(); }

void Redactor::AddSensitive(absl::string_view value) {
  if (value.size() < 3) return;
  sensitive_.emplace_back(value);
  // Longest first, so that a value containing another is blanked whole.
  std::sort(sensitive_.begin(), sensitive_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::Apply(absl::string_view text) const {
  std::string out(text);
  for (const std::string& value : sensitive_) {
    out = absl::StrReplaceAll(out, {{value, kRedacted}});
  }
  // password = value, password='quoted value' (any case).
  const std::string lower = absl::AsciiStrToLower(out);
  std::string result;
  size_t copied = 0;
  for (size_t at = lower.find("password"); at != std::string::npos;
       at = lower.find("password", at + 1)) {
    size_t i = at + 8;
    while (i < out.size() && out[i] == ' ') ++i;
    if (i >= out.size() || out[i] != '=') continue;
    ++i;
    while (i < out.size() && out[i] == ' ') ++i;
    size_t end = i;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && !absl::ascii_isspace(out[end]) && out[end] != '"' &&
             out[end] != '&') {
        ++end;
      }
    }
    if (i < copied) continue;
    absl::StrAppend(&result, absl::string_view(out).substr(copied, i - copied), kRedacted);
    copied = end;
    at = end > 0 ? end - 1 : end;
  }
  absl::StrAppend(&result, absl::string_view(out).substr(std::min(copied, out.size())));
  // scheme://user:password@host: blank the password.
  std::string final_text;
  copied = 0;
  for (size_t at = result.find("://"); at != std::string::npos; at = result.find("://", at + 3)) {
    const size_t start = at + 3;
    size_t end = start;
    while (end < result.size() && !absl::ascii_isspace(result[end]) && result[end] != '/' &&
           result[end] != '?' && result[end] != '"') {
      ++end;
    }
    const absl::string_view authority = absl::string_view(result).substr(start, end - start);
    const size_t at_sign = authority.rfind('@');
    if (at_sign == absl::string_view::npos) continue;
    const size_t colon = authority.substr(0, at_sign).find(':');
    if (colon == absl::string_view::npos) continue;
    absl::StrAppend(&final_text,
                    absl::string_view(result).substr(copied, start + colon + 1 - copied),
                    kRedacted);
    copied = start + at_sign;
  }
  absl::StrAppend(&final_text, absl::string_view(result).substr(std::min(copied, result.size())));
  return final_text;
}

absl::StatusOr<pg::Conn> ConnectFromFlags(const Flags& flags, absl::string_view application_name,
                                          Redactor& redactor) {
  if (const char* password = Env("PGPASSWORD")) redactor.AddSensitive(password);
  if (absl::StatusOr<Secret> secret = ReadSecretFromEnvironment(); secret.ok()) {
    redactor.AddSensitive(secret->UnsafeBytes());
  }
  std::optional<std::string> dsn = flags.Get("dsn");
  if (dsn.has_value()) {
    if (dsn->empty()) {
      return absl::InvalidArgumentError(
          "--dsn is empty; leave it out to connect with the PG* environment variables");
    }
    redactor.AddSensitive(*dsn);
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(dsn->c_str(), &error);
    if (options == nullptr) {
      std::string message = error != nullptr ? error : "out of memory";
      if (error != nullptr) PQfreemem(error);
      return absl::InvalidArgumentError(absl::StrCat(
          "--dsn is not a valid libpq connection string (keyword=value ...) or URI "
          "(postgresql://...): ",
          ConninfoParseErrorText(*dsn, redactor.Apply(absl::StripTrailingAsciiWhitespace(message)))));
    }
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (o->val != nullptr && std::strcmp(o->keyword, "password") == 0) {
        redactor.AddSensitive(o->val);
      }
    }
    PQconninfoFree(options);
  }
  // Later entries win; the DSN (expanded from dbname) overrides the default
  // connect_timeout, and our application_name overrides the DSN's.
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  if (Env("PGCONNECT_TIMEOUT") == nullptr) {
    keywords.push_back("connect_timeout");
    values.push_back("10");
  }
  if (dsn.has_value()) {
    keywords.push_back("dbname");
    values.push_back(dsn->c_str());
  }
  const std::string app(application_name);
  keywords.push_back("application_name");
  values.push_back(app.c_str());
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  pg::Conn conn(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (conn != nullptr && PQstatus(conn.get()) == CONNECTION_OK) return conn;

  const std::string libpq = redactor.Apply(pg::ErrorMessage(conn.get()));
  const absl::Status classified = ConnectFailureStatus(libpq);
  const std::string detail = absl::StrReplaceAll(libpq, {{"\n", "\n  "}});
  switch (classified.code()) {
    case absl::StatusCode::kUnauthenticated:
      return absl::UnauthenticatedError(absl::StrCat(
          "authentication failed: check the user name, the password ($PGPASSWORD, ~/.pgpass "
          "or the DSN) and pg_hba.conf\n  ",
          detail));
    case absl::StatusCode::kNotFound:
      return absl::NotFoundError(absl::StrCat("the database does not exist\n  ", detail));
    case absl::StatusCode::kResourceExhausted:
      return absl::ResourceExhaustedError(absl::StrCat(
          "the server has no free connection slot for this role or database (a reaper role "
          "with its own headroom can still log in; see 'aequorctl doctor')\n  ",
          detail));
    case absl::StatusCode::kInvalidArgument:
      return absl::InvalidArgumentError(absl::StrCat("invalid connection settings\n  ", detail));
    default:
      return absl::UnavailableError(absl::StrCat(
          "cannot connect to the server (refused, unreachable, timed out or not ready)\n  ",
          detail));
  }
}

absl::StatusOr<pg::Result> Exec(PGconn* conn, const std::string& sql,
                                const std::vector<std::string>& params, const Redactor& redactor) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  pg::Result r(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
  const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return r;
  const char* sqlstate = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r ? PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  return StatusFromSqlState(
      sqlstate != nullptr ? sqlstate : "",
      redactor.Apply(primary != nullptr ? std::string(primary) : pg::ErrorMessage(conn)),
      absl::StatusCode::kUnavailable);
}

std::string HumanSeconds(double seconds) {
  if (!(seconds >= 1)) return "0s";
  int64_t s = static_cast<int64_t>(std::floor(seconds));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      absl::StrAppend(&line, row[c]);
      if (c + 1 < row.size()) line.append(widths[c] - row[c].size() + 2, ' ');
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

std::string JsonNumber(double value, int decimals) {
  if (!std::isfinite(value)) return "null";
  return absl::StrFormat("%.*f", decimals, value);
}

}  // namespace cli
}  // namespace aequor
