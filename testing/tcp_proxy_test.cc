// Tests of testing/tcp_proxy.h: libpq against a real PostgreSQL 15 server
// through the proxy, and raw sockets against a small in-test upstream (echo or
// flood) where the exact TCP behaviour (FIN vs RST, needles split across
// reads) is easier to see.
#include "testing/tcp_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testing/fake_upstream.h"
#include "testing/libpq_helpers.h"
#include "testing/postgres_test_base.h"
#include "testing/throwaway_postgres.h"

namespace aequor {
namespace testing {
namespace {

using Conn = pg::Conn;
using Result = pg::Result;

// Polls `cond` every 5 ms until it holds or `timeout` passes.
template <typename F>
bool WaitFor(F cond, absl::Duration timeout = absl::Seconds(5)) {
  absl::Time deadline = absl::Now() + timeout;
  while (!cond()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// After PQsendQuery: whether the result is ready (PQisBusy false) within
// `timeout`, reading input without blocking longer than that.
bool ResultReadyWithin(PGconn* conn, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (PQconsumeInput(conn) == 0) return true;  // broken: PQgetResult reports it
    if (!PQisBusy(conn)) return true;
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd pfd = {PQsocket(conn), POLLIN, 0};
    poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
  }
}

class TcpProxyTest : public PostgresTest<TcpProxyTest> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start("127.0.0.1", server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
  }

  // aequor_app through the proxy.
  std::string ProxyConninfo() const {
    return absl::StrCat(
        "host=127.0.0.1 port=", proxy_->port(), " dbname=aequor user=aequor_app password=",
        ThrowawayPostgres::PasswordFor(ThrowawayPostgres::kAppRole), " connect_timeout=10");
  }
  // aequor_app straight to the server.
  std::string DirectConninfo() const { return server_->ConninfoFor(ThrowawayPostgres::kAppRole); }

  Conn ConnectThroughProxy() {
    Conn c = Connect(ProxyConninfo());
    EXPECT_EQ(PQstatus(c.get()), CONNECTION_OK) << PQerrorMessage(c.get());
    return c;
  }

  // A fresh table `name` (id int) owned by aequor_app; the direct connection.
  Conn MakeTable(const std::string& name) {
    Conn direct = Connect(DirectConninfo());
    EXPECT_EQ(PQstatus(direct.get()), CONNECTION_OK) << PQerrorMessage(direct.get());
    std::string sql =
        absl::StrCat("DROP TABLE IF EXISTS ", name, "; CREATE TABLE ", name, " (id int)");
    Result r(PQexec(direct.get(), sql.c_str()));
    EXPECT_EQ(PQresultStatus(r.get()), PGRES_COMMAND_OK) << PQerrorMessage(direct.get());
    return direct;
  }

  std::unique_ptr<TcpProxy> proxy_;
};

TEST_F(TcpProxyTest, ForwardsQueriesAndCountsConnectionsAndBytes) {
  {
    Conn c = ConnectThroughProxy();
    EXPECT_EQ(QueryValue(c.get(), "SELECT current_user"), "aequor_app");
    EXPECT_EQ(QueryValue(c.get(), "SELECT host(inet_client_addr())"), "127.0.0.1");
    // More than the proxy's 64 KiB buffers, both ways.
    std::string big_query = absl::StrCat("SELECT length('", std::string(300000, 'q'), "')");
    EXPECT_EQ(QueryValue(c.get(), big_query.c_str()), "300000");
    EXPECT_EQ(QueryValue(c.get(), "SELECT length(repeat('x', 2000000))"), "2000000");
    EXPECT_EQ(
        QueryValue(c.get(), "SELECT md5(repeat('x', 2000000))"),
        QueryValue(c.get(), "SELECT md5(string_agg('x', '')) FROM generate_series(1, 2000000)"));
    Result big(PQexec(c.get(), "SELECT repeat('y', 3000000)"));
    ASSERT_EQ(PQresultStatus(big.get()), PGRES_TUPLES_OK) << PQerrorMessage(c.get());
    EXPECT_EQ(std::string(PQgetvalue(big.get(), 0, 0)), std::string(3000000, 'y'));

    EXPECT_EQ(proxy_->connections_accepted(), 1);
    EXPECT_EQ(proxy_->connections_open(), 1);
    EXPECT_GT(proxy_->bytes_client_to_server(), 300000);
    EXPECT_GT(proxy_->bytes_server_to_client(), 3000000);
  }
  // PQfinish: Terminate, then FIN from both ends; the proxy closes its sockets.
  EXPECT_TRUE(WaitFor([&] { return proxy_->connections_open() == 0; }));
  EXPECT_EQ(proxy_->connections_accepted(), 1);
  EXPECT_EQ(proxy_->connections_refused(), 0);
}

TEST_F(TcpProxyTest, ResetAllMakesTheNextExecFailWithConnectionBad) {
  Conn c = ConnectThroughProxy();
  Conn other = ConnectThroughProxy();
  ASSERT_EQ(QueryValue(c.get(), "SELECT 1"), "1");
  EXPECT_EQ(proxy_->connections_open(), 2);

  proxy_->ResetAll();
  EXPECT_EQ(proxy_->connections_open(), 0);

  Result r(PQexec(c.get(), "SELECT 1"));
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(PQstatus(c.get()), CONNECTION_BAD);
  EXPECT_EQ(PQresultErrorField(r.get(), PG_DIAG_SQLSTATE), nullptr);
  std::printf("libpq after RST: %s", PQerrorMessage(c.get()));

  // A second write on the same broken connection: no SIGPIPE either.
  Result again(PQexec(c.get(), "SELECT 1"));
  EXPECT_EQ(PQresultStatus(again.get()), PGRES_FATAL_ERROR);

  // Only the connections open at the time: a new one works.
  Conn fresh = ConnectThroughProxy();
  EXPECT_EQ(QueryValue(fresh.get(), "SELECT 2"), "2");
}

TEST_F(TcpProxyTest, DropAllMakesTheNextExecFailWithConnectionBad) {
  Conn c = ConnectThroughProxy();
  ASSERT_EQ(QueryValue(c.get(), "SELECT 1"), "1");

  proxy_->DropAll();
  EXPECT_EQ(proxy_->connections_open(), 0);

  Result r(PQexec(c.get(), "SELECT 1"));
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(PQstatus(c.get()), CONNECTION_BAD);
  std::printf("libpq after FIN: %s", PQerrorMessage(c.get()));
  EXPECT_TRUE(absl::StrContains(PQerrorMessage(c.get()), "server closed the connection"))
      << PQerrorMessage(c.get());
}

TEST_F(TcpProxyTest, ResetAllSendsRstAndDropAllSendsFinToBothSides) {
  FakeUpstream upstream(FakeUpstream::Mode::kEcho);
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start("localhost", upstream.port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();

  int dropped = ConnectRaw((*proxy)->port());
  ASSERT_GE(dropped, 0);
  ASSERT_EQ(send(dropped, "ping", 4, MSG_NOSIGNAL), 4);
  ASSERT_EQ(ReadN(dropped, 4), "ping");
  (*proxy)->DropAll();
  EXPECT_STREQ(EndingName(ReadToEnd(dropped)), "FIN");

  int reset = ConnectRaw((*proxy)->port());
  ASSERT_GE(reset, 0);
  ASSERT_EQ(send(reset, "pong", 4, MSG_NOSIGNAL), 4);
  ASSERT_EQ(ReadN(reset, 4), "pong");
  (*proxy)->ResetAll();
  EXPECT_STREQ(EndingName(ReadToEnd(reset)), "RST");

  ASSERT_TRUE(WaitFor([&] {
    std::vector<Ending> e = upstream.endings();
    return e.size() == 2 && e[0] != Ending::kStillOpen && e[1] != Ending::kStillOpen;
  }));
  std::vector<Ending> e = upstream.endings();
  EXPECT_STREQ(EndingName(e[0]), "FIN");
  EXPECT_STREQ(EndingName(e[1]), "RST");

  // Writing to the proxy's closed sockets afterwards: errors, no SIGPIPE.
  for (int fd : {dropped, reset}) {
    for (int i = 0; i < 3; ++i) {
      send(fd, "x", 1, MSG_NOSIGNAL);
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_LT(send(fd, "x", 1, MSG_NOSIGNAL), 0);
    close(fd);
  }
}

TEST_F(TcpProxyTest, HalfCloseIsForwardedAsFinAfterTheData) {
  FakeUpstream upstream(FakeUpstream::Mode::kEcho);
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start("127.0.0.1", upstream.port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  int fd = ConnectRaw((*proxy)->port());
  ASSERT_GE(fd, 0);
  std::string payload(200000, 'h');
  std::thread writer([&] {
    send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
  });
  EXPECT_EQ(ReadN(fd, payload.size()).size(), payload.size());
  writer.join();
  // The echo server saw our FIN, returned, and the proxy forwards its FIN.
  EXPECT_STREQ(EndingName(ReadToEnd(fd)), "FIN");
  EXPECT_TRUE(WaitFor([&] { return (*proxy)->connections_open() == 0; }));
  close(fd);
}

TEST_F(TcpProxyTest, SetStalledHoldsAQueryUntilReleasedAndLosesNothing) {
  Conn c = ConnectThroughProxy();
  ASSERT_EQ(QueryValue(c.get(), "SELECT 1"), "1");

  proxy_->SetStalled(true);
  int64_t c2s = proxy_->bytes_client_to_server();
  int64_t s2c = proxy_->bytes_server_to_client();
  ASSERT_EQ(PQsendQuery(c.get(), "SELECT 42"), 1) << PQerrorMessage(c.get());
  EXPECT_FALSE(ResultReadyWithin(c.get(), absl::Milliseconds(300)));
  EXPECT_EQ(proxy_->bytes_client_to_server(), c2s);
  EXPECT_EQ(proxy_->bytes_server_to_client(), s2c);

  // New connections stall too (the TCP handshake completes, the startup does not).
  std::atomic<bool> connected{false};
  std::atomic<int> new_status{-1};
  std::thread connector([&] {
    Conn late = Connect(ProxyConninfo());
    new_status = PQstatus(late.get());
    connected = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(connected.load());

  proxy_->SetStalled(false);
  ASSERT_TRUE(ResultReadyWithin(c.get(), absl::Seconds(5)));
  Result r(PQgetResult(c.get()));
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQerrorMessage(c.get());
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "42");
  Result end(PQgetResult(c.get()));
  EXPECT_EQ(end.get(), nullptr);
  connector.join();
  EXPECT_EQ(new_status.load(), CONNECTION_OK);
  EXPECT_EQ(QueryValue(c.get(), "SELECT 3"), "3");
}

TEST_F(TcpProxyTest, SetRefuseNewMakesConnectFailQuicklyAndSparesOpenConnections) {
  Conn open = ConnectThroughProxy();
  proxy_->SetRefuseNew(true);

  absl::Time start = absl::Now();
  Conn refused = Connect(ProxyConninfo());
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(PQstatus(refused.get()), CONNECTION_BAD);
  EXPECT_LT(took, absl::Seconds(1));
  std::printf("libpq connect refused by RST in %s (%d accepted): %s",
              absl::FormatDuration(took).c_str(), proxy_->connections_refused(),
              PQerrorMessage(refused.get()));
  EXPECT_GE(proxy_->connections_refused(), 1);
  EXPECT_EQ(QueryValue(open.get(), "SELECT 1"), "1");

  proxy_->SetRefuseNew(false);
  Conn again = ConnectThroughProxy();
  EXPECT_EQ(QueryValue(again.get(), "SELECT 1"), "1");
}

TEST_F(TcpProxyTest, UpstreamThatRefusesGivesTheClientAnRst) {
  // A port with no listener: take a free one and close it.
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(probe);
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy =
      TcpProxy::Start("127.0.0.1", ntohs(addr.sin_port));
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  int fd = ConnectRaw((*proxy)->port());
  ASSERT_GE(fd, 0);
  EXPECT_STREQ(EndingName(ReadToEnd(fd)), "RST");
  close(fd);
  EXPECT_TRUE(WaitFor([&] { return (*proxy)->connections_open() == 0; }));
  EXPECT_EQ((*proxy)->connections_accepted(), 1);
}

TEST_F(TcpProxyTest, ResetAfterInsertWasForwardedLeavesTheRowCommitted) {
  Conn direct = MakeTable("tcp_proxy_insert_cut");
  Conn c = ConnectThroughProxy();
  ASSERT_EQ(QueryValue(c.get(), "SELECT 1"), "1");
  int64_t c2s_before = proxy_->bytes_client_to_server();

  proxy_->ArmOnClientBytes("INSERT", TcpProxy::Action::kReset);
  Result r(PQexec(c.get(), "INSERT INTO tcp_proxy_insert_cut VALUES (7)"));
  // The client cannot tell whether the INSERT happened...
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(PQstatus(c.get()), CONNECTION_BAD);
  std::printf("libpq after RST following the INSERT: %s", PQerrorMessage(c.get()));
  // ...but it did: autocommit, and the server read it before the RST.
  EXPECT_TRUE(WaitFor([&] {
    return QueryValue(direct.get(), "SELECT count(*) FROM tcp_proxy_insert_cut WHERE id = 7") ==
           "1";
  }));
  EXPECT_GT(proxy_->bytes_client_to_server(), c2s_before + 40);  // the whole Query message
  EXPECT_TRUE(WaitFor([&] { return proxy_->connections_open() == 0; }));
  EXPECT_EQ(proxy_->connections_accepted(), 1);

  // One-shot: the next INSERT goes through.
  Conn next = ConnectThroughProxy();
  Result ok(PQexec(next.get(), "INSERT INTO tcp_proxy_insert_cut VALUES (8)"));
  EXPECT_EQ(PQresultStatus(ok.get()), PGRES_COMMAND_OK) << PQerrorMessage(next.get());
  EXPECT_EQ(proxy_->connections_open(), 1);
  EXPECT_EQ(proxy_->connections_accepted(), 2);
  Result drop(PQexec(direct.get(), "DROP TABLE tcp_proxy_insert_cut"));
}

TEST_F(TcpProxyTest, ArmOnServerBytesWithholdsTheCommandComplete) {
  Conn direct = MakeTable("tcp_proxy_reply_cut");
  Conn c = ConnectThroughProxy();

  // The server ran and committed the INSERT; its "INSERT 0 1" never arrives.
  proxy_->ArmOnServerBytes("INSERT 0 1", TcpProxy::Action::kDrop);
  Result r(PQexec(c.get(), "INSERT INTO tcp_proxy_reply_cut VALUES (1)"));
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(PQstatus(c.get()), CONNECTION_BAD);
  std::printf("libpq after FIN instead of CommandComplete: %s", PQerrorMessage(c.get()));
  EXPECT_EQ(QueryValue(direct.get(), "SELECT count(*) FROM tcp_proxy_reply_cut"), "1");

  // kStall: held, then delivered once released.
  Conn s = ConnectThroughProxy();
  proxy_->ArmOnServerBytes("INSERT 0 1", TcpProxy::Action::kStall);
  ASSERT_EQ(PQsendQuery(s.get(), "INSERT INTO tcp_proxy_reply_cut VALUES (2)"), 1);
  EXPECT_FALSE(ResultReadyWithin(s.get(), absl::Milliseconds(300)));
  EXPECT_EQ(QueryValue(direct.get(), "SELECT count(*) FROM tcp_proxy_reply_cut"), "2");
  proxy_->SetStalled(false);
  ASSERT_TRUE(ResultReadyWithin(s.get(), absl::Seconds(5)));
  Result done(PQgetResult(s.get()));
  EXPECT_EQ(PQresultStatus(done.get()), PGRES_COMMAND_OK) << PQerrorMessage(s.get());
  EXPECT_STREQ(PQcmdStatus(done.get()), "INSERT 0 1");
  Result end(PQgetResult(s.get()));
  EXPECT_EQ(QueryValue(s.get(), "SELECT 5"), "5");
  Result drop(PQexec(direct.get(), "DROP TABLE tcp_proxy_reply_cut"));
}

TEST_F(TcpProxyTest, ArmDelayLetsTheReplyThroughBeforeTheCut) {
  Conn c = ConnectThroughProxy();
  proxy_->ArmOnClientBytes("SELECT 'marker'", TcpProxy::Action::kReset, absl::Milliseconds(300));
  EXPECT_EQ(QueryValue(c.get(), "SELECT 'marker'"), "marker");
  EXPECT_TRUE(WaitFor([&] { return proxy_->connections_open() == 0; }));
  Result r(PQexec(c.get(), "SELECT 1"));
  EXPECT_EQ(PQstatus(c.get()), CONNECTION_BAD);
}

TEST_F(TcpProxyTest, NeedleSplitAcrossTwoReadsMatchesButNotBytesSeenBeforeArming) {
  FakeUpstream upstream(FakeUpstream::Mode::kEcho);
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start("127.0.0.1", upstream.port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  int fd = ConnectRaw((*proxy)->port());
  ASSERT_GE(fd, 0);

  // Before arming: "COMMIT" passes, and arming later does not match it.
  ASSERT_EQ(send(fd, "COMMIT", 6, MSG_NOSIGNAL), 6);
  ASSERT_EQ(ReadN(fd, 6), "COMMIT");
  (*proxy)->ArmOnClientBytes("COMMIT", TcpProxy::Action::kReset);
  ASSERT_EQ(send(fd, "x", 1, MSG_NOSIGNAL), 1);
  ASSERT_EQ(ReadN(fd, 1), "x");

  // "COM" and "MIT" arrive in separate reads.
  ASSERT_EQ(send(fd, "COM", 3, MSG_NOSIGNAL), 3);
  ASSERT_EQ(ReadN(fd, 3), "COM");
  EXPECT_EQ((*proxy)->connections_open(), 1);
  ASSERT_EQ(send(fd, "MIT", 3, MSG_NOSIGNAL), 3);
  // Forwarded first (the echo server got the bytes), then reset.
  ASSERT_TRUE(WaitFor([&] {
    std::vector<Ending> e = upstream.endings();
    return e.size() == 1 && e[0] != Ending::kStillOpen;
  }));
  EXPECT_STREQ(EndingName(upstream.endings()[0]), "RST");
  EXPECT_EQ((*proxy)->bytes_client_to_server(), 6 + 1 + 3 + 3);
  Ending ending = ReadToEnd(fd);
  EXPECT_TRUE(ending == Ending::kReset) << EndingName(ending);
  close(fd);
}

TEST_F(TcpProxyTest, WritesToAClosedPeerRaiseNoSigpipe) {
  FakeUpstream upstream(FakeUpstream::Mode::kFlood);
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start("127.0.0.1", upstream.port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  for (int i = 0; i < 10; ++i) {
    int fd = ConnectRaw((*proxy)->port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ReadN(fd, 1000).size(), 1000u);
    if (i % 2 == 0) {
      close(fd);  // unread bytes: RST
    } else {
      shutdown(fd, SHUT_RDWR);  // FIN; the proxy keeps writing into it
      absl::SleepFor(absl::Milliseconds(20));
      close(fd);
    }
  }
  // The proxy got EPIPE/ECONNRESET (not SIGPIPE, or this process would be
  // dead), closed those connections and reset the flooding upstream.
  EXPECT_TRUE(WaitFor([&] { return (*proxy)->connections_open() == 0; }));
  EXPECT_EQ((*proxy)->connections_accepted(), 10);
  EXPECT_GT((*proxy)->bytes_server_to_client(), 10000);
  // Still serving.
  int fd = ConnectRaw((*proxy)->port());
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ReadN(fd, 1000).size(), 1000u);
  close(fd);
}

TEST_F(TcpProxyTest, DestructorWithLiveConnectionsReturnsPromptly) {
  std::vector<Conn> conns;
  for (int i = 0; i < 5; ++i) conns.push_back(ConnectThroughProxy());
  ASSERT_EQ(PQsendQuery(conns[0].get(), "SELECT pg_sleep(30)"), 1);
  proxy_->SetStalled(true);
  ASSERT_EQ(PQsendQuery(conns[1].get(), "SELECT 1"), 1);
  int raw = ConnectRaw(proxy_->port());
  ASSERT_GE(raw, 0);

  absl::Time start = absl::Now();
  proxy_.reset();
  absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Milliseconds(500));
  std::printf("~TcpProxy with 6 live connections took %s\n", absl::FormatDuration(took).c_str());

  Result r(PQexec(conns[2].get(), "SELECT 1"));
  EXPECT_EQ(PQstatus(conns[2].get()), CONNECTION_BAD);
  Ending ending = ReadToEnd(raw);
  EXPECT_TRUE(ending == Ending::kFin || ending == Ending::kReset) << EndingName(ending);
  close(raw);
}

TEST(TcpProxyStartTest, RejectsABadPortOrHost) {
  EXPECT_EQ(TcpProxy::Start("127.0.0.1", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TcpProxy::Start("127.0.0.1", 70000).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TcpProxy::Start("no-such-host.invalid", 5432).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace testing
}  // namespace aequor
