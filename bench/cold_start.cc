// bench/cold_start.cc: cold start as a ratio (issue 15): from process start to
// the first answered query, the storm's instance (//bench/storm:storm_instance)
// as --client=aequor against the same binary as --client=libpq, same server,
// same environment, the reaper off.
//
//   bazel build -c opt //bench:cold_start_bench //bench/storm:storm_instance
//   taskset -c 0 bazel-out/k8-opt/bin/bench/cold_start_bench --pairs=40
//
// prints comment lines ("# ...") and then
//
//   ratio cold_start: aequor/libpq wall = 1.032 (median of 40 pairs; aequor 41.2 ms, ...)
//   ratio cold_start: aequor/libpq cpu = 1.041 (median of 40 pairs; aequor 30.1 ms, ...)
//
// Wall: from just before the spawn (fork + exec, pipes on stdin and stdout)
// to reading the instance's "ok" line. CPU: the instance's user + system time
// from wait4() once it has been sent "exit", so it includes that short exit
// (closing its connection). Each pair starts the two clients one after the
// other, the order alternating from pair to pair, so that a drift in the
// machine's load moves both sides alike; the ratio is the median of the
// per-pair ratios (aequor / libpq), the times the medians of each side.
// --warmup pairs (3) come first and are not counted.
//
// A throwaway PostgreSQL 15 is started for the run (//testing:throwaway_
// postgres); instances connect as the storm's do: TCP loopback, the app role
// with its password (scram-sha-256), the storm's lease settings
// (bench/storm/environment.h, InstanceEnvironment) and, by default,
// AEQUOR_REAPER_SCHEDULER=aequor.reaper.probability(p=0): no pass and no
// connect-time probe. The instance contract is bench/storm/protocol.h.
//
// Flags: --pairs, --warmup, --instance=PATH (another build of storm_instance,
// e.g. a statically linked one; default: the runfiles), --timeout-ms (per
// answer and per exit), --aequor-env=NAME=VALUE (repeatable: extra
// environment for the aequor instance only, e.g. BOTAN_MLOCK_POOL_SIZE=0),
// --reaper-scheduler (the spec; "" for the library's default), --json (one
// more line, a JSON object, last).
//
// Exit status: 0 measured; 1 the run failed (an instance answered "fail ...",
// timed out, exited early; the instance is not executable; no server); 2 bad
// flags.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "bench/storm/environment.h"
#include "bench/storm/options.h"
#include "bench/storm/protocol.h"
#include "testing/subprocess.h"
#include "testing/throwaway_postgres.h"

extern char** environ;

namespace aequor {
namespace bench {
namespace {

using Clock = std::chrono::steady_clock;
using testing::ThrowawayPostgres;

constexpr char kDefaultReaperScheduler[] = "aequor.reaper.probability(p=0)";

struct Flags {
  int pairs = 40;
  int warmup = 3;
  std::string instance;  // "": found in the runfiles
  int timeout_ms = 10000;
  std::vector<std::string> aequor_env;  // NAME=VALUE
  std::string reaper_scheduler = kDefaultReaperScheduler;
  bool json = false;
};

// One start of one instance.
struct Sample {
  double wall_ms = 0;
  double user_ms = 0;
  double sys_ms = 0;
  double cpu_ms() const { return user_ms + sys_ms; }
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Ms(const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; }

// A started instance: killed and reaped if still there when it goes, its
// descriptors closed.
class Child {
 public:
  explicit Child(testing::SpawnedProcess p) : p_(p) {}
  ~Child() {
    if (p_.pid > 0) {
      kill(p_.pid, SIGKILL);
      while (waitpid(p_.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    for (int fd : {p_.in_fd, p_.out_fd, p_.err_fd, pidfd_}) {
      if (fd >= 0) close(fd);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int out_fd() const { return p_.out_fd; }
  pid_t pid() const { return p_.pid; }

  // Sends `line` and closes its stdin (end of file also ends an instance).
  void SendLast(absl::string_view line) {
    const std::string whole = absl::StrCat(line, "\n");
    if (write(p_.in_fd, whole.data(), whole.size()) < 0) {
      // EPIPE: it exited already; WaitForExit() tells how.
    }
    close(p_.in_fd);
    p_.in_fd = -1;
  }

  // Waits until `deadline` for it to exit and reaps it; its wait status and
  // resource usage. DeadlineExceeded when it is still running.
  absl::Status WaitForExit(Clock::time_point deadline, int* status, rusage* usage) {
    if (pidfd_ < 0) pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, p_.pid, 0));
    if (pidfd_ < 0) return absl::InternalError(absl::StrCat("pidfd_open: ", strerror(errno)));
    for (;;) {
      const pid_t r = wait4(p_.pid, status, WNOHANG, usage);
      if (r == p_.pid) {
        p_.pid = -1;
        return absl::OkStatus();
      }
      if (r < 0 && errno != EINTR)
        return absl::InternalError(absl::StrCat("wait4: ", strerror(errno)));
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return absl::DeadlineExceededError("did not exit");
      pollfd p{pidfd_, POLLIN, 0};
      (void)poll(&p, 1, static_cast<int>(left.count()) + 1);
    }
  }

 private:
  testing::SpawnedProcess p_;
  int pidfd_ = -1;
};

std::string Describe(int wait_status) {
  testing::ExitStatus s;
  s.wait_status = wait_status;
  return s.Describe();
}

// Starts `binary --client=<client>` with `env`, reads up to its "ok", sends
// "exit" and reaps it. Errors name the client and what went wrong.
absl::StatusOr<Sample> StartOnce(const std::string& binary, absl::string_view client,
                                 const std::vector<std::string>& env, absl::Duration timeout) {
  const auto budget = absl::ToChronoNanoseconds(timeout);
  const std::string who = absl::StrCat("the ", client, " instance");
  testing::SpawnSpec spec;
  spec.argv = {binary, absl::StrCat("--client=", client)};
  spec.env = env;
  spec.in = testing::Stream::Pipe();
  spec.out = testing::Stream::Pipe();
  spec.err = testing::Stream::Inherit();
  spec.parent_death_signal = SIGKILL;  // spawned from the main thread only

  const Clock::time_point start = Clock::now();
  absl::StatusOr<testing::SpawnedProcess> spawned = testing::Spawn(spec);
  if (!spawned.ok()) {
    return absl::InternalError(absl::StrCat("starting ", who, ": ", spawned.status().message()));
  }
  Child child(*spawned);
  const Clock::time_point deadline = start + budget;
  std::optional<Clock::time_point> answered;
  std::string buffer;
  while (!answered.has_value()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat(who, " did not answer within ", absl::FormatDuration(timeout)));
    }
    pollfd p{child.out_fd(), POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (ready < 0 && errno != EINTR)
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    if (ready <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(child.out_fd(), chunk, sizeof(chunk));
    const Clock::time_point read_at = Clock::now();
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::InternalError(absl::StrCat("reading ", who, "'s output: ", strerror(errno)));
    }
    if (n == 0) {
      int status = 0;
      rusage usage{};
      const absl::Status exited = child.WaitForExit(deadline, &status, &usage);
      return absl::InternalError(absl::StrCat(who, " closed its output before answering 'ok' (",
                                              exited.ok() ? Describe(status) : "still running",
                                              ")"));
    }
    buffer.append(chunk, static_cast<size_t>(n));
    size_t newline;
    while (!answered.has_value() && (newline = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      const storm::InstanceLine parsed = storm::ParseInstanceLine(line);
      if (parsed.kind == storm::InstanceLine::Kind::kFail) {
        return absl::UnavailableError(absl::StrCat(who, " answered '", line, "'"));
      }
      if (parsed.kind == storm::InstanceLine::Kind::kOk) answered = read_at;
    }
  }

  child.SendLast(storm::kCommandExit);
  int status = 0;
  rusage usage{};
  if (absl::Status s = child.WaitForExit(Clock::now() + budget, &status, &usage); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(who, " after 'exit': ", s.message(), " within ",
                                               absl::FormatDuration(timeout)));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(who, " after 'exit': ", Describe(status)));
  }
  Sample sample;
  sample.wall_ms = Ms(*answered - start);
  sample.user_ms = Ms(usage.ru_utime);
  sample.sys_ms = Ms(usage.ru_stime);
  return sample;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest rank, q in [0, 1].
double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(rank, v.size() - 1)];
}

struct Side {
  std::vector<Sample> samples;
  std::vector<double> Of(double (*get)(const Sample&)) const {
    std::vector<double> out;
    for (const Sample& s : samples) out.push_back(get(s));
    return out;
  }
};

double Wall(const Sample& s) { return s.wall_ms; }
double Cpu(const Sample& s) { return s.cpu_ms(); }
double User(const Sample& s) { return s.user_ms; }
double Sys(const Sample& s) { return s.sys_ms; }

std::vector<double> Ratios(const Side& a, const Side& b, double (*get)(const Sample&)) {
  std::vector<double> out;
  for (size_t i = 0; i < a.samples.size(); ++i) {
    out.push_back(get(a.samples[i]) / get(b.samples[i]));
  }
  return out;
}

// The environment of both instances (the aequor one gets `extra` on top).
std::vector<std::string> InstanceEnv(const ThrowawayPostgres& server, const Flags& flags,
                                     const std::vector<std::string>& extra) {
  const std::map<std::string, std::string> fleet = {
      {"PGHOST", "127.0.0.1"},
      {"PGPORT", absl::StrCat(server.port())},
      {"PGUSER", ThrowawayPostgres::kAppRole},
      {"PGPASSWORD", ThrowawayPostgres::PasswordFor(ThrowawayPostgres::kAppRole)},
      {"PGDATABASE", ThrowawayPostgres::kDatabase},
  };
  storm::StormOptions options;  // the storm's lease settings: TTL 2 s, min idle 1 s
  options.reaper_scheduler = flags.reaper_scheduler;
  std::vector<std::string> env = storm::InstanceEnvironment(
      environ, fleet, options, "cold-start-0123456789abcdef", /*seed=*/0, /*number=*/1,
      /*invocation=*/1);
  for (const std::string& kv : extra) {
    const std::string prefix = kv.substr(0, kv.find('=') + 1);
    env.erase(std::remove_if(env.begin(), env.end(),
                             [&](const std::string& e) { return absl::StartsWith(e, prefix); }),
              env.end());
    env.push_back(kv);
  }
  return env;
}

absl::Status Run(const Flags& flags, const std::string& binary) {
  std::printf(
      "# cold_start: %s --client=aequor|libpq; %d pairs (+%d warm-up, not counted), "
      "the order alternating\n",
      binary.c_str(), flags.pairs, flags.warmup);
  std::fflush(stdout);
  absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> server = ThrowawayPostgres::Start();
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("starting PostgreSQL: ", server.status().message()));
  }
  const std::vector<std::string> libpq_env = InstanceEnv(**server, flags, {});
  const std::vector<std::string> aequor_env = InstanceEnv(**server, flags, flags.aequor_env);
  std::printf(
      "# server: throwaway PostgreSQL on 127.0.0.1:%d (TCP, scram-sha-256); "
      "AEQUOR_REAPER_SCHEDULER=%s\n",
      (*server)->port(),
      flags.reaper_scheduler.empty() ? "(library default)" : flags.reaper_scheduler.c_str());
  for (const std::string& kv : flags.aequor_env) {
    std::printf("# aequor instance only: %s\n", kv.c_str());
  }
  std::printf(
      "# wall: spawn to the 'ok' line; cpu: the instance's user+sys (wait4), "
      "including its exit after 'exit'\n");
  std::fflush(stdout);

  const absl::Duration timeout = absl::Milliseconds(flags.timeout_ms);
  Side aequor;
  Side libpq;
  for (int i = -flags.warmup; i < flags.pairs; ++i) {
    const bool aequor_first = (i % 2 == 0);
    std::optional<Sample> a;
    std::optional<Sample> l;
    for (int k = 0; k < 2; ++k) {
      const bool run_aequor = (k == 0) == aequor_first;
      absl::StatusOr<Sample> s = run_aequor ? StartOnce(binary, "aequor", aequor_env, timeout)
                                            : StartOnce(binary, "libpq", libpq_env, timeout);
      if (!s.ok()) return s.status();
      (run_aequor ? a : l) = *s;
    }
    if (i < 0) continue;
    aequor.samples.push_back(*a);
    libpq.samples.push_back(*l);
  }

  const double wall_ratio = Median(Ratios(aequor, libpq, Wall));
  const double cpu_ratio = Median(Ratios(aequor, libpq, Cpu));
  const double aequor_wall = Median(aequor.Of(Wall));
  const double libpq_wall = Median(libpq.Of(Wall));
  const double aequor_cpu = Median(aequor.Of(Cpu));
  const double libpq_cpu = Median(libpq.Of(Cpu));
  std::printf(
      "ratio cold_start: aequor/libpq wall = %.3f (median of %d pairs; aequor %.1f ms, "
      "libpq %.1f ms)\n",
      wall_ratio, flags.pairs, aequor_wall, libpq_wall);
  std::printf(
      "ratio cold_start: aequor/libpq cpu = %.3f (median of %d pairs; aequor %.1f ms, "
      "libpq %.1f ms)\n",
      cpu_ratio, flags.pairs, aequor_cpu, libpq_cpu);
  const std::vector<double> wall_ratios = Ratios(aequor, libpq, Wall);
  const std::vector<double> cpu_ratios = Ratios(aequor, libpq, Cpu);
  std::printf("# per-pair ratios, quartiles: wall %.3f / %.3f, cpu %.3f / %.3f\n",
              Quantile(wall_ratios, 0.25), Quantile(wall_ratios, 0.75), Quantile(cpu_ratios, 0.25),
              Quantile(cpu_ratios, 0.75));
  std::printf("# cpu medians, user + sys: aequor %.1f + %.1f ms, libpq %.1f + %.1f ms\n",
              Median(aequor.Of(User)), Median(aequor.Of(Sys)), Median(libpq.Of(User)),
              Median(libpq.Of(Sys)));
  if (flags.json) {
    std::printf(
        "{\"pairs\":%d,\"warmup\":%d,\"wall_ratio\":%.4f,\"cpu_ratio\":%.4f,"
        "\"aequor_wall_ms\":%.3f,\"libpq_wall_ms\":%.3f,\"aequor_cpu_ms\":%.3f,"
        "\"libpq_cpu_ms\":%.3f}\n",
        flags.pairs, flags.warmup, wall_ratio, cpu_ratio, aequor_wall, libpq_wall, aequor_cpu,
        libpq_cpu);
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

int Fail(int status, absl::string_view message) {
  std::fflush(stdout);
  std::fprintf(stderr, "cold_start_bench: %s\n", std::string(message).c_str());
  return status;
}

int Main(int argc, char** argv) {
  Flags flags;
  CLI::App app("cold_start_bench: the storm instance's cold start, aequor against libpq");
  app.add_option("--pairs", flags.pairs, "pairs measured (default 40)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--warmup", flags.warmup, "pairs first, not counted (default 3)")
      ->check(CLI::Range(0, 1000));
  app.add_option("--instance", flags.instance,
                 "storm_instance to run (default: //bench/storm:storm_instance in the runfiles)");
  app.add_option("--timeout-ms", flags.timeout_ms, "per answer and per exit (default 10000)")
      ->check(CLI::Range(1, 3600000));
  app.add_option("--aequor-env", flags.aequor_env,
                 "NAME=VALUE for the aequor instance only (repeatable)")
      ->take_all();
  app.add_option("--reaper-scheduler", flags.reaper_scheduler,
                 "AEQUOR_REAPER_SCHEDULER for the instances (\"\": the library's default)");
  app.add_flag("--json", flags.json, "one more line: the figures as a JSON object");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help: 0; else the message, then 2
  }
  for (const std::string& kv : flags.aequor_env) {
    if (kv.find('=') == std::string::npos || kv.front() == '=') {
      return Fail(2, absl::StrCat("--aequor-env: expected NAME=VALUE, got '", kv, "'"));
    }
  }
  std::string binary = flags.instance;
  if (binary.empty()) binary = storm::FindInstanceBinary(argv[0]);
  if (binary.empty()) {
    return Fail(1,
                "storm_instance not found: pass --instance=PATH (bazel build "
                "//bench/storm:storm_instance)");
  }
  if (access(binary.c_str(), X_OK) != 0) {
    return Fail(1, absl::StrCat("--instance: '", binary, "' is not an executable file (",
                                strerror(errno), ")"));
  }
  // Resolved once: bazel-bin and the runfiles are symlinks that a build may
  // repoint during the run.
  if (char* real = realpath(binary.c_str(), nullptr); real != nullptr) {
    binary = real;
    std::free(real);
  }
  signal(SIGPIPE, SIG_IGN);  // an instance that died is reported, not fatal
  if (absl::Status s = Run(flags, binary); !s.ok()) return Fail(1, s.message());
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace aequor

int main(int argc, char** argv) { return aequor::bench::Main(argc, argv); }
