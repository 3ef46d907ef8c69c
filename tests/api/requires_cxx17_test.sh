#!/usr/bin/env bash
# A consumer that compiles aequor's public headers without C++17 (Bazel 4's
# toolchain default, -std=c++0x) is told so by the first error, naming the
# flag to add; with C++17 the same headers compile.
set -uo pipefail
root="$(dirname "$1")/.."  # $1: api/connection_manager.h in the runfiles
fail=0
for std in c++11 c++14; do
  out="$(printf '#include "api/connection_manager.h"\n#include "api/pool.h"\n' |
         g++ -std="$std" -fsyntax-only -I "$root" -x c++ - 2>&1)"
  first="$(grep -m1 'error' <<<"$out")"
  if [[ "$first" != *"aequor needs C++17: in Bazel add \`build --cxxopt=-std=c++17\` to .bazelrc"* ]]; then
    echo "FAIL: -std=$std: the first error is not the C++17 one: $first"
    fail=1
  fi
done
if ! printf '#include "api/connection_manager.h"\n' |
     g++ -std=c++17 -fsyntax-only -I "$root" -isystem /usr/include/postgresql -x c++ - ; then
  echo "FAIL: the headers do not compile with -std=c++17"
  fail=1
fi
[[ "$fail" -eq 0 ]] && echo "PASS"
exit "$fail"
