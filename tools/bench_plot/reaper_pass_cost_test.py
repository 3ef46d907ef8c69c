#!/usr/bin/env python3
"""Tests tools/bench_plot/reaper_pass_cost.py on made-up Google Benchmark JSON."""

import json
import os
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reaper_pass_cost  # noqa: E402


def run(name, real_ns, cpu_ns, aggregate=None):
    b = {"name": name, "run_name": name, "real_time": real_ns, "cpu_time": cpu_ns,
         "time_unit": "ns", "iterations": 10}
    if aggregate:
        b.update(name=name + "_" + aggregate, run_type="aggregate", aggregate_name=aggregate)
    else:
        b["run_type"] = "iteration"
    return b


def doc():
    benchmarks = [run("pass/baseline/real_time", 20000, 10000, "median")]
    for n in (0, 100, 1000):
        ms = 1.0 + 0.002 * n  # 1 ms + 2 us per session
        benchmarks += [
            run("pass/live/%d/real_time" % n, ms * 1e6, 1e5, "median"),
            # A mean that must be ignored: only medians count.
            run("pass/live/%d/real_time" % n, 99e6, 1e5, "mean"),
            run("pass/scan/%d/real_time" % n, (ms - 0.5) * 1e6, 5e4, "median"),
            run("pass/scan_server/%d/real_time" % n, (ms - 0.6) * 1e6, 5e4, "median"),
        ]
        if n:
            benchmarks.append(run("pass/verify/%d/real_time" % n, n * 300, n * 300, "median"))
            benchmarks.append(
                run("pass/zombies/%d/iterations:100/real_time" % n, (ms + 2) * 1e6, 1e5, "median"))
    benchmarks.append(run("pass/kill_all/50/iterations:20/real_time", 25e6, 1e6, "median"))
    # A failed run is left out.
    benchmarks.append({"name": "pass/live/2000/real_time", "run_name": "pass/live/2000/real_time",
                       "error_occurred": True, "error_message": "x", "real_time": 0,
                       "cpu_time": 0, "time_unit": "ns"})
    return json.dumps({"context": {}, "benchmarks": benchmarks})


class ReaperPassCostTest(unittest.TestCase):
    def test_reads_medians_and_skips_means_and_errors(self):
        real, cpu, baseline = reaper_pass_cost.load(doc())
        self.assertAlmostEqual(real[("live", 1000)], 3.0)
        self.assertAlmostEqual(real[("zombies", 100)], 3.2)
        self.assertAlmostEqual(real[("kill_all", 50)], 25.0)
        self.assertAlmostEqual(cpu[("live", 0)], 0.1)
        self.assertAlmostEqual(baseline, 0.02)
        self.assertNotIn(("live", 2000), real)

    def test_single_runs_without_aggregates_use_their_median(self):
        text = json.dumps({"benchmarks": [run("pass/live/25/real_time", t, 1) for t in (1e6, 5e6, 2e6)]})
        real, _, baseline = reaper_pass_cost.load(text)
        self.assertAlmostEqual(real[("live", 25)], 2.0)
        self.assertIsNone(baseline)

    def test_table_gives_ms_per_pass_us_per_session_and_the_fitted_line(self):
        real, cpu, baseline = reaper_pass_cost.load(doc())
        text = reaper_pass_cost.table(real, cpu, baseline)
        self.assertIn("| 1,000 | 3.00 | 3.00 | 0.100 | 2.50 | 2.40 | 0.300 | 0.200 | 5.00 |", text)
        self.assertIn("1.000 ms + 2.00 us x sessions", text)
        self.assertIn("| 50 | 25.00 | 0.50 |", text)
        self.assertIn("SELECT 1 round trip 20.0 us", text)

    def test_svg_is_well_formed_with_one_line_per_series(self):
        real, _, _ = reaper_pass_cost.load(doc())
        root = ET.fromstring(reaper_pass_cost.svg(real, "t"))
        lines = root.findall("{http://www.w3.org/2000/svg}polyline")
        self.assertEqual(len(lines), 5)
        live = lines[0].get("points").split()
        self.assertEqual(len(live), 3)  # 0, 100, 1000 sessions

    def test_main_writes_the_svg_and_fails_without_live_results(self):
        with tempfile.TemporaryDirectory(dir=os.environ.get("TEST_TMPDIR")) as d:
            src, out = os.path.join(d, "in.json"), os.path.join(d, "out.svg")
            with open(src, "w") as f:
                f.write(doc())
            self.assertEqual(reaper_pass_cost.main([src, "--svg", out]), 0)
            ET.parse(out)
            with open(src, "w") as f:
                f.write(json.dumps({"benchmarks": []}))
            self.assertEqual(reaper_pass_cost.main([src]), 1)


if __name__ == "__main__":
    unittest.main()
