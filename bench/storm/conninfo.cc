#include "bench/storm/conninfo.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace aequor {
namespace storm {

absl::StatusOr<std::map<std::string, std::string>> ParseConninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    return absl::InvalidArgumentError(std::string(absl::StripTrailingAsciiWhitespace(message)));
  }
  std::map<std::string, std::string> out;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') out[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return out;
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" ||
         absl::StartsWith(host, "127.");
}

absl::Status CheckLoopback(const std::string& conninfo) {
  absl::StatusOr<std::map<std::string, std::string>> kv = ParseConninfo(conninfo);
  if (!kv.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid conninfo or URI: ", kv.status().message()));
  }
  std::string host;
  if (auto it = kv->find("hostaddr"); it != kv->end()) {
    host = it->second;
  } else if (auto it2 = kv->find("host"); it2 != kv->end()) {
    host = it2->second;
  } else if (const char* env = std::getenv("PGHOST"); env != nullptr) {
    host = env;
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        "needs host=127.0.0.1 (or localhost, ::1): the fleet connects over TCP loopback so that "
        "backends can be attributed by client port");
  }
  if (!IsLoopbackHost(host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("host '", host,
                     "' is not loopback; the storm exhausts and kills connections, so it only "
                     "runs against 127.0.0.1, localhost or ::1"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> LibpqEnvironmentFor(
    const std::string& conninfo) {
  absl::StatusOr<std::map<std::string, std::string>> kv = ParseConninfo(conninfo);
  if (!kv.ok()) return kv.status();
  PQconninfoOption* defaults = PQconndefaults();
  if (defaults == nullptr) return absl::ResourceExhaustedError("PQconndefaults: out of memory");
  std::map<std::string, std::string> env;
  for (PQconninfoOption* d = defaults; d->keyword != nullptr; ++d) {
    if (d->envvar == nullptr || std::strcmp(d->keyword, "application_name") == 0) continue;
    if (auto it = kv->find(d->keyword); it != kv->end()) {
      env[d->envvar] = it->second;
    } else if (const char* value = std::getenv(d->envvar); value != nullptr) {
      env[d->envvar] = value;
    }
  }
  PQconninfoFree(defaults);
  return env;
}

std::map<std::string, std::string> KeywordsForEnvironment(
    const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> keywords;
  PQconninfoOption* defaults = PQconndefaults();
  if (defaults == nullptr) return keywords;
  for (PQconninfoOption* d = defaults; d->keyword != nullptr; ++d) {
    if (d->envvar == nullptr) continue;
    if (auto it = env.find(d->envvar); it != env.end()) keywords[d->keyword] = it->second;
  }
  PQconninfoFree(defaults);
  return keywords;
}

}  // namespace storm
}  // namespace aequor
