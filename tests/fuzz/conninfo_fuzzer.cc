// Fuzz target: the conninfo and option handling, the text a user's conninfo
// (with its password) goes through before and while connecting:
// ValidateOptions (api/options.h), the builder's syntax check (CheckConninfo) with
// ConninfoParseErrorText (composition/builder.cc, aequorctl --dsn),
// UserSetsConnectTimeout, BuildStartupOptions and ConnectSpecFrom
// (core/connection.h), and ConnectFailureStatus (core/connect_error.h) of
// what libpq says when the connection is then opened.
//
// Input lines:
//   0  the conninfo text before the password (a URI's user name)
//   1  the password
//   2  the conninfo text after it
//   3  bytes: the first picks the form (below), the rest the ManagerOptions
//      values (durations from zero to infinite, counts, the threshold, the
//      switches) and the time left of the call that connects (0 up to the
//      connect budget)
//   4  the coordination secret (and a previous secret: its first half)
// Forms: 0 `<before> password=<password> <after>`, 1 the same with the
// password in single quotes, 2 `postgresql://<before>:<password>@<after>`
// (with '@', '/', ':', '?' and '#' taken out of the user name).
//
// Opening the connection: the conninfo's options as libpq parsed them, with
// the host replaced by as many Unix-socket directories that do not exist (so
// nothing is resolved or sent anywhere; hostaddr and file paths left out),
// and connect_timeout, the socket settings and options as Connection::Open
// adds them. libpq then
// checks every option and fails at once.
//
// Checks:
//   - no status message (the syntax error, the connect failure) carries a
//     piece of the password (see password_leak.h); ValidateOptions' message
//     is the same whatever the secret's bytes (it may give its length only);
//   - ValidateOptions: options it accepts meet every REQUIRES of
//     api/options.h;
//   - UserSetsConnectTimeout is true exactly when libpq's parse of the
//     conninfo has a non-empty connect_timeout; ConnectSpecFrom keeps the
//     conninfo and startup options, takes the manager's connect_timeout only
//     when the user gave none, and adds only socket settings the user did
//     not give, each an int libpq takes; AttemptConnectTimeout is that
//     timeout or the time left, whichever is shorter, in whole seconds
//     rounded up (at least 1), an int libpq takes, "" when the user's wins;
//   - BuildStartupOptions ends with the conninfo's own `options`, and every
//     setting it adds is within the range PostgreSQL accepts (1 .. INT_MAX),
//     so that options Build() accepts never make every connect fail;
//   - ConnectFailureStatus of any text is "connect failed: " + the text.
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/lease.h"
#include "api/options.h"
#include "api/secret.h"
#include "core/connect_error.h"
#include "core/connection.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/password_leak.h"
#include "util/pg.h"

namespace aequor {
namespace fuzz {
namespace {

constexpr char kNowhere[] = "/nonexistent-aequor-fuzz";

// --- ManagerOptions from bytes -------------------------------------------

absl::Duration DurationFrom(ByteReader& bytes, absl::Duration default_value) {
  const uint8_t how = bytes.Byte();
  switch (how % 8) {
    case 0: return default_value;
    case 1: return absl::Milliseconds(bytes.Bits(2));
    case 2: return absl::Seconds(bytes.Bits(2));
    case 3: return absl::Hours(bytes.Bits(1));
    case 4: return -absl::Milliseconds(bytes.Bits(2));
    case 5: return (how & 8) != 0 ? -absl::InfiniteDuration() : absl::InfiniteDuration();
    case 6: return absl::Milliseconds(bytes.Int64());
    default: return absl::Nanoseconds(bytes.Bits(4));
  }
}

int IntFrom(ByteReader& bytes, int default_value) {
  const uint8_t how = bytes.Byte();
  switch (how % 4) {
    case 0: return default_value;
    case 1: return bytes.Byte();
    case 2: return static_cast<int>(static_cast<uint32_t>(bytes.Bits(4)));
    default: return -static_cast<int>(bytes.Byte());
  }
}

double DoubleFrom(ByteReader& bytes, double default_value) {
  const uint8_t how = bytes.Byte();
  switch (how % 4) {
    case 0: return default_value;
    case 1: return bytes.Byte() / 100.0;
    case 2: {
      const uint64_t bits = bytes.Bits(8);
      double v;
      std::memcpy(&v, &bits, sizeof(v));
      return v;  // NaN and infinities included
    }
    default: return -bytes.Byte() / 100.0;
  }
}

void FillOptions(ByteReader& bytes, ManagerOptions& o) {
  for (absl::Duration* d : {&o.lease_ttl,
                            &o.lease_renew_before,
                            &o.lease_block_before,
                            &o.lease_renew_timeout,
                            &o.reap_min_idle,
                            &o.reap_idle_in_transaction_after,
                            &o.reap_clock_skew,
                            &o.reap_statement_timeout,
                            &o.reap_lock_timeout,
                            &o.invocation_gap,
                            &o.thaw_check_after,
                            &o.idle_in_transaction_timeout,
                            &o.idle_session_timeout,
                            &o.keepalives_idle,
                            &o.keepalives_interval,
                            &o.tcp_user_timeout,
                            &o.connect_budget,
                            &o.query_budget,
                            &o.cancel_timeout,
                            &o.connect_timeout,
                            &o.exporter_interval}) {
    *d = DurationFrom(bytes, *d);
  }
  o.reap_max_kills = IntFrom(bytes, o.reap_max_kills);
  o.keepalives_count = IntFrom(bytes, o.keepalives_count);
  o.exporter_queue_capacity = IntFrom(bytes, o.exporter_queue_capacity);
  o.reap_pressure_threshold = DoubleFrom(bytes, o.reap_pressure_threshold);
  const uint8_t flags = bytes.Byte();
  o.server_keepalives = (flags & 1) != 0;
  o.client_keepalives = (flags & 2) == 0;
}

void CheckValidOptions(const ManagerOptions& o) {
  const absl::Duration zero = absl::ZeroDuration();
  FUZZ_CHECK(o.lease_ttl >= absl::Seconds(1) && o.lease_ttl <= absl::Hours(24), "lease_ttl");
  FUZZ_CHECK(o.lease_renew_before < o.lease_ttl, "lease_renew_before >= lease_ttl");
  FUZZ_CHECK(o.lease_block_before > zero && o.lease_block_before < o.lease_renew_before,
             "lease_block_before");
  FUZZ_CHECK(o.lease_renew_timeout > zero, "lease_renew_timeout");
  FUZZ_CHECK(o.reap_min_idle >= zero, "reap_min_idle");
  FUZZ_CHECK(o.reap_max_kills >= 1 && o.reap_max_kills <= 1000, "reap_max_kills");
  FUZZ_CHECK(o.reap_idle_in_transaction_after == zero ||
                 o.reap_idle_in_transaction_after >= o.reap_min_idle,
             "reap_idle_in_transaction_after");
  FUZZ_CHECK(o.reap_clock_skew >= zero && o.invocation_gap >= zero && o.thaw_check_after >= zero,
             "a duration that must not be negative");
  FUZZ_CHECK(o.reap_clock_skew <= absl::Hours(24), "reap_clock_skew");
  const absl::Duration int_max_ms = absl::Milliseconds(std::numeric_limits<int32_t>::max());
  for (absl::Duration server_setting : {o.reap_statement_timeout, o.reap_lock_timeout}) {
    FUZZ_CHECK(server_setting >= absl::Milliseconds(1) && server_setting <= int_max_ms,
               "a reaper timeout outside 1 ms .. INT_MAX ms: " << server_setting);
  }
  for (absl::Duration off_or_setting : {o.idle_in_transaction_timeout, o.idle_session_timeout}) {
    FUZZ_CHECK(off_or_setting == zero ||
                   (off_or_setting >= absl::Milliseconds(1) && off_or_setting <= int_max_ms),
               "an idle timeout outside 0 or 1 ms .. INT_MAX ms: " << off_or_setting);
  }
  FUZZ_CHECK(o.reap_pressure_threshold > 0 && o.reap_pressure_threshold <= 1,
             "reap_pressure_threshold " << o.reap_pressure_threshold);
  if (o.server_keepalives || o.client_keepalives) {
    FUZZ_CHECK(o.keepalives_idle >= absl::Seconds(1) && o.keepalives_interval >= absl::Seconds(1) &&
                   o.keepalives_idle <= absl::Seconds(32767) &&
                   o.keepalives_interval <= absl::Seconds(32767) && o.keepalives_count >= 1 &&
                   o.keepalives_count <= 100,
               "keepalives");
  }
  FUZZ_CHECK(o.tcp_user_timeout == zero || (o.tcp_user_timeout >= absl::Milliseconds(1) &&
                                            o.tcp_user_timeout <= absl::Hours(1)),
             "tcp_user_timeout");
  FUZZ_CHECK(o.cancel_timeout >= absl::Milliseconds(1) && o.cancel_timeout <= absl::Seconds(60),
             "cancel_timeout");
  FUZZ_CHECK(o.connect_budget > zero && o.query_budget > zero, "a budget");
  FUZZ_CHECK(o.connect_timeout >= absl::Seconds(2) && o.connect_timeout <= o.connect_budget &&
                 o.connect_timeout <= absl::Seconds(std::numeric_limits<int32_t>::max()),
             "connect_timeout");
  FUZZ_CHECK(o.exporter_queue_capacity >= 1 && o.exporter_queue_capacity <= 1000000,
             "exporter_queue_capacity");
  FUZZ_CHECK(o.exporter_interval >= absl::Milliseconds(10) && o.exporter_interval <= absl::Hours(1),
             "exporter_interval");
  FUZZ_CHECK(o.coordination_secret.empty() || o.coordination_secret.size() >= kMinSecretBytes,
             "coordination_secret");
}

// --- libpq ---------------------------------------------------------------

// libpq's parse of `conninfo`: the options with a value, or the error text.
struct Parsed {
  bool ok = false;
  std::string error;
  std::vector<std::pair<std::string, std::string>> options;
  std::string Get(absl::string_view keyword) const {
    for (const auto& [k, v] : options) {
      if (k == keyword) return v;
    }
    return "";
  }
};

Parsed Parse(const std::string& conninfo) {
  Parsed out;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    out.error = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    return out;
  }
  out.ok = true;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) out.options.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(options);
  return out;
}

// libpq's message for opening `parsed` (see the file comment), or "" if it
// did not fail at once.
std::string OpenMessage(const Parsed& parsed, const ConnectSpec& spec,
                        const std::string& attempt_timeout) {
  static const auto* const kLeftOut = new std::vector<absl::string_view>{
      "host", "hostaddr", "passfile", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir"};
  std::vector<std::pair<std::string, std::string>> entries;
  size_t hosts = 1;
  for (const auto& [keyword, value] : parsed.options) {
    if (keyword == "host" || keyword == "hostaddr") {
      hosts = std::max<size_t>(hosts, std::count(value.begin(), value.end(), ',') + 1);
    }
    if (std::find(kLeftOut->begin(), kLeftOut->end(), keyword) != kLeftOut->end()) continue;
    entries.emplace_back(keyword, value);
  }
  std::vector<std::string> nowhere(hosts, kNowhere);
  entries.emplace_back("host", absl::StrJoin(nowhere, ","));
  if (!attempt_timeout.empty()) entries.emplace_back("connect_timeout", attempt_timeout);
  for (const auto& setting : spec.socket_settings) entries.push_back(setting);
  if (!spec.startup_options.empty()) entries.emplace_back("options", spec.startup_options);
  entries.emplace_back("application_name", "s=fuzz;i=AbCdEfGh;e=1767225600000;g=jqYuPhbNIxo");

  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [k, v] : entries) {
    keywords.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  const pg::Conn conn(PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/0));
  if (conn == nullptr) return "";
  // A socket directory that does not exist fails within the first polls.
  for (int i = 0;
       i < 8 && PQstatus(conn.get()) != CONNECTION_BAD && PQstatus(conn.get()) != CONNECTION_OK;
       ++i) {
    if (PQconnectPoll(conn.get()) == PGRES_POLLING_FAILED) break;
  }
  // As Connection::Open reads it.
  return PQstatus(conn.get()) == CONNECTION_BAD ? pg::ErrorMessage(conn.get()) : "";
}

// --- the steps -----------------------------------------------------------

// The messages one conninfo produces, step by step ("" where a step produced
// none), to compare a run with the password against one with it rotated.
struct Messages {
  std::string syntax;   // Build()'s InvalidArgument for a conninfo that does not parse
  std::string connect;  // ConnectFailureStatus of libpq's message when opening
};

std::string StatusText(const absl::Status& s) { return s.ok() ? "" : s.ToString(); }

void CheckConnectFailureStatus(absl::string_view message) {
  const absl::Status status = ConnectFailureStatus(message);
  FUZZ_CHECK(!status.ok(), "ConnectFailureStatus is OK");
  FUZZ_CHECK(status.message() == absl::StrCat("connect failed: ", message),
             "ConnectFailureStatus changed the text: " << status.message());
}

// A value libpq reads as an int (parse_int_param): digits within int's range.
void CheckLibpqInt(absl::string_view keyword, const std::string& value) {
  int64_t v = 0;
  FUZZ_CHECK(absl::SimpleAtoi(value, &v) && v >= 0 && v <= std::numeric_limits<int32_t>::max(),
             keyword << "=" << value << " is not an int libpq takes");
}

void CheckStartupOptions(const std::string& startup, const Parsed& parsed,
                         const ManagerOptions& o) {
  const std::string user = parsed.Get("options");
  if (!user.empty()) {
    FUZZ_CHECK(absl::EndsWith(startup, user),
               "the user's options '" << user << "' are not last in '" << startup << "'");
  }
  // The settings we add come first: "-c name=value" each.
  absl::string_view ours(startup);
  if (!user.empty()) ours.remove_suffix(user.size());
  for (absl::string_view setting : absl::StrSplit(ours, "-c ", absl::SkipEmpty())) {
    setting = absl::StripAsciiWhitespace(setting);
    const size_t eq = setting.find('=');
    FUZZ_CHECK(eq != absl::string_view::npos, "a startup setting without '=': " << setting);
    int64_t value = 0;
    FUZZ_CHECK(absl::SimpleAtoi(setting.substr(eq + 1), &value) && value >= 1 &&
                   value <= std::numeric_limits<int32_t>::max(),
               "startup setting '"
                   << setting << "' is outside PostgreSQL's range (1 .. INT_MAX); "
                   << "idle_in_transaction_timeout=" << o.idle_in_transaction_timeout
                   << " idle_session_timeout=" << o.idle_session_timeout << " keepalives_idle="
                   << o.keepalives_idle << " keepalives_interval=" << o.keepalives_interval
                   << " keepalives_count=" << o.keepalives_count);
  }
}

Messages Run(const std::string& conninfo, ManagerOptions o, absl::Duration left) {
  Messages out;
  o.conninfo = conninfo;
  const Parsed parsed = Parse(conninfo);
  // As ConnectionManagerBuilder::Build() checks it (and aequorctl --dsn).
  const absl::Status syntax = CheckConninfo(conninfo);
  if (!parsed.ok) {
    FUZZ_CHECK(!syntax.ok() && syntax.message() ==
                                   ConninfoParseErrorText(
                                       conninfo, absl::StripTrailingAsciiWhitespace(parsed.error)),
               "CheckConninfo is not libpq's parse error, redacted: " << syntax);
  }
  if (!syntax.ok()) {
    FUZZ_CHECK(syntax.code() == absl::StatusCode::kInvalidArgument, "CheckConninfo: " << syntax);
    out.syntax =
        StatusText(absl::InvalidArgumentError(absl::StrCat("conninfo: ", syntax.message())));
    return out;
  }
  const bool user_timeout = !parsed.Get("connect_timeout").empty();
  FUZZ_CHECK(UserSetsConnectTimeout(conninfo) == user_timeout,
             "UserSetsConnectTimeout is " << !user_timeout << " for a conninfo whose "
                                          << "connect_timeout is '" << parsed.Get("connect_timeout")
                                          << "'");
  // Connection::Open runs only with options Build() accepted; else defaults.
  if (!ValidateOptions(o).ok()) {
    ManagerOptions defaults;
    defaults.conninfo = conninfo;
    o = defaults;
  }
  const std::string startup = BuildStartupOptions(o);
  CheckStartupOptions(startup, parsed, o);
  const ConnectSpec spec = ConnectSpecFrom(o, startup);
  FUZZ_CHECK(spec.conninfo == conninfo && spec.startup_options == startup,
             "ConnectSpecFrom changed the conninfo or the startup options");
  FUZZ_CHECK(spec.connect_timeout == (user_timeout ? absl::ZeroDuration() : o.connect_timeout),
             "ConnectSpecFrom's connect_timeout is " << spec.connect_timeout << " (the user's "
                                                     << (user_timeout ? "" : "not ") << "set)");
  for (const auto& [keyword, value] : spec.socket_settings) {
    FUZZ_CHECK(parsed.Get(keyword).empty(), "the user's " << keyword << " is overridden");
    CheckLibpqInt(keyword, value);
  }
  const std::string attempt = AttemptConnectTimeout(spec, left);
  if (user_timeout) {
    FUZZ_CHECK(attempt.empty(), "the user's connect_timeout is overridden by " << attempt);
  } else {
    CheckLibpqInt("connect_timeout", attempt);
    int64_t seconds = 0;
    FUZZ_CHECK(absl::SimpleAtoi(attempt, &seconds) && seconds >= 1 &&
                   (absl::Seconds(seconds) >= std::min(o.connect_timeout, left)) &&
                   (seconds == 1 || absl::Seconds(seconds - 1) < std::min(o.connect_timeout, left)),
               "connect_timeout '" << attempt << "' for " << o.connect_timeout << " with " << left
                                   << " left");
  }
  const std::string libpq_message = OpenMessage(parsed, spec, attempt);
  if (!libpq_message.empty()) {
    // As Connection::Open reports it.
    const std::string shown = ConnectFailureText(conninfo, libpq_message);
    out.connect = StatusText(ConnectFailureStatus(conninfo, libpq_message));
    CheckConnectFailureStatus(shown);
    FUZZ_CHECK(out.connect == StatusText(ConnectFailureStatus(shown)),
               "ConnectFailureStatus(conninfo, message) is not that of ConnectFailureText");
  }
  return out;
}

std::string Conninfo(int form, absl::string_view before, absl::string_view password,
                     absl::string_view after) {
  switch (form) {
    case 0: return absl::StrCat(before, " password=", password, " ", after);
    case 1: return absl::StrCat(before, " password='", password, "' ", after);
    default: {
      std::string user(before);
      user.erase(
          std::remove_if(
              user.begin(), user.end(),
              [](char c) { return absl::string_view("@/:?#").find(c) != absl::string_view::npos; }),
          user.end());
      return absl::StrCat("postgresql://", user, ":", password, "@", after);
    }
  }
}

void CheckValidateOptions(ManagerOptions o, absl::string_view secret) {
  if (!secret.empty()) {
    o.coordination_secret = Secret(std::string(secret));
    o.previous_secrets = {Secret(std::string(secret.substr(0, secret.size() / 2)))};
  }
  const absl::Status status = ValidateOptions(o);
  if (status.ok()) {
    CheckValidOptions(o);
    return;
  }
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, "ValidateOptions: " << status);
  if (secret.empty()) return;
  const std::string rotated = RotatePassword(secret);
  o.coordination_secret = Secret(rotated);
  o.previous_secrets = {Secret(rotated.substr(0, rotated.size() / 2))};
  const absl::Status again = ValidateOptions(o);
  FUZZ_CHECK(again == status, "ValidateOptions' message depends on the secret's bytes: '"
                                  << status.message() << "' and '" << again.message() << "'");
}

// `message` with the digits of libpq's own fixed texts masked: "%00" of
// `forbidden value %00`, and the numbers libpq counts (`at position 116`,
// `line 3`, `(maximum 107 bytes)`). A password's digits that happen to
// match them are no leak, and the rotated run (a different message) would
// otherwise count them as one (a false finding of the long run).
std::string WithoutLibpqsNumbers(std::string message) {
  message = absl::StrReplaceAll(message, {{"%00", "%NUL"}});
  for (const std::string counted : {"at position ", "line ", "(maximum "}) {
    for (size_t at = message.find(counted); at != std::string::npos;
         at = message.find(counted, at + 1)) {
      size_t digits = at + counted.size();
      size_t end = digits;
      while (end < message.size() &&
             absl::ascii_isdigit(static_cast<unsigned char>(message[end]))) {
        ++end;
      }
      message.replace(digits, end - digits, "#");
    }
  }
  return message;
}

// The text of `m` that must carry no piece of the password. In the keyword
// forms, "connection to server ..." lines are left out: they name the host
// and port libpq used, and `password=correct port=5432` (a password that
// was meant to hold a space) is, for libpq and for anyone, a conninfo that
// sets port 5432; core/connect_error.h keeps those lines whole on purpose
// (docs/RELIABILITY.md, "What an error may quote"). In a URI the password
// cannot reach them (CheckConninfo refuses the '/' that made it the port).
std::string Checked(int form, const Messages& m) {
  std::string connect;
  for (absl::string_view line : absl::StrSplit(m.connect, '\n')) {
    // The first line follows the status's "INVALID_ARGUMENT: connect failed: ".
    const size_t prefix = line.find("connect failed: ");
    const absl::string_view text =
        prefix == absl::string_view::npos ? line : line.substr(prefix + 16);
    if (form != 2 && absl::StartsWith(text, "connection to server ")) continue;
    absl::StrAppend(&connect, line, "\n");
  }
  return WithoutLibpqsNumbers(absl::StrCat(m.syntax, "\n", connect));
}

// `text` without NUL bytes: a conninfo is a C string, and a NUL would cut
// it where the fuzzer meant text to follow.
std::string WithoutNul(absl::string_view text) {
  std::string out(text);
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  return out;
}

void TestOneInput(const uint8_t* data, size_t size) {
  const FuzzInput in(data, size);
  const std::string before = WithoutNul(in.Line(0));
  const std::string password = WithoutNul(in.Line(1));
  const std::string after = WithoutNul(in.Line(2));
  ByteReader bytes(in.Line(3));
  const int form = bytes.Byte() % 3;
  ManagerOptions options;
  FillOptions(bytes, options);

  CheckValidateOptions(options, in.Line(4));
  CheckConnectFailureStatus(in.text());

  // What a connecting call has left: between nothing and the connect budget.
  const absl::Duration left =
      std::clamp(DurationFrom(bytes, options.connect_budget), absl::ZeroDuration(),
                 std::max(options.connect_budget, absl::ZeroDuration()));
  const Messages plain = Run(Conninfo(form, before, password, after), options, left);
  const PasswordProbe probe(password, {before, after});
  const std::string mine = Checked(form, plain);
  if (!probe.Mentions(mine)) return;
  const Messages other =
      Run(Conninfo(form, before, RotatePassword(password), after), options, left);
  const std::string leak = probe.Leak(mine, Checked(form, other));
  FUZZ_CHECK(leak.empty(), leak);
}

}  // namespace
}  // namespace fuzz
}  // namespace aequor

// Nothing from the environment: no PG* variable, no service or password file.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::vector<std::string> names;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    if (absl::StartsWith(entry, "PG")) names.emplace_back(entry.substr(0, entry.find('=')));
  }
  for (const std::string& name : names) unsetenv(name.c_str());
  setenv("PGSYSCONFDIR", aequor::fuzz::kNowhere, 1);
  setenv("PGSERVICEFILE", "/nonexistent-aequor-fuzz/pg_service.conf", 1);
  setenv("PGPASSFILE", "/nonexistent-aequor-fuzz/pgpass", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  aequor::fuzz::TestOneInput(data, size);
  return 0;
}
