#include "testing/server_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "testing/posix_error.h"

namespace aequor {
namespace testing {

absl::StatusOr<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  absl::StatusOr<int> port;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0) {
    port = ErrnoStatus("bind 127.0.0.1:0", errno);
  } else if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
    port = ErrnoStatus("getsockname", errno);
  } else {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string ConninfoValue(absl::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '\\') plain = false;
  }
  if (plain) return std::string(value);
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}), "'");
}

}  // namespace testing
}  // namespace aequor
