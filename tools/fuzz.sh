#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang-14 (--config=fuzz:
# libFuzzer, ASan, UBSan) and runs them. See docs/FUZZING.md.
#
#   tools/fuzz.sh --ci                    # every target for a short fixed time;
#                                         # ends with "N passed, N failed"
#   tools/fuzz.sh --long TARGET [FLAG..]  # one target until stopped, or as the
#                                         # libFuzzer FLAGs say (-runs=10000000)
#   tools/fuzz.sh --merge TARGET          # add what the long runs found that
#                                         # covers more to tests/fuzz/TARGET/corpus
#   tools/fuzz.sh --build                 # build every target only
#   tools/fuzz.sh --list                  # the targets
#
# A target is a folder tests/fuzz/TARGET holding corpus/ (the seeds, in git),
# TARGET.dict (libFuzzer's dictionary) and, once something was found,
# crashes/; its binary is //tests/fuzz:TARGET_fuzzer.
#
# Bazel runs in an output base of its own ($AEQUOR_FUZZ_OUTPUT_BASE, default
# ~/.cache/aequor-fuzz/<hash of this checkout>/bazel), with its own server
# and no convenience symlinks, so the clang build never touches the main gcc
# build's cache or its bazel-bin. The long runs keep what they find in
# ~/.cache/aequor-fuzz/<hash>/corpus/TARGET (the seeds are only read) and
# write crashing inputs to tests/fuzz/TARGET/crashes/.
#
# --ci: one unit is one target. It passes when it builds and its run finds
# nothing in a fixed number of inputs (ci_runs below, or $AEQUOR_FUZZ_RUNS),
# starting from its seeds with seed $AEQUOR_FUZZ_SEED (default 1): the same
# inputs in the same order on every machine. $AEQUOR_FUZZ_SECONDS (default
# 120) caps each target's time on a slow machine;
# a crash, a broken check, a leak, UB, an input slower than 10 s or a build
# failure fails it. The crashing input is printed (hex) and kept under
# $TMPDIR. With CI set, the fuzz Bazel server is stopped at the end.
#
# Environment: AEQUOR_FUZZ_CPU pins the fuzzer processes (not Bazel) to that
# CPU list with taskset, e.g. AEQUOR_FUZZ_CPU=1.
#
# Exit status: 0 when everything passed, 1 otherwise, 2 for a usage error.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

checkout_hash="$(printf '%s' "$PWD" | md5sum | cut -c1-12)"
state_dir="${HOME}/.cache/aequor-fuzz/${checkout_hash}"
output_base="${AEQUOR_FUZZ_OUTPUT_BASE:-${state_dir}/bazel}"
seconds="${AEQUOR_FUZZ_SECONDS:-120}"
seed="${AEQUOR_FUZZ_SEED:-1}"

# The targets: every folder of tests/fuzz with a corpus.
targets=()
for dir in tests/fuzz/*/corpus; do
  [[ -d "$dir" ]] || continue
  dir="${dir%/corpus}"
  targets+=("${dir##*/}")
done

# Longest input libFuzzer makes, per target (their inputs are short texts).
max_len() {
  case "$1" in
    lease) echo 256 ;;
    instance_line) echo 512 ;;
    plugin_spec | conninfo) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

# --ci: how many inputs each target tries. A fixed count with a fixed seed
# tries the same inputs in the same order on every machine, so a CI failure
# is a change's, not a faster machine's (5 to 30 s each on the 2-core VM;
# $AEQUOR_FUZZ_SECONDS only caps a machine much slower than that).
ci_runs() {
  if [[ -n "${AEQUOR_FUZZ_RUNS:-}" ]]; then echo "$AEQUOR_FUZZ_RUNS"; return; fi
  case "$1" in
    lease) echo 500000 ;;
    instance_line) echo 300000 ;;
    json | plugin_spec) echo 150000 ;;
    conninfo) echo 100000 ;;
    *) echo 100000 ;;
  esac
}

bazel_fuzz() {
  bazel --output_base="$output_base" --max_idle_secs=900 "$@"
}

# Builds the given targets' fuzzers; 0 when all built.
build() {
  local labels=() t
  for t in "$@"; do labels+=("//tests/fuzz:${t}_fuzzer"); done
  echo "fuzz.sh: building ${labels[*]} with clang-14 (output base $output_base)"
  # gold warns about every ASan symbol it cannot export: noise, left out.
  bazel_fuzz build --config=fuzz --symlink_prefix=/ --keep_going --color=no --curses=no \
    "${labels[@]}" 2>&1 | grep -v "warning: Cannot export local symbol"
  return "${PIPESTATUS[0]}"
}

bin_dir() {
  bazel_fuzz info --config=fuzz bazel-bin 2>/dev/null
}

is_target() {
  local t
  for t in "${targets[@]}"; do [[ "$t" == "$1" ]] && return 0; done
  return 1
}

# The command that runs one fuzzer (pinned when AEQUOR_FUZZ_CPU is set).
fuzzer_cmd() {
  local t="$1"
  local cmd=()
  [[ -n "${AEQUOR_FUZZ_CPU:-}" ]] && cmd=(taskset -c "$AEQUOR_FUZZ_CPU")
  cmd+=("$bin/tests/fuzz/${t}_fuzzer" "-max_len=$(max_len "$t")" -timeout=10
        -print_final_stats=1)
  [[ -f "tests/fuzz/$t/$t.dict" ]] && cmd+=("-dict=tests/fuzz/$t/$t.dict")
  printf '%s\n' "${cmd[@]}"
}

# ASan tuned for speed (a small quarantine, no malloc fill, short allocation
# stacks: about three times the executions per second on libpq's large
# buffers); replay a crashing input with ASAN_OPTIONS= for full reports.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=16:max_malloc_fill_size=0:malloc_context_size=5}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# --ci: every target briefly; one line per target, then the count.
run_ci() {
  local passed=0 failed=0 t work log rc line
  local tmp
  tmp="$(mktemp -d -t aequor-fuzz.XXXXXX)"
  local all_built=1
  if ! build "${targets[@]}"; then
    echo "fuzz.sh: the build failed; building the targets one by one"
    all_built=0
  fi
  bin="$(bin_dir)"
  for t in "${targets[@]}"; do
    if [[ -z "$bin" ]] || { (( ! all_built )) && ! build "$t" >/dev/null 2>&1; }; then
      echo "fuzz.sh: $t: FAILED TO BUILD"
      failed=$((failed + 1))
      continue
    fi
    work="$tmp/$t/corpus"
    log="$tmp/$t/log"
    mkdir -p "$work" "$tmp/$t/artifacts"
    mapfile -t cmd < <(fuzzer_cmd "$t")
    # A hard stop well past the budget, in case the fuzzer itself hangs.
    timeout --kill-after=10 "$((seconds + 120))" "${cmd[@]}" -seed="$seed" \
      -runs="$(ci_runs "$t")" -max_total_time="$seconds" -artifact_prefix="$tmp/$t/artifacts/" \
      "$work" "tests/fuzz/$t/corpus" >"$log" 2>&1
    rc=$?
    line="$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1)"
    if (( rc == 0 )); then
      echo "fuzz.sh: $t: passed (${line:-no stats})"
      passed=$((passed + 1))
    else
      echo "fuzz.sh: $t: FAILED (exit $rc); the end of its log:"
      tail -n 40 "$log" | sed 's/^/  /'
      local artifact
      for artifact in "$tmp/$t/artifacts"/*; do
        [[ -f "$artifact" ]] || continue
        echo "  input $artifact (hex):"
        od -An -tx1 -v "$artifact" | head -n 32 | sed 's/^/   /'
      done
      failed=$((failed + 1))
    fi
  done
  if [[ -n "${CI:-}" ]]; then
    bazel_fuzz shutdown >/dev/null 2>&1 || true
  fi
  # The crashing inputs stay under $tmp (printed above); nothing else to keep.
  (( failed == 0 )) && rm -rf "$tmp"
  echo "${passed} passed, ${failed} failed"
  (( failed == 0 ))
}

# --long TARGET [FLAG..]: one target at length, keeping what it finds.
run_long() {
  local t="$1"
  shift
  is_target "$t" || { echo "fuzz.sh: no target '$t' (tools/fuzz.sh --list)" >&2; exit 2; }
  build "$t" || exit 1
  bin="$(bin_dir)"
  local work="$state_dir/corpus/$t"
  mkdir -p "$work" "tests/fuzz/$t/crashes"
  mapfile -t cmd < <(fuzzer_cmd "$t")
  echo "fuzz.sh: ${cmd[*]} -artifact_prefix=tests/fuzz/$t/crashes/ $* $work tests/fuzz/$t/corpus"
  "${cmd[@]}" -artifact_prefix="tests/fuzz/$t/crashes/" "$@" "$work" "tests/fuzz/$t/corpus"
}

# --merge TARGET: the long runs' finds that add coverage join the seeds.
run_merge() {
  local t="$1"
  is_target "$t" || { echo "fuzz.sh: no target '$t' (tools/fuzz.sh --list)" >&2; exit 2; }
  build "$t" || exit 1
  bin="$(bin_dir)"
  local work="$state_dir/corpus/$t"
  mkdir -p "$work"
  mapfile -t cmd < <(fuzzer_cmd "$t")
  # Edges only (no hit counts): a few dozen files, not hundreds.
  "${cmd[@]}" -merge=1 -use_counters=0 "tests/fuzz/$t/corpus" "$work"
}

case "${1:-}" in
  --ci) run_ci ;;
  --long) [[ $# -ge 2 ]] || usage; shift; run_long "$@" ;;
  --merge) [[ $# -eq 2 ]] || usage; run_merge "$2" ;;
  --build) build "${targets[@]}" ;;
  --list) printf '%s\n' "${targets[@]}" ;;
  *) usage ;;
esac
