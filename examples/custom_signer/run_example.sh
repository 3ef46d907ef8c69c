#!/usr/bin/env bash
# Runs an example binary and fails if it fails or prints nothing.
set -euo pipefail
out=$("$1")
echo "$out"
grep -q "verifies: yes" <<<"$out"
grep -q "option 'context' is required" <<<"$out"
