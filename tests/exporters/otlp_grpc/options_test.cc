// "aequor.exporter.otlp_grpc" options (endpoint, interval_ms, timeout_ms) and
// its registration: each bad value rejected with the message that names it.
// No server.
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/plugin.h"
#include "api/registry.h"
#include "exporters/otlp_grpc/otlp_grpc.h"
#include "gtest/gtest.h"

namespace aequor {
namespace otlp_test {
namespace {

// ---------------------------------------------------------------------------
// Options and registration, without a server.

absl::Status Parse(std::map<std::string, std::string> params) {
  std::unique_ptr<HookExporterFactory> f = NewOtlpGrpcExporterFactory();
  return f
      ->ParseConfig(PluginSpec(std::string(kOtlpGrpcExporterName), std::move(params)),
                    *Registry::Default())
      .status();
}

TEST(OtlpGrpcOptions, DefaultsAndGoodEndpointsAreAccepted) {
  EXPECT_TRUE(Parse({}).ok()) << Parse({});
  for (const char* endpoint : {"127.0.0.1:4317", "localhost:4317", "collector.internal:1",
                               "[::1]:4317", "http://127.0.0.1:4317", "10.1.2.3:65535"}) {
    EXPECT_TRUE(Parse({{"endpoint", endpoint}}).ok())
        << endpoint << ": " << Parse({{"endpoint", endpoint}});
  }
  EXPECT_TRUE(Parse({{"interval_ms", "100"}, {"timeout_ms", "60000"}}).ok());
}

TEST(OtlpGrpcOptions, BadEndpointsAreRejectedNamingTheOption) {
  for (const char* endpoint :
       {"", "4317", "127.0.0.1:", ":4317", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:43x7",
        "::1:4317", "[::1]", "[zz]:4317", "host name:4317", "grpc://host:4317", "127.0.0.1:-1"}) {
    absl::Status s = Parse({{"endpoint", endpoint}});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << endpoint;
    EXPECT_EQ(s.message(),
              absl::StrCat("aequor.exporter.otlp_grpc: option 'endpoint' must be host:port (an "
                           "IPv4 address, a host name or a bracketed IPv6 address, and a port in "
                           "[1, 65535]), got '",
                           endpoint, "'"));
  }
}

TEST(OtlpGrpcOptions, TlsEndpointsAreRejectedAsNotSupportedYet) {
  absl::Status s = Parse({{"endpoint", "https://collector:4317"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: option 'endpoint': TLS (https://) is not supported yet; "
            "give the host:port of a plaintext OTLP/gRPC receiver, got 'https://collector:4317'");
}

TEST(OtlpGrpcOptions, OutOfRangeDurationsAreRejectedNamingTheOption) {
  absl::Status s = Parse({{"interval_ms", "50"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: option 'interval_ms' must be a whole number of "
            "milliseconds in [100, 3600000], got '50'");
  s = Parse({{"timeout_ms", "0"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: option 'timeout_ms' must be a whole number of "
            "milliseconds in [10, 60000], got '0'");
  s = Parse({{"timeout_ms", "2s"}});
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: option 'timeout_ms' must be a whole number of "
            "milliseconds in [10, 60000], got '2s'");
}

TEST(OtlpGrpcOptions, AnUnknownOptionIsRejectedListingTheKnownOnes) {
  absl::Status s = Parse({{"insecure", "true"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "aequor.exporter.otlp_grpc: unknown option 'insecure'; known: 'endpoint', "
            "'interval_ms', 'timeout_ms'");
}

TEST(OtlpGrpcRegistration, RegisteringTwiceIsAlreadyExistsAndTheCoreDoesNotRegisterIt) {
  RegistryBuilder b(*Registry::Default());
  ASSERT_TRUE(RegisterOtlpGrpcExporter(b).ok());
  EXPECT_EQ(RegisterOtlpGrpcExporter(b).code(), absl::StatusCode::kAlreadyExists);
  std::shared_ptr<const Registry> r = std::move(b).Build();
  EXPECT_TRUE(r->FindExporter(kOtlpGrpcExporterName).ok());
  EXPECT_EQ(Registry::Default()->FindExporter(kOtlpGrpcExporterName).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace otlp_test
}  // namespace aequor
