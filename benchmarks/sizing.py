"""Benchmark: sizing the Xining park over a year (issue 13, "Performance").

Run ``python -m benchmarks.sizing [--days 8,12,24] [--cold] [--start-hours 0,6,8]
[--rounds R] [--time-limit S] [--json PATH]``.

The scenario is ``examples/site_comparison/xining.yaml`` (PV, wind, battery and grid
connection extendable, 80 % annual green-power floor, 8760 h). One run reports, side by
side:

* **annual sizing LP, started** (the default of :func:`engine.optimize`,
  ``sizing.annual_start: representative_days``): the sizes chosen on the scenario's typical
  days (``start_s``), the annual LP solved with the capacities fixed at them (``fixed_s``),
  then freed (as step columns) and continued by the primal simplex from that basis to the
  annual optimum (``freed_s``);
* **annual sizing LP, cold** (``--cold``; ``annual_start: none``, minutes);
* **dispatch LP**: the same year at the optimal sizes (capacities as inputs,
  :func:`engine.sizes.with_sizes`): HiGHS's solve time, the reference of the ratio
  (target: annual sizing <= 2x dispatch);
* **representative days** for each ``--days`` N:
  :func:`engine.representative.size_with_representative_days` -- its solve time against the
  annual sizing LP's (target <= 0.1), its objective against the annual optimum, and the
  full year dispatched at its sizes against the optimum (target error <= 2 %);
* **where the typical-day error comes from** (at the optimal sizes, capacities fixed): the
  full-year dispatch; the N-day model; and the N typical days laid out in the year's
  order (day ``d`` takes the data of its typical day ``k(d)``) solved as an ordinary year.
  The last has the typical days' data but the full year's freedom of dispatch; the gap
  between it and the N-day model is the formulation's (one intra-day trajectory per
  typical day, storage linked through day-boundary states, Kotzur et al. 2018), and the
  N-day model without the year's two end days as periods of their own ("pinned");
* with ``--start-hours``, the typical days started at other local hours
  (:func:`start_hour_sweep`);
* with ``--rounds R``, R more rounds of the started sizing and the dispatch, interleaved,
  with HiGHS seconds and process CPU seconds (:func:`interleaved_rounds`).

Solve times are HiGHS's (``Result.timings["solve_s"]``); one repetition each. No timed
asserts: the figures are printed (and written as JSON).
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._out import emit

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "site_comparison" / "xining.yaml"


def _costs(f, x) -> dict[str, float]:
    return {t: float(sum(float((x[c] * k).sum()) + kk for c, k, kk in p))
            for t, p in f.costs.items()}


def typical_day_gap(sc: Any, investment: Any, n_days: int) -> dict[str, Any]:
    """At fixed sizes: full year, N-day model (the year's ends as periods of their own, and
    without them: every boundary state pinned by the initial one), typical days laid out
    over the year."""
    from engine.backends import solve
    from engine.model.build import build
    from engine.model.data import prepare
    from engine.model.periods import aggregate
    from engine.sizes import with_sizes

    data = prepare(with_sizes(sc, investment))
    f = build(data)
    full = solve(f.model)
    agg = aggregate(data, n_days)
    fa = build(agg)
    typ = solve(fa.model)
    pinned = solve(build(aggregate(data, n_days, own_ends=False)).model)
    hours = (agg.extra["periods"]["order"][:, None] * 24 + np.arange(24)).ravel()
    for sd, sa in zip(data.sites, agg.sites):  # day d takes its typical day's arrays
        for k, v in vars(sd).items():
            if isinstance(v, np.ndarray) and v.shape[-1:] == (data.T,) and v.dtype != bool:
                setattr(sd, k, np.ascontiguousarray(getattr(sa, k)[..., hours]))
    fl = build(data)
    laid = solve(fl.model)
    return {"days": n_days, "full_year": full.objective, "typical_days": typ.objective,
            "laid_out": laid.objective, "pinned": pinned.objective,
            "pinned_vs_full": pinned.objective / full.objective - 1,
            "typical_vs_full": typ.objective / full.objective - 1,
            "laid_out_vs_full": laid.objective / full.objective - 1,
            "typical_vs_laid_out": typ.objective / laid.objective - 1,
            "full_costs": _costs(f, full.x), "typical_costs": _costs(fa, typ.x),
            "laid_out_costs": _costs(fl, laid.x)}


def start_hour_sweep(sc: Any, optimum: Any, days: list[int],
                     hours: list[int]) -> list[dict[str, Any]]:
    """Typical days starting at each local hour of ``hours`` (:func:`aggregate`'s
    ``start_hour``): at the optimal sizes (capacities fixed), the N-day model against the
    full year; sizing on them, the objective and the full-year re-dispatch at their sizes
    against the annual optimum."""
    import engine
    from engine.backends import solve
    from engine.components.finance import investment_table
    from engine.model.build import build
    from engine.model.data import prepare
    from engine.model.periods import aggregate
    from engine.sizes import with_sizes

    fixed = prepare(with_sizes(sc, optimum.investment))
    full = solve(build(fixed).model).objective
    data = prepare(sc)
    rows = []
    for n in days:
        for h in hours:
            at_opt = solve(build(aggregate(fixed, n, h)).model).objective
            f = build(aggregate(data, n, h))
            out = solve(f.model)
            table = investment_table(f.meta.get("sizing", []), out.x)
            rd = engine.optimize(with_sizes(sc, table))
            cost = rd.objective + float(table["annualised_cost"].sum())
            rows.append({"days": n, "start_hour": h, "at_optimal_sizes": at_opt / full - 1,
                         "objective_error": out.objective / optimum.objective - 1,
                         "redispatch_error": cost / optimum.objective - 1,
                         "redispatch_status": str(rd.status)})
    return rows


def interleaved_rounds(sc: Any, investment: Any, rounds: int) -> dict[str, Any]:
    """``rounds`` rounds of (annual sizing LP, started; dispatch LP at the optimal sizes),
    one after the other in this process, so that both see the same load: HiGHS's seconds
    (started: typical-day start + fixed + freed solves) and the process CPU seconds of each
    whole :func:`engine.optimize` call (prepare, build, solve, extract; all threads)."""
    import engine
    from engine.sizes import with_sizes

    dsc = with_sizes(sc, investment)
    rows = []
    for _ in range(rounds):
        c0 = time.process_time()
        w = engine.optimize(sc)
        c1 = time.process_time()
        dp = engine.optimize(dsc)
        c2 = time.process_time()
        tm = w.timings
        started = tm.get("start_s", 0.0) + tm["solve_s"]
        rows.append({"start_s": tm.get("start_s", 0.0), "fixed_s": tm.get("fixed_s", 0.0),
                     "freed_s": tm.get("freed_s", 0.0), "started_s": started,
                     "dispatch_s": dp.timings["solve_s"], "ratio": started / dp.timings["solve_s"],
                     "started_cpu_s": c1 - c0, "dispatch_cpu_s": c2 - c1,
                     "cpu_ratio": (c1 - c0) / (c2 - c1)})
    med = {k: float(np.median([r[k] for r in rows])) for k in rows[0]}
    return {"each": rows, "median": med}


def run(days: list[int], cold: bool, time_limit_s: float | None,
        diagnose: bool = True, start_hours: list[int] | None = None,
        rounds: int = 0, example: Path = EXAMPLE) -> dict[str, Any]:
    import engine
    from engine.representative import size_with_representative_days
    from engine.sizes import with_sizes

    sc = engine.load_scenario(example)
    out: dict[str, Any] = {"scenario": str(example.name), "machine": platform.machine()}
    t0 = time.perf_counter()
    warm = engine.optimize(sc, time_limit_s=time_limit_s)
    t1 = time.perf_counter()
    tm = warm.timings
    out.update(sizing_status=str(warm.status), sizing_objective=float(warm.objective),
               sizing_wall_s=t1 - t0, sizing_iterations=warm.iterations,
               start_s=tm.get("start_s", 0.0), fixed_s=tm.get("fixed_s", 0.0),
               freed_s=tm.get("freed_s", 0.0), sizing_solve_s=tm["solve_s"],
               sizes=warm.investment[["asset", "quantity", "size"]].to_dict("records")
               if warm.has_solution else [])
    if cold:
        csc = sc.model_copy(deep=True)
        csc.sizing.annual_start = "none"
        c = engine.optimize(csc, time_limit_s=time_limit_s)
        out.update(cold_status=str(c.status), cold_objective=float(c.objective),
                   cold_solve_s=c.timings["solve_s"], cold_iterations=c.iterations,
                   cold_vs_started_objective=float(c.objective / warm.objective - 1))
    if not warm.has_solution:
        return out
    dispatch = engine.optimize(with_sizes(sc, warm.investment))
    d = dispatch.timings["solve_s"]
    started = out["start_s"] + out["sizing_solve_s"]
    out.update(dispatch_status=str(dispatch.status), dispatch_solve_s=d,
               dispatch_iterations=dispatch.iterations,
               started_over_dispatch=started / d,
               started_lp_only_over_dispatch=out["sizing_solve_s"] / d)
    if cold:
        out["cold_over_dispatch"] = out["cold_solve_s"] / d
    if rounds:
        out["rounds"] = interleaved_rounds(sc, warm.investment, rounds)
    annual = out.get("cold_solve_s", started)
    for n in days:
        rep = size_with_representative_days(sc, n_days=n)
        out[f"rep{n}"] = {
            "status": str(rep.status), "aggregate_s": rep.timings["aggregate_s"],
            "solve_s": rep.timings["solve_s"], "over_annual_sizing": rep.timings["solve_s"] / annual,
            "objective": rep.aggregated_cost, "objective_error": rep.aggregated_cost
            / warm.objective - 1, "full_cost": rep.full_cost, "full_status": str(rep.full.status),
            "full_cost_error": rep.full_cost / warm.objective - 1,
            "sizes": rep.investment[["asset", "quantity", "size"]].to_dict("records")}
        if diagnose:
            out[f"rep{n}"]["at_optimal_sizes"] = typical_day_gap(sc, warm.investment, n)
    if start_hours:
        out["start_hours"] = start_hour_sweep(sc, warm, days, start_hours)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sizing")
    p.add_argument("--days", type=str, default="12", help="comma-separated, e.g. 8,12,24")
    p.add_argument("--cold", action="store_true", help="also the cold annual sizing LP")
    p.add_argument("--no-diagnose", action="store_true")
    p.add_argument("--time-limit", type=float, default=None,
                   help="limit of each annual sizing LP [s] (default none)")
    p.add_argument("--start-hours", type=str, default="",
                   help="comma-separated local hours (0..23) to start the typical days at, "
                        "e.g. 0,4,6,7,8,10,12 (a sweep at every --days)")
    p.add_argument("--rounds", type=int, default=0,
                   help="extra interleaved rounds of started sizing and dispatch (timing)")
    p.add_argument("--example", choices=["xining", "eastern"], default="xining",
                   help="which site of examples/site_comparison (the target is Xining's)")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    hours = [int(x) for x in a.start_hours.split(",")] if a.start_hours else None
    out = run([int(x) for x in a.days.split(",")], a.cold, a.time_limit, not a.no_diagnose,
              hours, a.rounds, EXAMPLE.with_name(f"{a.example}.yaml"))
    return emit(out, a.json)


if __name__ == "__main__":  # pragma: no cover
    main()
