// tools/aequorctl/lease_commands.h: `aequorctl lease sign|verify`, the lease
// codec of api/lease.h on the command line, for operators who want to see what
// a connection's application_name says or forge a test lease.
//
//   $ export AEQUOR_COORDINATION_SECRET_FILE=/run/secrets/aequor
//   $ aequorctl lease sign --service orders --instance AbCdEfGh --expires-ms 1767225600000
//   s=orders;i=AbCdEfGh;e=1767225600000;g=...
//   $ aequorctl lease verify --application-name 's=orders;...' --now-ms 1767225500000
//   {"valid":true,"service":"orders","instance":"AbCdEfGh","expires_ms":1767225600000,
//    "expired":false}                                   (one line)
//
// sign:   --service S (required; normalised with NormalizeService for the
//         instance's length, so the printed service may differ from S)
//         --instance I (optional; default: a fresh random 8-character id)
//         --expires-ms N (optional; default: now + 90 s, the default lease TTL)
//         Prints the lease and a newline. Exit 0; 2 on a usage error (also a
//         lease that cannot fit 63 bytes); 1 if the crypto library failed.
// verify: --application-name A (required), --now-ms N (optional; default: now)
//         Prints ONE line holding one JSON object:
//           valid       true iff A parses strictly and its tag verifies
//           service, instance, expires_ms, expired (now > expires_ms)
//                       present whenever A parses, also when the tag is wrong;
//                       omitted when A does not parse
//           reason      only when valid is false: the parser's reason, or
//                       "tag does not verify with the coordination secret"
//         Exit 0 when valid (expired or not), 1 when invalid, 2 on a usage
//         error (then nothing is printed on stdout).
//
// The secret comes from $AEQUOR_COORDINATION_SECRET or the file named by
// $AEQUOR_COORDINATION_SECRET_FILE (one trailing newline removed), never from
// the command line; a missing or short secret is exit 2. Signing and verifying
// use aequor.signer.hmac_sha256. Nothing printed ever contains the secret.
//
// Thread-safety: each call uses only its arguments and `env`.
#ifndef AEQUOR_TOOLS_AEQUORCTL_LEASE_COMMANDS_H_
#define AEQUOR_TOOLS_AEQUORCTL_LEASE_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tools/aequorctl/cli.h"
#include "tools/aequorctl/dispatch.h"

namespace aequor {
namespace cli {

// The lease TTL `lease sign` uses without --expires-ms (DESIGN.md default).
inline constexpr absl::Duration kDefaultSignTtl = absl::Seconds(90);

// `aequorctl lease ...`: dispatches to sign / verify.
int RunLeaseCommand(const std::vector<std::string>& args, CliEnv& env);

// `aequorctl lease sign ...` and `aequorctl lease verify ...`.
int RunLeaseSign(const std::vector<std::string>& args, CliEnv& env);
int RunLeaseVerify(const std::vector<std::string>& args, CliEnv& env);

// The `lease` entry for a top-level command table.
Command LeaseCommand();

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_LEASE_COMMANDS_H_
