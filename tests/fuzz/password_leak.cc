// tests/fuzz/password_leak.cc: see password_leak.h.
#include "tests/fuzz/password_leak.h"

#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace aequor {
namespace fuzz {
namespace {

constexpr size_t kMinRun = 2;       // for the rotation test
constexpr size_t kMinMixedRun = 5;  // for the letters-and-digits test

char Rotate(char c) {
  const auto next = [c](char first, char last) {
    return c == last ? first : static_cast<char>(c + 1);
  };
  if (c >= '0' && c <= '9') return next('0', '9');
  if (c >= 'a' && c <= 'f') return next('a', 'f');
  if (c >= 'g' && c <= 'z') return next('g', 'z');
  if (c >= 'A' && c <= 'F') return next('A', 'F');
  if (c >= 'G' && c <= 'Z') return next('G', 'Z');
  return c;
}

bool IsRunChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` with every %XX decoded, as a URI's parts are.
std::string PercentDecoded(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

size_t Count(absl::string_view haystack, absl::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != absl::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

bool Mixed(absl::string_view run) {
  bool letter = false;
  bool digit = false;
  for (char c : run) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else {
      letter = true;
    }
  }
  return letter && digit;
}

// `text` with every letter and digit replaced by one placeholder: the same
// for a message and the same message made with the password rotated
// (rotation keeps each character's class), different for two different
// messages.
std::string Shape(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (IsRunChar(c)) c = 'x';
  }
  return out;
}

}  // namespace

std::string RotatePassword(absl::string_view text) {
  std::string out(text);
  for (char& c : out) c = Rotate(c);
  return out;
}

PasswordProbe::PasswordProbe(absl::string_view password,
                             const std::vector<absl::string_view>& elsewhere) {
  std::vector<std::string> others;
  for (absl::string_view text : elsewhere) {
    others.emplace_back(text);
    others.push_back(PercentDecoded(text));
  }
  const auto found_elsewhere = [&others](absl::string_view run) {
    const std::string rotated = RotatePassword(run);
    for (const std::string& other : others) {
      if (absl::StrContains(other, run) || absl::StrContains(other, rotated)) return true;
    }
    return false;
  };
  size_t i = 0;
  while (i < password.size()) {
    if (!IsRunChar(password[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < password.size() && IsRunChar(password[end])) ++end;
    const absl::string_view run = password.substr(i, end - i);
    if (run.size() >= kMinRun && !found_elsewhere(run)) runs_.emplace_back(run);
    i = end;
  }
}

bool PasswordProbe::Mentions(absl::string_view message) const {
  for (const std::string& run : runs_) {
    if (absl::StrContains(message, run)) return true;
  }
  return false;
}

std::string PasswordProbe::Leak(absl::string_view message,
                                absl::string_view rotated_message) const {
  // Counting a run in two messages of different kinds says nothing ('cc' in
  // "accepting" against a syntax error's "forbidden"): the rotation test
  // needs the same message, the password's text aside.
  const bool same_shape = Shape(message) == Shape(rotated_message);
  for (const std::string& run : runs_) {
    if (run.size() >= kMinMixedRun && Mixed(run) && absl::StrContains(message, run)) {
      return absl::StrCat("the password's '", run, "' is in: ", message);
    }
    const std::string rotated = RotatePassword(run);
    if (same_shape && Count(message, run) > Count(rotated_message, run) &&
        Count(rotated_message, rotated) > Count(message, rotated)) {
      return absl::StrCat("the password's '", run, "' is in: ", message, "\n(and rotated, '",
                          rotated, "' is in: ", rotated_message, ")");
    }
  }
  return "";
}

}  // namespace fuzz
}  // namespace aequor
