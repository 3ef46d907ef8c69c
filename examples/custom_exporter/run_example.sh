#!/usr/bin/env bash
# Runs the custom exporter example and fails if it fails or its exporter's
# lines are not what two invocations should give.
set -euo pipefail
out=$("$1")
echo "$out"
grep -q "example.exporter.summary" <<<"$out"
grep -q "unknown option 'prefx'" <<<"$out"
grep -q "^\[summary\] 2 queries (0 failed), 1 connect(s), slowest <= .* ms; statements: SELECT \$1::int \* 2 x2$" <<<"$out"
grep -q "^\[summary\] 5 queries (1 failed), 0 connect(s), slowest <= .* ms; statements: SELECT \$1::int \* 2 x4, SELECT 1/0 x1$" <<<"$out"
grep -q "manager totals: 7 queries, 1 failed" <<<"$out"
