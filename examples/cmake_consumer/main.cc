// examples/cmake_consumer: a program built with CMake against an installed
// aequor (find_package(aequor), aequor::aequor). It builds a manager as a
// Lambda handler would, runs `SELECT 1` and prints what came back.
//
//   AEQUOR_COORDINATION_SECRET=... ./cmake_consumer 'host=... dbname=... user=...'
//
// The connection string is the first argument, else AEQUOR_CONNINFO, else
// libpq's PG* variables. Every other setting comes from the AEQUOR_*
// variables (ConnectionManagerBuilder::FromEnv()). Exit status 0 when the
// query returned 1, 1 otherwise, with the reason on stderr.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/connection_manager.h"
#include "api/query_result.h"

int main(int argc, char** argv) {
  aequor::ConnectionManagerBuilder builder = aequor::ConnectionManagerBuilder::FromEnv();
  builder.SetCoordinationSecretFromEnv();  // AEQUOR_COORDINATION_SECRET[_FILE]
  if (argc > 1) builder.SetConninfo(argv[1]);
  if (std::getenv("AEQUOR_SERVICE") == nullptr &&
      std::getenv("AWS_LAMBDA_FUNCTION_NAME") == nullptr) {
    builder.SetService("cmake-consumer");
  }
  absl::StatusOr<std::unique_ptr<aequor::ConnectionManager>> manager = builder.Build();
  if (!manager.ok()) {
    std::cerr << "cmake_consumer: building the manager: " << manager.status() << "\n";
    return 1;
  }
  absl::StatusOr<aequor::QueryResult> r =
      (*manager)->Query("SELECT 1, current_setting('application_name')");
  if (!r.ok()) {
    std::cerr << "cmake_consumer: SELECT 1: " << r.status() << "\n";
    return 1;
  }
  const std::string one(r->Get(0, 0));
  std::cout << "SELECT 1 returned " << one << "\n"
            << "application_name (the lease): " << r->Get(0, 1) << "\n";
  (*manager)->Close();
  return one == "1" ? 0 : 1;
}
