#include "core/connect_error.h"

#include <algorithm>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/errors.h"

namespace aequor {
namespace {

bool HoldsPassword(absl::string_view conninfo) {
  const std::string lower = absl::AsciiStrToLower(conninfo);
  if (absl::StrContains(lower, "password")) return true;
  // postgresql://user:password@host or postgres://...
  const size_t scheme = lower.find("://");
  if (scheme == std::string::npos) return false;
  const absl::string_view rest = absl::string_view(lower).substr(scheme + 3);
  const size_t at = rest.find('@');
  return at != absl::string_view::npos && rest.substr(0, at).find(':') != absl::string_view::npos;
}

// libpq's messages that quote text from a conninfo, as libpq 15 prints them
// (fe-connect.c, fe-secure-openssl.c), with a slot for each thing it fills in:
//   {value}   text from the conninfo: never kept
//   {option}  the keyword of `invalid connection option`: kept only when the
//             conninfo holds no password (then it is a typo in a keyword)
//   {name}    libpq's own name for an option: kept when it looks like one
//   {n}       a number libpq counted (a position, a line): kept
//   {c}       one character: kept when it is punctuation
//   {reason}  the system's reason, after ": ": kept
// A message matches a template when its fixed text is all there, in order;
// a slot's text runs to the last place the fixed text after it is found
// (the first for {name} and {option}), so a quote inside a value stays in
// the value.
constexpr absl::string_view kTemplates[] = {
    // Parsing a conninfo (conninfo_parse, conninfo_uri_parse, services).
    R"(missing "=" after "{value}" in connection info string)",
    R"(unterminated quoted string in connection info string)",
    R"(invalid connection option "{option}")",
    R"(invalid URI propagated to internal parser routine: "{value}")",
    R"(end of string reached when looking for matching "]" in IPv6 host address in URI: "{value}")",
    R"(IPv6 host address may not be empty in URI: "{value}")",
    R"(unexpected character "{c}" at position {n} in URI (expected ":" or "/"): "{value}")",
    R"(extra key/value separator "=" in URI query parameter: "{value}")",
    R"(missing key/value separator "=" in URI query parameter: "{value}")",
    R"(invalid URI query parameter: "{value}")",
    R"(invalid percent-encoded token: "{value}")",
    R"(forbidden value %00 in percent-encoded value: "{value}")",
    R"(definition of service "{value}" not found)",
    R"(service file "{value}" not found)",
    R"(syntax error in service file "{value}", line {n})",
    R"(nested service specifications not supported in service file "{value}", line {n})",
    R"(line {n} too long in service file "{value}")",
    // Checking the options before connecting (connectOptions2 and the TLS
    // library's checks).
    R"(invalid integer value "{value}" for connection option "{name}")",
    R"(invalid port number: "{value}")",
    R"(invalid {name} value: "{value}")",
    R"(invalid value "{value}" for minimum SSL protocol version)",
    R"(invalid value "{value}" for maximum SSL protocol version)",
    R"(sslmode value "{value}" invalid when SSL support is not compiled in)",
    R"(gssencmode value "{value}" invalid when GSSAPI support is not compiled in)",
    R"(could not match {n} host names to {n} hostaddr values)",
    R"(could not match {n} port numbers to {n} hosts)",
    R"(could not parse network address "{value}": {reason})",
    // A host name that does not resolve may be a piece of a password that
    // libpq took for one; a host it reached is the one the user meant
    // ("connection to server at ..." lines are kept whole).
    R"(could not translate host name "{value}" to address: {reason})",
    R"(could not translate Unix-domain socket path "{value}" to address: {reason})",
    R"(Unix-domain socket path "{value}" is too long (maximum {n} bytes))",
};

bool LooksLikeOptionName(absl::string_view text) {
  if (text.empty() || text.size() > 40) return false;
  for (char c : text) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

// One piece of a template: fixed text, or a slot (its name, without braces).
struct Piece {
  bool slot = false;
  absl::string_view text;
};

std::vector<Piece> Pieces(absl::string_view tmpl) {
  std::vector<Piece> pieces;
  while (!tmpl.empty()) {
    const size_t open = tmpl.find('{');
    if (open == absl::string_view::npos) {
      pieces.push_back({false, tmpl});
      break;
    }
    if (open > 0) pieces.push_back({false, tmpl.substr(0, open)});
    const size_t close = tmpl.find('}', open);
    pieces.push_back({true, tmpl.substr(open + 1, close - open - 1)});
    tmpl.remove_prefix(close + 1);
  }
  return pieces;
}

// kTemplates in pieces, split once.
const std::vector<std::vector<Piece>>& ParsedTemplates() {
  static const auto* const parsed = [] {
    auto* all = new std::vector<std::vector<Piece>>();
    for (absl::string_view tmpl : kTemplates) all->push_back(Pieces(tmpl));
    return all;
  }();
  return *parsed;
}

// `line` as `pieces` (a template) show it safely, or false when it does not
// match.
bool Render(const std::vector<Piece>& pieces, absl::string_view line, bool password,
            std::string* out) {
  std::string shown;
  size_t at = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& piece = pieces[i];
    if (!piece.slot) {
      if (line.substr(at, piece.text.size()) != piece.text) return false;
      shown.append(piece.text.data(), piece.text.size());
      at += piece.text.size();
      continue;
    }
    const absl::string_view rest = line.substr(at);
    size_t length = 0;
    if (piece.text == "n") {
      while (length < rest.size() &&
             (absl::ascii_isdigit(rest[length]) || (length == 0 && rest[length] == '-'))) {
        ++length;
      }
      if (length == 0) return false;
    } else if (piece.text == "c") {
      if (rest.empty()) return false;
      length = 1;
    } else if (i + 1 == pieces.size()) {
      length = rest.size();
    } else {
      const absl::string_view next = pieces[i + 1].text;  // fixed text: slots never touch
      const bool last_fixed = i + 2 == pieces.size();
      size_t found;
      if (last_fixed) {
        if (!absl::EndsWith(rest, next)) return false;
        found = rest.size() - next.size();
      } else if (piece.text == "name" || piece.text == "option") {
        found = rest.find(next);
      } else {
        found = rest.rfind(next);
      }
      if (found == absl::string_view::npos) return false;
      length = found;
    }
    const absl::string_view text = rest.substr(0, length);
    const bool keep = piece.text == "n" || piece.text == "reason" ||
                      (piece.text == "c" && absl::ascii_ispunct(text[0])) ||
                      (piece.text == "name" && LooksLikeOptionName(text)) ||
                      (piece.text == "option" && !password && LooksLikeOptionName(text));
    absl::StrAppend(&shown, keep ? text : absl::string_view("..."));
    at += length;
  }
  if (at != line.size()) return false;
  *out = std::move(shown);
  return true;
}

// A line no template knows: whatever it quotes, from its first '"' to its
// last, is blanked (a quote inside a value cannot end the blanking early).
std::string BlankQuoted(absl::string_view line) {
  const size_t first = line.find('"');
  if (first == absl::string_view::npos) return std::string(line);
  const size_t last = line.rfind('"');
  if (last == first) return absl::StrCat(line.substr(0, first), "\"...");
  return absl::StrCat(line.substr(0, first), "\"...\"", line.substr(last + 1));
}

std::string SafeLine(absl::string_view line, bool password) {
  std::string out;
  for (const std::vector<Piece>& pieces : ParsedTemplates()) {
    if (Render(pieces, line, password, &out)) return out;
  }
  return BlankQuoted(line);
}

}  // namespace

std::string ConninfoParseErrorText(absl::string_view conninfo, absl::string_view message) {
  const bool password = HoldsPassword(conninfo);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    lines.push_back(SafeLine(line, password));
  }
  return absl::StrJoin(lines, "\n");
}

std::string ConnectFailureText(absl::string_view conninfo, absl::string_view message) {
  if (!HoldsPassword(conninfo)) return std::string(message);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    // A server libpq reached (or tried to reach by its address): the host
    // and port it used and what the server or the system answered.
    if (absl::StartsWith(line, "connection to server ")) {
      lines.emplace_back(line);
    } else {
      lines.push_back(SafeLine(line, /*password=*/true));
    }
  }
  return absl::StrJoin(lines, "\n");
}

absl::Status CheckConninfo(absl::string_view conninfo) {
  const std::string text(conninfo);
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(text.c_str(), &error);
  if (parsed == nullptr) {
    const std::string message = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    return absl::InvalidArgumentError(
        ConninfoParseErrorText(conninfo, absl::StripTrailingAsciiWhitespace(message)));
  }
  PQconninfoFree(parsed);
  // scheme://[user[:password]@]hosts[/dbname][?query], read as libpq reads
  // it: the user:password part ends at the first '@' (if one comes before
  // any '/'), the hosts at the next '/' or '?', the path at '?'.
  const std::string lower = absl::AsciiStrToLower(conninfo);
  for (absl::string_view scheme : {"postgresql://", "postgres://"}) {
    if (!absl::StartsWith(lower, scheme)) continue;
    const absl::string_view rest = conninfo.substr(scheme.size());
    const size_t credentials_end = rest.find_first_of("@/");
    const size_t hosts_start =
        credentials_end != absl::string_view::npos && rest[credentials_end] == '@'
            ? credentials_end + 1
            : 0;
    const size_t hosts_end = rest.find_first_of("/?", hosts_start);
    const absl::string_view hosts = rest.substr(hosts_start, hosts_end - hosts_start);
    // An '@' among the hosts: the password held one, and libpq made its
    // tail the host list.
    if (absl::StrContains(hosts, '@')) {
      return absl::InvalidArgumentError(
          "the URI has more than one '@' before its host: an '@' in the user name or password "
          "must be percent-encoded (%40)");
    }
    if (hosts_end == absl::string_view::npos || rest[hosts_end] != '/') break;
    // An '@' in the path: the password held a '/', where libpq ended the
    // hosts (taking the user name for a host and the password's start for
    // its port).
    const absl::string_view path = rest.substr(hosts_end, rest.find('?', hosts_end) - hosts_end);
    if (absl::StrContains(path, '@')) {
      return absl::InvalidArgumentError(
          "the URI has an '@' after its host part: a '/' in the password must be "
          "percent-encoded (%2F), as must an '@' in the database name (%40)");
    }
    break;
  }
  return absl::OkStatus();
}

absl::Status ConnectFailureStatus(absl::string_view conninfo, absl::string_view message) {
  return ConnectFailureStatus(ConnectFailureText(conninfo, message));
}

absl::Status ConnectFailureStatus(absl::string_view message) {
  struct Rule {
    absl::string_view text;
    absl::string_view sqlstate;
  };
  // Order matters: the first match wins.
  static constexpr Rule kRules[] = {
      {"too many clients already", "53300"},
      {"remaining connection slots are reserved", "53300"},
      {"too many connections for role", "53300"},
      {"too many connections for database", "53300"},
      {"password authentication failed", "28P01"},
      {"no pg_hba.conf entry", "28000"},
      {"authentication failed", "28000"},
      {"no password supplied", "28P01"},
      {"the database system is starting up", "57P03"},
      {"the database system is shutting down", "57P03"},
      {"the database system is in recovery mode", "57P03"},
      {"the database system is not yet accepting connections", "57P03"},
  };
  for (const Rule& rule : kRules) {
    if (absl::StrContains(message, rule.text)) {
      return StatusFromSqlState(rule.sqlstate, absl::StrCat("connect failed: ", message));
    }
  }
  // 'database "x" does not exist' / 'role "x" does not exist'.
  if (absl::StrContains(message, "does not exist")) {
    absl::string_view sqlstate = absl::StrContains(message, "database \"") ? "3D000" : "28000";
    return StatusFromSqlState(sqlstate, absl::StrCat("connect failed: ", message));
  }
  // A conninfo or an option that libpq refuses before it sends anything:
  // no retry can help. (`invalid %s value` covers sslmode, gssencmode,
  // channel_binding, target_session_attrs and the other enumerations.)
  for (absl::string_view refused :
       {"invalid connection option", "invalid URI", "missing \"=\"", "invalid integer value",
        "invalid port number", " value: \"", "invalid value \"", "could not match ",
        "could not parse network address", "in connection info string"}) {
    if (absl::StrContains(message, refused)) {
      return absl::InvalidArgumentError(absl::StrCat("connect failed: ", message));
    }
  }
  // Refused, reset, timed out, unknown host: the network or a server that is
  // not (yet) there. Class 08, no SQLSTATE from libpq.
  return absl::UnavailableError(absl::StrCat("connect failed: ", message));
}

}  // namespace aequor
