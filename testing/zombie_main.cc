// testing/zombie: a stand-in for a serverless instance that the
// runtime froze. It connects with the application_name it is given, leaves
// its session in the requested state, prints "pid <backend pid>", and stops
// itself with SIGSTOP, exactly as a frozen container leaves its connection.
//
//   zombie CONNINFO APPLICATION_NAME MODE
//
// MODE:
//   idle                 a finished invocation: the session is idle
//   active               a query (pg_sleep(600)) is running when it freezes
//   idle-in-transaction  BEGIN was sent, nothing after
//   xact-lock:SERVICE    frozen mid reaper pass: holds the transaction-scoped
//                        reaper lock with idle_in_transaction_session_timeout=3s
//                        (long enough that the pass meant to find it busy
//                        still does on a loaded machine with a sanitizer)
//   session-lock:SERVICE holds pg-aequor's session-level reaper lock (a frozen
//                        pg-aequor leader)
#include <libpq-fe.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

int Fail(const char* what, PGconn* conn) {
  std::printf("fail %s: %s\n", what, conn != nullptr ? PQerrorMessage(conn) : "");
  std::fflush(stdout);
  return 1;
}

bool Run(PGconn* conn, const std::string& sql) {
  PGresult* r = PQexec(conn, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: zombie CONNINFO APPLICATION_NAME MODE\n");
    return 2;
  }
  const char* keywords[] = {"dbname", "application_name", nullptr};
  const char* values[] = {argv[1], argv[2], nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (PQstatus(conn) != CONNECTION_OK) return Fail("connect", conn);
  const std::string mode = argv[3];
  int pid = PQbackendPID(conn);
  if (mode == "idle") {
    if (!Run(conn, "SELECT 1")) return Fail("query", conn);
  } else if (mode == "active") {
    if (!PQsendQuery(conn, "SELECT pg_sleep(600)")) return Fail("send", conn);
    PQflush(conn);
  } else if (mode == "idle-in-transaction") {
    if (!Run(conn, "BEGIN")) return Fail("begin", conn);
  } else if (mode.rfind("xact-lock:", 0) == 0) {
    std::string service = mode.substr(10);
    if (!Run(conn, "BEGIN; SET LOCAL idle_in_transaction_session_timeout = 3000") ||
        !Run(conn, "SELECT pg_advisory_xact_lock(1346847057, hashtext('" + service + "'))")) {
      return Fail("xact lock", conn);
    }
  } else if (mode.rfind("session-lock:", 0) == 0) {
    std::string service = mode.substr(13);
    if (!Run(conn, "SELECT pg_advisory_lock(1346847057, hashtext('" + service + "'))")) {
      return Fail("session lock", conn);
    }
  } else {
    return Fail("unknown mode", nullptr);
  }
  std::printf("pid %d\n", pid);
  std::fflush(stdout);
  raise(SIGSTOP);
  // Resumed (SIGCONT): say whether the connection survived, then exit.
  std::printf("%s\n", Run(conn, "SELECT 1") ? "alive" : "dead");
  std::fflush(stdout);
  PQfinish(conn);
  return 0;
}
