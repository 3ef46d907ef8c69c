// testing/tcp_proxy_sockets.h: the socket operations of the TCP proxy
// (internal to //testing:tcp_proxy): ending a connection with FIN or RST,
// TCP_NODELAY, unacknowledged bytes, and a descriptor owner.
//
//   CloseWithReset(fd);     // the peer's next read fails with ECONNRESET
//   CloseGracefully(fd);    // the peer reads EOF
//
// Thread-safety: plain system calls on the given descriptor.
#ifndef AEQUOR_TESTING_TCP_PROXY_SOCKETS_H_
#define AEQUOR_TESTING_TCP_PROXY_SOCKETS_H_

#include <utility>

namespace aequor {
namespace testing {
namespace tcp_proxy_internal {

// Owns a file descriptor on error paths of Start().
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void SetNoDelay(int fd);

// close() that sends RST instead of FIN. -1 is a no-op.
void CloseWithReset(int fd);

// FIN, then discard what is readable now (unread bytes at close() make the
// kernel send RST), then close. -1 is a no-op.
void CloseGracefully(int fd);

// Bytes sent on `fd` but not yet acknowledged by the peer's kernel, plus
// bytes not sent yet.
int UnackedBytes(int fd);

}  // namespace tcp_proxy_internal
}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_TCP_PROXY_SOCKETS_H_
