"""Experiment: the annual sizing LP started straight from the typical-day solution (issue 13).

Run ``python -m benchmarks.sizing_starts [--rounds R] [--days N] [--modes a,b,...]
[--json PATH]``.

Not used by the engine: it measures ways of skipping the fixed-capacity solve of the
started path (:func:`engine.backends.warm.fix_then_free`), which alone costs about one
dispatch LP. On ``examples/site_comparison/xining.yaml`` (8760 h, PV, wind, battery MWh and
MW, grid MW extendable) every round solves, in this process and one after the other:

* ``dispatch``: the dispatch LP at the annual optimum's sizes (capacities as inputs), cold,
  with presolve: the reference of the ratio;
* for each mode, the ``N``-typical-day sizing LP (:func:`engine.model.periods.aggregate`,
  solved cold), then the annual sizing LP from what it gives:

  - ``fixed_then_freed``: the engine's path (capacities fixed at the typical-day sizes,
    solved, freed, solved from that basis);
  - ``alien``: the typical-day model's optimal basis mapped onto the annual model (every
    calendar hour takes the statuses of the typical hour that stands for it,
    ``extra["periods"]["year_hour"]``; a monthly-peak row that of its (typical hour, month)
    row; the capacity and non-hourly columns and rows theirs; the chronological SOC column
    and its rows, which have no counterpart, basic or at a bound as the laid-out point
    below says; balance rows nonbasic) passed to ``Highs.setBasis`` with ``alien = True``
    (HiGHS factorises it and repairs rank and count), then the freed LP;
  - ``alien_fixed``: the same basis with the capacities fixed first (then freed);
  - ``crossover`` / ``crossover_dual``: the typical days laid out over the year (each hour's
    columns from its typical hour, the SOC rebuilt chronologically as ``S[d] + δ[k(d), h]``
    from the boundary states and intra-day deviations, clipped into the columns' bounds)
    passed to ``Highs.crossover`` (IPX's crossover from a starting point), with the mapped
    duals (an hourly row's or column's dual divided by its typical hour's weight, a peak
    row's by the number of calendar hours it stands for, signs made consistent with the
    point) for ``crossover_dual``; then the simplex from the basis it returns.

CPU seconds (``time.process_time``) of each step, iterations, and the objective against
the ``fixed_then_freed`` one. No timed asserts; figures printed as JSON.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._out import emit

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "site_comparison" / "xining.yaml"
MODES = ("fixed_then_freed", "alien", "alien_fixed", "crossover", "crossover_dual")
_TOL = 1e-7


def typical_solution(data: Any, n_days: int) -> dict[str, Any]:
    """The ``n_days``-typical-day sizing LP solved cold: its model, point, duals, basis."""
    import highspy

    from engine.backends import SolverOptions
    from engine.backends.highs import run_definite, to_highs
    from engine.model.build import build
    from engine.model.periods import aggregate

    agg = aggregate(data, n_days)
    g = build(agg)
    ga = g.model.arrays()
    h = to_highs(ga, SolverOptions())
    run_definite(h)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"typical-day model: {h.modelStatusToString(h.getModelStatus())}")
    sol, bas = h.getSolution(), h.getBasis()
    return {"data": agg, "model": g.model, "arrays": ga,
            "x": np.asarray(sol.col_value), "row_dual": np.asarray(sol.row_dual),
            "col_dual": np.asarray(sol.col_dual),
            "col_status": np.array([int(s) for s in bas.col_status]),
            "row_status": np.array([int(s) for s in bas.row_status]),
            "iterations": int(h.getInfo().simplex_iteration_count)}


def year_maps(f: Any, n_cols: int, n_rows: int, typ: dict[str, Any]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The typical-day column and row that stand for each annual column and row (-1: none,
    e.g. the chronological SOC and its rows)."""
    T = f.data.T
    yh = typ["data"].extra["periods"]["year_hour"]
    g = typ["model"]
    colmap = np.full(n_cols, -1, np.int64)
    rowmap = np.full(n_rows, -1, np.int64)
    for name, gr in f.model.var_groups.items():
        tg = g.var_groups.get(name)
        if tg is not None and tg.shape == gr.shape:
            colmap[gr.idx.ravel()] = tg.idx.ravel()
        elif tg is not None and gr.shape[-1] == T:
            colmap[gr.idx.ravel()] = tg.idx[..., yh].ravel()
    hours, months = typ["data"].extra["hour_month_pairs"]
    key = hours * 100 + months
    order = np.argsort(key)
    for name, gr in f.model.con_groups.items():
        tg = g.con_groups.get(name)
        if tg is None:
            continue
        if tg.shape == gr.shape:
            rowmap[gr.idx.ravel()] = tg.idx.ravel()
        elif name.endswith("/peak") and tg.shape[-1] == key.size:
            # each hour's peak row stands in the (typical hour, month) row of its pair
            pos = order[np.searchsorted(key[order], yh * 100 + f.data.month)]
            rowmap[gr.idx.ravel()] = tg.idx[..., pos].ravel()
        elif gr.shape[-1] == T and tg.shape[-1] == yh.max() + 1:
            rowmap[gr.idx.ravel()] = tg.idx[..., yh].ravel()
    return colmap, rowmap


def laid_out_point(f: Any, arrays: Any, typ: dict[str, Any], colmap: np.ndarray
                   ) -> np.ndarray:
    """The annual columns from the typical days; the SOC ``S[d] + δ[k(d), h]``; clipped."""
    x = np.where(colmap >= 0, typ["x"][np.maximum(colmap, 0)], 0.0)
    g = typ["model"]
    per = typ["data"].extra["periods"]
    order, H, T = per["order"], per["hours"], f.data.T
    if "battery/soc_mwh" in f.model.var_groups and "battery/soc_boundary_mwh" in g.var_groups:
        S = typ["x"][g.var_groups["battery/soc_boundary_mwh"].idx]
        d = typ["x"][g.var_groups["battery/soc_intra_mwh"].idx]
        days = np.arange(T) // H
        x[f.model.var_groups["battery/soc_mwh"].idx] = (
            S[:, days] + d[:, order[days] * H + np.arange(T) % H])
    return np.clip(x, arrays.col_lb, arrays.col_ub)


def _at_bounds(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float
               ) -> tuple[np.ndarray, np.ndarray]:
    atl = np.isfinite(lo) & (np.abs(v - np.where(np.isfinite(lo), lo, 0.0))
                             <= tol * (1 + np.abs(np.where(np.isfinite(lo), lo, 0.0))))
    atu = np.isfinite(hi) & (np.abs(v - np.where(np.isfinite(hi), hi, 0.0))
                             <= tol * (1 + np.abs(np.where(np.isfinite(hi), hi, 0.0))))
    return atl, atu


def point_violations(f: Any, arrays: Any, x: np.ndarray) -> dict[str, float]:
    """Largest violation of each row group by the point ``x`` (the laid-out typical days:
    the SOC rows close by construction, the balance rows do not, the calendar days' data
    being not their typical days')."""
    r = arrays.A.to_scipy() @ x
    viol = np.maximum(np.nan_to_num(arrays.row_lb - r, neginf=0.0),
                      np.nan_to_num(r - arrays.row_ub, neginf=0.0)).clip(min=0.0)
    return {name: float(viol[gr.idx].max()) for name, gr in f.model.con_groups.items()}


def alien_basis(arrays: Any, typ: dict[str, Any], colmap: np.ndarray, rowmap: np.ndarray,
                x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column and row statuses (HighsBasisStatus values): mapped ones copied, the others
    from the point ``x`` (basic inside its bounds; equality rows nonbasic)."""
    import highspy

    B = highspy.HighsBasisStatus
    lower, basic, upper = int(B.kLower), int(B.kBasic), int(B.kUpper)
    atl, atu = _at_bounds(x, arrays.col_lb, arrays.col_ub, _TOL)
    by_value = np.where(atl, lower, np.where(atu, upper, basic))
    cs = np.where(colmap >= 0, typ["col_status"][np.maximum(colmap, 0)], by_value)
    r = arrays.A.to_scipy() @ x
    atl, atu = _at_bounds(r, arrays.row_lb, arrays.row_ub, _TOL)
    by_value = np.where((arrays.row_lb == arrays.row_ub) | atl, lower,
                        np.where(atu, upper, basic))
    rs = np.where(rowmap >= 0, typ["row_status"][np.maximum(rowmap, 0)], by_value)
    return cs, rs


def mapped_duals(typ: dict[str, Any], arrays: Any, colmap: np.ndarray, rowmap: np.ndarray,
                 x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column duals of the annual model from the typical days' (per calendar hour:
    divided by the typical hour's weight), signs made consistent with ``x``."""
    w = typ["data"].extra["hour_weight"]
    g = typ["model"]
    rw = np.ones(typ["arrays"].A.shape[0])
    cw = np.ones(typ["arrays"].A.shape[1])
    for gr in g.var_groups.values():
        if gr.shape[-1] == w.size:
            cw[gr.idx] = np.broadcast_to(w, gr.shape)
    for name, gr in g.con_groups.items():
        if gr.shape[-1] == w.size:
            rw[gr.idx] = np.broadcast_to(w, gr.shape)
    # a (typical hour, month) peak row stands for every calendar hour mapped to it
    count = np.bincount(rowmap[rowmap >= 0], minlength=rw.size).astype(np.float64)
    for name, gr in g.con_groups.items():
        if name.endswith("/peak"):
            rw[gr.idx] = np.maximum(count[gr.idx], 1.0)
    y = np.where(rowmap >= 0, (typ["row_dual"] / rw)[np.maximum(rowmap, 0)], 0.0)
    z = np.where(colmap >= 0, (typ["col_dual"] / cw)[np.maximum(colmap, 0)], 0.0)
    atl, atu = _at_bounds(x, arrays.col_lb, arrays.col_ub, _TOL)
    z = np.where(atl & atu, z, np.where(atl, np.maximum(z, 0), np.where(atu, np.minimum(z, 0),
                                                                          0.0)))
    r = arrays.A.to_scipy() @ x
    atl, atu = _at_bounds(r, arrays.row_lb, arrays.row_ub, 1e-6)
    y = np.where(arrays.row_lb == arrays.row_ub, y,
                 np.where(atl, np.maximum(y, 0), np.where(atu, np.minimum(y, 0), 0.0)))
    return y, z


def started_solve(mode: str, f: Any, arrays: Any, typ: dict[str, Any]) -> dict[str, Any]:
    """The annual sizing LP from the typical-day solution, one way (module docstring)."""
    import highspy

    from engine.backends import SolverOptions
    from engine.backends.highs import run_definite, to_highs
    from engine.backends.warm import fix_then_free

    c0 = time.process_time()
    colmap, rowmap = year_maps(f, arrays.A.shape[1], arrays.A.shape[0], typ)
    x = laid_out_point(f, arrays, typ, colmap)
    caps = np.array([e["col"] for e in f.meta["sizing"] if e["col"] >= 0], dtype=np.int32)
    h = to_highs(arrays, SolverOptions())
    out: dict[str, Any] = {"mode": mode}
    c1 = time.process_time()
    if mode == "fixed_then_freed":
        out.update(fix_then_free(h, caps, x[caps], None, run_definite)[0])
    elif mode in ("alien", "alien_fixed"):
        B = highspy.HighsBasisStatus
        cs, rs = alien_basis(arrays, typ, colmap, rowmap, x)
        out["basic_given"] = int((cs == int(B.kBasic)).sum() + (rs == int(B.kBasic)).sum())
        basis = highspy.HighsBasis()
        basis.col_status = [B(int(s)) for s in cs]
        basis.row_status = [B(int(s)) for s in rs]
        basis.alien = True
        basis.valid = True
        lo, hi = arrays.col_lb[caps].copy(), arrays.col_ub[caps].copy()
        if mode == "alien_fixed":
            v = np.clip(x[caps], lo, hi)
            h.changeColsBounds(caps.size, caps, v, v)
        out["set_basis"] = str(h.setBasis(basis))
        if mode == "alien_fixed":
            t = time.process_time()
            run_definite(h)
            out["fixed_cpu_s"] = time.process_time() - t
            out["fixed_iterations"] = int(h.getInfo().simplex_iteration_count)
            h.changeColsBounds(caps.size, caps, lo, hi)
        run_definite(h)
    elif mode in ("crossover", "crossover_dual"):
        sol = highspy.HighsSolution()
        sol.col_value = x
        sol.row_value = arrays.A.to_scipy() @ x
        sol.value_valid = True
        if mode == "crossover_dual":
            y, z = mapped_duals(typ, arrays, colmap, rowmap, x)
            sol.row_dual, sol.col_dual, sol.dual_valid = y, z, True
        t = time.process_time()
        out["crossover"] = str(h.crossover(sol))
        out["crossover_cpu_s"] = time.process_time() - t
        out["after_crossover"] = h.modelStatusToString(h.getModelStatus())
        run_definite(h)
    else:
        raise ValueError(f"mode: one of {MODES}, got {mode!r}")
    c2 = time.process_time()
    out.update(setup_cpu_s=c1 - c0, annual_cpu_s=c2 - c1,
               iterations=int(h.getInfo().simplex_iteration_count),
               optimal=h.getModelStatus() == highspy.HighsModelStatus.kOptimal,
               objective=float(h.getInfo().objective_function_value))
    return out


def run(rounds: int, n_days: int, modes: list[str]) -> dict[str, Any]:
    import highspy
    import pandas as pd

    import engine
    from engine.backends import SolverOptions
    from engine.backends.highs import run_definite, to_highs
    from engine.model.build import build
    from engine.model.data import prepare
    from engine.sizes import with_sizes

    sc = engine.load_scenario(EXAMPLE)
    optimum = engine.optimize(sc)
    data = prepare(sc)
    f = build(data)
    arrays = f.model.arrays()
    dispatch = build(prepare(with_sizes(sc, pd.DataFrame(optimum.investment)))).model.arrays()
    typ = typical_solution(data, n_days)
    colmap, _ = year_maps(f, arrays.A.shape[1], arrays.A.shape[0], typ)
    violations = point_violations(f, arrays, laid_out_point(f, arrays, typ, colmap))
    rows = []
    for r in range(rounds):
        h = to_highs(dispatch, SolverOptions())
        c0 = time.process_time()
        run_definite(h)
        d_cpu = time.process_time() - c0
        d_it = int(h.getInfo().simplex_iteration_count)
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        del h
        for mode in modes:
            c0 = time.process_time()
            typ = typical_solution(data, n_days)
            c1 = time.process_time()
            row = started_solve(mode, f, arrays, typ)
            total = time.process_time() - c0
            row.update(round=r, typical_cpu_s=c1 - c0, typical_iterations=typ["iterations"],
                       total_cpu_s=total, dispatch_cpu_s=d_cpu, dispatch_iterations=d_it,
                       ratio=total / d_cpu, annual_ratio=row["annual_cpu_s"] / d_cpu,
                       objective_vs_optimum=row["objective"] / optimum.objective - 1,
                       load=os.getloadavg()[0], utc=time.strftime("%H:%M:%S", time.gmtime()))
            rows.append(row)
    med = {m: {k: float(np.median([r[k] for r in rows if r["mode"] == m]))
               for k in ("typical_cpu_s", "annual_cpu_s", "total_cpu_s", "dispatch_cpu_s",
                         "ratio", "iterations")} for m in modes}
    return {"scenario": EXAMPLE.name, "days": n_days, "optimum": float(optimum.objective),
            "laid_out_point_violations": violations, "each": rows, "median": med}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--days", type=int, default=24)
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    return emit(run(a.rounds, a.days, [m for m in a.modes.split(",") if m]), a.json)


if __name__ == "__main__":
    main()
