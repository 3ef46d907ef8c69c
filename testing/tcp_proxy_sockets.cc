// testing/tcp_proxy_sockets.cc: see tcp_proxy_sockets.h.
#include "testing/tcp_proxy_sockets.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace aequor {
namespace testing {
namespace tcp_proxy_internal {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// close() that sends RST instead of FIN.
void CloseWithReset(int fd) {
  if (fd < 0) return;
  struct linger lg = {};
  lg.l_onoff = 1;
  lg.l_linger = 0;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close(fd);
}

// FIN, then discard what is readable now (unread bytes at close() make the
// kernel send RST), then close.
void CloseGracefully(int fd) {
  if (fd < 0) return;
  shutdown(fd, SHUT_WR);
  char sink[16 * 1024];
  for (int i = 0; i < 64; ++i) {
    ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
    if (n <= 0) break;
  }
  close(fd);
}

// Bytes sent on `fd` but not yet acknowledged by the peer's kernel, plus
// bytes not sent yet.
int UnackedBytes(int fd) {
  int n = 0;
  if (ioctl(fd, SIOCOUTQ, &n) != 0) return 0;
  return n;
}

}  // namespace tcp_proxy_internal
}  // namespace testing
}  // namespace aequor
