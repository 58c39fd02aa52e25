"""Benchmark: the HTML report of the annual Xining example (target <= 2 s).

Run ``python -m benchmarks.report [--results DIR] [--repeats R] [--json out.json]``.

Case: ``examples/xining_park.yaml`` (8,760 h, one site, 416 jobs), solved once (or read from
``--results DIR``, a directory written by ``wattbit run``). Timed, interleaved, R times:

* **to_html**: ``Result.to_html`` of the solved result in this process (imports warm);
  split into building the figures, matplotlib drawing them to SVG, and the rest (data,
  HTML);
* **from dir**: ``engine.results.report.report_from_dir`` (reads the Parquet files and
  ``summary.json``, then renders);
* **dispatch.png** (yardstick): the existing one-week dispatch figure written as PNG by
  ``Result.plot``, what ``wattbit run`` draws today; the ratio to it is the figure that
  survives this machine's drifting speed.

Then (up to 3 times): ``wattbit report DIR`` as a whole process (interpreter start and
imports included), a process that only imports what it imports, and the CLI's own timing of
reading and rendering (printed after its imports). Wall and CPU seconds are both reported: with other jobs on the machine, CPU time
is the closer estimate of an idle machine's wall time. Medians.
"""
from __future__ import annotations

import argparse
import functools
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "examples" / "xining_park.yaml"


def _timed(fn, *args, **kwargs) -> tuple[float, float, Any]:
    c, t = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, time.process_time() - c, out


def _child(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system, of the child) of a subprocess; its stdout."""
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), out


def _split_charts() -> dict[str, float]:
    """Wrap the chart builders and ``svg`` to accumulate their CPU seconds."""
    import engine.results._report_charts as charts

    acc = {"build": 0.0, "draw": 0.0}

    def wrap(fn, key):
        @functools.wraps(fn)
        def inner(*a, **k):
            c = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                acc[key] += time.process_time() - c
        return inner

    for name in ("week_dispatch", "year_daily", "day_hour_heatmap", "cost_bars", "job_gantt",
                 "voltage_envelope"):
        setattr(charts, name, wrap(getattr(charts, name), "build"))
    charts.svg = wrap(charts.svg, "draw")
    return acc


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.report",
                                description=__doc__.split("\n")[0])
    p.add_argument("--results", type=Path, default=None,
                   help="a directory written by `wattbit run examples/xining_park.yaml`")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import engine
    from engine.results.report import report_from_dir

    tmp = Path(tempfile.mkdtemp(prefix="wattbit-report-bench-"))
    if args.results is None:
        sc = engine.load_scenario(SCENARIO)
        t = time.perf_counter()
        res = engine.optimize(sc)
        print(f"solved the annual example in {time.perf_counter() - t:.1f} s")
        results = res.to_parquet(tmp / "run")
    else:
        results = args.results
        from engine.results.report import load_results_dir

        res = load_results_dir(results, engine.load_scenario(SCENARIO))
    acc = _split_charts()
    res.to_html(tmp / "warm.html")  # imports, font cache
    rows: dict[str, list[float]] = {k: [] for k in (
        "to_html_wall", "to_html_cpu", "build_cpu", "draw_cpu", "from_dir_wall",
        "from_dir_cpu", "png_wall", "png_cpu")}
    for _ in range(args.repeats):
        acc.update(build=0.0, draw=0.0)
        w, c, path = _timed(res.to_html, tmp / "report.html")
        rows["to_html_wall"].append(w)
        rows["to_html_cpu"].append(c)
        rows["build_cpu"].append(acc["build"])
        rows["draw_cpu"].append(acc["draw"])
        w, c, _ = _timed(report_from_dir, results, tmp / "from_dir.html")
        rows["from_dir_wall"].append(w)
        rows["from_dir_cpu"].append(c)
        w, c, _ = _timed(res.plot, io.BytesIO())
        rows["png_wall"].append(w)
        rows["png_cpu"].append(c)
    med = {k: statistics.median(v) for k, v in rows.items()}
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # the whole `wattbit report` process, and a process that only imports what it imports:
    # the difference is reading and rendering (which the CLI also times itself, after its
    # imports: "wrote ... (N s)")
    for key, cmd in (("cli_imports", ["-c", "import engine.cli, engine.results.report"]),
                     ("cli_process", ["-m", "engine.cli", "report", str(results), "-o",
                                      str(tmp / "cli.html")])):
        walls, cpus, said = [], [], []
        for _ in range(max(1, min(3, args.repeats))):
            w, c, out = _child([sys.executable, *cmd], env)
            walls.append(w)
            cpus.append(c)
            if "(" in out:
                said.append(float(out.rsplit("(", 1)[1].split(",")[1].strip().rstrip(" s)\n")))
        med[f"{key}_wall"] = statistics.median(walls)
        med[f"{key}_cpu"] = statistics.median(cpus)
        if said:
            med["cli_read_render_wall"] = statistics.median(said)
    med["html_mb"] = path.stat().st_size / 1e6
    med["load_average_1min"] = os.getloadavg()[0]
    med["ratio_to_dispatch_png_cpu"] = med["to_html_cpu"] / med["png_cpu"]
    print(f"annual report ({len(res.hourly):,} h, {len(res.jobs)} jobs), medians of "
          f"{args.repeats}, load average {med['load_average_1min']:.1f} on {os.cpu_count()} "
          "cores:")
    print(f"  Result.to_html          wall {med['to_html_wall']:.2f} s   cpu "
          f"{med['to_html_cpu']:.2f} s  (figures built {med['build_cpu']:.2f} s, drawn to SVG "
          f"{med['draw_cpu']:.2f} s)  -> {med['html_mb']:.2f} MB")
    print(f"  report_from_dir         wall {med['from_dir_wall']:.2f} s   cpu "
          f"{med['from_dir_cpu']:.2f} s")
    print(f"  dispatch.png (1 week)   wall {med['png_wall']:.2f} s   cpu {med['png_cpu']:.2f} s"
          f"   report / png (cpu) {med['ratio_to_dispatch_png_cpu']:.1f}x")
    print(f"  `wattbit report DIR` as a process: wall {med['cli_process_wall']:.2f} s, cpu "
          f"{med['cli_process_cpu']:.2f} s; of which interpreter and imports (a process that "
          f"only imports them) wall {med['cli_imports_wall']:.2f} s, cpu "
          f"{med['cli_imports_cpu']:.2f} s; reading and rendering as the CLI times it "
          f"{med.get('cli_read_render_wall', float('nan')):.2f} s")
    if args.json:
        args.json.write_text(json.dumps(med, indent=1))
    return med


if __name__ == "__main__":  # pragma: no cover
    main()
