// util/deadline_watchdog.h on socket pairs: a wait ends when its socket is
// ready or at its own deadline, never at another wait's (an earlier wait of
// the same thread, or another thread's), and a child after fork() gets a
// watchdog of its own.
#include "util/deadline_watchdog.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace aequor {
namespace {

constexpr int64_t kMs = 1000 * 1000;

// Both ends of a unix stream socket pair, closed at the end of the test.
class Pair {
 public:
  Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0); }
  ~Pair() {
    close(fds_[0]);
    close(fds_[1]);
  }
  int reader() const { return fds_[0]; }
  void Send() { ASSERT_EQ(write(fds_[1], "x", 1), 1); }

 private:
  int fds_[2] = {-1, -1};
};

// Whether `fd`'s read side was shut: at end of stream with nothing sent.
bool ReadSideShut(int fd) {
  char c;
  return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

TEST(DeadlineWatchdogTest, AWaitWithNothingToReadEndsAtItsDeadlineAndNotBefore) {
  Pair pair;
  const int64_t start = MonotonicNanosNow();
  EXPECT_EQ(WaitWatched(pair.reader(), POLLIN, start + 200 * kMs), WatchedWait::kDeadline);
  const int64_t took = MonotonicNanosNow() - start;
  EXPECT_GE(took, 200 * kMs) << "ended before its deadline";
  EXPECT_LT(took, 5000 * kMs) << "the watchdog did not end it";
  EXPECT_TRUE(ReadSideShut(pair.reader())) << "kDeadline means the read side is shut";
}

TEST(DeadlineWatchdogTest, AReadySocketEndsTheWaitAndIsLeftOpen) {
  Pair pair;
  pair.Send();
  EXPECT_EQ(WaitWatched(pair.reader(), POLLIN, MonotonicNanosNow() + 10000 * kMs),
            WatchedWait::kReady);
  char c;
  EXPECT_EQ(recv(pair.reader(), &c, 1, MSG_DONTWAIT), 1) << "the byte is still there";
}

TEST(DeadlineWatchdogTest, DataArrivingDuringTheWaitEndsIt) {
  Pair pair;
  std::atomic<bool> waiting{false};
  std::thread sender([&] {
    while (!waiting.load()) std::this_thread::yield();
    pair.Send();
  });
  waiting.store(true);
  const int64_t start = MonotonicNanosNow();
  EXPECT_EQ(WaitWatched(pair.reader(), POLLIN, start + 60000 * kMs), WatchedWait::kReady);
  EXPECT_LT(MonotonicNanosNow() - start, 30000 * kMs);
  sender.join();
}

TEST(DeadlineWatchdogTest, APassedDeadlineEndsTheWaitAtOnce) {
  Pair pair;
  const int64_t start = MonotonicNanosNow();
  EXPECT_EQ(WaitWatched(pair.reader(), POLLIN, start - 1000 * kMs), WatchedWait::kDeadline);
  EXPECT_LT(MonotonicNanosNow() - start, 5000 * kMs);
}

TEST(DeadlineWatchdogTest, NoDeadlineWaitsForTheSocket) {
  Pair pair;
  pair.Send();
  EXPECT_EQ(WaitWatched(pair.reader(), POLLIN, std::numeric_limits<int64_t>::max()),
            WatchedWait::kReady);
}

TEST(DeadlineWatchdogTest, AnEarlierWaitsDeadlineNeverEndsALaterWait) {
  // The first wait's deadline (100 ms) passes while the second, with a
  // deadline of 600 ms, is still waiting: the watchdog must tell them apart.
  Pair first;
  first.Send();
  const int64_t start = MonotonicNanosNow();
  ASSERT_EQ(WaitWatched(first.reader(), POLLIN, start + 100 * kMs), WatchedWait::kReady);
  Pair second;
  EXPECT_EQ(WaitWatched(second.reader(), POLLIN, start + 600 * kMs), WatchedWait::kDeadline);
  EXPECT_GE(MonotonicNanosNow() - start, 600 * kMs) << "ended at the earlier wait's deadline";
  EXPECT_FALSE(ReadSideShut(first.reader())) << "the finished wait's socket was shut";
}

TEST(DeadlineWatchdogTest, ManyThreadsEachEndAtTheirOwnDeadline) {
  constexpr int kThreads = 8;
  std::vector<Pair> pairs(kThreads);
  std::vector<int64_t> took(kThreads, 0);
  std::vector<WatchedWait> outcome(kThreads, WatchedWait::kNoWatchdog);
  const int64_t start = MonotonicNanosNow();
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    // Odd threads find data; even ones wait out deadlines of 100 to 800 ms.
    if (i % 2 == 1) pairs[i].Send();
    threads.emplace_back([&, i] {
      outcome[i] = WaitWatched(pairs[i].reader(), POLLIN, start + (i + 1) * 100 * kMs);
      took[i] = MonotonicNanosNow() - start;
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    if (i % 2 == 1) {
      EXPECT_EQ(outcome[i], WatchedWait::kReady) << "thread " << i;
      EXPECT_FALSE(ReadSideShut(pairs[i].reader())) << "thread " << i;
    } else {
      EXPECT_EQ(outcome[i], WatchedWait::kDeadline) << "thread " << i;
      EXPECT_GE(took[i], (i + 1) * 100 * kMs) << "thread " << i << " ended early";
    }
  }
}

TEST(DeadlineWatchdogTest, AChildAfterForkGetsAWatchdogOfItsOwn) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer refuses to start threads after a multi-threaded fork";
#endif
  Pair warm;  // the parent's watchdog runs before the fork
  warm.Send();
  ASSERT_EQ(WaitWatched(warm.reader(), POLLIN, MonotonicNanosNow() + 1000 * kMs),
            WatchedWait::kReady);
  Pair pair;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int64_t start = MonotonicNanosNow();
    const WatchedWait w = WaitWatched(pair.reader(), POLLIN, start + 100 * kMs);
    const int64_t took = MonotonicNanosNow() - start;
    _exit(w == WatchedWait::kDeadline && took >= 100 * kMs && took < 5000 * kMs ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child's wait never ended";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's wait did not end at its deadline";
}

}  // namespace
}  // namespace aequor
