"""Traceability per tenant against the solve: the tenant ledger (Cython tank per consumer,
certificates, per-tenant report) timed beside HiGHS's solve of the same run.

The scenario is ``examples/build_east_west.py``'s East-West model (three sites, three
tenants, a battery at Xining) cut to ``--hours`` hours and ``--jobs`` jobs, solved with
HiGHS's interior point without crossover (as in ``benchmarks/MULTISITE_RESULTS.md``).
For each run, in one process:

* ``solve_s``: ``Result.timings["solve_s"]`` (HiGHS's run);
* ``ledger_s``: wall time of :func:`engine.results.extract._ledger` inside that run (the
  per-consumer tank at sites with storage, the certificates table, the tenant report);
* ``ledger_numpy_s``: the same ledger once more with ``mix x C`` at every site (no tank
  per consumer, no via-storage split), for comparison;
* ``trace_s``: the site traceability before it (:func:`engine.results.extract._trace`).

    PYTHONPATH=. python -m benchmarks.ledger --hours 336 720 --jobs 16 35
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import engine

# the package exports a function named ``extract``: the module by its full name
ex = importlib.import_module("engine.results.extract")
ledger_mod = importlib.import_module("engine.results.ledger")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(hours: int, jobs: int) -> dict:
    sys.path.insert(0, str(EXAMPLES))
    from build_east_west import build

    d = build(n_jobs=jobs, horizon_h=hours)
    sc = engine.Scenario.from_dict(d, base_dir=EXAMPLES)
    spent: dict[str, float] = {}
    orig_ledger, orig_trace = ex._ledger, ex._trace

    def timed_ledger(r, mixes):
        t0 = time.perf_counter()
        out = orig_ledger(r, mixes)
        spent["ledger_s"] = time.perf_counter() - t0
        sources, mix, clean, _ = mixes
        sink = r.facility_mw + r.tables.get("transfer_mw", 0.0)
        t0 = time.perf_counter()
        ledger_mod.ledger(r, sources, mix, clean, sink, None)
        spent["ledger_numpy_s"] = time.perf_counter() - t0
        spent["certificates"] = len(out["certificates"])
        return out

    def timed_trace(r):
        t0 = time.perf_counter()
        out = orig_trace(r)
        spent["trace_s"] = time.perf_counter() - t0
        return out

    ex._ledger, ex._trace = timed_ledger, timed_trace
    try:
        res = engine.optimize(sc, highs_options={"solver": "ipm", "run_crossover": "off"})
    finally:
        ex._ledger, ex._trace = orig_ledger, orig_trace
    solve = res.timings["solve_s"]
    return {"hours": hours, "jobs": jobs, "status": str(res.status), "solve_s": solve,
            "ledger_s": spent["ledger_s"], "ledger_numpy_s": spent["ledger_numpy_s"],
            "trace_s": spent["trace_s"], "ledger_over_solve": spent["ledger_s"] / solve,
            "certificates": spent["certificates"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=int, nargs="+", default=[168])
    ap.add_argument("--jobs", type=int, nargs="+", default=[8])
    a = ap.parse_args()
    print("| hours | jobs | status | solve s | ledger s | ledger / solve | ledger, mix x C s "
          "| trace s | certificates |")
    print("|---|---|---|---|---|---|---|---|---|")
    for hours, jobs in zip(a.hours, a.jobs):
        r = run(hours, jobs)
        print(f"| {r['hours']} | {r['jobs']} | {r['status']} | {r['solve_s']:.2f} | "
              f"{r['ledger_s']:.3f} | {r['ledger_over_solve']:.1%} | {r['ledger_numpy_s']:.3f} "
              f"| {r['trace_s']:.3f} | {r['certificates']:,} |", flush=True)


if __name__ == "__main__":
    main()
