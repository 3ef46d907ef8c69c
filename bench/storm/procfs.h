// bench/storm/procfs.h (internal): which process holds which TCP connection,
// read from /proc, so that the storm harness can attribute a backend to the
// instance that opened it by the backend's client port.
//
// Linux only. Reading another process's /proc/<pid>/fd needs the same user or
// root (the harness runs its instances as itself). Frozen (SIGSTOPped)
// processes are readable like any other.
//
// Thread-safety: pure functions over /proc.
#ifndef AEQUOR_BENCH_STORM_PROCFS_H_
#define AEQUOR_BENCH_STORM_PROCFS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/string_view.h"

namespace aequor {
namespace storm {

// From the text of /proc/net/tcp or /proc/net/tcp6: the socket inode of every
// connection whose remote port is `remote_port`, by local port. Malformed
// lines are skipped.
std::map<int, uint64_t> ParseTcpTable(absl::string_view text, int remote_port);

// ParseTcpTable over /proc/net/tcp and /proc/net/tcp6 (both merged).
std::map<int, uint64_t> LocalPortsToInodes(int remote_port);

// Every process whose process group is one of `pgids`, as pid -> pgid.
std::map<pid_t, pid_t> ProcessGroupMembers(const std::set<pid_t>& pgids);

// The inodes of the sockets open in process `pid` (empty if it is gone).
std::vector<uint64_t> SocketInodes(pid_t pid);

}  // namespace storm
}  // namespace aequor

#endif  // AEQUOR_BENCH_STORM_PROCFS_H_
