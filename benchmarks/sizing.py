"""Benchmark: sizing the Xining park over a year (issue 13, "Performance").

Run ``python -m benchmarks.sizing [--days N] [--time-limit S] [--json PATH]``.

The scenario is ``examples/site_comparison/xining.yaml`` (PV, wind, battery and grid
connection extendable, 80 % annual green-power floor, 8760 h). One run reports, side by
side:

* **annual sizing LP**: ``engine.optimize`` of the scenario (every hour), HiGHS's solve time
  and the objective;
* **dispatch LP**: the same year at the sizes the sizing LP chose
  (:func:`engine.sizes.with_sizes`: capacities as inputs), HiGHS's solve time; the ratio
  sizing / dispatch (target <= 2);
* **representative days**: :func:`engine.representative.size_with_representative_days`
  with ``--days`` typical days: aggregation (tsam) and solve times, the ratio of its solve
  time to the annual sizing LP's (target <= 0.1), its total cost against the annual sizing
  optimum (target error <= 2 %), and the full-year re-dispatch at its sizes (cost and
  error).

Solve times are HiGHS's (``Result.timings["solve_s"]``); one repetition each (the annual
sizing LP takes minutes). No timed asserts: the figures are printed (and written as JSON).
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "site_comparison" / "xining.yaml"


def run(days: int, time_limit_s: float | None) -> dict[str, Any]:
    import engine
    from engine.representative import size_with_representative_days
    from engine.sizes import with_sizes

    sc = engine.load_scenario(EXAMPLE)
    t0 = time.perf_counter()
    sizing = engine.optimize(sc, time_limit_s=time_limit_s)
    t1 = time.perf_counter()
    out: dict[str, Any] = {
        "scenario": str(EXAMPLE.name), "machine": platform.machine(),
        "sizing_status": str(sizing.status), "sizing_objective": float(sizing.objective),
        "sizing_solve_s": sizing.timings["solve_s"], "sizing_wall_s": t1 - t0,
        "sizing_iterations": sizing.iterations,
        "sizes": sizing.investment[["asset", "quantity", "size"]].to_dict("records")
        if sizing.has_solution else [],
    }
    if sizing.has_solution:
        dispatch = engine.optimize(with_sizes(sc, sizing.investment))
        out.update(dispatch_status=str(dispatch.status),
                   dispatch_solve_s=dispatch.timings["solve_s"],
                   dispatch_iterations=dispatch.iterations,
                   sizing_over_dispatch=sizing.timings["solve_s"] / dispatch.timings["solve_s"])
    rep = size_with_representative_days(sc, n_days=days)
    out.update(
        days=days, rep_status=str(rep.status), rep_cost=rep.aggregated_cost,
        rep_aggregate_s=rep.timings["aggregate_s"], rep_solve_s=rep.timings["solve_s"],
        rep_full_cost=rep.full_cost, rep_full_status=str(rep.full.status),
        rep_aggregation_error=rep.aggregation_error,
        rep_sizes=rep.investment[["asset", "quantity", "size"]].to_dict("records"),
        rep_full_unserved_mwh=float(rep.full.kpis["unserved_mwh"]),
    )
    if sizing.has_solution:
        out.update(rep_over_sizing_time=rep.timings["solve_s"] / sizing.timings["solve_s"],
                   rep_cost_error_vs_sizing=rep.aggregated_cost / sizing.objective - 1,
                   rep_full_cost_error_vs_sizing=rep.full_cost / sizing.objective - 1)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sizing")
    p.add_argument("--days", type=int, default=12)
    p.add_argument("--time-limit", type=float, default=None,
                   help="limit of the annual sizing LP [s] (default none)")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    out = run(a.days, a.time_limit)
    for k, v in out.items():
        if not isinstance(v, list):
            print(f"{k:<32}{v:>20,.4f}" if isinstance(v, float) else f"{k:<32}{v!s:>20}")
    for k in ("sizes", "rep_sizes"):
        print(k)
        for row in out.get(k, []):
            print(f"  {row['asset']:<20}{row['quantity']:<6}{row['size']:>12,.3f}")
    if a.json is not None:
        a.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":  # pragma: no cover
    main()
