// Fuzz target: the lease codec of api/lease.h, which reads every session's
// application_name (text any role can set).
//
// Input: the whole input is parsed as an application_name; its lines are also
// read as fields to sign (line 0 a raw service name, line 1 an instance id,
// line 2 an expiry, decimal or else its first 8 bytes).
//
// Checks, with the signers keyed by the fixed test secret of
// ../shared/lease_vectors.json (Botan, OpenSSL and a key ring holding it
// second):
//   - ParseLease never crashes; a refusal is InvalidArgument with a printable
//     ASCII message (never a raw byte of the input);
//   - a lease that parses re-serialises to the same bytes, and its payload is
//     LeasePayload() of its fields;
//   - the three signers agree on whether it verifies; one that verifies is
//     exactly what SignLease() makes of its fields, and a signer with another
//     secret does not verify it;
//   - NormalizeService() gives 1..MaxServiceLength() characters of
//     [A-Za-z0-9:_-] and is idempotent;
//   - SignLease() of a normalised service, any instance of 1 to 16 base64url
//     characters (the builder's limit) and any expiry of at most 13 digits
//     succeeds; whatever it signs parses back to the same fields and verifies
//     with every signer, and Botan and OpenSSL sign it identically.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/lease.h"
#include "api/lease_signer.h"
#include "api/random.h"
#include "api/registry.h"
#include "api/secret.h"
#include "signers/builtin.h"
#include "signers/hmac_sha256_botan.h"
#include "signers/hmac_sha256_openssl.h"
#include "signers/key_ring.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace aequor {
namespace fuzz {
namespace {

constexpr absl::string_view kTestSecret = "coord-secret-0123456789";  // lease_vectors.json
constexpr absl::string_view kOtherSecret = "another-coordination-secret";
constexpr int64_t kMaxThirteenDigits = 9999999999999;

struct Signers {
  std::unique_ptr<LeaseSigner> botan;
  std::unique_ptr<LeaseSigner> openssl;
  std::unique_ptr<LeaseSigner> ring;  // keys: other, test
  std::unique_ptr<LeaseSigner> other;
};

std::unique_ptr<LeaseSigner> Must(absl::StatusOr<std::unique_ptr<LeaseSigner>> signer) {
  FUZZ_CHECK(signer.ok(), "cannot create a signer: " << signer.status());
  return *std::move(signer);
}

const Signers& TheSigners() {
  static const Signers* const signers = [] {
    RegistryBuilder builder;
    FUZZ_CHECK(RegisterBuiltinSigners(builder).ok(), "cannot register the signers");
    static const std::shared_ptr<const Registry> registry = std::move(builder).Build();
    auto* s = new Signers;
    s->botan = Must(NewHmacSha256BotanSigner(Secret(std::string(kTestSecret))));
    s->openssl = Must(NewHmacSha256OpensslSigner(Secret(std::string(kTestSecret))));
    SignerContext context;
    context.keys = {Secret(std::string(kOtherSecret)), Secret(std::string(kTestSecret))};
    context.registry = registry.get();
    s->ring = Must(NewKeyRingSigner(context));
    s->other = Must(NewHmacSha256BotanSigner(Secret(std::string(kOtherSecret))));
    return s;
  }();
  return *signers;
}

bool IsTokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' ||
         c == '_' || c == '-';
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool IsBase64Url(absl::string_view s) {
  for (char c : s) {
    if (!IsTokenChar(c) || c == ':') return false;
  }
  return true;
}

bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) return false;
  }
  return true;
}

std::string Serialise(const ParsedLease& lease) {
  return absl::StrCat(LeasePayload(lease.service, lease.instance, lease.expires_ms),
                      ";g=", lease.tag);
}

// A lease that parsed (text = its application_name).
void CheckParsed(absl::string_view text, const ParsedLease& lease) {
  const Signers& s = TheSigners();
  FUZZ_CHECK(text.size() <= kMaxLeaseLength && IsPrintableAscii(text),
             "accepted a lease that is too long or not printable ASCII");
  FUZZ_CHECK(IsToken(lease.service) && IsToken(lease.instance),
             "accepted an empty or ill-formed service or instance");
  FUZZ_CHECK(lease.expires_ms >= 0, "accepted a negative expiry");
  FUZZ_CHECK(lease.tag.size() == kLeaseTagLength && IsBase64Url(lease.tag),
             "accepted a malformed tag '" << lease.tag << "'");
  FUZZ_CHECK(lease.payload == LeasePayload(lease.service, lease.instance, lease.expires_ms),
             "payload '" << lease.payload << "' is not the fields'");
  FUZZ_CHECK(Serialise(lease) == text,
             "'" << text << "' re-serialises as '" << Serialise(lease) << "'");

  const bool botan = VerifyLeaseTag(*s.botan, lease);
  const bool openssl = VerifyLeaseTag(*s.openssl, lease);
  const bool ring = VerifyLeaseTag(*s.ring, lease);
  FUZZ_CHECK(botan == openssl && botan == ring, "signers disagree on '"
                                                    << text << "': botan " << botan << ", openssl "
                                                    << openssl << ", key ring " << ring);
  if (!botan) return;
  FUZZ_CHECK(!VerifyLeaseTag(*s.other, lease), "another secret verifies '" << text << "'");
  absl::StatusOr<std::string> signed_again =
      SignLease(*s.botan, lease.service, lease.instance, lease.expires_ms);
  FUZZ_CHECK(signed_again.ok() && *signed_again == text,
             "a verified lease '" << text << "' is not what SignLease() makes of its fields: "
                                  << (signed_again.ok() ? *signed_again
                                                        : signed_again.status().ToString()));
}

void CheckParse(absl::string_view text) {
  absl::StatusOr<ParsedLease> lease = ParseLease(text);
  if (lease.ok()) {
    CheckParsed(text, *lease);
    return;
  }
  FUZZ_CHECK(lease.status().code() == absl::StatusCode::kInvalidArgument,
             "refused with " << lease.status());
  const absl::string_view message = lease.status().message();
  FUZZ_CHECK(!message.empty() && IsPrintableAscii(message),
             "a refusal's message is empty or not printable ASCII");
}

int64_t ExpiryOf(absl::string_view line) {
  int64_t value = 0;
  if (absl::SimpleAtoi(line, &value)) return value;
  return ByteReader(line).Int64();
}

void CheckSign(absl::string_view raw_service, absl::string_view instance, int64_t expiry) {
  const Signers& s = TheSigners();
  const std::string service = NormalizeService(raw_service, instance.size());
  FUZZ_CHECK(IsToken(service) && service.size() <= MaxServiceLength(instance.size()),
             "NormalizeService gave '" << service << "' for an instance of " << instance.size()
                                       << " characters");
  FUZZ_CHECK(NormalizeService(service, instance.size()) == service,
             "NormalizeService is not idempotent on '" << service << "'");

  absl::StatusOr<std::string> lease = SignLease(*s.botan, service, instance, expiry);
  const bool must_fit = !instance.empty() && instance.size() <= 16 && IsBase64Url(instance) &&
                        expiry >= 0 && expiry <= kMaxThirteenDigits;
  if (must_fit) {
    FUZZ_CHECK(lease.ok(), "SignLease('" << service << "', '" << instance << "', " << expiry
                                         << ") failed: " << lease.status());
  }
  if (!lease.ok()) {
    FUZZ_CHECK(lease.status().code() == absl::StatusCode::kInvalidArgument,
               "SignLease failed with " << lease.status());
    return;
  }
  FUZZ_CHECK(IsToken(instance) && expiry >= 0,
             "SignLease accepted instance '" << instance << "' or expiry " << expiry);
  absl::StatusOr<std::string> openssl = SignLease(*s.openssl, service, instance, expiry);
  FUZZ_CHECK(openssl.ok() && *openssl == *lease, "OpenSSL signs '" << *lease << "' differently");
  absl::StatusOr<ParsedLease> parsed = ParseLease(*lease);
  FUZZ_CHECK(parsed.ok(),
             "the signed lease '" << *lease << "' does not parse: " << parsed.status());
  FUZZ_CHECK(
      parsed->service == service && parsed->instance == instance && parsed->expires_ms == expiry,
      "the signed lease '" << *lease << "' parses to other fields");
  FUZZ_CHECK(VerifyLeaseTag(*s.botan, *parsed) && VerifyLeaseTag(*s.openssl, *parsed) &&
                 VerifyLeaseTag(*s.ring, *parsed),
             "the signed lease '" << *lease << "' does not verify");
  CheckParsed(*lease, *parsed);
}

void CheckInstanceId(absl::string_view seed_bytes) {
  SeededRandom random(ByteReader(seed_bytes).Bits(8));
  const std::string id = NewInstanceId(random);
  FUZZ_CHECK(id.size() == kInstanceIdLength && IsBase64Url(id), "instance id '" << id << "'");
}

}  // namespace
}  // namespace fuzz
}  // namespace aequor

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const aequor::fuzz::FuzzInput in(data, size);
  aequor::fuzz::CheckParse(in.text());
  aequor::fuzz::CheckSign(in.Line(0), in.Line(1), aequor::fuzz::ExpiryOf(in.Line(2)));
  aequor::fuzz::CheckInstanceId(in.Line(2));
  return 0;
}
