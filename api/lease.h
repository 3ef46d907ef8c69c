// api/lease.h: the lease carried in every connection's application_name.
//
// Wire format v1, byte-compatible with the Node.js library pg-aequor:
//
//   s=<service>;i=<instance>;e=<expiry_ms>;g=<tag>        (at most 63 bytes)
//
// service    normalised service name, characters [A-Za-z0-9:_-] (see
//            NormalizeService)
// instance   6 random bytes as base64url, 8 characters, one per manager
// expiry_ms  milliseconds since the Unix epoch, decimal, writer's clock
// tag        HMAC-SHA256 over "s=..;i=..;e=.." keyed with the coordination
//            secret, first 8 bytes, base64url without padding (11 chars)
//
// A lease is public (every role can read pg_stat_activity.application_name):
// the tag stops others from forging one, not from reading one.
//
//   std::string app_name = *aequor::SignLease(signer, "orders", instance, expiry_ms);
//   absl::StatusOr<aequor::ParsedLease> lease = aequor::ParseLease(app_name);
//   bool genuine = lease.ok() && aequor::VerifyLeaseTag(signer, *lease);
//
// Thread-safety: free functions on values; safe from any thread.
#ifndef AEQUOR_API_LEASE_H_
#define AEQUOR_API_LEASE_H_

#include "api/requires_cxx17.h"  // first: names the missing flag

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aequor {

class LeaseSigner;
class Random;

inline constexpr size_t kMaxLeaseLength = 63;  // NAMEDATALEN - 1
inline constexpr size_t kLeaseTagLength = 11;  // base64url of 8 bytes
inline constexpr size_t kLeaseTagBytes = 8;
inline constexpr size_t kInstanceIdLength = 8;  // base64url of 6 bytes
inline constexpr size_t kMinSecretBytes = 16;

// The longest normalised service that fits a lease whose instance id has
// `instance_length` characters: max(1, 63 - (24 + instance_length + 11)).
// 20 for the usual 8-character instance.
size_t MaxServiceLength(size_t instance_length = kInstanceIdLength);

// Normalises a service name as pg-aequor does. Every character outside
// [A-Za-z0-9:_-] becomes '_', one per UTF-16 code unit of the original (so
// 'é' gives one '_', an emoji two; a byte that is not valid UTF-8 gives one).
// If that changed the name or it is longer than MaxServiceLength(), the result
// is sanitised[0 : max-9] + "-" + first 8 hex digits of SHA-1(original bytes)
// (only the hash, cut to max, when max <= 8). An empty name becomes "sls_pg",
// pg-aequor's default. (For invalid UTF-8 Node would hash the U+FFFD-replaced
// text instead: such names are not portable across the two libraries.)
std::string NormalizeService(absl::string_view service, size_t instance_length = kInstanceIdLength);

// "s=<service>;i=<instance>;e=<expires_ms>": the text the tag is computed over.
std::string LeasePayload(absl::string_view normalized_service, absl::string_view instance,
                         int64_t expires_ms);

// The full application_name: payload + ";g=" + tag. `normalized_service` must
// already be normalised. InvalidArgument if a field has characters the format
// forbids or the result exceeds 63 bytes; the signer's error if it fails.
absl::StatusOr<std::string> SignLease(const LeaseSigner& signer,
                                      absl::string_view normalized_service,
                                      absl::string_view instance, int64_t expires_ms);

// A lease split into its fields, structure checked, tag NOT yet verified.
struct ParsedLease {
  std::string service;
  std::string instance;
  int64_t expires_ms = 0;
  std::string tag;
  std::string payload;  // "s=..;i=..;e=..", what the tag covers
};

// Parses an application_name strictly. InvalidArgument with the reason for:
// more than 63 bytes, non-printable or non-ASCII bytes, fields missing,
// repeated, unknown or out of order, an empty or ill-formed service or
// instance, an expiry that is not all digits or overflows, a tag that is not
// 11 base64url characters encoding 8 bytes. Never crashes on any input.
absl::StatusOr<ParsedLease> ParseLease(absl::string_view application_name);

// True iff the tag of `lease` was made by `signer`'s key(s). Constant time.
bool VerifyLeaseTag(const LeaseSigner& signer, const ParsedLease& lease);

// A fresh instance id: 6 random bytes as base64url (8 characters).
std::string NewInstanceId(Random& random);

// base64url without padding, as used by the tag and instance id.
std::string Base64UrlEncode(absl::string_view bytes);

}  // namespace aequor

#endif  // AEQUOR_API_LEASE_H_
