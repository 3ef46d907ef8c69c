// testing/fake_upstream.h: raw TCP sockets for the tests of the TCP proxy:
// a blocking client (ConnectRaw, ReadN, ReadToEnd: did the peer end with FIN
// or RST?) and FakeUpstream, a server on 127.0.0.1 that echoes or floods and
// records how each connection ended.
//
//   FakeUpstream upstream(FakeUpstream::Mode::kEcho);
//   int fd = ConnectRaw(upstream.port());
//   send(fd, "ping", 4, 0);
//   EXPECT_EQ(ReadN(fd, 4), "ping");
//   EXPECT_STREQ(EndingName(ReadToEnd(fd)), "still open");
//
// Thread-safety: the functions are; FakeUpstream's methods may be called from
// any thread (it serves each connection on a thread of its own).
#ifndef AEQUOR_TESTING_FAKE_UPSTREAM_H_
#define AEQUOR_TESTING_FAKE_UPSTREAM_H_

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace aequor {
namespace testing {

// A raw TCP client socket connected to 127.0.0.1:port (blocking), or -1.
inline int ConnectRaw(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Reads exactly `n` bytes with a timeout; what was read (shorter on EOF,
// error or timeout).
inline std::string ReadN(int fd, size_t n, absl::Duration timeout = absl::Seconds(5)) {
  std::string out;
  absl::Time deadline = absl::Now() + timeout;
  while (out.size() < n) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) break;
    char buf[4096];
    ssize_t got = recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (got <= 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  return out;
}

// How the peer ended a connection, seen by reading until it ends.
enum class Ending { kFin, kReset, kOtherError, kStillOpen };

// Reads (and discards) until EOF or an error, for at most `timeout`.
inline Ending ReadToEnd(int fd, absl::Duration timeout = absl::Seconds(5)) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return Ending::kStillOpen;
    pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char buf[65536];
    ssize_t got = recv(fd, buf, sizeof(buf), 0);
    if (got == 0) return Ending::kFin;
    if (got < 0) return errno == ECONNRESET ? Ending::kReset : Ending::kOtherError;
  }
}

inline const char* EndingName(Ending e) {
  switch (e) {
    case Ending::kFin: return "FIN";
    case Ending::kReset: return "RST";
    case Ending::kOtherError: return "other error";
    case Ending::kStillOpen: return "still open";
  }
  return "?";
}

// An in-test upstream server on 127.0.0.1: echoes what it reads, or floods
// every connection with bytes. Records how each connection ended.
class FakeUpstream {
 public:
  enum class Mode { kEcho, kFlood };

  explicit FakeUpstream(Mode mode) : mode_(mode) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "FakeUpstream: " << strerror(errno);
      return;
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeUpstream() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (acceptor_.joinable()) acceptor_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);  // wakes recv()/send()
    }
    for (std::thread& t : workers_) t.join();
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }

  int port() const { return port_; }

  // How the proxy ended the upstream side of each accepted connection, in
  // accept order (kStillOpen while running).
  std::vector<Ending> endings() {
    std::lock_guard<std::mutex> lock(mu_);
    return endings_;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stop_ || errno != EINTR) return;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      size_t index = endings_.size();
      fds_.push_back(fd);
      endings_.push_back(Ending::kStillOpen);
      workers_.emplace_back([this, fd, index] { Serve(fd, index); });
    }
  }

  void Serve(int fd, size_t index) {
    Ending ending = Ending::kStillOpen;
    char buf[16384];
    if (mode_ == Mode::kFlood) {
      std::string chunk(sizeof(buf), 'f');
      while (!stop_) {
        if (send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) {
          ending = errno == ECONNRESET ? Ending::kReset : Ending::kOtherError;
          break;
        }
      }
    } else {
      for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0) {
          ending = Ending::kFin;
          shutdown(fd, SHUT_WR);  // answer with our FIN
          break;
        }
        if (n < 0) {
          ending = errno == ECONNRESET ? Ending::kReset : Ending::kOtherError;
          break;
        }
        if (send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) < 0) break;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_) endings_[index] = ending;
  }

  const Mode mode_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
  std::vector<Ending> endings_;
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_FAKE_UPSTREAM_H_
