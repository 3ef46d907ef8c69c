// examples/service: a small multi-threaded service on an aequor::Pool.
// Worker threads take requests from a queue (each "record an order and read
// the customer's total"), serve each on the pool, and at the end the program
// prints what it served and what the pool did, as one JSON object.
//
//   bazel run //examples/service                                  # throwaway PostgreSQL
//   bazel run //examples/service -- --workers 8 --pool-size 4 --requests 2000
//   AEQUOR_CONNINFO='postgresql://app@db/orders' bazel run //examples/service
//
// Every manager option comes from its AEQUOR_* variable where one is set
// (ConnectionManagerBuilder::FromEnv(); the README's "Configuration from the
// environment"). The coordination secret comes from
// AEQUOR_COORDINATION_SECRET (or AEQUOR_COORDINATION_SECRET_FILE); without
// one a random demo secret is made for this run.
//
// Exit status: 0 when every request was served, 1 otherwise, 2 for bad
// flags.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "api/connection_manager.h"
#include "api/pool.h"
#include "api/random.h"
#include "nlohmann/json.hpp"
#include "testing/throwaway_postgres.h"

namespace {

// A request: one order of `cents` for `customer`.
struct Request {
  int customer;
  int cents;
};

// The queue the workers take requests from; Close() lets them finish.
class RequestQueue {
 public:
  void Push(Request r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(r);
    }
    ready_.notify_one();
  }
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    ready_.notify_all();
  }
  // The next request; nullopt once closed and empty.
  std::optional<Request> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;
    Request r = queue_.front();
    queue_.pop_front();
    return r;
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Request> queue_;
  bool closed_ = false;
};

// One request: the order and the customer's new total, in one transaction
// (run again on a fresh connection if its connection is lost before COMMIT).
absl::Status Serve(aequor::Pool& pool, const Request& r) {
  return pool.RunTransaction([&](aequor::Transaction& tx) -> absl::Status {
    absl::StatusOr<aequor::QueryResult> inserted = tx.Query(
        "INSERT INTO orders (customer, cents) VALUES ($1, $2)", {r.customer, r.cents});
    if (!inserted.ok()) return inserted.status();
    absl::StatusOr<aequor::QueryResult> total =
        tx.Query("SELECT sum(cents) FROM orders WHERE customer = $1", {r.customer});
    if (!total.ok()) return total.status();
    absl::StatusOr<int64_t> cents = total->GetInt64(0, 0);
    return cents.ok() && *cents >= r.cents ? absl::OkStatus() : cents.status();
  });
}

std::string DemoSecret() {
  std::unique_ptr<aequor::Random> random = aequor::Random::FromEntropy();
  std::string bytes;
  for (int i = 0; i < 3; ++i) {
    uint64_t v = random->Next64();
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  return absl::WebSafeBase64Escape(bytes);
}

// The process's environment, with this example's default service.
std::optional<std::string> ServiceEnv(absl::string_view name) {
  std::optional<std::string> value = aequor::ConnectionManagerBuilder::ProcessEnv()(name);
  if (name == "AEQUOR_SERVICE" && (!value.has_value() || value->empty())) return "service-example";
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "A small multi-threaded service on an aequor::Pool: worker threads serve requests\n"
      "(each records an order in a transaction) and the program prints, as JSON, what\n"
      "was served and what the pool did. Without AEQUOR_CONNINFO it starts a throwaway\n"
      "PostgreSQL 15 for the run.",
      "service"};
  int workers = 8;
  int pool_size = 4;
  int requests = 1000;
  app.add_option("--workers", workers, "worker threads")->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--pool-size", pool_size, "the pool's max_size")->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--requests", requests, "requests to serve")->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<aequor::testing::ThrowawayPostgres> server;
  aequor::ConnectionManagerBuilder builder = aequor::ConnectionManagerBuilder::FromEnv(ServiceEnv);
  if (!ServiceEnv("AEQUOR_CONNINFO").has_value()) {
    absl::StatusOr<std::unique_ptr<aequor::testing::ThrowawayPostgres>> started =
        aequor::testing::ThrowawayPostgres::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "service: starting PostgreSQL: %s\n", started.status().ToString().c_str());
      return 1;
    }
    server = *std::move(started);
    builder.SetConninfo(server->ConninfoFor("aequor_app"));
  }
  const char* secret = std::getenv("AEQUOR_COORDINATION_SECRET");
  const char* secret_file = std::getenv("AEQUOR_COORDINATION_SECRET_FILE");
  if ((secret == nullptr || secret[0] == '\0') && (secret_file == nullptr || secret_file[0] == '\0')) {
    std::fprintf(stderr, "service: no AEQUOR_COORDINATION_SECRET; a random one for this run\n");
    builder.SetCoordinationSecret(DemoSecret());
  }
  aequor::PoolOptions options;
  options.max_size = pool_size;
  absl::StatusOr<std::unique_ptr<aequor::Pool>> built = builder.BuildPool(options);
  if (!built.ok()) {
    std::fprintf(stderr, "service: %s\n", built.status().ToString().c_str());
    return 1;
  }
  aequor::Pool& pool = **built;
  if (absl::StatusOr<aequor::QueryResult> made = pool.Query(
          "CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer int NOT NULL, "
          "cents int NOT NULL)");
      !made.ok()) {
    std::fprintf(stderr, "service: creating the table: %s\n", made.status().ToString().c_str());
    return 1;
  }

  RequestQueue queue;
  std::atomic<int> served{0};
  std::atomic<int> failed{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      while (std::optional<Request> r = queue.Pop()) {
        const absl::Status s = Serve(pool, *r);
        if (s.ok()) {
          served.fetch_add(1);
        } else {
          failed.fetch_add(1);
          std::fprintf(stderr, "service: request failed: %s\n", s.ToString().c_str());
        }
      }
    });
  }
  for (int i = 0; i < requests; ++i) queue.Push(Request{i % 50, 100 + i % 900});
  queue.Close();
  for (std::thread& t : threads) t.join();
  const absl::Duration took = absl::Now() - start;

  const aequor::PoolStats stats = pool.stats();
  nlohmann::json out = {
      {"requests", requests},
      {"served", served.load()},
      {"failed", failed.load()},
      {"workers", workers},
      {"seconds", absl::ToDoubleSeconds(took)},
      {"requests_per_second", absl::ToDoubleSeconds(took) > 0
                                  ? served.load() / absl::ToDoubleSeconds(took)
                                  : 0.0},
      {"pool",
       {{"max_size", pool_size},
        {"size", stats.size},
        {"idle", stats.idle},
        {"in_use", stats.in_use},
        {"acquired", stats.acquired},
        {"acquire_timeouts", stats.acquire_timeouts}}},
  };
  std::printf("%s\n", out.dump().c_str());
  if (absl::Status s = pool.Close(absl::Seconds(5)); !s.ok()) {
    std::fprintf(stderr, "service: close: %s\n", s.ToString().c_str());
  }
  return failed.load() == 0 && served.load() == requests ? 0 : 1;
}
