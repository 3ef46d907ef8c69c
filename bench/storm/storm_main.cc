// bench/storm/storm_main.cc: the storm harness's command line.
//
//   bazel run //bench/storm -- --client=libpq
//   bazel run //bench/storm -- --client=aequor --invocations=40 --series-out=/tmp/storm.csv
//
// See `--help` and bench/storm/harness.h. Progress lines and the JSON line go
// to stdout (the JSON line last); errors to stderr.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/storm/harness.h"

namespace {

// `bazel run` starts programs in their runfiles tree; relative paths given
// on the command line mean the caller's directory.
std::string FromCallerDirectory(const std::string& path) {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || absl::StartsWith(path, "/") || dir == nullptr || dir[0] == '\0') return path;
  return absl::StrCat(dir, "/", path);
}

}  // namespace

int main(int argc, char** argv) {
  using aequor::storm::StormArgs;
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<StormArgs> parsed = aequor::storm::ParseStormArgs(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "storm: %s\n", std::string(parsed.status().message()).c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(aequor::storm::StormHelpText().c_str(), stdout);
    return 0;
  }
  aequor::storm::StormOptions options = parsed->options;
  if (const char* secret = std::getenv("AEQUOR_COORDINATION_SECRET"); secret != nullptr) {
    options.coordination_secret = secret;
    if (options.coordination_secret.size() < 16) {
      std::fprintf(stderr, "storm: AEQUOR_COORDINATION_SECRET: must be at least 16 bytes\n");
      return 2;
    }
  }
  if (const char* spec = std::getenv("AEQUOR_REAPER_SCHEDULER");
      spec != nullptr && spec[0] != '\0' && options.reaper_scheduler.empty() &&
      options.client != aequor::storm::ClientKind::kLibpq) {
    // Validated like the flag.
    absl::StatusOr<StormArgs> with_spec =
        aequor::storm::ParseStormArgs({absl::StrCat("--reaper-scheduler=", spec)});
    if (!with_spec.ok()) {
      std::fprintf(stderr, "storm: AEQUOR_REAPER_SCHEDULER: %s\n",
                   std::string(with_spec.status().message()).c_str());
      return 2;
    }
    options.reaper_scheduler = spec;
  }
  options.series_out = FromCallerDirectory(options.series_out);
  options.instance_binary = FromCallerDirectory(options.instance_binary);
  if (options.client != aequor::storm::ClientKind::kCommand && options.instance_binary.empty()) {
    options.instance_binary = aequor::storm::FindInstanceBinary(argv[0]);
  }

  absl::StatusOr<aequor::storm::StormSummary> summary = aequor::storm::RunStorm(options, &std::cout);
  if (!summary.ok()) {
    std::cout << std::flush;
    std::fprintf(stderr, "storm: %s\n", std::string(summary.status().message()).c_str());
    return summary.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::cout << aequor::storm::StormSummaryToJson(*summary) << std::endl;
  if (summary->interrupted) return 128 + summary->interrupted_signal;
  return 0;
}
