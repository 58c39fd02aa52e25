"""Pyomo backend: a real, named Pyomo model solved with HiGHS through Pyomo.

One indexed ``Var`` per variable group and one indexed ``Constraint`` per constraint
group, named after the group (``battery/soc_mwh`` becomes ``battery__soc_mwh``) and
indexed by the group's shape. The model is solved with Pyomo's persistent HiGHS interface
(``pyomo.contrib.solver``'s ``highs``, ``pyomo_interface="persistent"``) or, by default and
faster, through Pyomo's ``LinearStandardFormCompiler`` whose sparse arrays go to highspy in
bulk (``pyomo_interface="standard_form"``). A user's ``model_hook(model, components)`` runs
between build and solve; ``components`` maps group names to the Pyomo components, so a
hook can write e.g. ``model.my_cap = Constraint(expr=components["grid/import_mw"][0, 5] <= 10)``.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.backends.base import SolveOutput, SolverOptions
from engine.model import LinearModel, ModelArrays
from engine.status import Status


def component_name(group: str) -> str:
    """Pyomo component name of a group name."""
    return group.replace("/", "__")


def _index(shape: tuple[int, ...]):
    return [range(n) for n in shape]


def build_pyomo(model: LinearModel, arrays: ModelArrays):
    """Build the Pyomo model; returns ``(pyomo_model, components, flat_vars)``."""
    import pyomo.environ as pe
    from pyomo.core.expr.numeric_expr import LinearExpression

    m = pe.ConcreteModel(name="wattbit")
    comps: dict[str, Any] = {}
    flat: list = []
    lb, ub = arrays.col_lb, arrays.col_ub
    for g in model.var_groups.values():
        sl = slice(g.start, g.start + g.size)
        glb = [None if math.isinf(v) else float(v) for v in lb[sl]]
        gub = [None if math.isinf(v) else float(v) for v in ub[sl]]
        domain = pe.Integers if arrays.integrality[g.start] else pe.Reals
        v = pe.Var(*_index(g.shape), domain=domain, dense=True)
        m.add_component(component_name(g.name), v)
        vals = list(v.values())
        for var, lo, hi in zip(vals, glb, gub):
            var.setlb(lo)
            var.setub(hi)
        comps[g.name] = v
        flat.extend(vals)

    A = arrays.A.tocsr()
    # plain lists: slicing them is several times cheaper than slicing arrays per row
    indptr, indices, data = A.indptr.tolist(), A.indices.tolist(), A.data.tolist()
    rlb, rub = arrays.row_lb.tolist(), arrays.row_ub.tolist()
    for g in model.con_groups.values():
        keys = range(g.shape[0]) if len(g.shape) == 1 else list(np.ndindex(*g.shape))
        exprs = {}
        for key, r in zip(keys, range(g.start, g.start + g.size)):
            a, b = indptr[r], indptr[r + 1]
            body = LinearExpression(constant=0.0, linear_coefs=data[a:b],
                                    linear_vars=[flat[c] for c in indices[a:b]])
            lo, hi = rlb[r], rub[r]
            if lo == hi:
                exprs[key] = body == lo
            else:
                exprs[key] = (None if math.isinf(lo) else lo, body, None if math.isinf(hi) else hi)
        c = pe.Constraint(*_index(g.shape), rule=exprs)
        m.add_component(component_name(g.name), c)
        comps[g.name] = c
    nz = np.flatnonzero(arrays.cost)
    m.objective = pe.Objective(
        expr=LinearExpression(
            constant=float(arrays.offset),
            linear_coefs=arrays.cost[nz].tolist(),
            linear_vars=[flat[i] for i in nz],
        ),
        sense=pe.minimize,
    )
    return m, comps, flat


def solve_pyomo(
    model: LinearModel,
    arrays: ModelArrays,
    options: SolverOptions,
    model_hook: Callable[..., None] | None = None,
) -> SolveOutput:
    """Build the Pyomo model, run the hook, solve through the chosen Pyomo path."""
    from engine.backends.highs import new_highs

    new_highs()  # mutes HiGHS's once-per-process banner before Pyomo creates its instance
    t0 = time.perf_counter()
    m, comps, flat = build_pyomo(model, arrays)
    if model_hook is not None:
        model_hook(m, comps)
    t1 = time.perf_counter()
    if options.pyomo_interface == "standard_form":
        out = _solve_standard_form(m, options, arrays.is_mip or _has_integers(m))
    elif options.pyomo_interface == "persistent":
        out = _solve_persistent(m, options)
    else:
        raise ValueError(
            f"pyomo_interface must be 'standard_form' or 'persistent', got {options.pyomo_interface!r}"
        )
    if out.status == Status.INFEASIBLE and not out.diagnosis.startswith("conflicting"):
        out.diagnosis = _engine_diagnosis(model, arrays, options) or out.diagnosis
    x = None
    if out.status.has_solution and out.x is not None:
        x = np.fromiter((v.value if v.value is not None else np.nan for v in flat), float, len(flat))
        # a variable in no constraint and no objective has no value; any point in its bounds
        # is optimal, so take the one nearest zero
        missing = np.isnan(x)
        if missing.any():
            x[missing] = np.clip(0.0, arrays.col_lb[missing], arrays.col_ub[missing])
    out.x = x
    out.timings["handover_s"] = out.timings.get("handover_s", 0.0) + (t1 - t0)
    return out


def _engine_diagnosis(model: LinearModel, arrays: ModelArrays, options: SolverOptions) -> str:
    """Without an IIS in Pyomo's names: the highs backend's diagnosis of the engine's own
    model (empty if that model alone is feasible, i.e. a hook's constraints conflict)."""
    from engine.backends.diagnosis import diagnose_infeasible
    from engine.backends.highs import map_status, run_definite, to_highs

    h = to_highs(arrays, options)
    run_definite(h)
    if map_status(h) != Status.INFEASIBLE:
        return ""
    return diagnose_infeasible(h, model)


def _has_integers(m) -> bool:
    import pyomo.environ as pe

    return any(v.is_integer() for v in m.component_data_objects(pe.Var, active=True))


def _solve_standard_form(m, options: SolverOptions, is_mip: bool) -> SolveOutput:
    """Pyomo's LinearStandardFormCompiler to sparse arrays, then highspy in bulk.

    On an annual LP this is Pyomo's fastest path to HiGHS: the contrib persistent interface
    adds variables and rows in many small calls (see NOTES/benchmarks).
    """
    import scipy.sparse as sp
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    from engine.backends.highs import read_outcome, run_definite, to_highs
    from engine.model import ModelArrays

    t0 = time.perf_counter()
    info = LinearStandardFormCompiler().write(m, mixed_form=True)
    cols = info.columns
    n = len(cols)
    sense = np.fromiter((s for _, s in info.rows), np.int64, len(info.rows))
    rhs = np.asarray(info.rhs, dtype=np.float64)
    inf = np.inf
    row_lb = np.where(sense == 1, -inf, rhs)  # +1: body <= rhs, -1: body >= rhs, 0: equality
    row_ub = np.where(sense == -1, inf, rhs)
    lb = np.fromiter((-inf if v.lb is None else v.lb for v in cols), float, n)
    ub = np.fromiter((inf if v.ub is None else v.ub for v in cols), float, n)
    integ = np.fromiter((v.is_integer() for v in cols), bool, n) if is_mip else np.zeros(n, bool)
    c = np.asarray(info.c.todense()).ravel() if info.c.shape[0] else np.zeros(n)
    arrays = ModelArrays(cost=c, col_lb=lb, col_ub=ub, integrality=integ, row_lb=row_lb,
                         row_ub=row_ub, A=_csc(sp.csc_matrix(info.A)),
                         offset=float(info.c_offset[0]))
    h = to_highs(arrays, options)
    t1 = time.perf_counter()
    run_definite(h)
    t2 = time.perf_counter()
    out = read_outcome(h, arrays.is_mip, {"handover_s": t1 - t0, "run_s": t2 - t1})
    if out.x is not None:
        for v, val in zip(cols, out.x.tolist()):
            v.set_value(val, skip_validation=True)
    elif out.status == Status.INFEASIBLE:
        out.diagnosis = _pyomo_diagnosis(h, info.rows)
    elif out.status == Status.ERROR:
        from engine.backends.diagnosis import error_diagnosis

        out.diagnosis = error_diagnosis(h)
    return out


def _pyomo_diagnosis(h, rows, max_items: int = 8) -> str:
    """The IIS in the Pyomo model's own names (the compiler reorders rows, so the engine's
    row-to-group map does not apply); group names as in the highs backend."""
    try:
        _, iis = h.getIis()
        idx = list(iis.row_index_)
    except Exception as exc:  # the IIS is a best effort; the status stands without it
        return f"(no infeasibility diagnosis: {exc})"
    if not idx:
        return ""
    by_comp: dict[str, list] = {}
    for r in idx:
        con = rows[int(r)][0]
        name = con.parent_component().name.replace("__", "/")
        by_comp.setdefault(name, []).append(con.index())
    parts = [f"{name} at {', '.join(str(k) for k in keys[:6])}"
             + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
             for name, keys in list(by_comp.items())[:max_items]]
    return "conflicting constraints: " + "; ".join(parts)


def _csc(A):
    from engine.model import CSC

    A.sum_duplicates()
    return CSC(A.indptr, A.indices, A.data, A.shape)


def _solve_persistent(m, options: SolverOptions) -> SolveOutput:
    """Pyomo's persistent HiGHS interface (``pyomo.contrib.solver``'s ``highs``)."""
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
    from pyomo.contrib.solver.solvers.highs import Highs

    from engine.backends.highs import time_limit_for

    t1 = time.perf_counter()
    opt = Highs()
    if not opt.available():
        raise RuntimeError("Pyomo's HiGHS interface is not available (is highspy installed?)")
    solver_options = {"mip_rel_gap": float(options.mip_rel_gap), **options.highs_options}
    kwargs: dict[str, Any] = {
        "load_solutions": False,
        "raise_exception_on_nonoptimal_result": False,
        "solver_options": solver_options,
        "tee": bool(options.log),
    }
    limit = time_limit_for(options, _has_integers(m))
    if limit is not None:
        kwargs["time_limit"] = limit
    if options.threads is not None:
        kwargs["threads"] = int(options.threads)
    res = opt.solve(m, **kwargs)
    t2 = time.perf_counter()
    tc = res.termination_condition
    TC = TerminationCondition
    if tc == TC.convergenceCriteriaSatisfied:
        status = Status.OPTIMAL
    elif tc in (TC.provenInfeasible, TC.locallyInfeasible, TC.infeasibleOrUnbounded):
        status = Status.INFEASIBLE
    elif tc == TC.unbounded:
        status = Status.UNBOUNDED
    elif tc in (TC.maxTimeLimit, TC.iterationLimit, TC.interrupted):
        status = Status.TIME_LIMIT
    else:
        status = Status.ERROR
    x = None
    obj = float("nan")
    gap = 0.0
    if res.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible):
        res.solution_loader.load_vars()
        x = np.zeros(0)  # values are on the Pyomo variables; read back by the caller
        obj = float(res.incumbent_objective)
        if res.objective_bound is not None and obj != 0:
            gap = abs(obj - float(res.objective_bound)) / max(abs(obj), 1e-10)
    note = ""
    if status == Status.TIME_LIMIT:
        from engine.backends.highs import limit_note

        reason = (f"time limit of {limit:g} s" if tc == TC.maxTimeLimit and limit is not None
                  else "iteration limit" if tc == TC.iterationLimit else "interruption")
        note = limit_note(reason, x is not None, gap, _has_integers(m))
    elif status == Status.ERROR:
        note = (f"HiGHS, through Pyomo's persistent interface, ended with termination condition "
                f"{tc.name} and no solution; try pyomo_interface='standard_form' or "
                f"backend='highs' for HiGHS's own report of the model's numbers")
    return SolveOutput(status=status, x=x, objective=obj, mip_gap=gap,
                       solver_status=str(tc.name), timings={"run_s": t2 - t1}, diagnosis=note)
