// testing/tcp_proxy.h: a TCP proxy that a test owns and controls, to put
// network faults between a libpq client and a real PostgreSQL server on
// loopback (no netem, no iptables: nothing outside this process changes).
//
// The proxy listens on 127.0.0.1:<a free port> and forwards every accepted
// connection, byte for byte, to one upstream address. It knows nothing about
// the PostgreSQL protocol: a "needle" is a plain byte substring.
//
//   absl::StatusOr<std::unique_ptr<TcpProxy>> proxy =
//       TcpProxy::Start("127.0.0.1", pg->port());
//   ASSERT_TRUE(proxy.ok()) << proxy.status();
//   std::string conninfo = absl::StrCat(
//       "host=127.0.0.1 port=", (*proxy)->port(), " dbname=aequor user=aequor_app password=",
//       ThrowawayPostgres::PasswordFor("aequor_app"));
//   PGconn* c = PQconnectdb(conninfo.c_str());     // through the proxy
//   (*proxy)->ResetAll();                           // RST on both sides
//   PGresult* r = PQexec(c, "SELECT 1");            // fails, PQstatus == CONNECTION_BAD
//
//   // Cut the connection right after an INSERT reached the server: the row is
//   // committed (autocommit) but the client never learns the outcome.
//   (*proxy)->ArmOnClientBytes("INSERT", TcpProxy::Action::kReset);
//
// Faults:
//   ResetAll()        every open connection is closed with RST (SO_LINGER 0) on
//                     both sides. libpq then fails with "Connection reset by peer"
//                     (or "server closed the connection unexpectedly").
//   DropAll()         every open connection is closed gracefully: FIN on both
//                     sides (unread bytes are read and discarded first so the
//                     kernel sends FIN, not RST). Bytes the proxy still holds are
//                     discarded. A peer that writes afterwards gets an RST from
//                     its kernel, as from a server process that exited.
//   SetStalled(true)  no byte (and no FIN) is forwarded in either direction, on
//                     open and new connections, until SetStalled(false). Nothing
//                     is read meanwhile, so the data waits in the kernel buffers
//                     and in the proxy's; none is lost. New connections are still
//                     accepted and connected upstream (the TCP handshake is the
//                     kernel's). SetStalled(false) also releases connections
//                     stalled by an armed Action::kStall.
//   SetRefuseNew(true) new connections are accepted and at once closed with RST
//                     (a server that is gone); open ones are unaffected.
//   ArmOnClientBytes  one-shot: the first client->server read (on any connection)
//                     that contains `needle`, also one spanning two reads, fires
//                     once the whole read has been forwarded to the server and
//                     acknowledged by its kernel (so the server will read it even
//                     after an RST). Server->client bytes that arrive meanwhile
//                     are held, so with no delay the client never sees the answer.
//                     Then `delay` passes, during which traffic flows normally,
//                     and `action` applies to that connection. Only bytes read
//                     after the Arm call returns can match.
//   ArmOnServerBytes  one-shot, for server->client bytes, but the needle is NOT
//                     delivered: the bytes before it are forwarded, those from the
//                     needle's first byte on are held, and after `delay` the action
//                     applies. So the client never sees e.g. the CommandComplete
//                     "INSERT 0 1" of a statement the server has already run. With
//                     kStall the held bytes are delivered after SetStalled(false).
//   A new Arm...() in the same direction replaces one that has not fired.
//   Every fault method returns once the proxy's thread has applied it: after
//   ResetAll() returns the RSTs were sent; after SetStalled(true) returns no
//   further byte is forwarded; after Arm...() returns every later byte is
//   matched.
//
// Upstream failures: when the upstream refuses the connection or resets it, the
// client side gets an RST; a FIN from either side is forwarded as a FIN (after
// the bytes before it), so half-closed connections work.
//
// Thread-safety: every method is thread-safe, except that the destructor must
// not race with other calls. The destructor stops accepting, closes every
// connection (FIN, or RST where unread bytes remain, as at a process exit) and
// joins the thread; it returns promptly also with live, stalled connections.
#ifndef AEQUOR_TESTING_TCP_PROXY_H_
#define AEQUOR_TESTING_TCP_PROXY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aequor {
namespace testing {

class TcpProxy {
 public:
  // What an armed trigger does to the connection it fired on.
  enum class Action {
    kReset,  // RST on both sides, as ResetAll() for that connection.
    kDrop,   // FIN on both sides, as DropAll() for that connection.
    kStall,  // Stop forwarding on that connection until SetStalled(false).
  };

  // Listens on 127.0.0.1:<free port> and forwards every accepted connection to
  // upstream_host:upstream_port (resolved once, here; a name or a numeric
  // IPv4/IPv6 address). InvalidArgument for a port outside 1..65535 or a host
  // that does not resolve; Internal when a system call fails.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(std::string upstream_host,
                                                         int upstream_port);

  // Stops accepting, closes everything and joins the thread.
  ~TcpProxy();

  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // The port the proxy listens on (127.0.0.1).
  int port() const { return port_; }

  // Faults; see the file comment.
  void ResetAll();
  void DropAll();
  void SetStalled(bool on);
  void SetRefuseNew(bool on);
  void ArmOnClientBytes(std::string needle, Action action,
                        absl::Duration delay = absl::ZeroDuration());
  void ArmOnServerBytes(std::string needle, Action action,
                        absl::Duration delay = absl::ZeroDuration());

  // Every connection accept()ed, including those refused by SetRefuseNew.
  int connections_accepted() const;
  // Of those, the ones closed at once because of SetRefuseNew.
  int connections_refused() const;
  // Proxied connections not closed yet (refused ones are never open).
  int connections_open() const;
  // Bytes forwarded (written to the other side), summed over all connections.
  int64_t bytes_client_to_server() const;
  int64_t bytes_server_to_client() const;

 private:
  struct State;  // Shared with the loop thread; defined in the .cc.

  TcpProxy(std::unique_ptr<State> state, int port);

  const std::unique_ptr<State> state_;
  const int port_;
  std::thread thread_;
};

}  // namespace testing
}  // namespace aequor

#endif  // AEQUOR_TESTING_TCP_PROXY_H_
