#!/usr/bin/env bash
# THE test command: runs every test in the repository with Bazel and ends with
# one line of the form "N passed, N failed".
#
#   tools/test.sh                          # setup, then bazel test //...
#   tools/test.sh //core/... //api/...     # only these targets
#   tools/test.sh --test_filter=Lease.*    # flags pass through (use --flag=value form);
#                                          # with no target given, //... is used
#   AEQUOR_TEST_CONFIG=asan tools/test.sh  # adds --config=asan (also ubsan, tsan)
#   AEQUOR_SKIP_SETUP=1 tools/test.sh      # skip tools/setup.sh (apt + check_deps)
#
# Counting: one unit is one Bazel test target (from Bazel's test summary).
#   passed: PASSED (also "(cached) PASSED") and FLAKY (passed on a retry; Bazel
#           itself treats it as a pass, so it is counted as passed and named in a
#           warning line above the result).
#   failed: everything else Bazel reports: FAILED, TIMEOUT, NO STATUS, INCOMPLETE,
#           FAILED TO BUILD, REMOTE FAILURE.
# The build runs with --keep_going, so a target that does not compile fails on its
# own and the other tests still run. If Bazel exits non-zero and no test target
# was counted as failed (a broken library no test depends on, a bad target
# pattern, no test found, a failed setup), the run counts as 1 failed.
# The line before the last gives the number of individual test cases (gtest
# TESTs) executed, summed from the test.xml files of the targets in the summary.
#
# At the end it stops the throwaway PostgreSQL servers that tests left behind
# (postgres user, data directory /tmp/aequor-pg-*) and removes their directories.
# With CI set it stops every such server, removes every /tmp/aequor-pg-* directory
# and runs `bazel shutdown`, so that nothing outlives the run. Without CI it only
# touches servers started by this checkout's tests (other checkouts may be
# testing concurrently on the same machine).
#
# Exit code: 0 when everything passed, non-zero otherwise.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# PIDs of aequor-pg servers that already ran before this script started: never
# touched unless CI is set (they may belong to another checkout's test run).
preexisting_pg_pids=" $(pgrep -u postgres -f 'aequor-pg-' 2>/dev/null | tr '\n' ' ') "

log="$(mktemp -t aequor-test-log.XXXXXX)"
trap 'rm -f "$log"' EXIT

# Stop the throwaway PostgreSQL servers tests left behind, and remove their
# /tmp/aequor-pg-* directories. With CI set (a machine of its own) every such
# server goes; otherwise only servers started from this checkout's Bazel output
# base (per their environment) or, if not attributable, started during this run.
cleanup_postgres() {
  local output_base="$1" pid cmdline dir environ killed=()
  for pid in $(pgrep -u postgres -f 'aequor-pg-' 2>/dev/null); do
    [[ "$pid" == "$$" ]] && continue
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || continue
    if [[ -z "${CI:-}" ]]; then
      environ="$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null || true)"
      if [[ -n "$output_base" && "$environ" == *"$output_base"* ]]; then
        :  # started by a test of this checkout
      elif [[ "$environ" != *TEST_SRCDIR=* && "$preexisting_pg_pids" != *" $pid "* ]]; then
        :  # not attributable, but started during this run
      else
        continue
      fi
    fi
    echo "test.sh: stopping leftover PostgreSQL server (pid $pid): $cmdline"
    kill -INT "$pid" 2>/dev/null && killed+=("$pid")
    dir="$(grep -o '/tmp/aequor-pg-[^/ ]*' <<<"$cmdline" | head -n 1)"
    [[ -n "$dir" ]] && leftover_dirs+=("$dir")
  done
  # Fast shutdown normally takes well under a second; SIGKILL after 10 s.
  for pid in "${killed[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ -n "${CI:-}" ]]; then
    # Nothing else runs on a CI machine now: remove every leftover directory.
    for dir in /tmp/aequor-pg-*; do
      [[ -d "$dir" ]] && leftover_dirs+=("$dir")
    done
  fi
  for dir in "${leftover_dirs[@]}"; do
    [[ "$dir" == /tmp/aequor-pg-* && -d "$dir" ]] && rm -rf -- "$dir"
  done
}
leftover_dirs=()

finish() {
  local passed="$1" failed="$2" rc="$3" output_base="$4"
  cleanup_postgres "$output_base"
  if [[ -n "${CI:-}" ]]; then
    bazel shutdown >/dev/null 2>&1 || true
  fi
  echo "${passed} passed, ${failed} failed"
  exit "$rc"
}

# 1. Setup: Debian packages and a dependency check.
if [[ "${AEQUOR_SKIP_SETUP:-}" != 1 ]]; then
  if ! tools/setup.sh; then
    echo "test.sh: tools/setup.sh failed" >&2
    finish 0 1 1 ""
  fi
fi

# 2. Arguments: flags (--x or --x=y) pass through; everything else, and anything
#    after "--", is a target pattern. No target means //... .
flags=()
targets=()
after_dashdash=0
for arg in "$@"; do
  if (( after_dashdash )); then
    targets+=("$arg")
  elif [[ "$arg" == -- ]]; then
    after_dashdash=1
  elif [[ "$arg" == -* ]]; then
    flags+=("$arg")
  else
    targets+=("$arg")
  fi
done
(( ${#targets[@]} )) || targets=(//...)

config_flags=()
if [[ -n "${AEQUOR_TEST_CONFIG:-}" ]]; then
  config_flags=("--config=${AEQUOR_TEST_CONFIG}")
fi

# 3. Run the tests.
bazel_cmd=(bazel test "${config_flags[@]}" --keep_going --test_output=errors
           --color=no --curses=no "${flags[@]}" -- "${targets[@]}")
echo "test.sh: ${bazel_cmd[*]}"
"${bazel_cmd[@]}" 2>&1 | tee "$log"
bazel_rc="${PIPESTATUS[0]}"

output_base="$(bazel info output_base 2>/dev/null || true)"
testlogs="$(bazel info "${config_flags[@]}" "${flags[@]}" bazel-testlogs 2>/dev/null \
            || bazel info "${config_flags[@]}" bazel-testlogs 2>/dev/null || true)"

# 4. Count test targets from Bazel's summary lines, e.g.
#    //tools/smoke:smoke_test                          (cached) PASSED in 0.1s
#    //core:lease_test                                 FAILED TO BUILD
summary="$(grep -E '^(@[^ ]*)?//[^ ]+ +(\(cached\) )?(PASSED|FLAKY|FAILED|TIMEOUT|NO STATUS|INCOMPLETE|REMOTE FAILURE)' "$log" \
           | sed -E 's/ +\(cached\)//; s/ +/ /' | awk '{ status[$1] = $0 } END { for (t in status) print status[t] }' | sort)"
passed=0
failed=0
flaky=()
labels=()
while IFS= read -r line; do
  [[ -z "$line" ]] && continue
  label="${line%% *}"
  status="${line#* }"
  case "$status" in
    PASSED*) passed=$((passed + 1)); labels+=("$label") ;;
    FLAKY*) passed=$((passed + 1)); flaky+=("$label"); labels+=("$label") ;;
    FAILED\ TO\ BUILD*|NO\ STATUS*) failed=$((failed + 1)) ;;  # no test.xml of this run
    *) failed=$((failed + 1)); labels+=("$label") ;;
  esac
done <<<"$summary"

if (( ${#flaky[@]} )); then
  echo "test.sh: WARNING: flaky (counted as passed): ${flaky[*]}"
fi

# 5. Individual test cases, from the test.xml (all shards/runs) of each target that
#    ran (or was cached); FAILED TO BUILD / NO STATUS targets have no current one.
#    tools/count_test_cases.py skips results left by an earlier invocation.
if [[ -n "$testlogs" && -d "$testlogs" ]] && (( ${#labels[@]} )) && command -v python3 >/dev/null; then
  python3 tools/count_test_cases.py "$testlogs" "${labels[@]}" || true
fi

# 6. Result. A non-zero Bazel exit with no failed target still fails the run.
if (( bazel_rc != 0 && failed == 0 )); then
  if (( bazel_rc == 4 )); then
    echo "test.sh: no test targets matched ${targets[*]}" >&2
  else
    echo "test.sh: bazel exited with code $bazel_rc (build or analysis failure outside the test targets)" >&2
  fi
  failed=1
fi
rc=0
if (( failed > 0 )); then
  rc=$(( bazel_rc != 0 ? bazel_rc : 1 ))
fi
finish "$passed" "$failed" "$rc" "$output_base"
