#!/usr/bin/env bash
# Verifies that every system dependency of the offline Bazel build is present.
# Prints one line per missing file naming the Debian 12 package that provides it,
# and exits 1 if anything is missing. Run by tools/setup.sh; safe to run alone.
set -uo pipefail

missing=0
libdirs=(/usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib)

# need_file PATH PACKAGE
need_file() {
  if [[ ! -e "$1" ]]; then
    echo "check_deps: missing $1 (install Debian package '$2')" >&2
    missing=1
  fi
}

# need_lib NAME PACKAGE: lib$NAME.so or lib$NAME.a in a standard library directory.
need_lib() {
  local d
  for d in "${libdirs[@]}"; do
    if [[ -e "$d/lib$1.so" || -e "$d/lib$1.a" ]]; then
      return 0
    fi
  done
  echo "check_deps: missing lib$1.so/.a (install Debian package '$2')" >&2
  missing=1
}

# need_bin NAME PACKAGE
need_bin() {
  # /usr/sbin and /sbin (runuser) are not on a non-root user's PATH.
  if ! command -v "$1" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$1" && ! -x "/sbin/$1" ]]; then
    echo "check_deps: missing command '$1' (install Debian package '$2')" >&2
    missing=1
  fi
}

need_bin bazel bazel-bootstrap
need_bin g++ g++
need_bin pkg-config pkg-config
need_bin cmake cmake
need_bin pkill procps
need_bin runuser util-linux
need_bin python3 python3
need_bin zip zip

need_file /usr/include/postgresql/libpq-fe.h libpq-dev
need_lib pq libpq-dev
need_file /usr/lib/postgresql/15/bin/initdb postgresql-15
need_file /usr/lib/postgresql/15/bin/postgres postgresql-15
need_file /usr/lib/postgresql/15/bin/pg_ctl postgresql-15
need_file /usr/sbin/pgbouncer pgbouncer

need_file /usr/include/botan-2/botan/hmac.h libbotan-2-dev
need_lib botan-2 libbotan-2-dev

need_file /usr/include/openssl/hmac.h libssl-dev
need_lib ssl libssl-dev
need_lib crypto libssl-dev

need_file /usr/include/absl/status/status.h libabsl-dev
need_file /usr/include/nlohmann/json.hpp nlohmann-json3-dev
need_file /usr/include/CLI/CLI.hpp libcli11-dev

# Optional exporters (exporters/otlp_grpc, exporters/prometheus) and the fuzzing
# toolchain; skipped with --core.
if [[ "${1:-}" != --core ]]; then
need_file /usr/include/grpcpp/grpcpp.h libgrpc++-dev
need_lib grpc++ libgrpc++-dev
need_file /usr/include/google/protobuf/message.h libprotobuf-dev
need_bin protoc protobuf-compiler
need_bin grpc_cpp_plugin protobuf-compiler-grpc
need_file /usr/include/prometheus/exposer.h prometheus-cpp-dev
need_lib prometheus-cpp-pull prometheus-cpp-dev
# The fuzz targets (tools/fuzz.sh): clang-14 with libFuzzer, ASan and UBSan.
need_bin clang-14 clang-14
if ! compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a' >/dev/null; then
  echo "check_deps: missing libclang_rt.fuzzer (install Debian package 'libclang-rt-14-dev')" >&2
  missing=1
fi
need_file /usr/lib/llvm-14/lib/libFuzzer.a libfuzzer-14-dev
fi
need_file /usr/include/absl/status/statusor.h libabsl-dev
need_lib absl_status libabsl-dev
need_lib absl_statusor libabsl-dev
need_lib absl_strings libabsl-dev
need_lib absl_synchronization libabsl-dev

need_file /usr/include/gtest/gtest.h libgtest-dev
need_lib gtest libgtest-dev
need_lib gtest_main libgtest-dev
need_file /usr/include/gmock/gmock.h libgmock-dev
need_lib gmock libgmock-dev

need_file /usr/include/benchmark/benchmark.h libbenchmark-dev
need_lib benchmark libbenchmark-dev
need_lib benchmark_main libbenchmark-dev

if ! id -u postgres >/dev/null 2>&1; then
  echo "check_deps: missing system user 'postgres' (install Debian package 'postgresql-15')" >&2
  missing=1
fi

# Version checks (only when the tools are there; a missing tool is reported above).
if command -v bazel >/dev/null 2>&1; then
  # Debian's bazel-bootstrap reports "bazel no_version"; ask dpkg instead.
  bazel_version="$(dpkg-query -W -f='${Version}' bazel-bootstrap 2>/dev/null || true)"
  if [[ -n "$bazel_version" && "$bazel_version" != 4.2.3* ]]; then
    echo "check_deps: warning: bazel-bootstrap is $bazel_version; this build is tested with 4.2.3" >&2
  fi
fi
if command -v pkg-config >/dev/null 2>&1 && [[ -e /usr/include/absl/status/status.h ]]; then
  absl_version="$(pkg-config --modversion absl_status 2>/dev/null || true)"
  if [[ -n "$absl_version" && "$absl_version" != 20220623 ]]; then
    echo "check_deps: warning: Abseil is $absl_version; third_party/system/BUILD.system lists the libraries of 20220623" >&2
  fi
fi

# Debian's bazel-rules-cc is written for a newer Bazel and fails to load under
# 4.2.3 ("use_cpp_toolchain" missing). The build uses third_party/rules_cc instead.
if dpkg-query -W -f='${Status}' bazel-rules-cc 2>/dev/null | grep -q 'install ok installed'; then
  echo "check_deps: ERROR: Debian package 'bazel-rules-cc' is installed and breaks Bazel 4.2.3;" \
       "remove it: apt-get remove bazel-rules-cc" >&2
  missing=1
fi

if (( missing )); then
  echo "check_deps: FAILED (run tools/setup.sh, or install the packages named above)" >&2
  exit 1
fi
echo "check_deps: OK"
