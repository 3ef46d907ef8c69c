// examples/embedding built and run as docs/EMBEDDING.md ("Bazel") says: a
// workspace of its own whose WORKSPACE declares aequor, loads
// @aequor//bazel:repositories.bzl and calls aequor_dependencies(), and whose
// .bazelrc has only --cxxopt=-std=c++17. A Bazel of its own (batch mode, an
// empty output root) builds its service, with a plugin of the workspace's
// own, and the service answers a query against a real server with a lease.
#include <unistd.h>

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
#include "gtest/gtest.h"
#include "testing/file_util.h"
#include "testing/subprocess.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

namespace fs = std::filesystem;

constexpr char kBazel[] = "/usr/bin/bazel";
// The line of examples/embedding/WORKSPACE that names the checkout.
constexpr char kPathLine[] = "path = \"../..\",";

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

TEST(EmbeddingTest, AWorkspaceOfItsOwnBuildsAndRunsAServiceWithItsOwnPlugin) {
  ASSERT_TRUE(fs::exists(kBazel)) << kBazel << " not found (Debian's bazel-bootstrap)";
  absl::StatusOr<fs::path> checkout = Checkout();
  ASSERT_TRUE(checkout.ok()) << checkout.status();
  const fs::path example = *checkout / "examples" / "embedding";
  ASSERT_TRUE(fs::exists(example / "WORKSPACE")) << example;

  // The example as a team would have it, but for where the checkout is.
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
  EXPECT_EQ(ReadFile(consumer / ".bazelrc").find("--"),
            ReadFile(consumer / ".bazelrc").rfind("--"))
      << "one flag in the consumer's .bazelrc";

  // docs/EMBEDDING.md, "Bazel": `bazel build //:service`, from nothing.
  const std::string log = tmp + "/bazel.log";
  absl::Status built = testing::RunLogged(
      {kBazel, "--batch", absl::StrCat("--output_user_root=", tmp, "/root"), "build", "--jobs=2",
       "//:service"},
      log, {absl::StrCat("HOME=", tmp, "/home")}, consumer.string());
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
}

}  // namespace
}  // namespace aequor
