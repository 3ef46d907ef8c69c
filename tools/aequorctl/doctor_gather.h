// tools/aequorctl/doctor_gather.h: the SQL of `aequorctl doctor`: reads
// the DoctorFacts its checks judge.
//
//   absl::StatusOr<DoctorFacts> facts =
//       GatherDoctorFacts(conn, settings, reaper_conninfo, secret, redactor, *env.clock);
//   if (!facts.ok()) ...the server's settings could not be read: exit 2...
//
// Thread-safety: uses `conn` exclusively while it runs.
#ifndef AEQUOR_TOOLS_AEQUORCTL_DOCTOR_GATHER_H_
#define AEQUOR_TOOLS_AEQUORCTL_DOCTOR_GATHER_H_

#include <libpq-fe.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "api/clock.h"
#include "tools/aequorctl/doctor_facts.h"
#include "tools/aequorctl/redactor.h"
#include "tools/aequorctl/secret_state.h"

namespace aequor {
namespace cli {

// Round trips sampled to measure the clock offset (the shortest one counts).
inline constexpr int kClockSamples = 5;

// Reads the facts over `conn` (aequorctl's own session, application_name
// kToolApplicationName). With `reaper_conninfo`, first logs in with it as
// the emergency path would, reads that role and logs out again (its password
// joins `redactor`), waiting briefly until the server no longer counts that
// session. Fails only when the server's settings cannot be read.
absl::StatusOr<DoctorFacts> GatherDoctorFacts(PGconn* conn, const DoctorSettings& settings,
                                              const std::optional<std::string>& reaper_conninfo,
                                              const SecretState& secret, Redactor& redactor,
                                              Clock& clock);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_DOCTOR_GATHER_H_
