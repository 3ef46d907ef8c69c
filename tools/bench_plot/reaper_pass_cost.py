#!/usr/bin/env python3
"""The reaper pass's cost as a function of sessions: a table and an SVG chart.

Reads the JSON that bench/reaper_bench writes with
--benchmark_out=FILE --benchmark_out_format=json (or --benchmark_format=json
on stdout), prints a markdown table (ms per pass, us per session, and where the
time goes), and with --svg writes a line chart of pass cost (ms) against
sessions:

  bazel-bin/bench/reaper_bench --benchmark_repetitions=5 \
      --benchmark_report_aggregates_only=true \
      --benchmark_out=reaper.json --benchmark_out_format=json
  python3 tools/bench_plot/reaper_pass_cost.py reaper.json --svg docs/reaper-pass-cost.svg

Several files (e.g. runs of separate --benchmark_filter sets) are merged.

Medians are used when the file has aggregates (--benchmark_repetitions), else
the median of the single runs per name. Python 3 standard library only.
"""

import argparse
import json
import math
import re
import statistics
import sys
from xml.sax.saxutils import escape

# "pass/live/250/real_time", "pass/zombies/25/iterations:100/real_time".
NAME = re.compile(r"^pass/(?P<kind>[a-z_]+)/(?P<n>\d+)(?:/|$)")
TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}

# Series drawn on the chart, in legend order: kind, label, colour, dashed.
SERIES = [
    ("live", "whole pass, no lease expired (kills none)", "#1f77b4", False),
    ("zombies", "whole pass, every lease expired (kills 10)", "#d62728", False),
    ("scan", "scan statements alone (rows to the client)", "#2ca02c", True),
    ("scan_server", "scan counted on the server (no rows sent)", "#9467bd", True),
    ("verify", "client: read rows, verify tags (no I/O)", "#ff7f0e", True),
]


def load(*texts):
    """({(kind, n): median real ms per pass}, {(kind, n): median client CPU ms},
    baseline SELECT 1 in ms or None), from one or more JSON documents."""
    medians, singles = {}, {}
    runs = [b for text in texts for b in json.loads(text).get("benchmarks", [])]
    for b in runs:
        if b.get("error_occurred"):
            continue
        name = b.get("run_name") or b.get("name", "")
        unit = TO_MS[b.get("time_unit", "ns")]
        ms = (float(b["real_time"]) * unit, float(b["cpu_time"]) * unit)
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") != "median":
                continue
            target = medians
        else:
            target = singles
        if name.startswith("pass/baseline"):
            target.setdefault(("baseline", 0), []).append(ms)
            continue
        m = NAME.match(name)
        if m:
            target.setdefault((m.group("kind"), int(m.group("n"))), []).append(ms)
    real, cpu = {}, {}
    for runs in (singles, medians):  # medians win over single runs
        for key, v in runs.items():
            real[key] = statistics.median(r for r, _ in v)
            cpu[key] = statistics.median(c for _, c in v)
    baseline = real.pop(("baseline", 0), None)
    cpu.pop(("baseline", 0), None)
    return real, cpu, baseline


def sizes_of(times, kind):
    return sorted(n for (k, n) in times if k == kind)


def fit(points):
    """Least squares a + b*n over [(n, ms)]; None with fewer than 2 sizes."""
    if len(points) < 2:
        return None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - b * mx, b


def fmt_ms(v):
    return "" if v is None else ("%.3f" % v if v < 1 else "%.2f" % v)


def fmt_us(v):
    return "" if v is None else ("%.2f" % v if v < 10 else "%.1f" % v)


def table(times, cpu, baseline):
    """The markdown table and the lines after it."""
    get = times.get
    out = [
        "| sessions | pass, none expired (ms) | us per session | client CPU (ms)"
        " | scan statements (ms) | of which on the server (ms) | client verify (ms)"
        " | rest: lock, commit (ms) | pass, all expired, kills 10 (ms) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in sizes_of(times, "live"):
        live = get(("live", n))
        scan = get(("scan", n))
        verify = get(("verify", n), 0.0 if n == 0 else None)
        rest = live - scan - verify if None not in (live, scan, verify) else None
        per = live * 1e3 / n if n else None
        out.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                "{:,}".format(n),
                fmt_ms(live),
                fmt_us(per),
                fmt_ms(cpu.get(("live", n))),
                fmt_ms(scan),
                fmt_ms(get(("scan_server", n))),
                fmt_ms(verify) if n else "",
                fmt_ms(rest),
                fmt_ms(get(("zombies", n))),
            )
        )
    notes = []
    line = fit([(n, times[("live", n)]) for n in sizes_of(times, "live")])
    if line:
        notes.append(
            "Least-squares line, pass with none expired: %.3f ms + %.2f us x sessions."
            % (line[0], line[1] * 1e3)
        )
    for kind, label in (("scan", "scan statements"), ("scan_server", "scan on the server"),
                        ("verify", "client verify"), ("zombies", "pass killing 10")):
        l = fit([(n, times[(kind, n)]) for n in sizes_of(times, kind)])
        if l:
            notes.append("  %s: %.3f ms + %.2f us x sessions." % (label, l[0], l[1] * 1e3))
    kill_all = sizes_of(times, "kill_all")
    if kill_all:
        notes.append("")
        notes.append("| expired sessions, all killed by one pass | pass (ms) | ms per kill |")
        notes.append("| ---: | ---: | ---: |")
        for k in kill_all:
            ms = times[("kill_all", k)]
            notes.append("| %s | %s | %.2f |" % ("{:,}".format(k), fmt_ms(ms), ms / k))
    if baseline is not None:
        notes.append("")
        notes.append("Baseline: SELECT 1 round trip %.1f us." % (baseline * 1e3))
    return "\n".join(out + ([""] + notes if notes else []))


def nice_step(span, ticks=6):
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def svg(times, title):
    """A standalone SVG line chart of ms per pass against sessions."""
    w, h = 760, 460
    left, right, top, bottom = 70, 20, 50, 150
    pw, ph = w - left - right, h - top - bottom
    drawn = [s for s in SERIES if sizes_of(times, s[0])]
    ns = sorted({n for s in drawn for n in sizes_of(times, s[0])}) or [0, 1]
    x_max = max(ns) or 1
    y_max = max([times[(s[0], n)] for s in drawn for n in sizes_of(times, s[0])] or [1])
    y_step = nice_step(y_max)
    y_top = y_step * (int(y_max / y_step) + 1)
    x_step = nice_step(x_max, 8)
    x_top = x_step * -(-x_max // x_step)

    def x(n):
        return left + pw * n / x_top

    def y(ms):
        return top + ph * (1 - ms / y_top)

    o = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
        'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">' % (w, h, w, h),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>' % (left, escape(title)),
    ]
    t = 0.0
    while t <= y_top + 1e-9:
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>'
                 % (left, y(t), left + pw, y(t)))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (left - 6, y(t) + 4, t))
        t += y_step
    t = 0.0
    while t <= x_top + 1e-9:
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>'
                 % (x(t), top, x(t), top + ph))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                 % (x(t), top + ph + 16, "{:,}".format(int(t))))
        t += x_step
    o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>'
             % (left, top, pw, ph))
    o.append('<text x="%.1f" y="%d" text-anchor="middle">leased sessions of the service in '
             'pg_stat_activity</text>' % (left + pw / 2, top + ph + 36))
    o.append('<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">'
             'ms per pass (median)</text>' % (top + ph / 2))
    for kind, label, colour, dashed in drawn:
        pts = [(n, times[(kind, n)]) for n in sizes_of(times, kind)]
        path = " ".join("%.1f,%.1f" % (x(n), y(ms)) for n, ms in pts)
        o.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>'
                 % (path, colour, ' stroke-dasharray="6 4"' if dashed else ""))
        for n, ms in pts:
            o.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s sessions, '
                     '%s ms</title></circle>'
                     % (x(n), y(ms), colour, escape(label), n, fmt_ms(ms)))
        if kind in ("live", "zombies"):
            for n, ms in pts:
                if n >= 250:
                    o.append('<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">%s ms</text>'
                             % (x(n) - 6, y(ms) - 6, colour, fmt_ms(ms)))
    for i, (kind, label, colour, dashed) in enumerate(drawn):
        ly = top + ph + 58 + 17 * i
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                 % (left, ly - 4, left + 28, ly - 4, colour,
                    ' stroke-dasharray="6 4"' if dashed else ""))
        o.append('<text x="%d" y="%d">%s</text>' % (left + 36, ly, escape(label)))
    o.append("</svg>")
    return "\n".join(o) + "\n"


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json", nargs="+",
                   help="reaper_bench's JSON output, one or more files ('-' for stdin)")
    p.add_argument("--svg", help="write the chart here")
    p.add_argument("--title", default="One reaper pass: cost against sessions")
    args = p.parse_args(argv)
    texts = [sys.stdin.read() if f == "-" else open(f, encoding="utf-8").read() for f in args.json]
    try:
        times, cpu, baseline = load(*texts)
    except (ValueError, KeyError) as e:
        print("%s: not Google Benchmark JSON: %s" % (" ".join(args.json), e), file=sys.stderr)
        return 1
    if not sizes_of(times, "live"):
        print("%s: no pass/live/N results" % " ".join(args.json), file=sys.stderr)
        return 1
    print(table(times, cpu, baseline))
    if args.svg:
        with open(args.svg, "w", encoding="utf-8") as f:
            f.write(svg(times, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
