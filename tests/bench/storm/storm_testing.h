// tests/bench/storm/storm_testing.h: what the storm tests share: reading the
// summary line strictly (nlohmann-json, no member twice) and its members,
// running a storm in process (RunOrFail) or the storm binary (RunBinary,
// RunBinaryUntil), and the runfiles paths.
//
// Thread-safety: the functions are not meant for concurrent use (RunStorm
// forks and installs signal handlers).
#ifndef AEQUOR_TESTS_BENCH_STORM_STORM_TESTING_H_
#define AEQUOR_TESTS_BENCH_STORM_STORM_TESTING_H_

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/storm/environment.h"
#include "bench/storm/options.h"
#include "bench/storm/run.h"
#include "bench/storm/summary.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace storm_testing {

// ---------------------------------------------------------------------------
// The summary line, read with nlohmann-json.

using Json = ::nlohmann::json;

// The summary line as a JSON object that names no member twice (at any
// depth): StormSummaryToJson never repeats one, so a repeat is a bug.
inline absl::StatusOr<Json> ParseSummary(absl::string_view text) {
  std::vector<std::set<std::string>> open_objects;  // the keys of each object being read
  std::string repeated;
  const Json::parser_callback_t check_keys = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end && !open_objects.empty()) {
      open_objects.pop_back();
    } else if (event == Json::parse_event_t::key && !open_objects.empty() &&
               !open_objects.back().insert(parsed.get<std::string>()).second && repeated.empty()) {
      repeated = parsed.get<std::string>();
    }
    return true;
  };
  Json j = Json::parse(text.begin(), text.end(), check_keys, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("JSON: not valid JSON");
  if (!repeated.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("JSON: member \"", repeated, "\" repeated"));
  }
  if (!j.is_object()) return absl::InvalidArgumentError("JSON: not an object");
  return j;
}

// ParseSummary(text), failing the test (not fatally) when it fails.
inline Json ParseJsonOrDie(const std::string& text) {
  absl::StatusOr<Json> j = ParseSummary(text);
  EXPECT_TRUE(j.ok()) << j.status() << "\nnot the summary: " << text;
  return j.ok() ? *std::move(j) : Json::object();
}

// Whether object `j` has member `key`.
inline bool Has(const Json& j, const std::string& key) { return j.is_object() && j.contains(key); }

// Member `key` of `j`; null (and a failure) when it is missing.
inline const Json& Member(const Json& j, const std::string& key) {
  static const Json* const kMissing = new Json();
  EXPECT_TRUE(Has(j, key)) << "missing " << key;
  return Has(j, key) ? j.at(key) : *kMissing;
}

// The number `key` of `j`; -1 (and a failure) when it is missing.
inline double Number(const Json& j, const std::string& key) {
  const Json& v = Member(j, key);
  EXPECT_TRUE(v.is_number()) << key << " is not a number: " << v.dump();
  return v.is_number() ? v.get<double>() : -1;
}

// The number `key` of `j` as an int; -1 (and a failure) when it is missing.
inline int Int(const Json& j, const std::string& key) { return static_cast<int>(Number(j, key)); }

// The string `key` of `j`; "" (and a failure) when it is missing.
inline std::string String(const Json& j, const std::string& key) {
  const Json& v = Member(j, key);
  EXPECT_TRUE(v.is_string()) << key << " is not a string: " << v.dump();
  return v.is_string() ? v.get<std::string>() : "";
}

// The boolean `key` of `j`; false (and a failure) when it is missing.
inline bool Bool(const Json& j, const std::string& key) {
  const Json& v = Member(j, key);
  EXPECT_TRUE(v.is_boolean()) << key << " is not a boolean: " << v.dump();
  return v.is_boolean() && v.get<bool>();
}

// `key` is present and null.
inline bool IsNull(const Json& j, const std::string& key) {
  return Has(j, key) && j.at(key).is_null();
}

inline void ExpectContractFields(const Json& j) {
  for (const char* key :
       {"client", "invocations", "ok", "failed", "failures", "peak_connections", "zombies_reaped",
        "false_kills", "p50_ms", "p99_ms", "rows", "duplicated_invocations", "ok_without_row",
        "unknown_outcome", "fault_kills"}) {
    EXPECT_TRUE(Has(j, key)) << "missing field " << key;
  }
  EXPECT_TRUE(Member(j, "client").is_string());
  EXPECT_TRUE(Member(j, "failures").is_object());
  // The service mode times no invocation: its latencies are null.
  const bool service = Member(j, "client") == "aequor-pool";
  EXPECT_TRUE(Member(j, "p50_ms").is_number() || (service && Member(j, "p50_ms").is_null()));
  EXPECT_TRUE(Member(j, "p99_ms").is_number() || (service && Member(j, "p99_ms").is_null()));
  EXPECT_EQ(Int(j, "ok") + Int(j, "failed"), Int(j, "invocations"));
}

inline std::string TmpDir() {
  const char* d = std::getenv("TEST_TMPDIR");
  return d != nullptr ? d : "/tmp";
}

inline std::string InstanceBinary() {
  std::string path = FindInstanceBinary("");
  EXPECT_FALSE(path.empty()) << "storm_instance not in the runfiles";
  return path;
}

inline std::string StormBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/aequor/bench/storm/storm");
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

struct Ran {
  StormSummary summary;
  std::string progress;
  Json json;
};

inline Ran RunOrFail(StormOptions options) {
  Ran ran;
  std::ostringstream progress;
  absl::StatusOr<StormSummary> s = RunStorm(options, &progress);
  ran.progress = progress.str();
  EXPECT_TRUE(s.ok()) << s.status() << "\n" << ran.progress;
  if (!s.ok()) return ran;
  ran.summary = *s;
  ran.json = ParseJsonOrDie(StormSummaryToJson(*s));
  ExpectContractFields(ran.json);
  return ran;
}

struct Exec {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs the storm binary and SIGTERMs it as soon as its standard output so
// far satisfies `sigterm_when` (a condition, never a guessed delay); never
// if the output never does (the process then ends by itself).
inline Exec RunBinaryUntil(const std::vector<std::string>& args,
                           const std::function<bool(const std::string& out)>& sigterm_when) {
  Exec e;
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return e;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    std::vector<std::string> argv = {StormBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c;
    for (std::string& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    execv(c[0], c.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  std::thread err_reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = read(err[0], buf, sizeof(buf))) > 0) e.err.append(buf, static_cast<size_t>(n));
  });
  bool sent = false;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) {
    e.out.append(buf, static_cast<size_t>(n));
    if (!sent && sigterm_when(e.out)) {
      kill(pid, SIGTERM);
      sent = true;
    }
  }
  err_reader.join();
  waitpid(pid, &e.status, 0);
  close(out[0]);
  close(err[0]);
  return e;
}

// Runs the storm binary to its end.
inline Exec RunBinary(const std::vector<std::string>& args) {
  return RunBinaryUntil(args, [](const std::string&) { return false; });
}

}  // namespace storm_testing
}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_TESTS_BENCH_STORM_STORM_TESTING_H_
