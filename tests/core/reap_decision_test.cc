// ReapDecision (core/reaper.h): what a pass does with one pg_stat_activity
// row, without a server. The server tests (tests/core/*_test.cc) cover the
// same decisions end to end; these pin the arithmetic at its edges.
#include <cstdint>
#include <limits>
#include <string>

#include "api/lease.h"
#include "core/reaper.h"
#include "gtest/gtest.h"
#include "signers/hmac_sha256_botan.h"

namespace aequor {
namespace {

constexpr int64_t kNowMs = 1767225600000;  // the server's clock_timestamp()

class ReapDecisionTest : public ::testing::Test {
 protected:
  ReapDecisionTest() : signer_(*NewHmacSha256BotanSigner(Secret("decision-test-secret-0123"))) {
    settings_.service = "svc";
    settings_.min_idle = absl::Seconds(1);
    settings_.clock_skew = absl::Milliseconds(100);
  }

  const char* Decide(int64_t expires_ms) {
    absl::StatusOr<std::string> lease = SignLease(*signer_, "svc", "AbCdEfGh", expires_ms);
    EXPECT_TRUE(lease.ok()) << lease.status();
    SessionRow row;
    row.application_name = lease.ok() ? *lease : "";
    row.state = "idle";
    row.idle_s = 10;
    row.now_ms = kNowMs;
    row.may_signal = true;
    return ReapDecision(row, settings_, *signer_, /*reaper_is_superuser=*/false);
  }

  ReaperSettings settings_;
  std::shared_ptr<const LeaseSigner> signer_;
};

TEST_F(ReapDecisionTest, ExpiredOnlyOnceTheServerIsPastExpiryPlusTheMargin) {
  EXPECT_EQ(Decide(kNowMs), skip_reason::kNotExpired);
  EXPECT_EQ(Decide(kNowMs - 100), skip_reason::kNotExpired);  // exactly the margin
  EXPECT_EQ(Decide(kNowMs - 101), nullptr);                   // a candidate
  EXPECT_EQ(Decide(kNowMs + 60000), skip_reason::kNotExpired);
}

// Issue 12: `expires_ms + skew_ms` overflowed for a validly signed expiry
// near INT64_MAX, so a live session counted as expired (and a real pass
// killed it) while `aequorctl leases` showed it valid.
TEST_F(ReapDecisionTest, AnExpiryNearInt64MaxIsNeverExpired) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Decide(max), skip_reason::kNotExpired);
  EXPECT_EQ(Decide(max - 50), skip_reason::kNotExpired);
  settings_.clock_skew = absl::Hours(24 * 365);
  EXPECT_EQ(Decide(max), skip_reason::kNotExpired);
  EXPECT_EQ(Decide(0), nullptr);  // the epoch: long expired, even with a year's margin
}

}  // namespace
}  // namespace aequor
