// ServerView: what the server told in passing, turned into the scheduler's
// input and the lease compensation. No server: readings are made by hand.
#include "core/server_view.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "tests/core/event_capture.h"

namespace aequor {
namespace {

using ::aequor::testing::EventCapture;
using ::aequor::testing::FakeClock;

class ServerViewTest : public ::testing::Test {
 protected:
  ServerViewTest() : capture_(clock_), view_(clock_, capture_.emitter(), Options()) {}

  static ManagerOptions Options() {
    ManagerOptions o;
    o.reap_clock_skew = absl::Milliseconds(100);
    o.reap_pressure_threshold = 0.25;
    return o;
  }

  // A reading whose server clock is `offset` ahead of this host, answered
  // after a 2 ms round trip.
  void ObserveOffset(absl::Duration offset, std::optional<double> usage = std::nullopt) {
    const absl::Time sent = clock_.Now();
    const absl::Time received = sent + absl::Milliseconds(2);
    ProbeReading reading;
    reading.usage = usage;
    reading.reapable = usage.has_value() ? std::optional<int>(3) : std::nullopt;
    reading.lock_busy = false;
    reading.server_us = absl::ToUnixMicros(sent + absl::Milliseconds(1) + offset);
    view_.ObserveProbe(reading, sent, received);
  }

  FakeClock clock_;
  EventCapture capture_;
  ServerView view_;
};

TEST_F(ServerViewTest, AnOffsetOverTheMarginIsReportedWithAWarningAndCompensatesLeases) {
  ObserveOffset(absl::Milliseconds(250));
  std::vector<Event> events = capture_.Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, EventKind::kClockOffset);
  EXPECT_EQ(events[0].clock_offset.offset, absl::Milliseconds(250));
  EXPECT_EQ(events[0].clock_offset.uncertainty, absl::Milliseconds(1));
  EXPECT_NE(events[0].message.find("more than reap_clock_skew"), std::string::npos)
      << events[0].message;
  EXPECT_EQ(view_.lease_compensation(), absl::Milliseconds(251));
}

TEST_F(ServerViewTest, AnOffsetThatMovedLessThanATenthOfTheMarginIsNotReportedAgain) {
  ObserveOffset(absl::Milliseconds(20));
  ObserveOffset(absl::Milliseconds(25));  // moved 5 ms < 10 ms
  ObserveOffset(absl::Milliseconds(40));  // moved 20 ms since the last report
  std::vector<Event> events = capture_.Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].clock_offset.offset, absl::Milliseconds(20));
  EXPECT_TRUE(events[0].message.empty());
  EXPECT_EQ(events[1].clock_offset.offset, absl::Milliseconds(40));
  // Every reading compensates, reported or not.
  EXPECT_EQ(view_.lease_compensation(), absl::Milliseconds(41));
}

TEST_F(ServerViewTest, AFreshUsageGivesTheSchedulerEverythingAndJudgesPressure) {
  ObserveOffset(absl::ZeroDuration(), 0.3);
  ScheduleInput input = view_.ScheduleInputFor(ReapTrigger::kConnect, false);
  EXPECT_EQ(input.connection_usage, 0.3);
  EXPECT_EQ(input.reapable, 3);
  EXPECT_FALSE(input.reaper_lock_busy);
  EXPECT_TRUE(input.under_pressure);  // 0.3 >= 0.25
  EXPECT_EQ(view_.FreshUsage(), 0.3);
}

TEST_F(ServerViewTest, AnOldUsageServesOnlyAWarmInvocationAndNeverSaysNothingIsReapable) {
  ObserveOffset(absl::ZeroDuration(), 0.1);
  clock_.Advance(absl::Seconds(6));
  EXPECT_EQ(view_.FreshUsage(), std::nullopt);
  ScheduleInput warm = view_.ScheduleInputFor(ReapTrigger::kInvocation, false);
  EXPECT_EQ(warm.connection_usage, 0.1);
  EXPECT_EQ(warm.reapable, std::nullopt);
  EXPECT_FALSE(warm.under_pressure);
  ScheduleInput connect = view_.ScheduleInputFor(ReapTrigger::kConnect, false);
  EXPECT_EQ(connect.connection_usage, std::nullopt);
  clock_.Advance(absl::Seconds(55));
  EXPECT_EQ(view_.ScheduleInputFor(ReapTrigger::kInvocation, false).connection_usage, std::nullopt);
}

TEST_F(ServerViewTest, AFullDatabaseIsPressureWhateverTheUsage) {
  EXPECT_TRUE(view_.ScheduleInputFor(ReapTrigger::kConnect, true).under_pressure);
  EXPECT_FALSE(view_.ScheduleInputFor(ReapTrigger::kConnect, false).under_pressure);
}

TEST_F(ServerViewTest, APassUpdatesUsageReapableAndTheLock) {
  ReapReport busy;
  busy.outcome = ReapOutcome::kBusy;
  busy.connection_usage = 0.2;
  view_.ObservePass(busy);
  ScheduleInput input = view_.ScheduleInputFor(ReapTrigger::kConnect, false);
  EXPECT_TRUE(input.reaper_lock_busy);
  EXPECT_EQ(input.reapable, std::nullopt);

  ReapReport done;
  done.outcome = ReapOutcome::kCompleted;
  done.connection_usage = 0.2;
  done.candidates = 7;
  done.killed = 5;
  view_.ObservePass(done);
  input = view_.ScheduleInputFor(ReapTrigger::kConnect, false);
  EXPECT_FALSE(input.reaper_lock_busy);
  EXPECT_EQ(input.reapable, 2);
}

}  // namespace
}  // namespace aequor
