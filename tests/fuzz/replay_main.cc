// The main() of a fuzz target built without libFuzzer (the gcc build): runs
// LLVMFuzzerTestOneInput once on every file named on the command line or
// found in a directory named there, in name order, as libFuzzer does when
// given files. The corpus tests run each target's corpus this way, so the
// corpora are part of the normal test suite; with the clang build the same
// entry function is driven by libFuzzer instead (tools/fuzz.sh).
//
//   bazel-bin/tests/fuzz/lease_fuzzer tests/fuzz/lease/corpus crash-1234
//
// Exits 0 after running at least one input, 1 when there was nothing to run
// or a file could not be read. A failed check aborts (see fuzz_check.h).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Optional in a target, as with libFuzzer.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

// The files named by `arg`: itself, or the regular files in it, sorted.
std::vector<std::filesystem::path> FilesOf(const std::string& arg, std::error_code& error) {
  std::vector<std::filesystem::path> files;
  const std::filesystem::path path(arg);
  if (!std::filesystem::is_directory(path, error)) {
    if (!error) files.push_back(path);
    return files;
  }
  for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
    if (entry.is_regular_file(error)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::error_code error;
    const std::vector<std::filesystem::path> files = FilesOf(argv[i], error);
    if (error) {
      std::cerr << "replay: cannot read " << argv[i] << ": " << error.message() << "\n";
      return 1;
    }
    for (const std::filesystem::path& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::cerr << "replay: cannot read " << file << "\n";
        return 1;
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++runs;
    }
  }
  if (runs == 0) {
    std::cerr << "replay: no input to run (give files or directories)\n";
    return 1;
  }
  std::cout << "replay: " << runs << " inputs ran, every check held\n";
  return 0;
}
