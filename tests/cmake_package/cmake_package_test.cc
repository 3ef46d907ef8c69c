// The CMake package, used as docs/EMBEDDING.md says: configure, build and
// install the library from a copy of the source tree, build
// examples/cmake_consumer against the installed package (find_package) and
// with pkg-config, and run both against a real server. And:
// cmake/aequor.cmake names exactly the files of Bazel's //:aequor, so that
// the two builds do not drift apart.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "testing/file_util.h"
#include "testing/subprocess.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace {

namespace fs = std::filesystem;

constexpr char kCMake[] = "/usr/bin/cmake";

// The top-level CMakeLists.txt without its comments. The root package does
// not export that file, so it cannot reach this test as data: the test
// writes the same commands. Keep the two alike; the build is in
// cmake/aequor.cmake, which is the one copied.
constexpr char kTopLevelCMakeLists[] = R"(cmake_minimum_required(VERSION 3.16)

project(aequor
  VERSION 0.1.0
  DESCRIPTION "PostgreSQL connection manager (libpq) for serverless clients"
  LANGUAGES CXX)

include("${CMAKE_CURRENT_SOURCE_DIR}/cmake/aequor.cmake")
)";

std::string Runfiles() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/",
                      workspace != nullptr ? workspace : "aequor");
}

std::string TestTmpDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The manifest of :aequor_files: "library <path>" (a file of //:aequor) or
// "extra <path>" (a CMake file), relative to the workspace.
struct PackageFiles {
  std::vector<std::string> library;
  std::vector<std::string> extra;
};

PackageFiles ReadManifest() {
  PackageFiles files;
  const std::string text =
      ReadFile(absl::StrCat(Runfiles(), "/tests/cmake_package/aequor_files.manifest"));
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "library ")) {
      files.library.emplace_back(line);
    } else if (absl::ConsumePrefix(&line, "extra ")) {
      files.extra.emplace_back(line);
    }
  }
  return files;
}

// The words of `set(NAME ...)` in a CMake file, without comments.
std::set<std::string> CMakeList(const std::string& cmake, absl::string_view name) {
  std::set<std::string> words;
  const std::string opening = absl::StrCat("set(", name, "\n");
  size_t begin = cmake.find(opening);
  if (begin == std::string::npos) return words;
  begin += opening.size();
  const size_t end = cmake.find(')', begin);
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(cmake).substr(begin, end - begin), '\n')) {
    line = line.substr(0, line.find('#'));
    for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipWhitespace())) {
      words.emplace(absl::StripAsciiWhitespace(word));
    }
  }
  return words;
}

std::vector<std::string> Minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

TEST(CMakeListsTest, NamesEveryFileOfBazelsLibraryAndNoOther) {
  const PackageFiles files = ReadManifest();
  ASSERT_FALSE(files.library.empty()) << "the manifest of :aequor_files lists no file";
  std::set<std::string> bazel_sources;
  std::set<std::string> bazel_headers;
  for (const std::string& path : files.library) {
    (absl::EndsWith(path, ".h") ? bazel_headers : bazel_sources).insert(path);
  }
  const std::string cmake = ReadFile(absl::StrCat(Runfiles(), "/cmake/aequor.cmake"));
  const std::set<std::string> cmake_sources = CMakeList(cmake, "AEQUOR_SOURCES");
  std::set<std::string> cmake_headers = CMakeList(cmake, "AEQUOR_PUBLIC_HEADERS");
  const std::set<std::string> private_headers = CMakeList(cmake, "AEQUOR_PRIVATE_HEADERS");
  cmake_headers.insert(private_headers.begin(), private_headers.end());

  EXPECT_EQ(Minus(bazel_sources, cmake_sources), std::vector<std::string>{})
      << "files of //:aequor missing from AEQUOR_SOURCES in cmake/aequor.cmake";
  EXPECT_EQ(Minus(cmake_sources, bazel_sources), std::vector<std::string>{})
      << "files in AEQUOR_SOURCES of cmake/aequor.cmake that //:aequor does not build";
  EXPECT_EQ(Minus(bazel_headers, cmake_headers), std::vector<std::string>{})
      << "headers of //:aequor in neither AEQUOR_PUBLIC_HEADERS nor "
         "AEQUOR_PRIVATE_HEADERS of cmake/aequor.cmake";
  EXPECT_EQ(Minus(cmake_headers, bazel_headers), std::vector<std::string>{})
      << "headers in cmake/aequor.cmake that //:aequor does not have";
}

class CMakePackageTest : public ::testing::Test {
 protected:
  // Runs argv (argv[0] absolute) in `cwd` with this process's environment
  // plus `env`, its output appended to `log`; the status ends with the log's
  // tail when it fails.
  static absl::Status Run(std::vector<std::string> argv, const std::string& log,
                          const std::vector<std::string>& env = {}, const std::string& cwd = "") {
    return testing::RunLogged(std::move(argv), log, env, cwd);
  }
};

TEST_F(CMakePackageTest, InstalledPackageBuildsAConsumerThatQueriesTheServer) {
  ASSERT_TRUE(fs::exists(kCMake))
      << kCMake << " not found: install Debian's package cmake (apt-get install cmake)";

  // A source tree as a clone has it: the library's files and the CMake files.
  const std::string tmp = TestTmpDir();
  const std::string src = tmp + "/src";
  const std::string build = tmp + "/build";
  const std::string prefix = tmp + "/prefix";
  const std::string log = tmp + "/cmake.log";
  const PackageFiles files = ReadManifest();
  std::vector<std::string> all = files.library;
  all.insert(all.end(), files.extra.begin(), files.extra.end());
  for (const std::string& path : all) {
    const fs::path to = fs::path(src) / path;
    fs::create_directories(to.parent_path());
    std::error_code error;
    fs::copy_file(fs::path(Runfiles()) / path, to, fs::copy_options::overwrite_existing, error);
    ASSERT_FALSE(error) << "copying " << path << ": " << error.message();
  }
  ASSERT_TRUE(testing::WriteFile(src + "/CMakeLists.txt", kTopLevelCMakeLists,
                                 testing::WriteMode::kTruncate, testing::RunAs::Current())
                  .ok());

  // The library: docs/EMBEDDING.md, "CMake".
  ASSERT_TRUE(Run({kCMake, "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                   "-DCMAKE_INSTALL_PREFIX=" + prefix},
                  log)
                  .ok());
  ASSERT_TRUE(Run({kCMake, "--build", build, "-j2"}, log).ok());
  ASSERT_TRUE(Run({kCMake, "--install", build}, log).ok());
  for (const char* installed :
       {"/include/aequor/api/connection_manager.h", "/lib/cmake/aequor/aequorConfig.cmake",
        "/lib/cmake/aequor/aequorConfigVersion.cmake", "/lib/cmake/aequor/aequorTargets.cmake",
        "/lib/pkgconfig/aequor.pc"}) {
    EXPECT_TRUE(fs::exists(prefix + installed)) << prefix + installed;
  }
  EXPECT_FALSE(fs::exists(prefix + "/include/aequor/core"))
      << "the core's headers are internal: not installed";

  // The consumer, with find_package(aequor) and nothing but aequor::aequor.
  const std::string consumer_build = tmp + "/consumer-build";
  ASSERT_TRUE(Run({kCMake, "-S", src + "/examples/cmake_consumer", "-B", consumer_build,
                   "-DCMAKE_PREFIX_PATH=" + prefix},
                  log)
                  .ok());
  ASSERT_TRUE(Run({kCMake, "--build", consumer_build, "-j2"}, log).ok());

  // The same program with pkg-config alone; and every installed header in
  // one translation unit, with the include flags of aequor.pc only (a header
  // that includes one that is not installed fails here).
  const std::string pkg_config_path = "PKG_CONFIG_PATH=" + prefix + "/lib/pkgconfig";
  const std::string pc_consumer = tmp + "/pc_consumer";
  ASSERT_TRUE(Run({"/bin/sh", "-c",
                   "g++ -o " + pc_consumer + " " + src +
                       "/examples/cmake_consumer/main.cc $(pkg-config --cflags --libs aequor)"},
                  log, {pkg_config_path})
                  .ok());
  std::string all_headers;
  for (const fs::directory_entry& e :
       fs::recursive_directory_iterator(prefix + "/include/aequor")) {
    if (e.is_regular_file()) {
      all_headers += absl::StrCat("#include \"",
                                  fs::relative(e.path(), prefix + "/include/aequor").string(),
                                  "\"\n");
    }
  }
  const std::string all_headers_cc = tmp + "/all_headers.cc";
  ASSERT_TRUE(testing::WriteFile(all_headers_cc, all_headers, testing::WriteMode::kTruncate,
                                 testing::RunAs::Current())
                  .ok());
  EXPECT_TRUE(Run({"/bin/sh", "-c",
                   "g++ -std=c++17 -fsyntax-only $(pkg-config --cflags aequor) " + all_headers_cc},
                  log, {pkg_config_path})
                  .ok());

  // Both programs run against a server, with a lease. The server starts
  // only now, after minutes of building.
  absl::StatusOr<std::unique_ptr<testing::ThrowawayPostgres>> server =
      testing::ThrowawayPostgres::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  for (const std::string& program : {consumer_build + "/cmake_consumer", pc_consumer}) {
    SCOPED_TRACE(program);
    const std::string out = tmp + "/" + fs::path(program).filename().string() + ".out";
    ASSERT_TRUE(Run({program, (*server)->ConninfoFor(testing::ThrowawayPostgres::kAppRole)}, out,
                    {"AEQUOR_COORDINATION_SECRET=cmake-package-test-secret-0123"})
                    .ok());
    const std::string printed = ReadFile(out);
    EXPECT_TRUE(absl::StrContains(printed, "SELECT 1 returned 1\n")) << printed;
    EXPECT_TRUE(absl::StrContains(printed, "application_name (the lease): s=cmake-consumer;i="))
        << printed;
  }
}

}  // namespace
}  // namespace aequor
