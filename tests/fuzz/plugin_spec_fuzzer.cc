// Fuzz target: the plugin spec text of api/plugin.h (ParsePluginSpec,
// FormatPluginSpec), ParamReader, and every built-in factory's ParseConfig(),
// which read specs from environment variables and command lines
// (AEQUOR_REAPER_SCHEDULER, storm's --scheduler, ...).
//
// Input: line 0 is the spec text; the bytes of line 1 choose how ParamReader
// reads the options and what the created plugins are asked.
//
// Checks:
//   - ParsePluginSpec never crashes; a refusal is InvalidArgument naming an
//     offset;
//   - a spec that parses formats to text that parses back to an equal spec,
//     and formatting that again gives the same text;
//   - ParamReader: every value it returns is the default or lies within the
//     range asked for; String() returns the option's text; Finish() fails when
//     an option was not read or there are more children than allowed;
//   - every built-in factory (signers, reaper schedulers, retry policies,
//     exporters) given the spec under its own name answers OK, InvalidArgument
//     or NotFound, with a message; a spec it accepts creates its plugin
//     (exporters are not created: they write and start threads), and the
//     plugin then works: a signer signs, a retry policy's delays are never
//     negative, a reaper scheduler answers for any input.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/events.h"
#include "api/lease_signer.h"
#include "api/plugin.h"
#include "api/random.h"
#include "api/reaper_scheduler.h"
#include "api/registry.h"
#include "api/retry_policy.h"
#include "api/secret.h"
#include "exporters/builtin.h"
#include "signers/builtin.h"
#include "strategies/reaper/builtin.h"
#include "strategies/retry/builtin.h"
#include "testing/fake_clock.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace aequor {
namespace fuzz {
namespace {

const Registry& TheRegistry() {
  static const std::shared_ptr<const Registry>* const registry = [] {
    RegistryBuilder builder;
    FUZZ_CHECK(RegisterBuiltinSigners(builder).ok(), "cannot register the signers");
    FUZZ_CHECK(RegisterBuiltinReaperSchedulers(builder).ok(), "cannot register the schedulers");
    FUZZ_CHECK(RegisterBuiltinRetryPolicies(builder).ok(), "cannot register the retry policies");
    FUZZ_CHECK(RegisterBuiltinExporters(builder).ok(), "cannot register the exporters");
    return new std::shared_ptr<const Registry>(std::move(builder).Build());
  }();
  return **registry;
}

void CheckRoundTrip(const PluginSpec& spec) {
  const std::string text = FormatPluginSpec(spec);
  absl::StatusOr<PluginSpec> again = ParsePluginSpec(text);
  FUZZ_CHECK(again.ok(), "the formatted spec '" << text << "' does not parse: " << again.status());
  FUZZ_CHECK(*again == spec, "'" << text << "' parses to another spec, formatted '"
                                 << FormatPluginSpec(*again) << "'");
  FUZZ_CHECK(FormatPluginSpec(*again) == text, "formatting is not stable for '" << text << "'");
}

// A finite double from 8 bytes, or a small one from the low bits.
double DoubleFrom(ByteReader& bytes) {
  const uint64_t bits = bytes.Bits(8);
  double v = 0;
  static_assert(sizeof(v) == sizeof(bits), "double is 64 bits");
  std::memcpy(&v, &bits, sizeof(v));
  if (!std::isfinite(v)) return static_cast<double>(static_cast<int64_t>(bits) % 1000);
  return v;
}

void CheckParamReader(const PluginSpec& spec, ByteReader& bytes) {
  ParamReader r(spec);
  bool skipped = false;
  for (const auto& [key, text] : spec.params) {
    FUZZ_CHECK(r.Has(key), "Has('" << key << "') is false");
    const uint8_t how = bytes.Byte();
    switch (how % 6) {
      case 0: {
        double lo = DoubleFrom(bytes);
        double hi = DoubleFrom(bytes);
        if (hi < lo) std::swap(lo, hi);
        const double v = r.Double(key, lo, lo, hi);
        FUZZ_CHECK(v >= lo && v <= hi,
                   "Double('" << key << "') gave " << v << " outside [" << lo << ", " << hi << "]");
        break;
      }
      case 1: {
        int64_t lo = bytes.Int64();
        int64_t hi = bytes.Int64();
        if (hi < lo) std::swap(lo, hi);
        const int64_t v = r.Int(key, lo, lo, hi);
        FUZZ_CHECK(v >= lo && v <= hi,
                   "Int('" << key << "') gave " << v << " outside [" << lo << ", " << hi << "]");
        break;
      }
      case 2: {
        absl::Duration lo = absl::Milliseconds(bytes.Int64());
        absl::Duration hi = absl::Milliseconds(bytes.Int64());
        if (hi < lo) std::swap(lo, hi);
        const absl::Duration v = r.Millis(key, lo, lo, hi);
        FUZZ_CHECK(v >= lo && v <= hi,
                   "Millis('" << key << "') gave " << v << " outside [" << lo << ", " << hi << "]");
        break;
      }
      case 3: r.Bool(key, false); break;
      case 4:
        FUZZ_CHECK(r.String(key, "") == text, "String('" << key << "') is not the option's text");
        break;
      default:
        skipped = true;  // left unread: Finish() must name it
        break;
    }
  }
  const size_t max_children = bytes.Byte() % 3;
  const absl::Status finish = r.Finish(max_children);
  if (finish.ok()) {
    FUZZ_CHECK(!skipped, "Finish() accepted an option nobody read");
    FUZZ_CHECK(spec.children.size() <= max_children, "Finish() accepted too many children");
  } else {
    FUZZ_CHECK(finish.code() == absl::StatusCode::kInvalidArgument, "Finish(): " << finish);
    FUZZ_CHECK(absl::StartsWith(finish.message(), spec.name), "Finish() does not name the plugin");
  }
}

void CheckRefusal(const absl::Status& status, absl::string_view factory) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument ||
                 status.code() == absl::StatusCode::kNotFound,
             factory << " refused a spec with " << status);
  FUZZ_CHECK(!status.message().empty(), factory << " refused a spec without a message");
}

void ExerciseSigner(const LeaseSigner& signer) {
  absl::StatusOr<std::string> tag = signer.Sign("s=fuzz;i=AbCdEfGh;e=1767225600000");
  FUZZ_CHECK(tag.ok() && tag->size() == 11, "a created signer does not sign: " << tag.status());
  FUZZ_CHECK(signer.Verify("s=fuzz;i=AbCdEfGh;e=1767225600000", *tag), "nor verify");
}

void ExerciseRetryPolicy(const RetryPolicy& policy, ByteReader& bytes) {
  SeededRandom random(bytes.Bits(8));
  RetryState state;
  for (state.retry = 1; state.retry <= 8; ++state.retry) {
    const std::optional<absl::Duration> delay = policy.NextDelay(state, random);
    if (!delay.has_value()) return;
    FUZZ_CHECK(*delay >= absl::ZeroDuration(), "retry " << state.retry << " waits " << *delay);
    state.previous_delay = *delay;
  }
}

void ExerciseScheduler(ReaperScheduler& scheduler, testing::FakeClock& clock, ByteReader& bytes) {
  (void)scheduler.WantsConnectionUsage();
  for (int i = 0; i < 6; ++i) {
    const uint8_t flags = bytes.Byte();
    ScheduleInput input;
    input.trigger = (flags & 1) != 0 ? ReapTrigger::kInvocation : ReapTrigger::kConnect;
    input.now = clock.MonotonicNow();
    if ((flags & 2) != 0) input.connection_usage = bytes.Byte() / 200.0;
    if ((flags & 4) != 0) input.reapable = static_cast<int8_t>(bytes.Byte());
    input.reaper_lock_busy = (flags & 8) != 0;
    input.database_full = (flags & 16) != 0;
    input.under_pressure = (flags & 32) != 0;
    if (scheduler.ShouldRun(input)) {
      const ReapOutcome outcome = static_cast<ReapOutcome>(bytes.Byte() % 3);
      scheduler.OnPassFinished(outcome, clock.MonotonicNow());
    }
    clock.Advance(absl::Milliseconds(bytes.Bits(3)));
  }
}

// Every factory of one kind, given `spec` under its own name.
template <typename Factory, typename Exercise>
void CheckFactories(const PluginSpec& spec, std::vector<std::string> names,
                    absl::StatusOr<const Factory*> (Registry::*find)(absl::string_view) const,
                    Exercise exercise) {
  const Registry& registry = TheRegistry();
  for (const std::string& name : names) {
    absl::StatusOr<const Factory*> factory = (registry.*find)(name);
    FUZZ_CHECK(factory.ok(), "registered factory " << name << " not found");
    PluginSpec named = spec;
    named.name = name;
    absl::StatusOr<std::unique_ptr<ParsedConfig>> config = (*factory)->ParseConfig(named, registry);
    if (!config.ok()) {
      CheckRefusal(config.status(), name);
      continue;
    }
    exercise(**factory, **config, name);
  }
}

void CheckFactories(const PluginSpec& spec, ByteReader& bytes) {
  const Registry& registry = TheRegistry();
  CheckFactories<LeaseSignerFactory>(
      spec, registry.SignerNames(), &Registry::FindSigner,
      [&](const LeaseSignerFactory& factory, const ParsedConfig& config, const std::string& name) {
        SignerContext context;
        context.keys = {Secret("coord-secret-0123456789"), Secret("another-secret-0123456789")};
        context.registry = &registry;
        absl::StatusOr<std::unique_ptr<LeaseSigner>> signer = factory.Create(config, context);
        FUZZ_CHECK(signer.ok(), name << " accepted a spec it cannot create: " << signer.status());
        ExerciseSigner(**signer);
      });
  CheckFactories<RetryPolicyFactory>(
      spec, registry.RetryPolicyNames(), &Registry::FindRetryPolicy,
      [&](const RetryPolicyFactory& factory, const ParsedConfig& config, const std::string& name) {
        RetryContext context;
        context.registry = &registry;
        absl::StatusOr<std::unique_ptr<RetryPolicy>> policy = factory.Create(config, context);
        FUZZ_CHECK(policy.ok(), name << " accepted a spec it cannot create: " << policy.status());
        ExerciseRetryPolicy(**policy, bytes);
      });
  CheckFactories<ReaperSchedulerFactory>(
      spec, registry.ReaperSchedulerNames(), &Registry::FindReaperScheduler,
      [&](const ReaperSchedulerFactory& factory, const ParsedConfig& config,
          const std::string& name) {
        testing::FakeClock clock;
        SeededRandom random(bytes.Bits(8));
        SchedulerContext context;
        context.clock = &clock;
        context.random = &random;
        context.registry = &registry;
        absl::StatusOr<std::unique_ptr<ReaperScheduler>> scheduler =
            factory.Create(config, context);
        FUZZ_CHECK(scheduler.ok(),
                   name << " accepted a spec it cannot create: " << scheduler.status());
        ExerciseScheduler(**scheduler, clock, bytes);
      });
  CheckFactories<HookExporterFactory>(
      spec, registry.ExporterNames(), &Registry::FindExporter,
      [](const HookExporterFactory&, const ParsedConfig&, const std::string&) {});
}

}  // namespace
}  // namespace fuzz
}  // namespace aequor

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using aequor::fuzz::ByteReader;
  const aequor::fuzz::FuzzInput in(data, size);
  absl::StatusOr<aequor::PluginSpec> spec = aequor::ParsePluginSpec(in.Line(0));
  if (!spec.ok()) {
    FUZZ_CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument &&
                   absl::StrContains(spec.status().message(), " at offset "),
               "refused with " << spec.status());
    return 0;
  }
  aequor::fuzz::CheckRoundTrip(*spec);
  ByteReader bytes(in.Line(1));
  aequor::fuzz::CheckParamReader(*spec, bytes);
  aequor::fuzz::CheckFactories(*spec, bytes);
  return 0;
}
