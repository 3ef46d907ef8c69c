#include "bench/storm/protocol.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace aequor {
namespace storm {
namespace {

constexpr size_t kMaxKeyBytes = 80;

// `text` (trimmed) cut to at most kMaxKeyBytes at a word boundary; a first
// word longer than that is kept whole, never cut inside.
std::string FailureKey(absl::string_view text) {
  if (text.size() <= kMaxKeyBytes) return std::string(text);
  size_t end = kMaxKeyBytes;
  if (!absl::ascii_isspace(static_cast<unsigned char>(text[end]))) {
    const size_t space = text.substr(0, end).find_last_of(" \t");
    end = space != absl::string_view::npos ? space : text.find_first_of(" \t");
  }
  return std::string(absl::StripTrailingAsciiWhitespace(text.substr(0, end)));
}

}  // namespace

bool LooksLikeSqlState(absl::string_view token) {
  if (token.size() != 5) return false;
  for (char c : token) {
    if (!absl::ascii_isdigit(c) && !absl::ascii_isupper(c)) return false;
  }
  return true;
}

InstanceLine ParseInstanceLine(absl::string_view line) {
  InstanceLine out;
  if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
  if (line == "ok") {
    out.kind = InstanceLine::Kind::kOk;
    return out;
  }
  if (line == "fail" || absl::StartsWith(line, "fail ")) {
    out.kind = InstanceLine::Kind::kFail;
    absl::string_view rest = absl::StripAsciiWhitespace(line.substr(4));
    if (rest.empty()) {
      out.failure_key = "unspecified";
      return out;
    }
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(rest, absl::MaxSplits(' ', 1));
    if (parts.first == kUnknownOutcome) {
      out.failure_key = kUnknownOutcome;
      out.outcome_unknown = true;
      out.detail = std::string(absl::StripAsciiWhitespace(parts.second));
    } else if (LooksLikeSqlState(parts.first)) {
      out.failure_key = std::string(parts.first);
      out.detail = std::string(absl::StripAsciiWhitespace(parts.second));
    } else {
      out.failure_key = FailureKey(rest);
    }
    return out;
  }
  if (line == "#" || absl::StartsWith(line, "# ")) {
    out.kind = InstanceLine::Kind::kComment;
    absl::string_view rest = absl::StripAsciiWhitespace(line.substr(1));
    int pid = 0;
    if (absl::ConsumePrefix(&rest, "pid ") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &pid) && pid > 0) {
      out.backend_pid = pid;
    } else if (absl::ConsumePrefix(&rest, "reap ")) {
      // "reap source=<s> ... killed=<n> ...": both needed, in any order.
      ReapComment reap;
      bool has_source = false;
      bool has_killed = false;
      for (absl::string_view token : absl::StrSplit(rest, ' ', absl::SkipEmpty())) {
        if (absl::ConsumePrefix(&token, "source=") && !token.empty()) {
          reap.source = std::string(token);
          has_source = true;
        } else if (absl::ConsumePrefix(&token, "killed=")) {
          has_killed = absl::SimpleAtoi(token, &reap.killed) && reap.killed >= 0;
        } else if (absl::ConsumePrefix(&token, "outcome=")) {
          reap.outcome = std::string(token);
        } else if (absl::ConsumePrefix(&token, "frozen_leader_killed=")) {
          reap.frozen_leader_killed = token == "1";
        }
      }
      if (has_source && has_killed) out.reap = std::move(reap);
    }
    return out;
  }
  return out;
}

std::string InvokeCommand(int id) { return absl::StrCat(kCommandInvoke, " ", id); }

std::optional<int> ParseInvokeCommand(absl::string_view line, int previous) {
  line = absl::StripAsciiWhitespace(line);
  if (!absl::ConsumePrefix(&line, kCommandInvoke)) return std::nullopt;
  if (line.empty()) return previous + 1;
  if (!absl::ascii_isspace(static_cast<unsigned char>(line[0]))) return std::nullopt;
  int id = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &id) || id <= 0) return std::nullopt;
  return id;
}

std::string WriteStatement(int invocation, int instance, double delay_s) {
  if (delay_s > 0) {
    return absl::StrFormat("INSERT INTO %s (invocation, instance) SELECT %d, %d FROM pg_sleep(%g)",
                           kWritesTable, invocation, instance, delay_s);
  }
  return absl::StrFormat("INSERT INTO %s (invocation, instance) VALUES (%d, %d)", kWritesTable,
                         invocation, instance);
}

std::string FailLine(absl::string_view sqlstate, absl::string_view message) {
  std::string text = absl::StrReplaceAll(message, {{"\r", " "}, {"\n", " "}, {"\t", " "}});
  // libpq writes 'connection to server at "127.0.0.1", port N failed: FATAL:  <message>';
  // the server's message alone is what a reader wants.
  for (absl::string_view marker : {"FATAL:", "ERROR:"}) {
    size_t at = text.rfind(std::string(marker));
    if (at != std::string::npos) {
      text = text.substr(at + marker.size());
      break;
    }
  }
  std::string collapsed;
  bool space = false;
  for (char c : text) {
    if (c == ' ') {
      space = true;
      continue;
    }
    if (space && !collapsed.empty()) collapsed.push_back(' ');
    space = false;
    collapsed.push_back(c);
  }
  if (collapsed.empty()) collapsed = "unspecified";
  if (sqlstate.empty()) return absl::StrCat("fail ", collapsed);
  return absl::StrCat("fail ", sqlstate, " ", collapsed);
}

}  // namespace storm
}  // namespace aequor
