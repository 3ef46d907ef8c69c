// bench/storm/storm_main.cc: the storm harness's command line.
//
//   bazel run //bench/storm -- --client=libpq
//   bazel run //bench/storm -- --client=aequor --invocations=40 --series-out=/tmp/storm.csv
//
// See `--help` (bench/storm/help_text.cc), bench/storm/flags.h and
// bench/storm/run.h. Progress lines and the JSON line go to stdout (the
// JSON line last); errors to stderr. Exit status: 0 the storm ran, 1 it
// could not run, 2 bad options, 128+N interrupted by signal N.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/storm/environment.h"
#include "bench/storm/flags.h"
#include "bench/storm/run.h"
#include "bench/storm/summary.h"

namespace {

// `bazel run` starts programs in their runfiles tree; relative paths given
// on the command line mean the caller's directory.
std::string FromCallerDirectory(const std::string& path) {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || absl::StartsWith(path, "/") || dir == nullptr || dir[0] == '\0') return path;
  return absl::StrCat(dir, "/", path);
}

int Fail(int status, absl::string_view message) {
  std::fprintf(stderr, "storm: %s\n", std::string(message).c_str());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  namespace storm = ::aequor::storm;
  absl::StatusOr<storm::StormArgs> parsed =
      storm::ParseStormArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) return Fail(2, parsed.status().message());
  if (parsed->help) {
    std::fputs(storm::StormHelpText().c_str(), stdout);
    return 0;
  }
  storm::StormOptions options = parsed->options;
  if (absl::Status s = storm::ApplyStormEnvironment(std::getenv, &options); !s.ok()) {
    return Fail(2, s.message());
  }
  options.series_out = FromCallerDirectory(options.series_out);
  options.instance_binary = FromCallerDirectory(options.instance_binary);
  if (options.client != storm::ClientKind::kCommand && options.instance_binary.empty()) {
    options.instance_binary = storm::FindInstanceBinary(argv[0]);
  }

  absl::StatusOr<storm::StormSummary> summary = storm::RunStorm(options, &std::cout);
  if (!summary.ok()) {
    std::cout << std::flush;
    return Fail(summary.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
                summary.status().message());
  }
  std::cout << storm::StormSummaryToJson(*summary) << std::endl;
  if (summary->interrupted) return 128 + summary->interrupted_signal;
  return 0;
}
