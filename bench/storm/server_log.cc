#include "bench/storm/server_log.h"

#include <cmath>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace aequor {
namespace storm {
namespace {

constexpr absl::string_view kMarker = "terminating connection due to ";
constexpr uint64_t kMaxReadPerPoll = 16u << 20;

}  // namespace

std::optional<Termination> ParseTerminationLine(absl::string_view line) {
  // "<epoch.ms> [<pid>] <rest>"
  std::pair<absl::string_view, absl::string_view> head = absl::StrSplit(line, absl::MaxSplits(' ', 1));
  double seconds = 0;
  if (!absl::SimpleAtod(head.first, &seconds) || seconds <= 0) return std::nullopt;
  absl::string_view rest = head.second;
  if (!absl::ConsumePrefix(&rest, "[")) return std::nullopt;
  size_t close = rest.find(']');
  if (close == absl::string_view::npos) return std::nullopt;
  int pid = 0;
  if (!absl::SimpleAtoi(rest.substr(0, close), &pid) || pid <= 0) return std::nullopt;
  rest = rest.substr(close + 1);
  size_t fatal = rest.find("FATAL:");
  if (fatal == absl::string_view::npos) return std::nullopt;
  size_t at = rest.find(kMarker, fatal);
  if (at == absl::string_view::npos) return std::nullopt;
  Termination t;
  t.pid = pid;
  t.epoch_ms = static_cast<int64_t>(std::llround(seconds * 1000.0));
  t.reason = std::string(absl::StripAsciiWhitespace(rest.substr(at + kMarker.size())));
  return t;
}

void ServerLogReader::Poll() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return;
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (end < 0 || static_cast<uint64_t>(end) <= offset_) return;
  uint64_t size = static_cast<uint64_t>(end) - offset_;
  if (size > kMaxReadPerPoll) size = kMaxReadPerPoll;
  std::string chunk(size, '\0');
  in.seekg(static_cast<std::streamoff>(offset_));
  in.read(chunk.data(), static_cast<std::streamsize>(size));
  chunk.resize(static_cast<size_t>(in.gcount()));
  offset_ += chunk.size();
  partial_ += chunk;
  size_t start = 0;
  for (size_t nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n', start)) {
    if (std::optional<Termination> t =
            ParseTerminationLine(absl::string_view(partial_).substr(start, nl - start))) {
      by_pid_[t->pid].push_back(*t);
    }
    start = nl + 1;
  }
  partial_.erase(0, start);
  if (partial_.size() > (1u << 20)) partial_.clear();  // a runaway line: drop it
}

std::optional<Termination> ServerLogReader::Find(int pid, int64_t not_before_ms) const {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return std::nullopt;
  for (const Termination& t : it->second) {
    if (t.epoch_ms >= not_before_ms) return t;
  }
  return std::nullopt;
}

}  // namespace storm
}  // namespace aequor
