// tests/bench/cold_start/cold_start_bench_test.cc: //bench:cold_start_bench
// run as a program against the throwaway server it starts: both ratio lines
// with positive, finite figures, and a clear exit status 1 for a missing
// instance binary or an instance that answers "fail". Nothing here asserts
// a speed.
#include <sys/wait.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testing/subprocess.h"

namespace aequor {
namespace {

struct Ran {
  int exit_code = -1;  // -1: killed, or did not end in time
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs the benchmark with `args`, its stdout and stderr into files.
Ran RunBench(const std::string& name, const std::vector<std::string>& args) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* tmpdir = std::getenv("TEST_TMPDIR");
  const std::string dir = tmpdir != nullptr ? tmpdir : "/tmp";
  testing::SpawnSpec spec;
  spec.argv = {absl::StrCat(srcdir != nullptr ? srcdir : ".", "/aequor/bench/cold_start_bench")};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.out = testing::Stream::File(absl::StrCat(dir, "/", name, ".out"));
  spec.err = testing::Stream::File(absl::StrCat(dir, "/", name, ".err"));
  Ran ran;
  absl::StatusOr<testing::SpawnedProcess> child = testing::Spawn(spec);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return ran;
  std::optional<testing::ExitStatus> done = testing::WaitForExit(child->pid, absl::Minutes(4));
  if (!done.has_value()) (void)testing::SendSignal(child->pid, SIGKILL);
  ran.out = ReadFile(spec.out.path);
  ran.err = ReadFile(spec.err.path);
  if (done.has_value() && WIFEXITED(done->wait_status)) {
    ran.exit_code = WEXITSTATUS(done->wait_status);
  }
  return ran;
}

// The figures of the line "ratio cold_start: aequor/libpq <what> = R (median
// of N pairs; aequor A ms, libpq B ms)": {R, N, A, B}; empty when absent.
std::vector<double> RatioLine(const std::string& out, absl::string_view what) {
  const std::string prefix = absl::StrCat("ratio cold_start: aequor/libpq ", what, " = ");
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (!absl::ConsumePrefix(&line, prefix)) continue;
    std::vector<double> figures;
    // "R (median of N pairs; aequor A ms, libpq B ms)": every word that is a number.
    for (absl::string_view word :
         absl::StrSplit(line, absl::ByAnyChar(" (;,)"), absl::SkipEmpty())) {
      double v = 0;
      if (absl::SimpleAtod(word, &v)) figures.push_back(v);
    }
    return figures;
  }
  return {};
}

TEST(ColdStartBench, PrintsBothRatioLinesWithPositiveFiniteFigures) {
  const Ran ran = RunBench("pairs3", {"--pairs=3", "--json"});
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  for (absl::string_view what : {"wall", "cpu"}) {
    const std::vector<double> figures = RatioLine(ran.out, what);
    ASSERT_EQ(figures.size(), 4u) << what << " line missing or malformed:\n" << ran.out;
    EXPECT_EQ(figures[1], 3) << "pairs counted in the " << what << " line:\n" << ran.out;
    for (double v : {figures[0], figures[2], figures[3]}) {
      EXPECT_TRUE(std::isfinite(v) && v > 0) << what << ": " << v << "\n" << ran.out;
    }
  }
  EXPECT_TRUE(absl::StrContains(ran.out, "{\"pairs\":3,")) << ran.out;
  EXPECT_TRUE(absl::StrContains(ran.out, "including its exit")) << ran.out;
}

TEST(ColdStartBench, MissingInstanceBinaryExitsOneNamingThePath) {
  const std::string path = "/nonexistent/cold-start-test/storm_instance";
  const Ran ran = RunBench("missing", {"--pairs=3", absl::StrCat("--instance=", path)});
  EXPECT_EQ(ran.exit_code, 1) << ran.out << ran.err;
  EXPECT_TRUE(absl::StrContains(ran.err, path)) << ran.err;
  EXPECT_TRUE(RatioLine(ran.out, "wall").empty()) << ran.out;
}

TEST(ColdStartBench, InstanceAnsweringFailExitsOneNamingTheClientAndTheLine) {
  // A lease TTL the library refuses: the aequor instance answers "fail config: ...".
  const Ran ran = RunBench("fail", {"--pairs=3", "--aequor-env=AEQUOR_LEASE_TTL_MS=soon"});
  EXPECT_EQ(ran.exit_code, 1) << ran.out << ran.err;
  EXPECT_TRUE(absl::StrContains(ran.err, "the aequor instance answered 'fail config:")) << ran.err;
  EXPECT_TRUE(absl::StrContains(ran.err, "AEQUOR_LEASE_TTL_MS")) << ran.err;
  EXPECT_TRUE(RatioLine(ran.out, "wall").empty()) << ran.out;
}

TEST(ColdStartBench, MalformedAequorEnvIsAUsageError) {
  const Ran ran = RunBench("usage", {"--aequor-env=NOEQUALS"});
  EXPECT_EQ(ran.exit_code, 2) << ran.out << ran.err;
  EXPECT_TRUE(absl::StrContains(ran.err, "NOEQUALS")) << ran.err;
}

}  // namespace
}  // namespace aequor
