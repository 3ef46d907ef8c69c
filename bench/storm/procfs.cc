#include "bench/storm/procfs.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace aequor {
namespace storm {
namespace {

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// "0100007F:D431" or "00000000000000000000000001000000:D431" -> 0xD431.
bool PortOf(absl::string_view address, int* port) {
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return false;
  unsigned int value = 0;
  if (!absl::SimpleHexAtoi(address.substr(colon + 1), &value) || value > 65535) return false;
  *port = static_cast<int>(value);
  return true;
}

// Calls f(pid) for every numeric entry of /proc.
template <typename F>
void ForEachProcess(F f) {
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return;
  while (struct dirent* entry = readdir(dir)) {
    int pid = 0;
    if (absl::SimpleAtoi(entry->d_name, &pid) && pid > 0) f(static_cast<pid_t>(pid));
  }
  closedir(dir);
}

}  // namespace

std::map<int, uint64_t> ParseTcpTable(absl::string_view text, int remote_port) {
  std::map<int, uint64_t> out;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (header) {  // "  sl  local_address rem_address   st tx_queue ..."
      header = false;
      continue;
    }
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    if (fields.size() < 10) continue;
    int local = 0;
    int remote = 0;
    uint64_t inode = 0;
    if (!PortOf(fields[1], &local) || !PortOf(fields[2], &remote)) continue;
    if (remote != remote_port) continue;
    if (!absl::SimpleAtoi(fields[9], &inode) || inode == 0) continue;
    out[local] = inode;
  }
  return out;
}

std::map<int, uint64_t> LocalPortsToInodes(int remote_port) {
  std::map<int, uint64_t> out = ParseTcpTable(ReadWholeFile("/proc/net/tcp"), remote_port);
  for (const auto& [port, inode] : ParseTcpTable(ReadWholeFile("/proc/net/tcp6"), remote_port)) {
    out.emplace(port, inode);
  }
  return out;
}

std::map<pid_t, pid_t> ProcessGroupMembers(const std::set<pid_t>& pgids) {
  std::map<pid_t, pid_t> out;
  if (pgids.empty()) return out;
  ForEachProcess([&](pid_t pid) {
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces
    // and parentheses, so parse after the last ')'.
    std::string stat = ReadWholeFile(absl::StrCat("/proc/", pid, "/stat"));
    size_t close = stat.rfind(')');
    if (close == std::string::npos) return;
    std::vector<absl::string_view> fields =
        absl::StrSplit(absl::string_view(stat).substr(close + 1), ' ', absl::SkipWhitespace());
    int pgrp = 0;
    if (fields.size() < 3 || !absl::SimpleAtoi(fields[2], &pgrp)) return;
    if (pgids.count(static_cast<pid_t>(pgrp)) != 0) out[pid] = static_cast<pid_t>(pgrp);
  });
  return out;
}

std::vector<uint64_t> SocketInodes(pid_t pid) {
  std::vector<uint64_t> out;
  const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* dir = opendir(fd_dir.c_str());
  if (dir == nullptr) return out;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    char target[128];
    const std::string link = absl::StrCat(fd_dir, "/", entry->d_name);
    ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    absl::string_view text(target, static_cast<size_t>(n));
    uint64_t inode = 0;
    if (absl::ConsumePrefix(&text, "socket:[") && absl::ConsumeSuffix(&text, "]") &&
        absl::SimpleAtoi(text, &inode)) {
      out.push_back(inode);
    }
  }
  closedir(dir);
  return out;
}

}  // namespace storm
}  // namespace aequor
