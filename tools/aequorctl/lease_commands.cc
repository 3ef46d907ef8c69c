#include "tools/aequorctl/lease_commands.h"

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/secret.h"
#include "signers/hmac_sha256_botan.h"

namespace aequor {
namespace cli {
namespace {

constexpr char kLeaseUsage[] =
    "Usage: aequorctl lease <sign|verify> [flags]\n"
    "\n"
    "Signs or checks a lease (the application_name of an aequor or pg-aequor\n"
    "connection: s=<service>;i=<instance>;e=<expiry_ms>;g=<tag>) with the\n"
    "coordination secret from $AEQUOR_COORDINATION_SECRET or the file named by\n"
    "$AEQUOR_COORDINATION_SECRET_FILE. Secrets are never taken from flags.";

constexpr char kSignUsage[] =
    "Usage: aequorctl lease sign --service S [--instance I] [--expires-ms N]\n"
    "\n"
    "Prints a signed lease.\n"
    "  --service S      service name; normalised as pg-aequor does (characters\n"
    "                   outside [A-Za-z0-9:_-] become '_', long or changed names\n"
    "                   get a SHA-1 suffix), so the lease may show another name\n"
    "  --instance I     instance id, [A-Za-z0-9:_-]+ (default: 8 random base64url\n"
    "                   characters, as every manager uses)\n"
    "  --expires-ms N   expiry, milliseconds since the Unix epoch (default: now +\n"
    "                   90 s, the default lease TTL)\n"
    "\n"
    "Exit status: 0 signed, 1 signing failed (crypto library error), 2 usage\n"
    "error or missing/short secret.";

constexpr char kVerifyUsage[] =
    "Usage: aequorctl lease verify --application-name A [--now-ms N]\n"
    "\n"
    "Checks a lease strictly and prints one JSON object on one line:\n"
    "  valid (bool), service, instance, expires_ms (number), expired (bool:\n"
    "  now > expires_ms), and reason when valid is false. service, instance,\n"
    "  expires_ms and expired are omitted when A does not parse.\n"
    "  --application-name A   the lease text (e.g. from pg_stat_activity)\n"
    "  --now-ms N             the time to judge expiry against, milliseconds since\n"
    "                         the Unix epoch (default: now)\n"
    "\n"
    "Exit status: 0 valid (expired or not), 1 invalid, 2 usage error or\n"
    "missing/short secret.";

// Prints "aequorctl lease <cmd>: <message>" on stderr, and a pointer to
// --help when `hint`, and returns kExitUsage.
int UsageError(CliEnv& env, absl::string_view command, absl::string_view message,
               bool hint = true) {
  *env.err << "aequorctl lease " << command << ": " << message << "\n";
  if (hint) *env.err << "Run 'aequorctl lease " << command << " --help' for usage.\n";
  return kExitUsage;
}

// A non-negative decimal int64, or nullopt.
std::optional<int64_t> ParseMillis(absl::string_view text) {
  int64_t value;
  if (text.empty() || text[0] == '+' || text[0] == '-') return std::nullopt;
  if (!absl::SimpleAtoi(text, &value) || value < 0) return std::nullopt;
  return value;
}

// The signer for the coordination secret of the environment, or prints why
// not and returns null.
std::unique_ptr<LeaseSigner> SignerFromEnvironment(CliEnv& env, absl::string_view command) {
  absl::StatusOr<Secret> secret = ReadSecretFromEnvironment();
  if (!secret.ok()) {
    UsageError(env, command, secret.status().message(), /*hint=*/false);
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = NewHmacSha256BotanSigner(*secret);
  if (!signer.ok()) {
    // The message names the key's length, never its bytes.
    UsageError(env, command, signer.status().message(), /*hint=*/false);
    return nullptr;
  }
  return *std::move(signer);
}

int64_t NowMillis(CliEnv& env) { return absl::ToUnixMillis(env.clock->Now()); }

}  // namespace

int RunLeaseSign(const std::vector<std::string>& args, CliEnv& env) {
  absl::StatusOr<Flags> flags =
      ParseFlags(args, {{"service", true}, {"instance", true}, {"expires-ms", true}});
  if (!flags.ok()) return UsageError(env, "sign", flags.status().message());
  if (flags->help) {
    *env.out << kSignUsage << "\n";
    return kExitOk;
  }
  std::optional<std::string> service = flags->Get("service");
  if (!service.has_value()) return UsageError(env, "sign", "--service is required");
  if (service->empty()) return UsageError(env, "sign", "--service must not be empty");

  std::string instance;
  if (std::optional<std::string> given = flags->Get("instance"); given.has_value()) {
    if (given->empty()) return UsageError(env, "sign", "--instance must not be empty");
    instance = *given;
  }
  std::optional<int64_t> expires_ms;
  if (std::optional<std::string> text = flags->Get("expires-ms"); text.has_value()) {
    expires_ms = ParseMillis(*text);
    if (!expires_ms.has_value()) {
      return UsageError(env, "sign",
                        "--expires-ms must be a non-negative whole number of milliseconds "
                        "since the Unix epoch");
    }
  }

  std::unique_ptr<LeaseSigner> signer = SignerFromEnvironment(env, "sign");
  if (signer == nullptr) return kExitUsage;

  if (instance.empty()) instance = NewInstanceId(*env.random);
  if (!expires_ms.has_value()) {
    expires_ms = NowMillis(env) + absl::ToInt64Milliseconds(kDefaultSignTtl);
  }
  const std::string normalized = NormalizeService(*service, instance.size());
  absl::StatusOr<std::string> lease = SignLease(*signer, normalized, instance, *expires_ms);
  if (!lease.ok()) {
    if (lease.status().code() == absl::StatusCode::kInvalidArgument) {
      return UsageError(env, "sign", lease.status().message());
    }
    *env.err << "aequorctl lease sign: " << lease.status().message() << "\n";
    return kExitInvalid;
  }
  *env.out << *lease << "\n";
  return kExitOk;
}

int RunLeaseVerify(const std::vector<std::string>& args, CliEnv& env) {
  absl::StatusOr<Flags> flags = ParseFlags(args, {{"application-name", true}, {"now-ms", true}});
  if (!flags.ok()) return UsageError(env, "verify", flags.status().message());
  if (flags->help) {
    *env.out << kVerifyUsage << "\n";
    return kExitOk;
  }
  std::optional<std::string> application_name = flags->Get("application-name");
  if (!application_name.has_value()) {
    return UsageError(env, "verify", "--application-name is required");
  }
  std::optional<int64_t> now_ms;
  if (std::optional<std::string> text = flags->Get("now-ms"); text.has_value()) {
    now_ms = ParseMillis(*text);
    if (!now_ms.has_value()) {
      return UsageError(env, "verify",
                        "--now-ms must be a non-negative whole number of milliseconds "
                        "since the Unix epoch");
    }
  }

  std::unique_ptr<LeaseSigner> signer = SignerFromEnvironment(env, "verify");
  if (signer == nullptr) return kExitUsage;
  if (!now_ms.has_value()) now_ms = NowMillis(env);

  absl::StatusOr<ParsedLease> lease = ParseLease(*application_name);
  if (!lease.ok()) {
    *env.out << "{\"valid\":false,\"reason\":" << JsonQuote(lease.status().message()) << "}\n";
    return kExitInvalid;
  }
  const bool valid = VerifyLeaseTag(*signer, *lease);
  std::string json = absl::StrCat(
      "{\"valid\":", valid ? "true" : "false", ",\"service\":", JsonQuote(lease->service),
      ",\"instance\":", JsonQuote(lease->instance), ",\"expires_ms\":", lease->expires_ms,
      ",\"expired\":", *now_ms > lease->expires_ms ? "true" : "false");
  if (!valid) {
    absl::StrAppend(&json,
                    ",\"reason\":", JsonQuote("tag does not verify with the coordination secret"));
  }
  *env.out << json << "}\n";
  return valid ? kExitOk : kExitInvalid;
}

int RunLeaseCommand(const std::vector<std::string>& args, CliEnv& env) {
  static const std::vector<Command>* const kCommands = new std::vector<Command>{
      {"sign", "print a signed lease for a service", &RunLeaseSign},
      {"verify", "check a lease; prints one JSON object", &RunLeaseVerify},
  };
  return Dispatch("aequorctl lease", kLeaseUsage, *kCommands, args, env);
}

Command LeaseCommand() {
  return {"lease", "sign and verify leases (application_name values)", &RunLeaseCommand};
}

}  // namespace cli
}  // namespace aequor
