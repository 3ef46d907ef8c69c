// testing/tcp_proxy.cc: see tcp_proxy.h. One thread poll()s over every
// socket and an eventfd that wakes it; sockets are non-blocking with
// TCP_NODELAY; every send uses MSG_NOSIGNAL (no SIGPIPE); each direction
// buffers at most 64 KiB (tcp_proxy_connection.h).
#include "testing/tcp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "testing/posix_error.h"
#include "testing/tcp_proxy_connection.h"
#include "testing/tcp_proxy_sockets.h"

namespace aequor {
namespace testing {
namespace {

using tcp_proxy_internal::Arm;
using tcp_proxy_internal::CloseGracefully;
using tcp_proxy_internal::CloseWithReset;
using tcp_proxy_internal::Conn;
using tcp_proxy_internal::FindNeedle;
using tcp_proxy_internal::kBufferCapacity;
using tcp_proxy_internal::Pending;
using tcp_proxy_internal::Pipe;
using tcp_proxy_internal::SetNoDelay;
using tcp_proxy_internal::UnackedBytes;
using tcp_proxy_internal::UniqueFd;

// How long a fired trigger waits, past its delay, for the forwarded bytes to
// be acknowledged before it applies its action anyway.
constexpr absl::Duration kFlushGiveUp = absl::Seconds(1);

}  // namespace

struct TcpProxy::State {
  // Fixed after Start().
  int listen_fd = -1;
  int wake_fd = -1;
  sockaddr_storage upstream = {};
  socklen_t upstream_len = 0;

  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::atomic<int> open{0};
  std::atomic<int64_t> c2s_bytes{0};
  std::atomic<int64_t> s2c_bytes{0};

  // Commands, from the API to the loop. A std::mutex, not absl::Mutex:
  // ThreadSanitizer understands it (the system Abseil is not instrumented).
  std::mutex mu;
  std::condition_variable applied;  // applied_seq or loop_done changed
  // Guarded by mu.
  uint64_t requested_seq = 0;
  uint64_t applied_seq = 0;
  bool loop_done = false;
  bool stop = false;
  bool stalled = false;
  bool refuse_new = false;
  bool reset_all = false;
  bool drop_all = false;
  bool release_stalls = false;
  std::optional<Arm> new_client_arm;
  std::optional<Arm> new_server_arm;

  // Loop-thread state.
  std::vector<std::unique_ptr<Conn>> conns;
  bool loop_stalled = false;
  bool loop_refuse_new = false;
  std::optional<Arm> client_arm;
  std::optional<Arm> server_arm;
  size_t tail_keep = 0;  // bytes kept in Pipe::tail

  ~State() {
    if (listen_fd >= 0) close(listen_fd);
    if (wake_fd >= 0) close(wake_fd);
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t n = write(wake_fd, &one, sizeof(one));
    (void)n;  // EAGAIN: the counter is already non-zero, the loop wakes anyway.
  }

  // Applies `mutate` under the lock, wakes the loop and waits until it has
  // taken the change in.
  template <typename F>
  void Command(F mutate) {
    uint64_t seq;
    {
      std::lock_guard<std::mutex> lock(mu);
      mutate();
      seq = ++requested_seq;
    }
    Wake();
    std::unique_lock<std::mutex> lock(mu);
    applied.wait(lock, [this, seq] { return applied_seq >= seq || loop_done; });
  }

  void Run();

 private:
  // Returns false when the loop must stop.
  bool TakeCommands();
  void Accept();
  void CloseConn(Conn& c, TcpProxy::Action how);
  void ReadInto(Conn& c, bool from_client);
  void WriteOut(Conn& c, bool to_server);
  void Progress(Conn& c);
  void CheckTriggers(Conn& c, absl::Time now);
  void Fire(Conn& c, TcpProxy::Action action);
  int PollTimeoutMs(absl::Time now) const;
  bool Stalled(const Conn& c) const { return loop_stalled || c.stalled; }
};

bool TcpProxy::State::TakeCommands() {
  uint64_t seq;
  bool do_reset, do_drop, do_release;
  // Drain the wake-up first: a command queued after the snapshot below wakes
  // the next poll().
  uint64_t drained;
  ssize_t n = read(wake_fd, &drained, sizeof(drained));
  (void)n;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stop) return false;
    seq = requested_seq;
    loop_stalled = stalled;
    loop_refuse_new = refuse_new;
    do_reset = std::exchange(reset_all, false);
    do_drop = std::exchange(drop_all, false);
    do_release = std::exchange(release_stalls, false);
    if (new_client_arm.has_value()) {
      client_arm = std::move(new_client_arm);
      new_client_arm.reset();
    }
    if (new_server_arm.has_value()) {
      server_arm = std::move(new_server_arm);
      new_server_arm.reset();
    }
  }
  for (const std::optional<Arm>* arm : {&client_arm, &server_arm}) {
    if (arm->has_value() && !(*arm)->needle.empty()) {
      tail_keep = std::max(tail_keep, (*arm)->needle.size() - 1);
    }
  }
  for (std::unique_ptr<Conn>& c : conns) {
    if (c->closed) continue;
    if (do_reset) {
      CloseConn(*c, Action::kReset);
    } else if (do_drop) {
      CloseConn(*c, Action::kDrop);
    } else if (do_release) {
      c->stalled = false;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    applied_seq = seq;
  }
  applied.notify_all();
  return true;
}

void TcpProxy::State::CloseConn(Conn& c, Action how) {
  if (c.closed) return;
  if (how == Action::kReset) {
    CloseWithReset(c.client_fd);
    CloseWithReset(c.server_fd);
  } else {
    CloseGracefully(c.client_fd);
    CloseGracefully(c.server_fd);
  }
  c.client_fd = -1;
  c.server_fd = -1;
  c.closed = true;
  open.fetch_sub(1);
}

void TcpProxy::State::Accept() {
  for (;;) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or an error worth no busy loop either
    accepted.fetch_add(1);
    if (loop_refuse_new) {
      refused.fetch_add(1);
      CloseWithReset(fd);
      continue;
    }
    SetNoDelay(fd);
    int up = socket(upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (up < 0) {
      CloseWithReset(fd);
      continue;
    }
    SetNoDelay(up);
    auto c = std::make_unique<Conn>();
    c->client_fd = fd;
    c->server_fd = up;
    if (connect(up, reinterpret_cast<const sockaddr*>(&upstream), upstream_len) != 0) {
      if (errno != EINPROGRESS) {
        CloseWithReset(fd);
        close(up);
        continue;
      }
      c->connecting = true;
    }
    open.fetch_add(1);
    conns.push_back(std::move(c));
  }
}

void TcpProxy::State::ReadInto(Conn& c, bool from_client) {
  Pipe& p = from_client ? c.c2s : c.s2c;
  int fd = from_client ? c.client_fd : c.server_fd;
  if (p.off == p.buf.size()) {
    p.buf.clear();
    p.off = 0;
  } else if (p.off > kBufferCapacity / 2) {
    p.buf.erase(0, p.off);
    p.off = 0;
  }
  if (p.room() == 0) return;  // recv() of 0 bytes would look like EOF
  char chunk[kBufferCapacity];
  ssize_t n = recv(fd, chunk, std::min(sizeof(chunk), p.room()), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    CloseConn(c, Action::kReset);  // the peer reset: reset the other side too
    return;
  }
  if (n == 0) {
    p.src_eof = true;
    return;
  }
  absl::string_view data(chunk, static_cast<size_t>(n));
  std::optional<Arm>& arm = from_client ? client_arm : server_arm;
  std::optional<Pending>& trigger = from_client ? c.client_trigger : c.server_trigger;
  if (arm.has_value() && !trigger.has_value()) {
    std::optional<int64_t> at = FindNeedle(p.tail, data, arm->needle);
    if (at.has_value()) {
      Pending t;
      t.action = arm->action;
      t.delay = arm->delay;
      if (from_client) {
        // Fires once this whole read has been forwarded; the server's answer
        // is held until then, so that with no delay the client never gets it.
        t.start_at = p.read_total + n;
        if (c.s2c.hold_at < 0) c.s2c.hold_at = c.s2c.read_total;
      } else {
        // The needle is held back from here on; the delay runs now.
        int64_t needle_at = std::max(p.written_total, p.read_total + *at);
        p.hold_at = p.hold_at < 0 ? needle_at : std::min(p.hold_at, needle_at);
        t.phase = Pending::Phase::kDelaying;
        t.deadline = absl::Now() + t.delay;
      }
      trigger = t;
      arm.reset();
    }
  }
  p.buf.append(data.data(), data.size());
  p.read_total += n;
  if (tail_keep > 0) {
    p.tail.append(data.data(), data.size());
    if (p.tail.size() > tail_keep) p.tail.erase(0, p.tail.size() - tail_keep);
  }
}

void TcpProxy::State::WriteOut(Conn& c, bool to_server) {
  Pipe& p = to_server ? c.c2s : c.s2c;
  int fd = to_server ? c.server_fd : c.client_fd;
  size_t len = p.writable();
  if (len == 0) return;
  ssize_t n = send(fd, p.buf.data() + p.off, len, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    CloseConn(c, Action::kReset);  // EPIPE/ECONNRESET: the destination is gone
    return;
  }
  p.off += static_cast<size_t>(n);
  p.written_total += n;
  (to_server ? c2s_bytes : s2c_bytes).fetch_add(n);
}

// Forwards FINs and closes connections that are done both ways.
void TcpProxy::State::Progress(Conn& c) {
  if (c.closed || c.connecting || Stalled(c)) return;
  if (c.c2s.src_eof && c.c2s.pending() == 0 && !c.c2s.dst_shut) {
    shutdown(c.server_fd, SHUT_WR);
    c.c2s.dst_shut = true;
  }
  if (c.s2c.src_eof && c.s2c.pending() == 0 && !c.s2c.dst_shut) {
    shutdown(c.client_fd, SHUT_WR);
    c.s2c.dst_shut = true;
  }
  if (c.c2s.dst_shut && c.s2c.dst_shut) {
    close(c.client_fd);
    close(c.server_fd);
    c.client_fd = -1;
    c.server_fd = -1;
    c.closed = true;
    open.fetch_sub(1);
  }
}

// Applies a fired trigger's action.
void TcpProxy::State::Fire(Conn& c, Action action) {
  if (action == Action::kStall) {
    c.stalled = true;  // held bytes go once the stall is released
  } else {
    CloseConn(c, action);
  }
}

void TcpProxy::State::CheckTriggers(Conn& c, absl::Time now) {
  using Phase = Pending::Phase;
  if (c.closed) return;
  if (c.client_trigger.has_value()) {
    Pending& t = *c.client_trigger;
    if (t.phase == Phase::kForwarding && c.c2s.written_total >= t.start_at) {
      // Written. An RST would discard what is still in our send queue, so
      // wait (briefly) for the server's kernel to acknowledge it.
      t.phase = Phase::kAwaitingAck;
      t.give_up = now + kFlushGiveUp;
    }
    if (t.phase == Phase::kAwaitingAck && (UnackedBytes(c.server_fd) == 0 || now >= t.give_up)) {
      // Forwarded. During the delay the server's answer flows.
      t.phase = Phase::kDelaying;
      t.deadline = now + t.delay;
      if (t.delay > absl::ZeroDuration() && !c.server_trigger.has_value()) c.s2c.hold_at = -1;
    }
    if (t.phase == Phase::kDelaying && now >= t.deadline) {
      Action action = t.action;
      c.client_trigger.reset();
      if (!c.server_trigger.has_value()) c.s2c.hold_at = -1;
      Fire(c, action);
      if (c.closed) return;
    }
  }
  if (c.server_trigger.has_value()) {
    Pending& t = *c.server_trigger;
    if (t.phase == Phase::kDelaying && now >= t.deadline) {
      t.phase = Phase::kAwaitingAck;
      t.give_up = now + kFlushGiveUp;
    }
    if (t.phase == Phase::kAwaitingAck &&
        ((c.s2c.written_total >= c.s2c.hold_at && UnackedBytes(c.client_fd) == 0) ||
         now >= t.give_up)) {
      // The bytes before the needle reached the client; the rest stays held.
      Action action = t.action;
      c.server_trigger.reset();
      if (action == Action::kStall) c.s2c.hold_at = -1;
      Fire(c, action);
    }
  }
}

int TcpProxy::State::PollTimeoutMs(absl::Time now) const {
  int timeout = -1;
  for (const std::unique_ptr<Conn>& c : conns) {
    for (const std::optional<Pending>* t : {&c->client_trigger, &c->server_trigger}) {
      if (!t->has_value()) continue;
      int ms = 0;
      switch ((*t)->phase) {
        case Pending::Phase::kForwarding: continue;  // woken by the socket becoming writable
        case Pending::Phase::kAwaitingAck:
          ms = 1;  // no event tells when an ACK arrives: poll for it
          break;
        case Pending::Phase::kDelaying:
          ms = (*t)->deadline > now
                   ? static_cast<int>(absl::ToInt64Milliseconds((*t)->deadline - now)) + 1
                   : 0;
          break;
      }
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
  }
  return timeout;
}

void TcpProxy::State::Run() {
  std::vector<pollfd> fds;
  std::vector<Conn*> owners;  // owners[i] owns fds[i] (null for wake/listen)
  while (TakeCommands()) {
    absl::Time now = absl::Now();
    for (std::unique_ptr<Conn>& c : conns) {
      CheckTriggers(*c, now);
      Progress(*c);
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(),
                               [](const std::unique_ptr<Conn>& c) { return c->closed; }),
                conns.end());

    fds.clear();
    owners.clear();
    fds.push_back({wake_fd, POLLIN, 0});
    owners.push_back(nullptr);
    fds.push_back({listen_fd, POLLIN, 0});
    owners.push_back(nullptr);
    for (std::unique_ptr<Conn>& c : conns) {
      bool stalled = Stalled(*c);
      short client_events = 0;
      short server_events = 0;
      if (!stalled && !c->c2s.src_eof && c->c2s.room() > 0) client_events |= POLLIN;
      if (!stalled && c->s2c.writable() > 0) client_events |= POLLOUT;
      if (c->connecting) {
        server_events = POLLOUT;
      } else {
        if (!stalled && !c->s2c.src_eof && c->s2c.room() > 0) server_events |= POLLIN;
        if (!stalled && c->c2s.writable() > 0) server_events |= POLLOUT;
      }
      // A socket with nothing wanted is left out: poll() would report its
      // POLLHUP/POLLERR over and over.
      fds.push_back({client_events ? c->client_fd : -1, client_events, 0});
      owners.push_back(c.get());
      fds.push_back({server_events ? c->server_fd : -1, server_events, 0});
      owners.push_back(c.get());
    }

    int ready = poll(fds.data(), fds.size(), PollTimeoutMs(absl::Now()));
    if (ready <= 0) continue;  // timeout, EINTR
    if (fds[1].revents != 0) Accept();
    for (size_t i = 2; i < fds.size(); i += 2) {
      Conn& c = *owners[i];
      short cr = fds[i].revents;
      short sr = fds[i + 1].revents;
      if (c.connecting && sr != 0) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c.server_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          CloseConn(c, Action::kReset);  // upstream refused: the client gets RST
          continue;
        }
        c.connecting = false;
        sr = 0;
      }
      const short kRead = POLLIN | POLLHUP | POLLERR;
      const short kWrite = POLLOUT | POLLHUP | POLLERR;
      if (!c.closed && (cr & kRead) && (fds[i].events & POLLIN)) ReadInto(c, true);
      if (!c.closed && (sr & kRead) && (fds[i + 1].events & POLLIN)) ReadInto(c, false);
      if (!c.closed && !c.connecting && !Stalled(c)) {
        // Write whatever can go, also bytes read just now.
        if ((sr & kWrite) || c.c2s.writable() > 0) WriteOut(c, true);
        if (!c.closed && ((cr & kWrite) || c.s2c.writable() > 0)) WriteOut(c, false);
      }
    }
  }
  for (std::unique_ptr<Conn>& c : conns) {
    if (c->closed) continue;
    close(c->client_fd);
    close(c->server_fd);
    c->closed = true;
    open.fetch_sub(1);
  }
  conns.clear();
  {
    std::lock_guard<std::mutex> lock(mu);
    loop_done = true;
  }
  applied.notify_all();
}

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(std::string upstream_host,
                                                          int upstream_port) {
  if (upstream_port < 1 || upstream_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("TcpProxy: upstream port ", upstream_port, " is outside 1..65535"));
  }
  auto state = std::make_unique<State>();

  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port_text = absl::StrCat(upstream_port);
  int gai = getaddrinfo(upstream_host.c_str(), port_text.c_str(), &hints, &found);
  if (gai != 0 || found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("TcpProxy: cannot resolve upstream host \"",
                                                   upstream_host, "\": ", gai_strerror(gai)));
  }
  memcpy(&state->upstream, found->ai_addr, found->ai_addrlen);
  state->upstream_len = found->ai_addrlen;
  freeaddrinfo(found);

  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) return ErrnoStatus("TcpProxy: socket", errno);
  int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus("TcpProxy: bind 127.0.0.1:0", errno);
  }
  if (listen(listener.get(), 128) != 0) return ErrnoStatus("TcpProxy: listen", errno);
  socklen_t addr_len = sizeof(addr);
  if (getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) {
    return ErrnoStatus("TcpProxy: getsockname", errno);
  }
  int port = ntohs(addr.sin_port);

  UniqueFd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (wake.get() < 0) return ErrnoStatus("TcpProxy: eventfd", errno);

  state->listen_fd = listener.release();
  state->wake_fd = wake.release();
  std::unique_ptr<TcpProxy> proxy(new TcpProxy(std::move(state), port));
  State* s = proxy->state_.get();
  proxy->thread_ = std::thread([s] { s->Run(); });
  return proxy;
}

TcpProxy::TcpProxy(std::unique_ptr<State> state, int port)
    : state_(std::move(state)), port_(port) {}

TcpProxy::~TcpProxy() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
  }
  state_->Wake();
  if (thread_.joinable()) thread_.join();
}

void TcpProxy::ResetAll() {
  State* s = state_.get();
  s->Command([s]() { s->reset_all = true; });
}

void TcpProxy::DropAll() {
  State* s = state_.get();
  s->Command([s]() { s->drop_all = true; });
}

void TcpProxy::SetStalled(bool on) {
  State* s = state_.get();
  s->Command([s, on]() {
    s->stalled = on;
    if (!on) s->release_stalls = true;
  });
}

void TcpProxy::SetRefuseNew(bool on) {
  State* s = state_.get();
  s->Command([s, on]() { s->refuse_new = on; });
}

void TcpProxy::ArmOnClientBytes(std::string needle, Action action, absl::Duration delay) {
  State* s = state_.get();
  s->Command([&]() { s->new_client_arm = Arm{std::move(needle), action, delay}; });
}

void TcpProxy::ArmOnServerBytes(std::string needle, Action action, absl::Duration delay) {
  State* s = state_.get();
  s->Command([&]() { s->new_server_arm = Arm{std::move(needle), action, delay}; });
}

int TcpProxy::connections_accepted() const { return state_->accepted.load(); }
int TcpProxy::connections_refused() const { return state_->refused.load(); }
int TcpProxy::connections_open() const { return state_->open.load(); }
int64_t TcpProxy::bytes_client_to_server() const { return state_->c2s_bytes.load(); }
int64_t TcpProxy::bytes_server_to_client() const { return state_->s2c_bytes.load(); }

}  // namespace testing
}  // namespace aequor
