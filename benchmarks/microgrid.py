"""Benchmark: the self-protecting microgrid week (``examples/xining_microgrid.yaml``).

Run ``python -m benchmarks.microgrid [--time-limit S] [--json PATH]``.

Solves the example several ways and reports, side by side:

* **with the rule** (the file as it is, ``min_survival_h`` from the file): objective, status,
  MIP gap, solve time, the LP relaxation's objective (every integrality dropped: the root
  bound before HiGHS's cuts) and the root gap ``(objective - LP) / objective``;
* **without the rule** (``min_survival_h = 0``): the cost of resilience is the difference
  of the two objectives (solved twice here, never inside ``optimize``);
* survival hours per start (greedy simulation from each plan's state) with and without
  the rule, expected unserved energy by tier per outage;
* **without capping** (the capped job's ``power_cap`` removed): the IT energy the cap saves,
  next to the ``job_energy_saved_mwh`` KPI of the capped run;
* **without outage scenarios** (``policy.outages`` removed): the plan alone.

No timed asserts: the figures are printed (and written as JSON with ``--json``).

``--annual`` (issue 10, "Performance") solves instead the annual microgrid: the same file
with ``start: 2023-01-01 00:00``, ``horizon_h: 8760`` (the week takes its weather from the
yearly CSV by timestamp and its prices, utilisation and green shares are daily profiles, so
the year needs no other change) and outage starts every 24 h. It reports, side by side in
one run, interleaved (engine, HiGHS, engine, HiGHS, ... ``--reps`` times; medians):

* **engine overhead**: ``engine.optimize(..., mip_start="none")`` (branch and bound
  directly, the same work as HiGHS alone) wall time against HiGHS's own ``run()`` on the
  identical model (``engine.export_lp`` to MPS, then a fresh ``highspy.Highs`` that reads it
  and runs with the same time limit and ``mip_rel_gap``), and their ratio;
* **0.1 % gap**: ``mip_rel_gap=1e-3`` under ``--time-limit`` (default 60 s): the status,
  the gap reached and the time (the time to a 0.1 % gap when the status is optimal);
* **root gap**: the LP relaxation (every integrality dropped) against the best objective.

``--highs-option KEY=VALUE`` (repeatable) passes a HiGHS option to both runs;
``--lp-first`` adds, interleaved, ``engine.optimize(..., mip_start="lp")``, the default path
(``"auto"``; the LP relaxation first: when its commitment is integral it is the optimum, gap
0; otherwise its rounded integers start the MILP). ``--warm-start`` adds to the HiGHS side a run that starts from the LP relaxation's
rounded genset commitment (``Highs.setSolution`` with the commitment columns only; HiGHS
completes the rest).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import engine
from benchmarks._out import emit
from engine.api import build_model
from engine.backends import solve

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "xining_microgrid.yaml"


def _load(change=None) -> Any:
    data = yaml.safe_load(EXAMPLE.read_text())
    if change is not None:
        change(data)
    return engine.Scenario.from_dict(data, base_dir=EXAMPLE.parent)


def _run(sc: Any, time_limit_s: float) -> tuple[engine.Result, float]:
    t = time.perf_counter()
    res = engine.optimize(sc, time_limit_s=time_limit_s)
    return res, time.perf_counter() - t


def _lp_bound(sc: Any) -> tuple[float, float]:
    f = build_model(sc)
    arrays = f.model.arrays()
    arrays.integrality[:] = False
    t = time.perf_counter()
    out = solve(f.model, arrays)
    return out.objective, time.perf_counter() - t


def _survival(res: engine.Result) -> dict[str, float]:
    s = res.outages.groupby("start_h")["survival_h"].first()
    return {"min": float(s.min()), "mean": float(s.mean()), "max": float(s.max()),
            "starts_below_8h": int((s < 8).sum()), "starts": int(s.size)}


def annual_scenario(change=None) -> Any:
    """The annual microgrid: the week file over the 2023 year, outage starts every 24 h."""
    def year(d):
        d["start"] = "2023-01-01 00:00"
        d["horizon_h"] = 8760
        d["policy"]["outages"]["start_every_h"] = 24
        if change is not None:
            change(d)
    return _load(year)


def _option_value(text: str) -> Any:
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _highs_own(mps: Path, time_limit_s: float, gap: float, options: dict,
               warm: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """HiGHS alone on the exported model: a fresh instance reads the MPS and runs."""
    from engine.backends.highs import new_highs

    h = new_highs()
    h.setOptionValue("output_flag", False)
    t0 = time.perf_counter()
    h.readModel(str(mps))
    t1 = time.perf_counter()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(gap))
    for k, v in options.items():
        h.setOptionValue(k, v)
    if warm is not None:
        idx, val = warm
        h.setSolution(int(idx.size), idx.astype(np.int32), val.astype(np.float64))
    h.run()
    t2 = time.perf_counter()
    info = h.getInfo()
    return {"status": h.modelStatusToString(h.getModelStatus()),
            "objective": float(info.objective_function_value), "mip_gap": float(info.mip_gap),
            "dual_bound": float(info.mip_dual_bound), "read_s": t1 - t0, "run_s": t2 - t1,
            "nodes": int(info.mip_node_count)}


def _rounded_commitment(sc: Any) -> tuple[tuple[np.ndarray, np.ndarray], float, float]:
    """The LP relaxation, and its genset commitment rounded (u to the nearest count, starts
    and stops from the rounded u) as a partial solution for ``setSolution``."""
    f = build_model(sc)
    arrays = f.model.arrays()
    arrays.integrality[:] = False
    t = time.perf_counter()
    out = solve(f.model, arrays)
    lp_s = time.perf_counter() - t
    g = f.model.var_groups
    u_idx = g["genset/units_on"].idx
    u = np.rint(out.x[u_idx])
    prev = np.concatenate([u[..., :1], u[..., :-1]], axis=-1)  # hour 0: no change assumed
    idx = [u_idx.ravel()]
    val = [u.ravel()]
    for name, v in (("genset/starts", np.maximum(u - prev, 0)),
                    ("genset/stops", np.maximum(prev - u, 0))):
        if name in g:
            idx.append(g[name].idx.ravel())
            val.append(v.ravel())
    return (np.concatenate(idx), np.concatenate(val)), out.objective, lp_s


def annual(a: argparse.Namespace) -> dict[str, Any]:
    """Engine against HiGHS's own run on the annual microgrid, interleaved (module docstring)."""
    import statistics
    import tempfile

    opts = dict(a.highs_option)
    sc = annual_scenario()
    lp, t_lp = _lp_bound(sc)
    tmp = Path(tempfile.mkdtemp())
    mps = engine.export_lp(sc, tmp / "annual_microgrid.mps")
    warm = None
    if a.warm_start:
        warm, _, t_warm_lp = _rounded_commitment(sc)
    eng, own, own_warm, eng_lp = [], [], [], []

    def run_engine(mip_start: str) -> dict[str, Any]:
        t = time.perf_counter()
        res = engine.optimize(annual_scenario(), time_limit_s=a.time_limit, mip_rel_gap=1e-3,
                              highs_options=opts, mip_start=mip_start)
        return {"wall_s": time.perf_counter() - t, "status": str(res.status),
                "objective": res.objective, "mip_gap": res.mip_gap,
                "solve_s": res.timings["solve_s"], "build_s": res.timings["build_s"]}

    for _ in range(a.reps):
        eng.append(run_engine("none"))
        own.append(_highs_own(mps, a.time_limit, 1e-3, opts))
        if a.lp_first:
            eng_lp.append(run_engine("lp"))
        if warm is not None:
            own_warm.append(_highs_own(mps, a.time_limit, 1e-3, opts, warm))
        print(json.dumps({"engine": eng[-1], "highs": own[-1],
                          **({"engine_lp_first": eng_lp[-1]} if eng_lp else {}),
                          **({"highs_warm": own_warm[-1]} if own_warm else {})}, default=float),
              flush=True)
    med = lambda rows, k: statistics.median(r[k] for r in rows)
    best = min((r["objective"] for r in eng + own + own_warm + eng_lp
                if np.isfinite(r["objective"])), default=float("nan"))
    out = {
        "model": {"rows_cols": list(map(int, build_model(sc).model.arrays().A.shape)),
                  "highs_options": opts,
                  "time_limit_s": a.time_limit, "mip_rel_gap": 1e-3, "reps": a.reps},
        "engine_wall_s_median": med(eng, "wall_s"),
        "highs_run_s_median": med(own, "run_s"),
        "overhead_ratio_median": statistics.median(e["wall_s"] / o["run_s"]
                                                   for e, o in zip(eng, own)),
        "engine": eng, "highs": own,
        "lp_relaxation": lp, "lp_s": t_lp, "best_objective": best,
        "root_gap": (best - lp) / abs(best),
    }
    if eng_lp:
        out["engine_lp_first"] = eng_lp
        out["engine_lp_first_wall_s_median"] = med(eng_lp, "wall_s")
        out["lp_first_vs_highs_ratio_median"] = statistics.median(
            e["wall_s"] / o["run_s"] for e, o in zip(eng_lp, own))
    if own_warm:
        out["highs_warm"] = own_warm
        out["highs_warm_run_s_median"] = med(own_warm, "run_s")
        out["warm_lp_s"] = t_warm_lp
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.microgrid")
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--annual", action="store_true",
                   help="the annual microgrid: engine vs HiGHS's own run, 0.1 %% gap, root gap")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--highs-option", action="append", default=[],
                   type=lambda s: (s.split("=", 1)[0], _option_value(s.split("=", 1)[1])))
    p.add_argument("--warm-start", action="store_true")
    p.add_argument("--lp-first", action="store_true",
                   help="--annual: also run engine.optimize(..., mip_start='lp'), the default path")
    a = p.parse_args(argv)
    if a.annual:
        out = annual(a)
        print(json.dumps(out, indent=1, default=float))
        if a.json is not None:
            a.json.write_text(json.dumps(out, indent=1, default=float))
        return out

    def no_rule(d):
        d["policy"]["outages"]["min_survival_h"] = 0

    def no_cap(d):
        for j in d["jobs"]:
            j.pop("power_cap", None)

    def no_outages(d):
        d["policy"].pop("outages")

    sc = _load()
    rule, t_rule = _run(sc, a.time_limit)
    lp, t_lp = _lp_bound(sc)
    free, t_free = _run(_load(no_rule), a.time_limit)
    uncapped, _ = _run(_load(no_cap), a.time_limit)
    plan, _ = _run(_load(no_outages), a.time_limit)
    it = lambda r: float(r.kpis["it_energy_mwh"])
    out = {
        "with_rule": {"objective": rule.objective, "status": str(rule.status),
                      "mip_gap": rule.mip_gap, "solve_s": rule.timings["solve_s"],
                      "total_s": t_rule, "lp_relaxation": lp, "lp_s": t_lp,
                      "root_gap": (rule.objective - lp) / abs(rule.objective),
                      "survival_h": _survival(rule),
                      "expected_unserved_critical_mwh":
                          float(rule.kpis["outage_expected_unserved_critical_mwh"]),
                      "expected_unserved_sheddable_mwh":
                          float(rule.kpis["outage_expected_unserved_sheddable_mwh"]),
                      "outage_expected_cost": float(rule.kpis["outage_expected_cost"]),
                      "genset_generation_mwh": float(rule.kpis["genset_generation_mwh"]),
                      "job_energy_saved_mwh": float(rule.kpis["job_energy_saved_mwh"])},
        "without_rule": {"objective": free.objective, "mip_gap": free.mip_gap,
                         "solve_s": free.timings["solve_s"], "total_s": t_free,
                         "survival_h": _survival(free),
                         "expected_unserved_critical_mwh":
                             float(free.kpis["outage_expected_unserved_critical_mwh"])},
        "cost_of_resilience": rule.objective - free.objective,
        "uncapped": {"objective": uncapped.objective, "it_energy_mwh": it(uncapped),
                     "it_energy_saved_by_capping_mwh": it(uncapped) - it(rule)},
        "plan_only": {"objective": plan.objective, "status": str(plan.status)},
    }
    return emit(out, a.json, default=float)


if __name__ == "__main__":  # pragma: no cover
    main()
