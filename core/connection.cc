#include "core/connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/connect_error.h"

namespace aequor {
namespace {

// The largest int libpq reads for a keyword and PostgreSQL takes for an
// integer setting.
constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();

// `d` in whole `unit`s, rounded up and saturated to [1, INT_MAX]: a value
// libpq and the server take, whatever `d` is (negative, zero, infinite).
// ValidateOptions keeps options within range; this only makes sure that
// options it never saw cannot overflow (static_cast<int64_t> of
// std::ceil(inf) is undefined).
int64_t WholeUnits(absl::Duration d, absl::Duration unit) {
  if (d <= unit) return 1;
  if (d >= unit * kMaxInt) return kMaxInt;
  absl::Duration rest;
  const int64_t whole = absl::IDivDuration(d, unit, &rest);
  return rest > absl::ZeroDuration() ? whole + 1 : whole;
}

int64_t WholeSeconds(absl::Duration d) { return WholeUnits(d, absl::Seconds(1)); }
int64_t WholeMilliseconds(absl::Duration d) { return WholeUnits(d, absl::Milliseconds(1)); }

}  // namespace

std::string ConnectTimeoutText(const ManagerOptions& o) {
  return absl::StrCat(WholeSeconds(o.connect_timeout));
}

bool UserSetsConnectTimeout(const std::string& conninfo) {
  if (const char* env = std::getenv("PGCONNECT_TIMEOUT"); env != nullptr && env[0] != '\0') {
    return true;
  }
  if (conninfo.empty()) return false;
  bool set = false;
  if (PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), nullptr)) {
    for (PQconninfoOption* opt = parsed; opt->keyword != nullptr; ++opt) {
      if (std::string(opt->keyword) == "connect_timeout" && opt->val != nullptr &&
          opt->val[0] != '\0') {
        set = true;
      }
    }
    PQconninfoFree(parsed);
  }
  return set;
}

std::string ConnectTimeoutWithin(absl::Duration connect_timeout, absl::Duration left) {
  return absl::StrCat(WholeSeconds(std::min(connect_timeout, left)));
}

std::string AttemptConnectTimeout(const ConnectSpec& spec, absl::Duration left) {
  if (spec.connect_timeout <= absl::ZeroDuration()) return std::string();
  return ConnectTimeoutWithin(spec.connect_timeout, left);
}

ConnectSpec ConnectSpecFrom(const ManagerOptions& o, std::string startup_options) {
  ConnectSpec spec;
  spec.conninfo = o.conninfo;
  if (!UserSetsConnectTimeout(o.conninfo)) spec.connect_timeout = o.connect_timeout;
  spec.startup_options = std::move(startup_options);
  // The client's side of a dead peer: without these a statement on a
  // connection whose server vanished waits for the kernel's defaults
  // (about two hours of keepalive silence, fifteen minutes of
  // retransmissions). A call's deadline bounds it anyway; these let the
  // kernel notice an idle connection's loss too.
  std::vector<std::pair<std::string, std::string>> wanted;
  if (o.client_keepalives) {
    wanted = {{"keepalives", "1"},
              {"keepalives_idle", absl::StrCat(WholeSeconds(o.keepalives_idle))},
              {"keepalives_interval", absl::StrCat(WholeSeconds(o.keepalives_interval))},
              {"keepalives_count", absl::StrCat(o.keepalives_count)}};
  }
  if (o.tcp_user_timeout > absl::ZeroDuration()) {
    wanted.emplace_back("tcp_user_timeout", absl::StrCat(WholeMilliseconds(o.tcp_user_timeout)));
  }
  std::vector<std::string> users;
  if (!o.conninfo.empty()) {
    if (PQconninfoOption* parsed = PQconninfoParse(o.conninfo.c_str(), nullptr)) {
      for (PQconninfoOption* opt = parsed; opt->keyword != nullptr; ++opt) {
        if (opt->val != nullptr && opt->val[0] != '\0') users.emplace_back(opt->keyword);
      }
      PQconninfoFree(parsed);
    }
  }
  for (auto& [keyword, value] : wanted) {
    if (std::find(users.begin(), users.end(), keyword) == users.end()) {
      spec.socket_settings.emplace_back(keyword, std::move(value));
    }
  }
  return spec;
}

std::string BuildStartupOptions(const ManagerOptions& o) {
  std::vector<std::string> parts;
  // The server refuses the connection for a setting outside 1 .. INT_MAX;
  // WholeMilliseconds and WholeSeconds saturate into that range.
  if (o.idle_in_transaction_timeout > absl::ZeroDuration()) {
    parts.push_back(absl::StrCat("-c idle_in_transaction_session_timeout=",
                                 WholeMilliseconds(o.idle_in_transaction_timeout)));
  }
  if (o.idle_session_timeout > absl::ZeroDuration()) {
    parts.push_back(
        absl::StrCat("-c idle_session_timeout=", WholeMilliseconds(o.idle_session_timeout)));
  }
  if (o.server_keepalives) {
    parts.push_back(absl::StrCat(
        "-c tcp_keepalives_idle=", WholeSeconds(o.keepalives_idle), " -c tcp_keepalives_interval=",
        WholeSeconds(o.keepalives_interval), " -c tcp_keepalives_count=", o.keepalives_count));
  }
  // The user's own options come last so that their settings win. libpq takes
  // them from the conninfo, else from $PGOPTIONS; giving `options` ourselves
  // would hide both, so both are carried over.
  std::string user;
  if (!o.conninfo.empty()) {
    if (PQconninfoOption* parsed = PQconninfoParse(o.conninfo.c_str(), nullptr)) {
      for (PQconninfoOption* opt = parsed; opt->keyword != nullptr; ++opt) {
        if (std::string(opt->keyword) == "options" && opt->val != nullptr) user = opt->val;
      }
      PQconninfoFree(parsed);
    }
  }
  if (user.empty()) {
    if (const char* env = std::getenv("PGOPTIONS")) user = env;
  }
  if (!user.empty()) parts.push_back(user);
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const ConnectSpec& spec,
                                                             const std::string& lease,
                                                             absl::Duration left) {
  // The user's conninfo comes first and is expanded (expand_dbname = 1); the
  // entries after it override what it says, so the lease wins over any
  // application_name the user gave (and only settings the user did not give
  // are added).
  constexpr int kMax = 5 + 8;
  const char* keywords[kMax];
  const char* values[kMax];
  int n = 0;
  if (!spec.conninfo.empty()) {
    keywords[n] = "dbname";
    values[n++] = spec.conninfo.c_str();
  }
  const std::string timeout = AttemptConnectTimeout(spec, left);
  if (!timeout.empty()) {
    keywords[n] = "connect_timeout";
    values[n++] = timeout.c_str();
  }
  for (const auto& [keyword, value] : spec.socket_settings) {
    if (n + 4 >= kMax) break;
    keywords[n] = keyword.c_str();
    values[n++] = value.c_str();
  }
  if (!spec.startup_options.empty()) {
    keywords[n] = "options";
    values[n++] = spec.startup_options.c_str();
  }
  if (!lease.empty()) {
    keywords[n] = "application_name";
    values[n++] = lease.c_str();
  }
  keywords[n] = nullptr;
  values[n] = nullptr;
  pg::Conn conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("connect failed: libpq could not allocate a connection");
  }
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return ConnectFailureStatus(spec.conninfo, pg::ErrorMessage(conn.get()));
  }
  return std::unique_ptr<Connection>(new Connection(std::move(conn)));
}

Connection::Connection(pg::Conn conn) : conn_(std::move(conn)) {
  // libpq's default notice processor prints to the host's stderr; keep the
  // server's last word instead (e.g. the FATAL sent before it closed an idle
  // connection) for the client_dead event.
  PQsetNoticeProcessor(conn_.get(), &Connection::OnNotice, this);
}

void Connection::OnNotice(void* self, const char* message) {
  // Called by libpq inside a call on this connection, by its owner.
  static_cast<Connection*>(self)->last_notice_ =
      std::string(absl::StripTrailingAsciiWhitespace(message != nullptr ? message : ""));
}

bool Connection::LooksDead() {
  if (!ok()) return true;
  const int fd = PQsocket(conn_.get());
  if (fd < 0) return true;
  // A server that closes an idle connection first writes a FATAL message,
  // then closes the socket, and the close can come a few milliseconds later
  // (see docs/POSTGRES_FACTS.md). PQconsumeInput hands that message, read
  // while no query is running, to the notice processor (OnNotice) and may
  // still leave CONNECTION_OK; a later call sees the end of the stream. So a
  // FATAL notice is as good as the close itself: nothing may be sent then.
  last_notice_.clear();
  for (int i = 0; i < 4; ++i) {
    struct pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    if (!PQconsumeInput(conn_.get()) || !ok()) return true;
    if (absl::StartsWith(last_notice_, "FATAL") || absl::StartsWith(last_notice_, "PANIC")) {
      return true;
    }
    while (PGnotify* n = PQnotifies(conn_.get())) PQfreemem(n);
  }
  return !ok();
}

}  // namespace aequor
