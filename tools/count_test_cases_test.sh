#!/usr/bin/env bash
# Tests tools/count_test_cases.py on a made-up bazel-testlogs tree: stale
# results left by an earlier invocation (a --runs_per_test run's run_N_of_M/
# directories, or the single test.xml of a run before it) are not counted.
set -euo pipefail

script="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-aequor}/tools/count_test_cases.py"
[[ -f "$script" ]] || script="$(dirname "$0")/count_test_cases.py"
logs="$(mktemp -d "${TEST_TMPDIR:-/tmp}/testlogs.XXXXXX")"

# xml FILE N_PASSING N_FAILING [N_SKIPPED]: a gtest-style test.xml.
xml() {
  local file="$1" pass="$2" fail="$3" skip="${4:-0}" i
  mkdir -p "$(dirname "$file")"
  {
    echo '<?xml version="1.0" encoding="UTF-8"?><testsuites><testsuite name="S">'
    for ((i = 0; i < pass; i++)); do echo "<testcase name=\"p$i\" status=\"run\" result=\"completed\"/>"; done
    for ((i = 0; i < fail; i++)); do echo "<testcase name=\"f$i\" status=\"run\" result=\"completed\"><failure message=\"x\"/></testcase>"; done
    for ((i = 0; i < skip; i++)); do echo "<testcase name=\"s$i\" status=\"run\" result=\"skipped\"><skipped/></testcase>"; done
    echo '</testsuite></testsuites>'
  } >"$file"
}

# a: a --runs_per_test=3 run, then a plain run: only the plain one counts.
xml "$logs/pkg/a/run_1_of_3/test.xml" 5 0
xml "$logs/pkg/a/run_2_of_3/test.xml" 5 0
xml "$logs/pkg/a/run_3_of_3/test.xml" 5 0
touch -d '2 hours ago' "$logs"/pkg/a/run_*/test.xml
xml "$logs/pkg/a/test.xml" 2 0
# b: sharded, every shard counts.
xml "$logs/pkg/b/shard_1_of_2/test.xml" 1 0
xml "$logs/pkg/b/shard_2_of_2/test.xml" 1 1 1
# c: a plain run, then a --runs_per_test=2 run: only the two runs count.
xml "$logs/pkg/c/test.xml" 7 0
touch -d '2 hours ago' "$logs/pkg/c/test.xml"
xml "$logs/pkg/c/run_1_of_2/test.xml" 3 0
xml "$logs/pkg/c/run_2_of_2/test.xml" 2 1
# d: in an external repository.
xml "$logs/external/ext/lib/d/test.xml" 4 0

got="$(python3 "$script" "$logs" //pkg:a //pkg:b //pkg:c @ext//lib:d)"
want="test cases: 15 run, 2 failed, 1 skipped, 0 disabled (from 6 test.xml files)"
if [[ "$got" != "$want" ]]; then
  echo "got:  $got" >&2
  echo "want: $want" >&2
  exit 1
fi
echo "ok: $got"
