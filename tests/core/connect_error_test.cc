// What a failed connect or a conninfo that does not parse says, with libpq's
// real messages (libpq parses and checks options before it sends anything,
// so no server is needed): classified, and never a piece of a password.
// Issue 12, item 3, and the conninfo fuzz target's findings 1 and 2
// (docs/FUZZING.md).
#include "core/connect_error.h"

#include <libpq-fe.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "util/pg.h"

namespace aequor {
namespace {

// libpq's message for parsing `conninfo`, "" if it parses.
std::string ParseMessage(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options != nullptr) {
    PQconninfoFree(options);
    return "";
  }
  std::string message = error != nullptr ? error : "out of memory";
  if (error != nullptr) PQfreemem(error);
  return std::string(absl::StripTrailingAsciiWhitespace(message));
}

// libpq's message for opening `conninfo`, with the host replaced by a Unix
// socket directory that does not exist (nothing leaves the process).
std::string OpenMessage(const std::string& conninfo) {
  const char* keywords[] = {"dbname", "host", nullptr};
  const char* values[] = {conninfo.c_str(), "/nonexistent-aequor-test", nullptr};
  pg::Conn conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  EXPECT_NE(PQstatus(conn.get()), CONNECTION_OK);
  return pg::ErrorMessage(conn.get());
}

void ExpectNone(absl::string_view text, const std::vector<std::string>& fragments,
                absl::string_view conninfo) {
  for (const std::string& fragment : fragments) {
    EXPECT_FALSE(absl::StrContains(text, fragment))
        << "'" << fragment << "' of " << conninfo << " is in: " << text;
  }
}

// Each of these parses (libpq reads the password's tail as other options)
// and then fails libpq's option check, which quotes the tail.
TEST(ConnectErrorTest, AConnectFailureNeverQuotesAPieceOfThePassword) {
  struct Case {
    std::string conninfo;
    std::vector<std::string> secret;
    std::string kept;  // libpq's own words, which must survive
  };
  const std::vector<Case> cases = {
      {"password=correct port=battery9", {"battery9"}, "for connection option \"port\""},
      {"postgresql://app:pa/ss9word@localhost/orders",
       {"\"pa\"", "ss9word"},
       "for connection option \"port\""},
      {"password=x gssencmode=authentic?comb%anzdzi5rdample",
       {"authentic", "anzdzi5rdample"},
       "invalid gssencmode value: \"...\""},
      {"password=s3cret sslmode=hor\"se9battery",
       {"se9battery", "hor"},
       "invalid sslmode value: \"...\""},
      {"password=s3cret target_session_attrs=battery",
       {"battery"},
       "invalid target_session_attrs value"},
      {"password=s3cret channel_binding=battery", {"battery"}, "invalid channel_binding value"},
  };
  for (const Case& c : cases) {
    const std::string libpq = OpenMessage(c.conninfo);
    ASSERT_FALSE(libpq.empty()) << c.conninfo;
    // What libpq says does quote it: the test would see a leak.
    bool quoted = false;
    for (const std::string& s : c.secret) quoted |= absl::StrContains(libpq, s);
    ASSERT_TRUE(quoted) << c.conninfo << " -> " << libpq;
    const absl::Status status = ConnectFailureStatus(c.conninfo, libpq);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    ExpectNone(status.message(), c.secret, c.conninfo);
    EXPECT_TRUE(absl::StrContains(status.message(), c.kept)) << status;
    EXPECT_TRUE(absl::StartsWith(status.message(), "connect failed: ")) << status;
  }
}

TEST(ConnectErrorTest, WithoutAPasswordTheMessageIsLibpqsOwn) {
  const std::string conninfo = "port=notaport";
  const std::string libpq = OpenMessage(conninfo);
  EXPECT_EQ(ConnectFailureText(conninfo, libpq), libpq);
  EXPECT_TRUE(absl::StrContains(libpq, "notaport")) << libpq;
}

// A server libpq reached is the one the user configured: its line is kept
// whole, with what the server answered.
TEST(ConnectErrorTest, TheServersAnswerIsKept) {
  const std::string line =
      "connection to server at \"db.example\" (10.0.0.1), port 5432 failed: FATAL:  password "
      "authentication failed for user \"app\"";
  EXPECT_EQ(ConnectFailureText("host=db.example user=app password=s3cret", line), line);
  const absl::Status status = ConnectFailureStatus("password=s3cret", line);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
}

// A line no template knows: everything between its first and last quote goes.
TEST(ConnectErrorTest, AnUnknownLineLosesAllItQuotes) {
  EXPECT_EQ(ConnectFailureText("password=x", "something new: \"a\"b\" and \"c\" end"),
            "something new: \"...\" end");
  EXPECT_EQ(ConnectFailureText("password=x", "half \"open"), "half \"...");
}

// Finding 1: a '"' inside the quoted text ended the blanking early.
TEST(ConnectErrorTest, AQuoteInThePasswordDoesNotEndTheSyntaxErrorsRedaction) {
  struct Case {
    std::string conninfo;
    std::string secret;
    std::string shown;
  };
  const std::vector<Case> cases = {
      {"host=localhost password=correct hor\"se9battery", "se9battery",
       "missing \"=\" after \"...\" in connection info string"},
      {"postgresql://app:p%zz\"s3cretTail@localhost/orders", "s3cretTail",
       "invalid percent-encoded token: \"...\""},
      {"host=localhost password=correct horse battery", "horse",
       "missing \"=\" after \"...\" in connection info string"},
      {"host=localhost password=correct horse=battery", "horse",
       "invalid connection option \"...\""},
  };
  for (const Case& c : cases) {
    const std::string libpq = ParseMessage(c.conninfo);
    ASSERT_TRUE(absl::StrContains(libpq, c.secret)) << c.conninfo << " -> " << libpq;
    EXPECT_EQ(ConninfoParseErrorText(c.conninfo, libpq), c.shown) << libpq;
  }
}

// The conninfo fuzz target: a URI password with an unencoded '/' whose start
// is digits parses (the user name becomes the host, the digits the port),
// and every connect error then names that port.
TEST(ConnectErrorTest, AUriWhosePasswordHoldsASlashIsRefused) {
  for (const std::string uri : {"postgresql://app:54/xt@db.example/orders",
                                "postgres://app:5432/s3cret@db.example:5432/orders?sslmode=require",
                                "postgresql://app:pa/ss9word@localhost/orders",
                                "postgresql://app:s3c@db:5432,h2:54@localhost/orders",
                                "postgresql://app:s3?c@db:5432,h2:54@localhost/orders"}) {
    ASSERT_EQ(ParseMessage(uri), "") << "libpq takes " << uri;
    const absl::Status s = CheckConninfo(uri);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << uri;
    EXPECT_TRUE(absl::StrContains(s.message(), "must be percent-encoded")) << s;
    ExpectNone(s.message(), {"54", "5432", "s3cret", "xt", "ss9word"}, uri);
  }
  // Encoded, or an '@' only in the query (Azure's user=name@server): fine.
  for (const std::string uri :
       {"postgresql://app:54%2Fxt@db.example/orders",
        "postgresql://db.example/orders?user=app@server",
        "postgresql://app:s3cret@db.example/orders", "host=x password=a/b@c"}) {
    EXPECT_TRUE(CheckConninfo(uri).ok()) << uri << ": " << CheckConninfo(uri);
  }
  // A conninfo libpq refuses: its redacted message.
  EXPECT_EQ(CheckConninfo("host=localhost password=correct horse battery").message(),
            "missing \"=\" after \"...\" in connection info string");
}

TEST(ConnectErrorTest, WithoutAPasswordTheUnknownOptionIsNamed) {
  const std::string libpq = ParseMessage("host=localhost passwd=x");
  EXPECT_EQ(ConninfoParseErrorText("host=localhost passwd=x", libpq),
            "invalid connection option \"passwd\"");
  // A URI's position and character are libpq's own.
  const std::string uri = "postgresql://[::1";
  EXPECT_EQ(ConninfoParseErrorText(uri, ParseMessage(uri)),
            "end of string reached when looking for matching \"]\" in IPv6 host address in "
            "URI: \"...\"");
}

TEST(ConnectErrorTest, ConnectFailuresAreClassified) {
  EXPECT_EQ(ConnectFailureStatus("FATAL:  sorry, too many clients already").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ConnectFailureStatus("invalid channel_binding value: \"...\"").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConnectFailureStatus("could not connect to server: Connection refused").code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace aequor
