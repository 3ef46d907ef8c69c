#!/usr/bin/env python3
"""Counts the test cases (gtest TESTs) of Bazel test targets from their test.xml.

  count_test_cases.py TESTLOGS LABEL...

TESTLOGS is `bazel info bazel-testlogs`; each LABEL a test target from Bazel's
summary (//pkg:name or @repo//pkg:name). Prints one line:

  test cases: N run, N failed, N skipped, N disabled (from N test.xml files)

A target's results are either one test.xml in its directory (a single run) or
one per shard or run in subdirectories (shard_1_of_2/, run_1_of_3/). Bazel does
not remove the kind a later invocation did not write, so when both are present
only the newer kind counts: the other is left from an earlier invocation run
with other --runs_per_test or shard settings.

Used by tools/test.sh; tested by tools/count_test_cases_test.sh.
"""
import os
import sys
import xml.etree.ElementTree as ET


def result_files(base):
    """The current test.xml files of the target whose log directory is `base`."""
    top = os.path.join(base, "test.xml")
    nested = []
    for dirpath, _, names in os.walk(base):
        if dirpath != base and "test.xml" in names:
            nested.append(os.path.join(dirpath, "test.xml"))
    if os.path.isfile(top) and nested:
        newest_nested = max(os.path.getmtime(f) for f in nested)
        return [top] if os.path.getmtime(top) >= newest_nested else sorted(nested)
    return [top] if os.path.isfile(top) else sorted(nested)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: count_test_cases.py TESTLOGS LABEL...\n")
        return 2
    testlogs, labels = argv[1], argv[2:]
    run = failed = skipped = disabled = files = 0
    for label in labels:
        repo, _, rest = label.partition("//")
        pkg, _, name = rest.partition(":")
        parts = [testlogs] + (["external", repo.lstrip("@")] if repo else []) + [pkg, name]
        for path in result_files(os.path.join(*[p for p in parts if p])):
            try:
                root = ET.parse(path).getroot()
            except (ET.ParseError, OSError):
                continue
            files += 1
            for case in root.iter("testcase"):
                status = case.get("status", "run")
                result = case.get("result", "completed")
                if status == "notrun" or result == "suppressed":
                    disabled += 1
                elif result == "skipped" or case.find("skipped") is not None:
                    skipped += 1
                else:
                    run += 1
                    if case.find("failure") is not None or case.find("error") is not None:
                        failed += 1
    print(f"test cases: {run} run, {failed} failed, {skipped} skipped, "
          f"{disabled} disabled (from {files} test.xml files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
