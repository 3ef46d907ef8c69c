// bench/storm/plugin_specs.h: the plugin specs the storm hands its instances
// (today AEQUOR_REAPER_SCHEDULER), checked before the first instance starts
// by building them as an instance's ConnectionManagerBuilder would: through
// the library's Registry::Default(), the factory's ParseConfig() and then
// Create(). A spec that parses but cannot be built (an unknown name, an
// option out of range, an unknown option) would otherwise fail every
// invocation of the run.
//
//   absl::Status s = CheckReaperSchedulerSpec("aequor.reaper.probability(p=2)");
//   // InvalidArgument "--reaper-scheduler: aequor.reaper.probability: option 'p'
//   //                  must be a number in [0, 1], got '2'"
//
// Thread-safety: pure functions (the default registry is immutable).
#ifndef AEQUOR_BENCH_STORM_PLUGIN_SPECS_H_
#define AEQUOR_BENCH_STORM_PLUGIN_SPECS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

// OK if `spec` parses and the library builds a reaper scheduler from it;
// else InvalidArgument "--reaper-scheduler: <the library's reason>".
absl::Status CheckReaperSchedulerSpec(absl::string_view spec);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_PLUGIN_SPECS_H_
