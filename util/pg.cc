#include "util/pg.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "util/deadline_watchdog.h"

namespace aequor {
namespace pg {

std::string ErrorMessage(const PGconn* conn) {
  const char* message = conn != nullptr ? PQerrorMessage(conn) : nullptr;
  if (message == nullptr || message[0] == '\0') return "unknown libpq error";
  return std::string(absl::StripTrailingAsciiWhitespace(message));
}

ResultError ReadError(const PGresult* r, const PGconn* conn) {
  ResultError e;
  const char* sqlstate = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (sqlstate != nullptr) e.sqlstate = sqlstate;
  e.message = primary != nullptr ? std::string(primary) : ErrorMessage(conn);
  return e;
}

namespace {

// When `left` from now will have passed, on CLOCK_MONOTONIC (int64 max:
// never).
int64_t MonotonicNanosIn(absl::Duration left) {
  const int64_t now = MonotonicNanosNow();
  const int64_t left_ns = absl::ToInt64Nanoseconds(left);  // saturates
  return left_ns > std::numeric_limits<int64_t>::max() - now
             ? std::numeric_limits<int64_t>::max()
             : now + left_ns;
}

// WaitSocket() without the watchdog thread: poll() with a timeout.
bool WaitSocketPolling(int fd, short events, const Deadline& deadline) {
  for (;;) {
    // Rounded up, so that a wait never ends just short of the deadline;
    // capped so that a clock that stands still (a test's) is re-read.
    const int timeout_ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(deadline.Left(), absl::Milliseconds(1))),
        60 * 1000));
    struct pollfd p = {fd, events, 0};
    const int ready = poll(&p, 1, timeout_ms);
    if (ready > 0) return true;
    // A failing poll: libpq's next read reports the connection's trouble;
    // should it keep failing without any, the deadline still ends the wait.
    if (ready < 0 && errno != EINTR) return deadline.Left() > absl::ZeroDuration();
    if (ready == 0 && timeout_ms == 0) return false;
  }
}

// Waits until `conn`'s socket is ready for `events` or `deadline` passes:
// false then, with the socket's read side shut (the caller abandons the
// connection). The wait is poll() on the socket alone, ended at the
// deadline by util/deadline_watchdog.h: a poll() timeout would arm a kernel
// timer per statement, 2 to 3% of a SELECT 1 (docs/BENCHMARKS.md). A
// deadline on Clock::Real() is already a CLOCK_MONOTONIC time (api/clock.cc)
// and is taken as it is, without reading a clock; one on another clock (a
// test's) becomes the real time at which as much time will have passed.
bool WaitSocket(PGconn* conn, short events, const Deadline& deadline) {
  const int fd = PQsocket(conn);
  if (fd < 0) return true;  // libpq reports the lost connection itself
  const int64_t at_ns = deadline.on(Clock::Real()) ? absl::ToUnixNanos(deadline.at())
                                                   : MonotonicNanosIn(deadline.Left());
  switch (WaitWatched(fd, events, at_ns)) {
    case WatchedWait::kReady:
      return true;
    case WatchedWait::kDeadline:
      return false;
    case WatchedWait::kNoWatchdog:
      break;
  }
  return WaitSocketPolling(fd, events, deadline);
}

// Shared by CancelWithin() and the thread that sends the request.
struct CancelRequest {
  explicit CancelRequest(PGcancel* c) : cancel(c) {}
  ~CancelRequest() { PQfreeCancel(cancel); }
  PGcancel* const cancel;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool accepted = false;
};

// PQexec's choice among several results: the first error, else the last.
void Keep(Result& kept, PGresult* next) {
  if (kept != nullptr && PQresultStatus(kept.get()) == PGRES_FATAL_ERROR) {
    PQclear(next);
    return;
  }
  kept.reset(next);
}

bool EndsResults(const PGresult* r, const PGconn* conn) {
  const ExecStatusType s = PQresultStatus(r);
  return s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH ||
         PQstatus(conn) == CONNECTION_BAD;
}

}  // namespace

bool CancelWithin(PGconn* conn, absl::Duration bound) {
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) return false;
  auto request = std::make_shared<CancelRequest>(cancel);
  try {
    std::thread([request] {
      char error[256];
      const bool accepted = PQcancel(request->cancel, error, sizeof(error)) == 1;
      std::lock_guard<std::mutex> lock(request->mu);
      request->done = true;
      request->accepted = accepted;
      request->cv.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    return false;  // no thread to be had: the connection is shut regardless
  }
  std::unique_lock<std::mutex> lock(request->mu);
  request->cv.wait_for(lock, absl::ToChronoNanoseconds(bound), [&] { return request->done; });
  return request->done && request->accepted;
}

void Abandon(PGconn* conn, absl::Duration cancel_bound) {
  CancelWithin(conn, cancel_bound);
  const int fd = PQsocket(conn);
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
  // libpq reads the end of the stream and counts the connection lost.
  PQconsumeInput(conn);
}

bool FlushAndAwait(PGconn* conn, const Deadline& deadline) {
  // libpq's rule for non-blocking sends: while PQflush() has more to send,
  // wait for the socket to take it, reading whatever the server sends
  // meanwhile so that neither side's buffer fills up.
  int pending;
  while ((pending = PQflush(conn)) == 1) {
    if (!WaitSocket(conn, POLLIN | POLLOUT, deadline)) {
      Abandon(conn, deadline.cancel_bound());
      return false;
    }
    if (!PQconsumeInput(conn)) return true;
  }
  if (pending < 0) return true;  // PQgetResult reports the failure
  while (PQisBusy(conn)) {
    if (!WaitSocket(conn, POLLIN, deadline)) {
      Abandon(conn, deadline.cancel_bound());
      return false;
    }
    if (!PQconsumeInput(conn)) return true;
  }
  return true;
}

Reply Run(PGconn* conn, const Statement& s, const Deadline& deadline) {
  Reply out;
  if (deadline.none()) {
    out.result.reset(s.simple ? PQexec(conn, s.text)
                     : s.prepared_name != nullptr
                         ? PQexecPrepared(conn, s.prepared_name, s.n_params, s.values, s.lengths,
                                          s.formats, 0)
                         : PQexecParams(conn, s.text, s.n_params, nullptr, s.values, s.lengths,
                                        s.formats, 0));
    return out;
  }
  if (!PQisnonblocking(conn) && PQsetnonblocking(conn, 1) != 0) {
    // Only fails when the connection is already broken; PQexec-like error.
    out.result.reset(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
    return out;
  }
  const int sent = s.simple ? PQsendQuery(conn, s.text)
                   : s.prepared_name != nullptr
                       ? PQsendQueryPrepared(conn, s.prepared_name, s.n_params, s.values,
                                             s.lengths, s.formats, 0)
                       : PQsendQueryParams(conn, s.text, s.n_params, nullptr, s.values, s.lengths,
                                           s.formats, 0);
  if (!sent) {
    out.result.reset(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
    return out;
  }
  for (;;) {
    if (!FlushAndAwait(conn, deadline)) {
      out.result.reset();
      out.timed_out = true;
      return out;
    }
    PGresult* next = PQgetResult(conn);
    if (next == nullptr) break;
    const bool last = EndsResults(next, conn);
    Keep(out.result, next);
    if (last) break;
  }
  if (out.result == nullptr) out.result.reset(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
  return out;
}

Reply PrepareAndRun(PGconn* conn, const char* name, const Statement& s, const Deadline& deadline,
                    bool* prepared) {
  *prepared = false;
  Reply out;
  const bool sent =
      (PQisnonblocking(conn) || PQsetnonblocking(conn, 1) == 0) && PQenterPipelineMode(conn) &&
      PQsendPrepare(conn, name, s.text, s.n_params, nullptr) &&
      PQsendQueryPrepared(conn, name, s.n_params, s.values, s.lengths, s.formats, 0) &&
      PQpipelineSync(conn);
  if (!sent) {
    // A part queued and not sent keeps the connection in pipeline mode: it
    // cannot be used as it is, so it is closed (its owner drops it).
    if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(conn)) {
      Abandon(conn, deadline.cancel_bound());
    }
    out.result.reset(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
    return out;
  }
  // The pipeline's results: the prepare's, NULL, the statement's (one or
  // more), NULL, then the sync.
  auto next = [&](Result& into) {
    if (out.timed_out || !FlushAndAwait(conn, deadline)) {
      out.timed_out = true;
      into.reset();
      return false;
    }
    into.reset(PQgetResult(conn));
    return true;
  };
  auto rest_of_query = [&](Result* keep) {
    Result r;
    while (next(r) && r != nullptr) {
      if (keep != nullptr) Keep(*keep, r.release());
    }
  };
  Result prepare;
  next(prepare);
  rest_of_query(nullptr);
  Result run;
  if (next(run) && run != nullptr) rest_of_query(&run);
  Result sync;
  next(sync);
  if (out.timed_out) return out;  // the connection is closed: the caller drops it
  if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(conn)) {
    Abandon(conn, deadline.cancel_bound());
  }
  *prepared = prepare != nullptr && PQresultStatus(prepare.get()) == PGRES_COMMAND_OK;
  out.result = *prepared || prepare == nullptr ? std::move(run) : std::move(prepare);
  if (out.result == nullptr) out.result.reset(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
  return out;
}

std::vector<Reply> RunPipeline(PGconn* conn, absl::Span<const Statement> statements,
                               const Deadline& deadline) {
  std::vector<Reply> out(statements.size());
  bool sent = (PQisnonblocking(conn) || PQsetnonblocking(conn, 1) == 0) &&
              PQenterPipelineMode(conn);
  for (size_t i = 0; sent && i < statements.size(); ++i) {
    const Statement& s = statements[i];
    sent = (s.prepared_name != nullptr
                ? PQsendQueryPrepared(conn, s.prepared_name, s.n_params, s.values, s.lengths,
                                      s.formats, 0)
                : PQsendQueryParams(conn, s.text, s.n_params, nullptr, s.values, s.lengths,
                                    s.formats, 0)) &&
           PQpipelineSync(conn);
  }
  bool timed_out = false;
  auto next = [&](Result& into) {
    if (timed_out || !FlushAndAwait(conn, deadline)) {
      timed_out = true;
      into.reset();
      return false;
    }
    into.reset(PQgetResult(conn));
    return true;
  };
  size_t answered = 0;  // statements whose results (and sync) were read
  if (sent) {
    for (; answered < statements.size(); ++answered) {
      // The statement's results up to the NULL that ends them, then its sync.
      Result r;
      while (next(r) && r != nullptr) {
        Keep(out[answered].result, r.release());
        if (PQstatus(conn) == CONNECTION_BAD) break;
      }
      if (timed_out || PQstatus(conn) == CONNECTION_BAD) break;
      Result sync;
      next(sync);
      if (timed_out) break;
    }
  }
  if (timed_out) {
    // The connection is shut: nothing more will come.
    for (size_t i = answered; i < out.size(); ++i) {
      out[i].result.reset();
      out[i].timed_out = true;
    }
    return out;
  }
  if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(conn)) {
    // Part of the pipeline was queued and never sent, or is unread: the
    // connection cannot be used as it is.
    Abandon(conn, deadline.cancel_bound());
  }
  for (Reply& reply : out) {
    if (reply.result == nullptr) reply.result.reset(PQmakeEmptyPGresult(conn, PGRES_FATAL_ERROR));
  }
  return out;
}

Outcome Exec(PGconn* conn, const char* sql, absl::Span<const std::string> params,
             const Deadline& deadline) {
  Outcome out;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  Reply reply =
      Run(conn, Statement{sql, static_cast<int>(values.size()), values.data(), params.empty()},
          deadline);
  out.result_ = std::move(reply.result);
  if (reply.timed_out) {
    out.timed_out_ = true;
    out.message_ = std::string(kTimedOutMessage);
    return out;
  }
  const ExecStatusType status =
      out.result_ != nullptr ? PQresultStatus(out.result_.get()) : PGRES_FATAL_ERROR;
  out.ok_ = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  if (out.ok_) return out;
  ResultError e = ReadError(out.result_.get(), conn);
  out.sqlstate_ = std::move(e.sqlstate);
  out.message_ = std::move(e.message);
  return out;
}

}  // namespace pg
}  // namespace aequor
