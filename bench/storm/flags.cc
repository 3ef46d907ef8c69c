#include "bench/storm/flags.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>

#include <CLI/CLI.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "bench/storm/conninfo.h"
#include "bench/storm/plugin_specs.h"

namespace aequor {
namespace storm {
namespace {

absl::Status Bad(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

enum class Kind { kInt, kString, kBool, kClient, kWorkload, kFault, kSeed };

struct Flag {
  const char* name;
  Kind kind;
  int StormOptions::*int_field = nullptr;
  int64_t min = 0;
  int64_t max = 0;
  std::string StormOptions::*string_field = nullptr;
  bool StormOptions::*bool_field = nullptr;
};

constexpr Flag IntFlag(const char* name, int StormOptions::*field, int64_t min, int64_t max) {
  return Flag{name, Kind::kInt, field, min, max, nullptr, nullptr};
}
constexpr Flag StringFlag(const char* name, std::string StormOptions::*field) {
  return Flag{name, Kind::kString, nullptr, 0, 0, field, nullptr};
}
constexpr Flag BoolFlag(const char* name, bool StormOptions::*field) {
  return Flag{name, Kind::kBool, nullptr, 0, 0, nullptr, field};
}
constexpr Flag OtherFlag(const char* name, Kind kind) {
  return Flag{name, kind, nullptr, 0, 0, nullptr, nullptr};
}

// Every flag but --help; the ranges are StormOptions' REQUIRES.
const Flag kFlags[] = {
    IntFlag("invocations", &StormOptions::invocations, 1, 10000),
    IntFlag("interval-ms", &StormOptions::interval_ms, 0, 600000),
    IntFlag("invocations-per-instance", &StormOptions::invocations_per_instance, 1, 10000),
    IntFlag("thaw-after-ms", &StormOptions::thaw_after_ms, 1, 600000),
    IntFlag("max-connections", &StormOptions::max_connections, 4, 10000),
    IntFlag("lease-ttl-ms", &StormOptions::lease_ttl_ms, 1000, 86400000),
    IntFlag("min-idle-s", &StormOptions::min_idle_s, 0, 86400),
    IntFlag("freeze-delay-ms", &StormOptions::freeze_delay_ms, 0, 600000),
    IntFlag("timeout-ms", &StormOptions::timeout_ms, 1, 3600000),
    IntFlag("poll-ms", &StormOptions::poll_ms, 5, 10000),
    IntFlag("tail-ms", &StormOptions::tail_ms, 0, 600000),
    IntFlag("reaper-slots", &StormOptions::reaper_slots, 1, 10000),
    IntFlag("service-instances", &StormOptions::service_instances, 2, 64),
    IntFlag("pool-size", &StormOptions::pool_size, 1, 64),
    IntFlag("workers", &StormOptions::workers, 1, 64),
    IntFlag("request-interval-ms", &StormOptions::request_interval_ms, 1, 10000),
    IntFlag("duration-s", &StormOptions::duration_s, 5, 3600),
    IntFlag("freeze-for-good", &StormOptions::freeze_for_good, 0, 63),
    IntFlag("short-freeze-ms", &StormOptions::short_freeze_ms, 0, 600000),
    IntFlag("short-freeze-every-ms", &StormOptions::short_freeze_every_ms, 100, 600000),
    StringFlag("dsn", &StormOptions::dsn),
    StringFlag("monitor-dsn", &StormOptions::monitor_dsn),
    StringFlag("client-cmd", &StormOptions::client_cmd),
    StringFlag("service", &StormOptions::service),
    StringFlag("reaper-scheduler", &StormOptions::reaper_scheduler),
    StringFlag("series-out", &StormOptions::series_out),
    StringFlag("instance-binary", &StormOptions::instance_binary),
    BoolFlag("json-only", &StormOptions::json_only),
    BoolFlag("reaper-role", &StormOptions::reaper_role),
    BoolFlag("frozen-leader", &StormOptions::frozen_leader),
    OtherFlag("client", Kind::kClient),
    OtherFlag("workload", Kind::kWorkload),
    OtherFlag("fault", Kind::kFault),
    OtherFlag("seed", Kind::kSeed),
};

// CLI11 reads "--name=" as "--name" followed by the next argument, and an
// empty argument as no value at all; the storm takes both as the empty
// value. Before parsing, each becomes this marker (a NUL byte, which no
// command-line argument can contain); CLI11 then hands it back as a value.
const std::string& EmptyMarker() {
  static const std::string* const kMarker = new std::string(1, '\0');
  return *kMarker;
}

// `args` as CLI11's parse() takes them (last first), with the empty values
// marked, and -help (an old spelling of --help) spelled --help.
std::vector<std::string> ForCli11(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  out.reserve(args.size());
  for (auto it = args.rbegin(); it != args.rend(); ++it) {
    const std::string& arg = *it;
    if (arg.empty()) {
      out.push_back(EmptyMarker());
    } else if (arg == "-help") {
      out.push_back("--help");
    } else if (absl::StartsWith(arg, "--") && arg.find('=') == arg.size() - 1) {
      out.push_back(absl::StrCat(arg, EmptyMarker()));
    } else {
      out.push_back(arg);
    }
  }
  return out;
}

// An argument as the user gave it (the marker removed).
std::string Unmarked(std::string arg) {
  if (absl::EndsWith(arg, EmptyMarker())) arg.pop_back();
  return arg;
}

// CLI11's result for one occurrence of `flag`: nullopt when a value flag got
// no value (CLI11 gives "" then).
std::optional<std::string> ValueOf(const Flag& flag, const std::string& result) {
  if (result == EmptyMarker()) return std::string();
  if (result.empty() && flag.kind != Kind::kBool) return std::nullopt;
  return result;
}

// Checks one occurrence's value and stores it in `o`.
absl::Status Apply(const Flag& flag, const std::optional<std::string>& value, StormOptions* o) {
  const absl::string_view name = flag.name;
  if (!value.has_value()) return Bad(name, "missing value");
  const std::string& v = *value;
  switch (flag.kind) {
    case Kind::kInt: {
      int64_t n = 0;
      if (!absl::SimpleAtoi(v, &n) || n < flag.min || n > flag.max) {
        return Bad(name, absl::StrCat("must be an integer in [", flag.min, ", ", flag.max,
                                      "], got '", v, "'"));
      }
      o->*(flag.int_field) = static_cast<int>(n);
      return absl::OkStatus();
    }
    case Kind::kString:
      if (v.empty()) return Bad(name, "must not be empty");
      o->*(flag.string_field) = v;
      return absl::OkStatus();
    case Kind::kBool:
      if (v == "true" || v == "1") {
        o->*(flag.bool_field) = true;
      } else if (v == "false" || v == "0") {
        o->*(flag.bool_field) = false;
      } else {
        return Bad(name, absl::StrCat("takes no value (or true/false), got '", v, "'"));
      }
      return absl::OkStatus();
    case Kind::kClient:
      if (v == "aequor") {
        o->client = ClientKind::kAequor;
      } else if (v == "aequor-pool") {
        o->client = ClientKind::kAequorPool;
      } else if (v == "libpq") {
        o->client = ClientKind::kLibpq;
      } else {
        return Bad(name, absl::StrCat("must be 'aequor', 'aequor-pool' or 'libpq' (or use "
                                      "--client-cmd), got '",
                                      v, "'"));
      }
      return absl::OkStatus();
    case Kind::kWorkload:
      if (v == "read") {
        o->workload = Workload::kRead;
      } else if (v == "write") {
        o->workload = Workload::kWrite;
      } else {
        return Bad(name, absl::StrCat("must be 'read' or 'write', got '", v, "'"));
      }
      return absl::OkStatus();
    case Kind::kFault: return ParseFault(v, &o->faults);
    case Kind::kSeed: {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(v, &n)) {
        return Bad(name, absl::StrCat("must be an unsigned 64-bit integer, got '", v, "'"));
      }
      o->seed = n;
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

// The checks between flags, once every value is in. `given` says whether a
// flag was on the command line.
absl::Status CheckCombinations(const StormOptions& o,
                               const std::function<bool(absl::string_view)>& given) {
  // The service mode's flags, and the serverless storm's it has no use for.
  static constexpr const char* kServiceFlags[] = {
      "service-instances", "pool-size",       "workers",         "request-interval-ms",
      "duration-s",        "freeze-for-good", "short-freeze-ms", "short-freeze-every-ms"};
  static constexpr const char* kServerlessFlags[] = {
      "invocations", "interval-ms", "invocations-per-instance", "thaw-after-ms",
      "freeze-delay-ms", "timeout-ms", "tail-ms", "workload", "fault", "reaper-role",
      "reaper-slots", "frozen-leader", "series-out"};
  if (o.client == ClientKind::kAequorPool) {
    if (!o.dsn.empty()) {
      return Bad("dsn",
                 "not in the service mode (--client=aequor-pool): it judges kills by the "
                 "throwaway server's log");
    }
    for (const char* flag : kServerlessFlags) {
      if (given(flag)) {
        return Bad(flag, "not in the service mode (--client=aequor-pool); see --help");
      }
    }
    if (o.freeze_for_good >= o.service_instances) {
      return Bad("freeze-for-good",
                 absl::StrCat("must leave at least one living instance of the ",
                              o.service_instances, " (--service-instances), got ",
                              o.freeze_for_good));
    }
    // A living instance's idle lease is renewed with lease_ttl_ms * 3/4 left
    // (the harness sets AEQUOR_LEASE_RENEW_BEFORE_MS so); a freeze must end
    // before that runs out, with room for the renewal and the clock margin.
    const int most = o.lease_ttl_ms * 3 / 4 - 250;
    if (o.short_freeze_ms > most) {
      return Bad("short-freeze-ms",
                 absl::StrCat("must be at most ", most,
                              " (--lease-ttl-ms * 3/4 - 250: an idle lease is renewed with "
                              "3/4 of its TTL left), got ",
                              o.short_freeze_ms));
    }
  } else {
    for (const char* flag : kServiceFlags) {
      if (given(flag)) return Bad(flag, "only in the service mode (--client=aequor-pool)");
    }
  }
  if (!o.dsn.empty()) {
    if (given("max-connections")) {
      return Bad("max-connections",
                 "cannot be used with --dsn: the harness does not start that server, so it cannot "
                 "set max_connections (it reports the server's own value)");
    }
    if (absl::Status s = CheckLoopback(o.dsn); !s.ok()) return Bad("dsn", s.message());
    if (!o.monitor_dsn.empty()) {
      if (absl::StatusOr<std::map<std::string, std::string>> kv = ParseConninfo(o.monitor_dsn);
          !kv.ok()) {
        return Bad("monitor-dsn",
                   absl::StrCat("not a valid conninfo or URI: ", kv.status().message()));
      }
    }
  } else if (!o.monitor_dsn.empty()) {
    return Bad("monitor-dsn", "only with --dsn (the throwaway server is watched as aequor_super)");
  }
  if (!o.reaper_scheduler.empty()) {
    if (o.client == ClientKind::kLibpq) {
      return Bad("reaper-scheduler", "has no effect with --client=libpq (no reaper)");
    }
    if (absl::Status s = CheckReaperSchedulerSpec(o.reaper_scheduler); !s.ok()) return s;
  }
  if (o.reaper_role && !o.dsn.empty()) {
    return Bad("reaper-role",
               "needs the throwaway server: the harness does not alter roles on a --dsn server "
               "(give the fleet's role a CONNECTION LIMIT and set up a reaper role yourself)");
  }
  if (given("reaper-slots") && !o.reaper_role) {
    return Bad("reaper-slots", "only with --reaper-role");
  }
  if (o.reaper_role && o.reaper_slots >= o.max_connections - 3) {
    return Bad("reaper-slots",
               absl::StrCat("must leave the fleet at least one of its ", o.max_connections - 3,
                            " slots (--max-connections - 3), got ", o.reaper_slots));
  }
  if (absl::StrContains(o.service, '\n') || absl::StrContains(o.service, '\0')) {
    return Bad("service", "must be one line");
  }
  if (o.invocations_per_instance > 1 && o.thaw_after_ms == 0) {
    return Bad("invocations-per-instance",
               "needs --thaw-after-ms (when a frozen instance is resumed for its next invocation)");
  }
  if (o.thaw_after_ms > 0 && o.invocations_per_instance == 1) {
    return Bad("thaw-after-ms",
               "has no effect with --invocations-per-instance=1 (each instance runs once and is "
               "never resumed); give --invocations-per-instance=K with K >= 2");
  }
  if (o.faults.terminate_idle && o.invocations_per_instance == 1) {
    return Bad("fault",
               "terminate-idle needs warm instances (--invocations-per-instance >= 2 and "
               "--thaw-after-ms): it kills a frozen instance's backend before its thaw");
  }
  if (o.faults.terminate_active && o.workload != Workload::kWrite) {
    return Bad("fault", "terminate-active needs --workload=write (it kills the write in flight)");
  }
  if (o.faults.restart_at_s && !o.dsn.empty()) {
    return Bad(
        "fault",
        "restart-at needs the throwaway server: the harness does not restart a --dsn server");
  }
  if (o.faults.restart_after_backends && !o.dsn.empty()) {
    return Bad("fault",
               "restart-after-backends needs the throwaway server: the harness does not restart a "
               "--dsn server");
  }
  if (o.faults.restart_at_s && o.faults.restart_after_backends) {
    return Bad("fault", "restart-at and restart-after-backends cannot be combined (one restart)");
  }
  if (o.frozen_leader && o.faults.restart()) {
    return Bad("frozen-leader",
               "cannot be combined with a restart fault (the restart would end the leader's "
               "session, and with it the lock)");
  }
  if (o.frozen_leader && o.client == ClientKind::kLibpq) {
    return Bad("frozen-leader", "has no effect with --client=libpq (no reaper to free it)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StormArgs> ParseStormArgs(const std::vector<std::string>& args) {
  CLI::App app("storm");
  app.set_help_flag();  // --help prints StormHelpText(), not CLI11's
  app.allow_extras();   // unknown options and stray arguments get the storm's messages
  // Every occurrence is kept: "given twice" is the storm's message too.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  const CLI::Option* help = app.add_flag("-h,--help");
  std::map<const CLI::Option*, const Flag*> flag_of;
  std::map<std::string, const CLI::Option*, std::less<>> option_of;
  StormArgs out;
  try {
    for (const Flag& flag : kFlags) {
      const std::string name = absl::StrCat("--", flag.name);
      CLI::Option* option =
          flag.kind == Kind::kBool ? app.add_flag(name) : app.add_option(name)->expected(0, 1);
      flag_of[option] = &flag;
      option_of[flag.name] = option;
    }
    std::vector<std::string> argv = ForCli11(args);
    app.parse(argv);
  } catch (const CLI::Error& e) {
    return absl::InvalidArgumentError(e.what());
  }

  // Each value in command-line order, then what CLI11 did not recognise.
  std::map<const CLI::Option*, size_t> seen;
  for (const CLI::Option* option : app.parse_order()) {
    const size_t nth = seen[option]++;
    if (option == help) {
      out.help = true;
      continue;
    }
    const Flag& flag = *flag_of.at(option);
    if (nth > 0 && flag.kind != Kind::kFault) return Bad(flag.name, "given twice");
    const std::string& result = option->results().at(nth);
    if (absl::Status s = Apply(flag, ValueOf(flag, result), &out.options); !s.ok()) return s;
  }
  for (const std::string& extra : app.remaining()) {
    const std::string arg = Unmarked(extra);
    if (arg.size() > 2 && absl::StartsWith(arg, "--")) {
      const std::string name = arg.substr(2, arg.find('=') - 2);
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name, " (see --help)"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", arg, "' (options look like --name=value; see --help)"));
  }
  if (out.help) return out;

  auto given = [&](absl::string_view name) {
    auto it = option_of.find(name);
    return it != option_of.end() && it->second->count() > 0;
  };
  StormOptions& o = out.options;
  if (given("client-cmd")) {
    if (given("client")) {
      return Bad("client-cmd",
                 "cannot be combined with --client (it replaces the built-in client)");
    }
    o.client = ClientKind::kCommand;
  }
  if (absl::Status s = CheckCombinations(o, given); !s.ok()) return s;
  return out;
}

absl::Status ApplyStormEnvironment(const std::function<const char*(const char*)>& getenv,
                                   StormOptions* options) {
  if (const char* secret = getenv("AEQUOR_COORDINATION_SECRET"); secret != nullptr) {
    options->coordination_secret = secret;
    if (options->coordination_secret.size() < 16) {
      return absl::InvalidArgumentError("AEQUOR_COORDINATION_SECRET: must be at least 16 bytes");
    }
  }
  if (const char* spec = getenv("AEQUOR_REAPER_SCHEDULER"); spec != nullptr && spec[0] != '\0' &&
                                                            options->reaper_scheduler.empty() &&
                                                            options->client != ClientKind::kLibpq) {
    if (absl::Status s = CheckReaperSchedulerSpec(spec); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("AEQUOR_REAPER_SCHEDULER: ", s.message()));
    }
    options->reaper_scheduler = spec;
  }
  return absl::OkStatus();
}

}  // namespace storm
}  // namespace aequor
