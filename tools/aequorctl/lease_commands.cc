#include "tools/aequorctl/lease_commands.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "nlohmann/json.hpp"
#include "tools/aequorctl/flags.h"
#include "tools/aequorctl/help.h"
#include "tools/aequorctl/secret_state.h"

namespace aequor {
namespace cli {
namespace {

constexpr char kSign[] = "aequorctl lease sign";
constexpr char kVerify[] = "aequorctl lease verify";

// A lease's bytes besides service, instance and expiry: "s=" ";i=" ";e="
// ";g=" and the 11-character tag.
constexpr size_t kLeaseFixedBytes = 11 + kLeaseTagLength;
// The expiry digits the service is shortened for (NormalizeService): any
// time before the year 2286.
constexpr size_t kExpiryDigits = 13;

// Why a lease of `length` bytes (more than kMaxLeaseLength) does not fit, and
// which input to shorten. The service is already shortened for the instance
// (down to 1 byte), so only --instance and --expires-ms can be at fault.
std::string TooLongLeaseMessage(size_t length, size_t instance_length, int64_t expires_ms) {
  const size_t digits = absl::StrCat(expires_ms).size();
  const size_t instance_fit =
      kMaxLeaseLength - kLeaseFixedBytes - 1 - std::min(digits, kExpiryDigits);
  std::vector<std::string> causes;
  std::vector<std::string> fixes;
  if (digits > kExpiryDigits) {
    causes.push_back(absl::StrCat("--expires-ms is ", digits, " digits, at most ", kExpiryDigits,
                                  " fit (any time before the year 2286)"));
    fixes.push_back(absl::StrCat("give an --expires-ms of at most ", kExpiryDigits, " digits"));
  }
  if (instance_length > instance_fit) {
    causes.push_back(absl::StrCat("--instance is ", instance_length, " bytes, at most ",
                                  instance_fit, " fit (the service is shortened down to 1 byte)"));
    fixes.push_back("shorten --instance");
  }
  if (causes.empty()) {
    causes.push_back(absl::StrCat("--instance is ", instance_length, " bytes and --expires-ms ",
                                  digits, " digits"));
    fixes.push_back("shorten --instance or --expires-ms");
  }
  return absl::StrCat("the lease would be ", length, " bytes, more than the ", kMaxLeaseLength,
                      " that application_name holds (PostgreSQL's NAMEDATALEN - 1): ",
                      absl::StrJoin(causes, "; "), "; ", absl::StrJoin(fixes, ", and "));
}

const CommandGroup& LeaseGroup() {
  static const CommandGroup* const kGroup =
      new CommandGroup{"aequorctl lease", "Usage: aequorctl lease <sign|verify> [flags]",
                       "Signs or checks a lease (the application_name of an aequor or pg-aequor\n"
                       "connection: s=<service>;i=<instance>;e=<expiry_ms>;g=<tag>) with the\n"
                       "coordination secret from $AEQUOR_COORDINATION_SECRET or the file named by\n"
                       "$AEQUOR_COORDINATION_SECRET_FILE. Secrets are never taken from flags."};
  return *kGroup;
}

CommandHelp SignHelp() {
  return {"Usage: aequorctl lease sign --service S [--instance I] [--expires-ms N]",
          "Prints a signed lease.",
          {{"service", "S",
            "service name; normalised as pg-aequor does (characters\n"
            "outside [A-Za-z0-9:_-] become '_', long or changed names\n"
            "get a SHA-1 suffix), so the lease may show another name"},
           {"instance", "I",
            "instance id, [A-Za-z0-9:_-]+ (default: 8 random base64url\n"
            "characters, as every manager uses)"},
           {"expires-ms", "N",
            "expiry, milliseconds since the Unix epoch (default: now +\n"
            "90 s, the default lease TTL)"}},
          "Exit status: 0 signed, 1 signing failed (crypto library error), 2 usage\n"
          "error or missing/short secret."};
}

CommandHelp VerifyHelp() {
  return {"Usage: aequorctl lease verify --application-name A [--now-ms N]",
          "Checks a lease strictly and prints one JSON object on one line:\n"
          "  valid (bool), service, instance, expires_ms (number), expired (bool:\n"
          "  now > expires_ms), and reason when valid is false. service, instance,\n"
          "  expires_ms and expired are omitted when A does not parse.",
          {{"application-name", "A", "the lease text (e.g. from pg_stat_activity)"},
           {"now-ms", "N",
            "the time to judge expiry against, milliseconds since\n"
            "the Unix epoch (default: now)"}},
          "Exit status: 0 valid (expired or not), 1 invalid, 2 usage error or\n"
          "missing/short secret."};
}

// A non-negative decimal int64, or nullopt.
std::optional<int64_t> ParseMillis(absl::string_view text) {
  int64_t value;
  if (text.empty() || text[0] == '+' || text[0] == '-') return std::nullopt;
  if (!absl::SimpleAtoi(text, &value) || value < 0) return std::nullopt;
  return value;
}

int64_t NowMillis(CliEnv& env) { return absl::ToUnixMillis(env.clock->Now()); }

}  // namespace

int RunLeaseSign(const std::vector<std::string>& args, CliEnv& env) {
  const CommandHelp help = SignHelp();
  absl::StatusOr<Flags> flags = ParseFlags(args, help.flags);
  if (!flags.ok()) return Fail(env, kSign, flags.status().message(), /*hint=*/true);
  if (flags->help) {
    *env.out << HelpText(help);
    return kExitOk;
  }
  std::optional<std::string> service = flags->Get("service");
  if (!service.has_value()) return Fail(env, kSign, "--service is required", /*hint=*/true);
  if (service->empty()) return Fail(env, kSign, "--service must not be empty", /*hint=*/true);

  std::string instance;
  if (std::optional<std::string> given = flags->Get("instance"); given.has_value()) {
    if (given->empty()) return Fail(env, kSign, "--instance must not be empty", /*hint=*/true);
    instance = *given;
  }
  std::optional<int64_t> expires_ms;
  if (std::optional<std::string> text = flags->Get("expires-ms"); text.has_value()) {
    expires_ms = ParseMillis(*text);
    if (!expires_ms.has_value()) {
      return Fail(env, kSign,
                  "--expires-ms must be a non-negative whole number of milliseconds since the "
                  "Unix epoch",
                  /*hint=*/true);
    }
  }

  SecretState secret = SignerFromEnvironment(RegistryOf(env));
  if (secret.signer == nullptr) return Fail(env, kSign, secret.status.message());

  if (instance.empty()) instance = NewInstanceId(*env.random);
  if (!expires_ms.has_value()) {
    expires_ms = NowMillis(env) + absl::ToInt64Milliseconds(kDefaultSignTtl);
  }
  const std::string normalized = NormalizeService(*service, instance.size());
  absl::StatusOr<std::string> lease = SignLease(*secret.signer, normalized, instance, *expires_ms);
  if (!lease.ok()) {
    const size_t length =
        LeasePayload(normalized, instance, *expires_ms).size() + 3 + kLeaseTagLength;
    if (lease.status().code() == absl::StatusCode::kInvalidArgument && length > kMaxLeaseLength) {
      return Fail(env, kSign, TooLongLeaseMessage(length, instance.size(), *expires_ms),
                  /*hint=*/true);
    }
    if (lease.status().code() == absl::StatusCode::kInvalidArgument) {
      return Fail(env, kSign, lease.status().message(), /*hint=*/true);
    }
    *env.err << kSign << ": " << lease.status().message() << "\n";
    return kExitInvalid;
  }
  *env.out << *lease << "\n";
  return kExitOk;
}

int RunLeaseVerify(const std::vector<std::string>& args, CliEnv& env) {
  const CommandHelp help = VerifyHelp();
  absl::StatusOr<Flags> flags = ParseFlags(args, help.flags);
  if (!flags.ok()) return Fail(env, kVerify, flags.status().message(), /*hint=*/true);
  if (flags->help) {
    *env.out << HelpText(help);
    return kExitOk;
  }
  std::optional<std::string> application_name = flags->Get("application-name");
  if (!application_name.has_value()) {
    return Fail(env, kVerify, "--application-name is required", /*hint=*/true);
  }
  std::optional<int64_t> now_ms;
  if (std::optional<std::string> text = flags->Get("now-ms"); text.has_value()) {
    now_ms = ParseMillis(*text);
    if (!now_ms.has_value()) {
      return Fail(env, kVerify,
                  "--now-ms must be a non-negative whole number of milliseconds since the "
                  "Unix epoch",
                  /*hint=*/true);
    }
  }

  SecretState secret = SignerFromEnvironment(RegistryOf(env));
  if (secret.signer == nullptr) return Fail(env, kVerify, secret.status.message());
  if (!now_ms.has_value()) now_ms = NowMillis(env);

  absl::StatusOr<ParsedLease> lease = ParseLease(*application_name);
  if (!lease.ok()) {
    WriteJson(*env.out, {{"valid", false}, {"reason", std::string(lease.status().message())}});
    return kExitInvalid;
  }
  const bool valid = VerifyLeaseTag(*secret.signer, *lease);
  nlohmann::ordered_json doc = {{"valid", valid},
                                {"service", lease->service},
                                {"instance", lease->instance},
                                {"expires_ms", lease->expires_ms},
                                {"expired", *now_ms > lease->expires_ms}};
  if (!valid) doc["reason"] = "tag does not verify with the coordination secret";
  WriteJson(*env.out, doc);
  return valid ? kExitOk : kExitInvalid;
}

int RunLeaseCommand(const std::vector<std::string>& args, CliEnv& env) {
  static const std::vector<Command>* const kCommands = new std::vector<Command>{
      {"sign", "print a signed lease for a service", &RunLeaseSign},
      {"verify", "check a lease; prints one JSON object", &RunLeaseVerify},
  };
  return Dispatch(LeaseGroup(), *kCommands, args, env);
}

Command LeaseCommand() {
  return {"lease", "sign and verify leases (application_name values)", &RunLeaseCommand};
}

}  // namespace cli
}  // namespace aequor
