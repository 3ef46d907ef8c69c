// testing/tcp_proxy_connection.h: the state of one proxied connection
// (internal to //testing:tcp_proxy): the bytes buffered each way, the
// triggers armed on it, and FindNeedle(), which finds a trigger's bytes
// even when they span two reads.
//
//   std::optional<int64_t> at = FindNeedle(pipe.tail, chunk, "COMMIT");
//
// Thread-safety: plain data, owned by the proxy's loop thread.
#ifndef AEQUOR_TESTING_TCP_PROXY_CONNECTION_H_
#define AEQUOR_TESTING_TCP_PROXY_CONNECTION_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "testing/tcp_proxy.h"

namespace aequor {
namespace testing {
namespace tcp_proxy_internal {

// Bytes buffered per direction and connection.
constexpr size_t kBufferCapacity = 64 * 1024;

// One direction of a connection.
struct Pipe {
  std::string buf;  // bytes read, not yet written: buf[off..]
  size_t off = 0;
  int64_t read_total = 0;     // bytes read from the source so far
  int64_t written_total = 0;  // bytes written to the destination so far
  bool src_eof = false;       // the source sent FIN
  bool dst_shut = false;      // FIN forwarded to the destination
  std::string tail;           // last bytes read, for needles spanning reads
  int64_t hold_at = -1;       // when >= 0, bytes from this offset on are held

  size_t pending() const { return buf.size() - off; }
  size_t writable() const {
    size_t n = pending();
    if (hold_at >= 0) {
      int64_t allowed = std::max<int64_t>(0, hold_at - written_total);
      n = std::min<size_t>(n, static_cast<size_t>(allowed));
    }
    return n;
  }
  size_t room() const { return kBufferCapacity > pending() ? kBufferCapacity - pending() : 0; }
};

struct Arm {
  std::string needle;
  TcpProxy::Action action;
  absl::Duration delay;
};

// A trigger that matched on a connection and has not applied its action yet.
// Client direction: kForwarding -> kAwaitingAck -> kDelaying -> action.
// Server direction: kDelaying -> kAwaitingAck -> action.
struct Pending {
  enum class Phase {
    kForwarding,   // until c2s.written_total reaches start_at
    kAwaitingAck,  // until the written bytes are acknowledged, or give_up
    kDelaying,     // until deadline
  };
  TcpProxy::Action action;
  absl::Duration delay;
  Phase phase = Phase::kForwarding;
  int64_t start_at = 0;
  absl::Time deadline;
  absl::Time give_up;
};

struct Conn {
  int client_fd = -1;
  int server_fd = -1;
  bool connecting = false;
  bool stalled = false;  // by an armed kStall
  bool closed = false;
  Pipe c2s;
  Pipe s2c;
  std::optional<Pending> client_trigger;  // from ArmOnClientBytes
  std::optional<Pending> server_trigger;  // from ArmOnServerBytes
};

// Where `needle` first matches in `tail` + `chunk` such that the match ends
// inside `chunk`: the offset of its first byte relative to the start of
// `chunk` (negative when it starts in the tail), or nullopt.
inline std::optional<int64_t> FindNeedle(const std::string& tail, absl::string_view chunk,
                                         const std::string& needle) {
  if (needle.empty()) return 0;
  std::string hay = tail;
  hay.append(chunk.data(), chunk.size());
  size_t start = tail.size() >= needle.size() ? tail.size() - needle.size() + 1 : 0;
  size_t pos = hay.find(needle, start);
  if (pos == std::string::npos) return std::nullopt;
  return static_cast<int64_t>(pos) - static_cast<int64_t>(tail.size());
}

}  // namespace tcp_proxy_internal
}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_TCP_PROXY_CONNECTION_H_
