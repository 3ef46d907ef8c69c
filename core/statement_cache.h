// core/statement_cache.h (internal): one connection's prepared statements,
// keyed by their SQL text (ManagerOptions::statement_cache_size).
//
// A statement is prepared on its second use on a connection, in the same
// round trip as its execution (pg::PrepareAndRun), and executed by name
// afterwards: the server parses and plans it once. A statement used once
// (a cold serverless invocation's) is never prepared, so it costs nothing.
// At most `capacity` statements are prepared per connection; later ones run
// unnamed, as without the cache (no DEALLOCATE round trips: a service's
// statements are a fixed set). A new connection starts empty: statements
// are prepared again after a reconnect.
//
//   StatementCache cache(256, "aq_Ab3dEf9h_12_");
//   StatementCache::Use use = cache.Next(sql);
//   if (use.prepare) { /* PrepareAndRun(use.name); on success */ cache.Prepared(sql); }
//   else if (use.name != nullptr) { /* run the prepared use.name */ }
//
// A name the server no longer knows (26000: a transaction pooler moved the
// connection, or DISCARD ALL) disables the cache on that connection; a plan
// the server refuses to reuse (0A000, the table changed) retires that
// statement. Both are retried unnamed: neither ran.
//
// Thread-safety: none; its connection's owner serialises every use.
#ifndef AEQUOR_CORE_STATEMENT_CACHE_H_
#define AEQUOR_CORE_STATEMENT_CACHE_H_

#include <cstddef>
#include <string>

#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"

namespace aequor {

class StatementCache {
 public:
  // Names are `prefix` followed by a number. The prefix must be unique to
  // this connection across the fleet (the builder's: instance id and a
  // serial): behind a transaction-mode pooler another client's statement
  // may sit on the same server session, and a name of ours must never run
  // it (it then fails 26000 instead, and the cache turns off).
  // REQUIRES: capacity >= 1; prefix + 10 digits fit 63 bytes.
  StatementCache(int capacity, std::string prefix)
      : capacity_(capacity), prefix_(std::move(prefix)) {}

  struct Use {
    // The statement's name on the server; null: run it unnamed.
    const char* name = nullptr;
    // Prepare it as `name` now, with this execution.
    bool prepare = false;
  };
  // What to do with `sql` now (counts this use).
  Use Next(absl::string_view sql);
  // `sql` was prepared as the name Next() gave.
  void Prepared(absl::string_view sql);
  // The server would not reuse `sql`'s plan: never use its name again.
  void Retire(absl::string_view sql);
  // The server does not know the names (a pooler in between): prepare
  // nothing more on this connection.
  void Disable() { disabled_ = true; }

  bool disabled() const { return disabled_; }
  int prepared() const { return prepared_; }

 private:
  struct Entry {
    std::string name;  // prefix + <n>, once given
    int uses = 0;
    bool prepared = false;
    bool retired = false;
  };

  const int capacity_;
  const std::string prefix_;
  // Nodes: a name handed out stays where it is while the map grows.
  absl::node_hash_map<std::string, Entry> entries_;
  int prepared_ = 0;   // entries prepared (or being), retired included
  int next_name_ = 0;
  bool disabled_ = false;
};

}  // namespace aequor

#endif  // AEQUOR_CORE_STATEMENT_CACHE_H_
