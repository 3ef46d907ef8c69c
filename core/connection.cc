#include "core/connection.h"

#include <poll.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/connect_error.h"

namespace aequor {
namespace {

int64_t WholeSeconds(absl::Duration d) {
  return static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(d)));
}

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

ConnectSpec ConnectSpecFrom(const ManagerOptions& o, std::string startup_options) {
  return ConnectSpec{o.conninfo,
                     UserSetsConnectTimeout(o.conninfo) ? std::string() : ConnectTimeoutText(o),
                     std::move(startup_options)};
}

std::string BuildStartupOptions(const ManagerOptions& o) {
  std::vector<std::string> parts;
  auto ms = [](absl::Duration d) { return absl::ToInt64Milliseconds(d); };
  if (o.idle_in_transaction_timeout > absl::ZeroDuration()) {
    parts.push_back(
        absl::StrCat("-c idle_in_transaction_session_timeout=", ms(o.idle_in_transaction_timeout)));
  }
  if (o.idle_session_timeout > absl::ZeroDuration()) {
    parts.push_back(absl::StrCat("-c idle_session_timeout=", ms(o.idle_session_timeout)));
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
                                                             const std::string& lease) {
  // The user's conninfo comes first and is expanded (expand_dbname = 1); the
  // entries after it override what it says, so the lease wins over any
  // application_name the user gave.
  const char* keywords[5];
  const char* values[5];
  int n = 0;
  if (!spec.conninfo.empty()) {
    keywords[n] = "dbname";
    values[n++] = spec.conninfo.c_str();
  }
  if (!spec.connect_timeout_seconds.empty()) {
    keywords[n] = "connect_timeout";
    values[n++] = spec.connect_timeout_seconds.c_str();
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
    return ConnectFailureStatus(pg::ErrorMessage(conn.get()));
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
