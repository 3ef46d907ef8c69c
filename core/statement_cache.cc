#include "core/statement_cache.h"

#include "absl/strings/str_cat.h"

namespace aequor {

StatementCache::Use StatementCache::Next(absl::string_view sql) {
  Use use;
  if (disabled_) return use;
  auto it = entries_.find(sql);
  if (it == entries_.end()) {
    // Statements seen once are remembered up to as many again as can be
    // prepared; beyond that the ones never prepared are forgotten, so that
    // dynamic SQL cannot grow the map without bound.
    if (entries_.size() >= static_cast<size_t>(2 * capacity_)) {
      for (auto e = entries_.begin(); e != entries_.end();) {
        if (!e->second.prepared) {
          entries_.erase(e++);
        } else {
          ++e;
        }
      }
      if (entries_.size() >= static_cast<size_t>(2 * capacity_)) return use;
    }
    it = entries_.emplace(std::string(sql), Entry()).first;
  }
  Entry& e = it->second;
  ++e.uses;
  if (e.retired) return use;
  if (e.prepared) {
    use.name = e.name.c_str();
    return use;
  }
  if (e.uses < 2 || prepared_ >= capacity_) return use;
  if (e.name.empty()) e.name = absl::StrCat(prefix_, next_name_++);
  use.name = e.name.c_str();
  use.prepare = true;
  return use;
}

void StatementCache::Prepared(absl::string_view sql) {
  auto it = entries_.find(sql);
  if (it == entries_.end() || it->second.prepared) return;
  it->second.prepared = true;
  ++prepared_;
}

void StatementCache::Retire(absl::string_view sql) {
  auto it = entries_.find(sql);
  if (it != entries_.end()) it->second.retired = true;
}

}  // namespace aequor
