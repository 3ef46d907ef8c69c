// examples/embedding built and run as docs/EMBEDDING.md ("Bazel") says: a
// workspace of its own whose WORKSPACE declares aequor, loads
// @aequor//bazel:repositories.bzl and calls aequor_dependencies(), and whose
// .bazelrc needs one flag, --cxxopt=-std=c++17 (the others are optional: the
// distdir, and the lines of the hermetic and static configs). A Bazel of its
// own (batch mode, an empty output root) builds its service, with a plugin
// of the workspace's own, and the service answers a query against a real
// server with a lease. Two cases, each a test of its own (BUILD.bazel), so
// the two cold builds can run side by side:
//   default   Debian's shared Abseil, Botan built from its archive;
//   static    `-c opt --config=static` (docs/BUILDING.md): Abseil and Botan
//             from their archives and the C++ runtime linked in; the binary
//             needs only libc, libm and libpq (with OpenSSL).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "testing/file_util.h"
#include "testing/subprocess.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

namespace fs = std::filesystem;

constexpr char kBazel[] = "/usr/bin/bazel";
constexpr char kNm[] = "/usr/bin/nm";
constexpr char kReadelf[] = "/usr/bin/readelf";
// The line of examples/embedding/WORKSPACE that names the checkout.
constexpr char kPathLine[] = "path = \"../..\",";
// The distdir in examples/embedding/.bazelrc: the checkout's, filled by
// tools/fetch_sources.sh (tools/setup.sh runs it).
constexpr char kDistdir[] = "../../third_party/distdir";
// Abseil's inline namespaces: Debian's libabsl-dev, and upstream's release.
constexpr char kDebianAbseil[] = "absl::debian3::";
constexpr char kSourceAbseil[] = "absl::lts_20220623::";

enum class Mode { kDefault, kStatic };

std::string TestTmpDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The checkout this test was built from: the runfile of
// //bazel:repositories.bzl is a link to its file there.
absl::StatusOr<fs::path> Checkout() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) {
    return absl::FailedPreconditionError("TEST_SRCDIR/TEST_WORKSPACE unset: run under bazel test");
  }
  std::error_code error;
  const fs::path bzl = fs::canonical(
      fs::path(srcdir) / workspace / "bazel" / "repositories.bzl", error);
  if (error) return absl::NotFoundError(absl::StrCat("bazel/repositories.bzl: ", error.message()));
  return bzl.parent_path().parent_path();
}

// The lines of `text` that start with `prefix`.
int CountLines(const std::string& text, absl::string_view prefix) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) ++n;
  }
  return n;
}

// What `argv` prints, or "" with a failure recorded.
std::string Output(const std::vector<std::string>& argv) {
  const std::string out = TestTmpDir() + "/tool.out";
  absl::Status ran = testing::RunLogged(argv, out);
  EXPECT_TRUE(ran.ok()) << ran << "\n" << ReadFile(out);
  return ran.ok() ? ReadFile(out) : "";
}

// Copies examples/embedding as a team would have it, but for where the
// checkout is, builds //:service in `mode` from an empty output root, runs it
// against a real server, and sets `service` to the binary.
void BuildAndRunExample(Mode mode, fs::path* service) {
  ASSERT_TRUE(fs::exists(kBazel)) << kBazel << " not found (Debian's bazel-bootstrap)";
  absl::StatusOr<fs::path> checkout = Checkout();
  ASSERT_TRUE(checkout.ok()) << checkout.status();
  const fs::path example = *checkout / "examples" / "embedding";
  ASSERT_TRUE(fs::exists(example / "WORKSPACE")) << example;
  const fs::path distdir = *checkout / "third_party" / "distdir";
  ASSERT_TRUE(fs::exists(distdir) && !fs::is_empty(distdir))
      << distdir << " is empty: run tools/fetch_sources.sh (docs/BUILDING.md)";

  const std::string tmp = TestTmpDir();
  const fs::path consumer = fs::path(tmp) / "consumer";
  fs::create_directories(consumer);
  for (const fs::directory_entry& e : fs::directory_iterator(example)) {
    if (!e.is_regular_file()) continue;
    std::error_code error;
    fs::copy_file(e.path(), consumer / e.path().filename(), fs::copy_options::overwrite_existing,
                  error);
    ASSERT_FALSE(error) << e.path() << ": " << error.message();
  }
  const std::string workspace = ReadFile(consumer / "WORKSPACE");
  ASSERT_TRUE(absl::StrContains(workspace, kPathLine)) << workspace;
  ASSERT_TRUE(testing::WriteFile(
                  consumer / "WORKSPACE",
                  absl::StrReplaceAll(workspace, {{kPathLine, absl::StrCat("path = \"",
                                                                           checkout->string(),
                                                                           "\",")}}),
                  testing::WriteMode::kTruncate, testing::RunAs::Current())
                  .ok());
  const std::string bazelrc = ReadFile(consumer / ".bazelrc");
  EXPECT_EQ(CountLines(bazelrc, "build "), 2)
      << "the C++17 flag and the optional distdir, nothing else for every build\n"
      << bazelrc;
  ASSERT_TRUE(absl::StrContains(bazelrc, kDistdir)) << bazelrc;
  ASSERT_TRUE(testing::WriteFile(consumer / ".bazelrc",
                                 absl::StrReplaceAll(bazelrc, {{kDistdir, distdir.string()}}),
                                 testing::WriteMode::kTruncate, testing::RunAs::Current())
                  .ok());

  // docs/EMBEDDING.md, "Bazel": `bazel build //:service`, from nothing; and
  // docs/BUILDING.md, "A binary that ships alone".
  std::vector<std::string> argv = {kBazel, "--batch",
                                   absl::StrCat("--output_user_root=", tmp, "/root"), "build",
                                   "--jobs=2"};
  if (mode == Mode::kStatic) {
    argv.push_back("-c");
    argv.push_back("opt");
    argv.push_back("--config=static");
  }
  argv.push_back("//:service");
  const std::string log = tmp + "/bazel.log";
  absl::Status built = testing::RunLogged(argv, log, {absl::StrCat("HOME=", tmp, "/home")},
                                          consumer.string());
  ASSERT_TRUE(built.ok()) << built << "\n" << ReadFile(log).substr(0, 20000);

  absl::StatusOr<std::unique_ptr<testing::ThrowawayPostgres>> server =
      testing::ThrowawayPostgres::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string out = tmp + "/service.out";
  absl::Status ran = testing::RunLogged(
      {(consumer / "bazel-bin" / "service").string(),
       (*server)->ConninfoFor(testing::ThrowawayPostgres::kAppRole)},
      out, {"AEQUOR_COORDINATION_SECRET=embedding-test-secret-0123456789"}, consumer.string());
  const std::string printed = ReadFile(out);
  ASSERT_TRUE(ran.ok()) << ran << "\n" << printed;
  EXPECT_TRUE(absl::StrContains(printed, "answer 42\n")) << printed;
  EXPECT_TRUE(absl::StrContains(printed, "lease s=embedding-service;i=")) << printed;
  EXPECT_TRUE(absl::StrContains(printed, "tally: 1 statements\n"))
      << "the workspace's own plugin, chosen by name\n"
      << printed;
  *service = consumer / "bazel-bin" / "service";
}

TEST(EmbeddingTest, AWorkspaceOfItsOwnBuildsAndRunsAServiceWithItsOwnPlugin) {
  fs::path service;
  BuildAndRunExample(Mode::kDefault, &service);
  if (HasFatalFailure()) return;
  // Debian's shared libabsl_*, nothing of a second Abseil.
  const std::string symbols = Output({kNm, "-C", service.string()});
  EXPECT_TRUE(absl::StrContains(symbols, kDebianAbseil));
  EXPECT_FALSE(absl::StrContains(symbols, kSourceAbseil));
}

TEST(EmbeddingTest, LinkedStaticallyItNeedsOnlyLibcAndLibpqAndRuns) {
  fs::path service;
  BuildAndRunExample(Mode::kStatic, &service);
  if (HasFatalFailure()) return;
  // Abseil from its pinned archive, linked in; not one symbol of Debian's.
  const std::string symbols = Output({kNm, "-C", service.string()});
  EXPECT_TRUE(absl::StrContains(symbols, kSourceAbseil));
  EXPECT_FALSE(absl::StrContains(symbols, kDebianAbseil)) << "Debian's Abseil in a static build";
  // The shared libraries it names: libc's, and libpq with the OpenSSL it
  // loads anyway (docs/BUILDING.md says why libpq stays shared).
  const std::string dynamic = Output({kReadelf, "-d", service.string()});
  ASSERT_FALSE(dynamic.empty());
  const std::vector<std::string> allowed = {
      "libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libpq.so.5", "libssl.so.3",
      "libcrypto.so.3"};
  int needed = 0;
  for (absl::string_view line : absl::StrSplit(dynamic, '\n')) {
    if (!absl::StrContains(line, "(NEEDED)")) continue;
    ++needed;
    const size_t open = line.find('['), close = line.find(']');
    ASSERT_NE(open, absl::string_view::npos) << line;
    const std::string lib(line.substr(open + 1, close - open - 1));
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), lib), allowed.end())
        << lib << " is linked shared in a --config=static build\n" << dynamic;
  }
  EXPECT_GE(needed, 2) << dynamic;
}

}  // namespace
}  // namespace aequor
