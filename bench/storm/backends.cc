#include "bench/storm/backends.h"

#include "bench/storm/procfs.h"

namespace aequor {
namespace storm {

BackendTable::Merged BackendTable::Merge(const std::vector<Backend>& polled, double now) {
  Merged merged;
  present_.clear();
  for (const Backend& b : polled) {
    const BackendKey key = KeyOf(b);
    present_.insert(key);
    auto [it, inserted] = backends_.emplace(key, b);
    Backend& known = it->second;
    if (inserted) {
      known.first_seen_ms = now;
      known.leader = leader_.has_value() && key == *leader_;
      merged.added.push_back(key);
    } else {
      known.application_name = b.application_name;
      known.state = b.state;
      known.query = b.query;
    }
    known.last_seen_ms = now;
  }
  merged.present = static_cast<int>(present_.size());
  return merged;
}

std::vector<Backend> BackendTable::TakeGone() {
  std::vector<Backend> gone;
  for (auto it = backends_.begin(); it != backends_.end();) {
    if (present_.count(it->first) == 0) {
      gone.push_back(std::move(it->second));
      it = backends_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

void AttributeBackends(const std::map<int, int>& reported_pids,
                       const std::map<pid_t, int>& live_groups, int server_port,
                       std::map<BackendKey, Backend>* backends) {
  std::vector<Backend*> pending;
  for (auto& [key, b] : *backends) {
    if (b.instance != 0 || b.leader) continue;
    if (auto it = reported_pids.find(b.pid); it != reported_pids.end()) {
      b.instance = it->second;
    } else if (b.client_port > 0) {
      pending.push_back(&b);
    }
  }
  if (pending.empty()) return;
  std::set<pid_t> groups;
  for (const auto& [pgid, number] : live_groups) groups.insert(pgid);
  const std::map<int, uint64_t> port_inodes = LocalPortsToInodes(server_port);
  std::map<uint64_t, pid_t> inode_group;
  for (const auto& [pid, pgid] : ProcessGroupMembers(groups)) {
    for (uint64_t inode : SocketInodes(pid)) inode_group[inode] = pgid;
  }
  for (Backend* b : pending) {
    auto port = port_inodes.find(b->client_port);
    if (port == port_inodes.end()) continue;
    auto group = inode_group.find(port->second);
    if (group == inode_group.end()) continue;
    b->instance = live_groups.at(group->second);
  }
}

}  // namespace storm
}  // namespace aequor
