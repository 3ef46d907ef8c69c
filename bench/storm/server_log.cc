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

// The messages of a connection refused for lack of slots (53300).
constexpr absl::string_view kRefusals[] = {
    "too many connections for role",
    "too many connections for database",
    "remaining connection slots are reserved",
    "sorry, too many clients already",
};

// A "FATAL:" line: its time, pid, what the prefix says before "FATAL:", and
// the message after it.
struct FatalLine {
  int64_t epoch_ms = 0;
  int pid = 0;
  absl::string_view prefix;
  absl::string_view message;
};

std::optional<FatalLine> ParseFatalLine(absl::string_view line) {
  // "<epoch.ms> [<pid>] <rest>"
  std::pair<absl::string_view, absl::string_view> head =
      absl::StrSplit(line, absl::MaxSplits(' ', 1));
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
  FatalLine out;
  out.epoch_ms = static_cast<int64_t>(std::llround(seconds * 1000.0));
  out.pid = pid;
  out.prefix = absl::StripAsciiWhitespace(rest.substr(0, fatal));
  out.message = absl::StripAsciiWhitespace(rest.substr(fatal + 6));
  return out;
}

}  // namespace

std::optional<Termination> ParseTerminationLine(absl::string_view line) {
  std::optional<FatalLine> f = ParseFatalLine(line);
  if (!f.has_value()) return std::nullopt;
  size_t at = f->message.find(kMarker);
  if (at == absl::string_view::npos) return std::nullopt;
  Termination t;
  t.pid = f->pid;
  t.epoch_ms = f->epoch_ms;
  t.reason = std::string(absl::StripAsciiWhitespace(f->message.substr(at + kMarker.size())));
  return t;
}

std::optional<Refusal> ParseRefusalLine(absl::string_view line) {
  std::optional<FatalLine> f = ParseFatalLine(line);
  if (!f.has_value()) return std::nullopt;
  bool refused = false;
  for (absl::string_view m : kRefusals) refused = refused || absl::StartsWith(f->message, m);
  if (!refused) return std::nullopt;
  Refusal r;
  r.pid = f->pid;
  r.epoch_ms = f->epoch_ms;
  r.message = std::string(f->message);
  // The prefix "%q%u@%d app=%a": the user is the first word's part before '@'.
  absl::string_view first = f->prefix.substr(0, f->prefix.find(' '));
  if (size_t at = first.find('@'); at != absl::string_view::npos)
    r.user = std::string(first.substr(0, at));
  return r;
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
    const absl::string_view line = absl::string_view(partial_).substr(start, nl - start);
    if (std::optional<Termination> t = ParseTerminationLine(line)) {
      by_pid_[t->pid].push_back(*t);
    } else if (std::optional<Refusal> r = ParseRefusalLine(line)) {
      refusals_.push_back(*std::move(r));
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
