// bench/storm/procfs.h and server_log.h: who holds which TCP connection, and
// who was terminated or refused when.
#include <cstdint>
#include <map>
#include <optional>

#include "bench/storm/procfs.h"
#include "bench/storm/server_log.h"
#include "gtest/gtest.h"

namespace aequor {
namespace storm {
namespace {

TEST(StormObserveTest, TcpTableGivesInodesByLocalPortForTheServerPort) {
  const char kTable[] =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   102        0 "
      "11111 1\n"
      "   1: 0100007F:D431 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 "
      "22222 1\n"
      "   2: 0100007F:D432 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 "
      "33333 1\n";
  std::map<int, uint64_t> m = ParseTcpTable(kTable, 0x1538);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0xD431], 22222u);
}

TEST(StormObserveTest, TerminationLinesFromTheServerLog) {
  std::optional<Termination> t = ParseTerminationLine(
      "1700000000.123 [4242] aequor_app@aequor app=s=storm;i=x FATAL:  terminating connection due "
      "to administrator command");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->pid, 4242);
  EXPECT_EQ(t->epoch_ms, 1700000000123);
  EXPECT_EQ(t->reason, "administrator command");
  EXPECT_FALSE(
      ParseTerminationLine("1700000000.123 [4242] FATAL:  sorry, too many clients already"));
  EXPECT_FALSE(
      ParseTerminationLine("2024-01-01 00:00:00 UTC [1] LOG:  terminating connection due to x"));
}

TEST(StormObserveTest, RefusalLinesFromTheServerLog) {
  std::optional<Refusal> r = ParseRefusalLine(
      "1700000000.123 [4243] aequor_app@aequor app=s=storm;i=x FATAL:  too many connections for "
      "role \"aequor_app\"");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->pid, 4243);
  EXPECT_EQ(r->epoch_ms, 1700000000123);
  EXPECT_EQ(r->user, "aequor_app");
  EXPECT_EQ(r->message, "too many connections for role \"aequor_app\"");
  EXPECT_TRUE(ParseRefusalLine("1700000000.5 [7] FATAL:  sorry, too many clients already"));
  EXPECT_EQ(ParseRefusalLine("1700000000.5 [7] FATAL:  sorry, too many clients already")->user, "");
  EXPECT_TRUE(ParseRefusalLine(
      "1700000000.5 [7] u@d app= FATAL:  remaining connection slots are reserved for "
      "non-replication superuser connections"));
  EXPECT_FALSE(ParseRefusalLine(
      "1700000000.5 [7] u@d app= FATAL:  terminating connection due to administrator command"));
  EXPECT_FALSE(ParseRefusalLine("1700000000.5 [7] u@d app= LOG:  too many connections for role"));
  EXPECT_FALSE(ParseTerminationLine(
      "1700000000.5 [7] FATAL:  too many connections for role \"aequor_app\""));
}

}  // namespace
}  // namespace storm
}  // namespace aequor
