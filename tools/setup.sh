#!/usr/bin/env bash
# Installs the Debian 12 packages the offline Bazel build needs, then verifies
# them with tools/check_deps.sh. Idempotent: when everything is installed it
# does not touch apt at all. Runs apt as root, or through sudo otherwise.
#
#   tools/setup.sh          # everything `bazel test //...` needs
#   tools/setup.sh --core   # without the optional exporters' gRPC and
#                           # Prometheus packages and the fuzzing toolchain
#                           # (tools/demo uses this)
set -euo pipefail

core_only=0
for arg in "$@"; do
  case "$arg" in
    --core) core_only=1 ;;
    *) echo "setup: unknown argument '$arg' (only --core)" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

packages=(
  bazel-bootstrap   # Bazel 4.2.3 (/usr/bin/bazel)
  g++
  pkg-config
  cmake             # the CMake package (CMakeLists.txt) and its test, tests/cmake_package
  libpq-dev         # <libpq-fe.h>, -lpq
  postgresql-15     # throwaway servers for integration tests (initdb, postgres, pg_ctl)
  pgbouncer         # a real transaction pooler in front of them (testing/pgbouncer.h)
  libbotan-2-dev    # <botan/...>, -lbotan-2
  libssl-dev        # OpenSSL 3
  libabsl-dev       # Abseil 20220623
  nlohmann-json3-dev  # nlohmann/json 3.11: every JSON document tools, tests and emf write or read
  libcli11-dev      # CLI11 2.1: the command lines of aequorctl, storm and storm_instance
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  procps            # pkill (tools/test.sh cleans up leftover servers)
  util-linux        # runuser (tests run PostgreSQL as the postgres user)
  zip               # Bazel zips tests' undeclared outputs (TEST_UNDECLARED_OUTPUTS_DIR)
  python3           # tools/test.sh sums gtest cases from test.xml
)
# Optional exporters only (the core never links them).
optional_packages=(
  libgrpc++-dev     # exporters/otlp_grpc: gRPC 1.51
  libprotobuf-dev   # protobuf 3.21
  protobuf-compiler-grpc  # protoc + grpc_cpp_plugin
  prometheus-cpp-dev      # exporters/prometheus
)
# The fuzz targets (tools/fuzz.sh, docs/FUZZING.md): libFuzzer with ASan and
# UBSan needs clang and its sanitizer runtimes; the main build stays on gcc.
fuzz_packages=(
  clang-14
  libclang-rt-14-dev  # libclang_rt.fuzzer, asan, ubsan (-fsanitize=fuzzer,...)
  libfuzzer-14-dev
)
if (( ! core_only )); then
  packages+=("${optional_packages[@]}" "${fuzz_packages[@]}")
fi

# Prefix package managers with sudo when not root.
sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "setup: not root and sudo is not available; install as root: ${packages[*]}" >&2
    exit 1
  fi
fi

# Debian's bazel-rules-cc breaks Bazel 4.2.3: never install it, refuse to go on if present.
if dpkg-query -W -f='${Status}' bazel-rules-cc 2>/dev/null | grep -q 'install ok installed'; then
  echo "setup: Debian package 'bazel-rules-cc' is installed and breaks Bazel 4.2.3;" \
       "remove it first: ${sudo_cmd[*]:+${sudo_cmd[*]} }apt-get remove bazel-rules-cc" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} Debian packages already installed"
fi

if (( core_only )); then
  "$here/check_deps.sh" --core
else
  "$here/check_deps.sh"
fi

# The pinned source archives (third_party/*/archive.bzl) into the distdir that
# .bazelrc gives Bazel, so that no build downloads anything: Botan in every
# build, the others (Abseil, GoogleTest, Benchmark, nlohmann/json, CLI11) in
# the hermetic mode (docs/BUILDING.md).
# An archive already there with its pinned hash is not downloaded again.
"$here/fetch_sources.sh" || { echo "setup: tools/fetch_sources.sh failed" >&2; exit 1; }
