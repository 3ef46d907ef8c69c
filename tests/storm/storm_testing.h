// tests/storm/storm_testing.h: what the storm tests share: a strict little
// JSON reader for the summary line, running a storm in process (RunOrFail)
// or the storm binary (RunBinary), and the runfiles paths.
//
// Thread-safety: the functions are not meant for concurrent use (RunStorm
// forks and installs signal handlers).
#ifndef AEQUOR_TESTS_STORM_STORM_TESTING_H_
#define AEQUOR_TESTS_STORM_STORM_TESTING_H_

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/storm/harness.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace storm_testing {

// ---------------------------------------------------------------------------
// A small JSON reader, enough to check the summary line strictly.

struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::map<std::string, Json> object;
};

class JsonReader {
 public:
  explicit JsonReader(absl::string_view text) : s_(text) {}

  // The whole text must be one value.
  bool Read(Json* out) {
    if (!Value(out, 0)) return false;
    Space();
    return i_ == s_.size();
  }

 private:
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool Literal(absl::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool String(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        char e = s_[i_++];
        switch (e) {
          case '"': case '\\': case '/': out->push_back(e); break;
          case 'n': out->push_back('\n'); break;
          case 't': out->push_back('\t'); break;
          case 'r': out->push_back('\r'); break;
          case 'u':
            if (i_ + 4 > s_.size()) return false;
            i_ += 4;
            out->push_back('?');
            break;
          default: return false;
        }
      } else {
        out->push_back(c);
      }
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool Value(Json* out, int depth) {
    if (depth > 8) return false;
    Space();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      out->type = Json::Type::kObject;
      Space();
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return true;
      }
      while (true) {
        Space();
        std::string key;
        if (!String(&key)) return false;
        Space();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        Json v;
        if (!Value(&v, depth + 1)) return false;
        if (!out->object.emplace(key, v).second) return false;  // duplicate key
        Space();
        if (i_ >= s_.size()) return false;
        if (s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (s_[i_] == '}') {
          ++i_;
          return true;
        }
        return false;
      }
    }
    if (c == '"') {
      out->type = Json::Type::kString;
      return String(&out->string);
    }
    if (Literal("null")) return true;
    if (Literal("true")) {
      out->type = Json::Type::kBool;
      out->boolean = true;
      return true;
    }
    if (Literal("false")) {
      out->type = Json::Type::kBool;
      return true;
    }
    size_t start = i_;
    while (i_ < s_.size() && (absl::ascii_isdigit(s_[i_]) || s_[i_] == '-' || s_[i_] == '.' ||
                              s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+')) {
      ++i_;
    }
    out->type = Json::Type::kNumber;
    return i_ > start && absl::SimpleAtod(s_.substr(start, i_ - start), &out->number);
  }

  absl::string_view s_;
  size_t i_ = 0;
};

inline Json ParseJsonOrDie(const std::string& text) {
  Json j;
  EXPECT_TRUE(JsonReader(text).Read(&j)) << "not JSON: " << text;
  EXPECT_EQ(j.type, Json::Type::kObject) << text;
  return j;
}

inline int Int(const Json& j, const std::string& key) {
  auto it = j.object.find(key);
  EXPECT_NE(it, j.object.end()) << "missing " << key;
  if (it == j.object.end()) return -1;
  EXPECT_EQ(it->second.type, Json::Type::kNumber) << key;
  return static_cast<int>(it->second.number);
}

inline void ExpectContractFields(const Json& j) {
  for (const char* key : {"client", "invocations", "ok", "failed", "failures", "peak_connections",
                          "zombies_reaped", "false_kills", "p50_ms", "p99_ms", "rows",
                          "duplicated_invocations", "ok_without_row", "unknown_outcome",
                          "fault_kills"}) {
    EXPECT_EQ(j.object.count(key), 1u) << "missing field " << key;
  }
  EXPECT_EQ(j.object.at("client").type, Json::Type::kString);
  EXPECT_EQ(j.object.at("failures").type, Json::Type::kObject);
  EXPECT_EQ(j.object.at("p50_ms").type, Json::Type::kNumber);
  EXPECT_EQ(j.object.at("p99_ms").type, Json::Type::kNumber);
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

// Runs the storm binary; SIGTERMs it after `kill_after_s` when > 0.
inline Exec RunBinary(const std::vector<std::string>& args, double kill_after_s = 0) {
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
  std::thread killer;
  if (kill_after_s > 0) {
    killer = std::thread([pid, kill_after_s] {
      std::this_thread::sleep_for(std::chrono::duration<double>(kill_after_s));
      kill(pid, SIGTERM);
    });
  }
  std::thread err_reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = read(err[0], buf, sizeof(buf))) > 0) e.err.append(buf, static_cast<size_t>(n));
  });
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) e.out.append(buf, static_cast<size_t>(n));
  err_reader.join();
  if (killer.joinable()) killer.join();
  waitpid(pid, &e.status, 0);
  close(out[0]);
  close(err[0]);
  return e;
}

}  // namespace storm_testing
}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_TESTS_STORM_STORM_TESTING_H_
