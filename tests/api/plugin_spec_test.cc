// PluginSpec text form and ParamReader: what users type in configuration.
#include "api/plugin.h"

#include <map>
#include <string>

#include "api/reaper_scheduler.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace aequor {
namespace {

TEST(ParsePluginSpec, BareName) {
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec("aequor.retry.none");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "aequor.retry.none");
  EXPECT_TRUE(spec->params.empty());
  EXPECT_TRUE(spec->children.empty());
}

// Implicit from text, as in builder.AddExporter("...").
TEST(PluginSpecFromText, ParsesTheTextForm) {
  const PluginSpec spec = "aequor.reaper.any(aequor.reaper.probability(p=0.1), x=1)";
  EXPECT_EQ(spec.name, "aequor.reaper.any");
  EXPECT_EQ(spec.params, (std::map<std::string, std::string>{{"x", "1"}}));
  ASSERT_EQ(spec.children.size(), 1u);
  EXPECT_EQ(spec.children[0].name, "aequor.reaper.probability");
  EXPECT_EQ(PluginSpec(std::string("aequor.signer.hmac_sha256")).name, "aequor.signer.hmac_sha256");
  // Text that does not parse is kept whole (the registry reports why).
  EXPECT_EQ(PluginSpec("a(b=").name, "a(b=");
  EXPECT_TRUE(PluginSpec("a(b=").params.empty());
  // The explicit form never parses its name.
  EXPECT_EQ(PluginSpec("a(b)", {}).name, "a(b)");
}

TEST(ParsePluginSpec, ParamsAndNestedChildren) {
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(
      " aequor.reaper.all_of ( aequor.reaper.probability(p = 0.1),"
      " aequor.reaper.cooldown(base_ms=30000, max_ms=600000), label = \"a, (b)\" ) ");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "aequor.reaper.all_of");
  EXPECT_EQ(spec->params.at("label"), "a, (b)");
  ASSERT_EQ(spec->children.size(), 2u);
  EXPECT_EQ(spec->children[0].name, "aequor.reaper.probability");
  EXPECT_EQ(spec->children[0].params.at("p"), "0.1");
  EXPECT_EQ(spec->children[1].params.at("max_ms"), "600000");
}

TEST(ParsePluginSpec, DefaultSchedulerTextAndSpecAgree) {
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(kDefaultReaperScheduler);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(*spec == DefaultReaperSchedulerSpec()) << FormatPluginSpec(*spec);
}

TEST(ParsePluginSpec, PgAequorSchedulerTextAndSpecAgree) {
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(kPgAequorReaperScheduler);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(*spec == PgAequorReaperSchedulerSpec()) << FormatPluginSpec(*spec);
}

TEST(ParsePluginSpec, FormatRoundTrips) {
  PluginSpec spec("acme.x", {{"a", "1"}, {"b", "with, comma"}, {"c", " padded "}, {"d", ""}},
                  {PluginSpec("acme.child", {{"q", "\"quoted\\"}})});
  std::string text = FormatPluginSpec(spec);
  absl::StatusOr<PluginSpec> back = ParsePluginSpec(text);
  ASSERT_TRUE(back.ok()) << back.status() << " for " << text;
  EXPECT_TRUE(*back == spec) << text;
}

TEST(ParsePluginSpec, RejectsMalformedTextWithPosition) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& c : {Case{"", "expected a plugin name"}, Case{"a(", "expected an option name"},
                        Case{"a(b=1", "expected ',' or ')'"}, Case{"a(b=1,b=2)", "given twice"},
                        Case{"a(b=\"x)", "unterminated"}, Case{"a(b=x(y))", "must be quoted"},
                        Case{"a) trailing", "unexpected text"}}) {
    absl::StatusOr<PluginSpec> spec = ParsePluginSpec(c.text);
    ASSERT_FALSE(spec.ok()) << c.text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_TRUE(absl::StrContains(spec.status().message(), c.reason))
        << c.text << " -> " << spec.status();
    EXPECT_TRUE(absl::StrContains(spec.status().message(), "offset")) << spec.status();
  }
}

TEST(ParsePluginSpec, DeepNestingIsAnErrorNotACrash) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "a(";
  absl::StatusOr<PluginSpec> spec = ParsePluginSpec(text);
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(absl::StrContains(spec.status().message(), "nested too deeply"));
}

TEST(ParamReader, ReadsTypedValuesAndDefaults) {
  PluginSpec spec(
      "acme.x",
      {{"p", "0.25"}, {"n", "7"}, {"on", "true"}, {"wait_ms", "1500"}, {"label", "blue"}});
  ParamReader r(spec);
  EXPECT_DOUBLE_EQ(r.Double("p", 0.1, 0, 1), 0.25);
  EXPECT_EQ(r.Int("n", 1, 0, 10), 7);
  EXPECT_TRUE(r.Bool("on", false));
  EXPECT_EQ(r.Millis("wait_ms", absl::Seconds(1), absl::ZeroDuration(), absl::Minutes(1)),
            absl::Milliseconds(1500));
  EXPECT_EQ(r.String("label", "red"), "blue");
  EXPECT_EQ(r.Int("absent", 42, 0, 100), 42);
  EXPECT_TRUE(r.Finish().ok());
}

TEST(ParamReader, OutOfRangeNamesPluginOptionRangeAndValue) {
  PluginSpec spec("aequor.reaper.probability", {{"p", "1.5"}});
  ParamReader r(spec);
  EXPECT_DOUBLE_EQ(r.Double("p", 0.1, 0.0, 1.0), 0.1);
  absl::Status s = r.Finish();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.reaper.probability: option 'p' must be a number in [0, 1], got '1.5'");
}

TEST(ParamReader, NonNumbersAreRejected) {
  for (const char* bad : {"abc", "", "1e999", "nan", "0x10"}) {
    PluginSpec spec("acme.x", {{"p", bad}});
    ParamReader r(spec);
    r.Double("p", 0.5, 0.0, 1.0);
    EXPECT_EQ(r.Finish().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  PluginSpec spec("acme.x", {{"n", "12abc"}});
  ParamReader r(spec);
  r.Int("n", 1, 0, 100);
  EXPECT_EQ(r.Finish().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParamReader, UnknownOptionIsAnErrorListingKnownOnes) {
  PluginSpec spec("acme.x", {{"retires", "3"}});  // a typo of "retries"
  ParamReader r(spec);
  r.Int("retries", 3, 0, 10);
  absl::Status s = r.Finish();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "unknown option 'retires'")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "known: 'retries'")) << s;
}

TEST(ParamReader, ChildrenBeyondTheLimitAreRejected) {
  PluginSpec spec("acme.leaf", {}, {PluginSpec("acme.child")});
  ParamReader r(spec);
  absl::Status s = r.Finish(/*max_children=*/0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "at most 0 nested")) << s;
  ParamReader r1(spec);
  EXPECT_TRUE(r1.Finish(1).ok());
}

TEST(ParamReader, FirstErrorWins) {
  PluginSpec spec("acme.x", {{"a", "-1"}, {"b", "nope"}});
  ParamReader r(spec);
  r.Int("a", 1, 0, 10);
  r.Bool("b", true);
  r.Fail("later problem");
  absl::Status s = r.Finish();
  EXPECT_TRUE(absl::StrContains(s.message(), "option 'a'")) << s;
}

}  // namespace
}  // namespace aequor
