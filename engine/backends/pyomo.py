"""Pyomo backend: a real, named Pyomo model solved with HiGHS through Pyomo.

One indexed ``Var`` per variable group and one indexed ``Constraint`` per constraint
group, named after the group (``battery/soc_mwh`` becomes ``battery__soc_mwh``) and
indexed by the group's shape. The model is solved with Pyomo's persistent HiGHS interface
(``pyomo.contrib.solver``'s ``highs``). A user's ``model_hook(model, components)`` runs
between build and solve; ``components`` maps group names to the Pyomo components, so a
hook can write e.g. ``model.my_cap = Constraint(expr=components["grid/import_mw"][0, 5] <= 10)``.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional

import numpy as np

from engine.backends import SolveOutput, SolverOptions
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
    indptr, indices, data = A.indptr, A.indices, A.data
    rlb, rub = arrays.row_lb, arrays.row_ub
    for g in model.con_groups.values():
        keys = list(np.ndindex(*g.shape))

        def rule(_m, *key, _g=g):
            r = _g.start + (int(np.ravel_multi_index(key, _g.shape)) if key else 0)
            a, b = indptr[r], indptr[r + 1]
            expr = LinearExpression(
                constant=0.0,
                linear_coefs=data[a:b].tolist(),
                linear_vars=[flat[c] for c in indices[a:b]],
            )
            lo, hi = rlb[r], rub[r]
            if lo == hi:
                return expr == float(lo)
            return (None if math.isinf(lo) else float(lo), expr, None if math.isinf(hi) else float(hi))

        c = pe.Constraint(*_index(g.shape), rule=rule) if keys and g.shape else pe.Constraint(rule=rule)
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
    model_hook: Optional[Callable[..., None]] = None,
) -> SolveOutput:
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
    from pyomo.contrib.solver.solvers.highs import Highs

    from engine.backends.highs import new_highs

    new_highs()  # mutes HiGHS's once-per-process banner before Pyomo creates its instance
    t0 = time.perf_counter()
    m, comps, flat = build_pyomo(model, arrays)
    if model_hook is not None:
        model_hook(m, comps)
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
    if options.time_limit_s is not None:
        kwargs["time_limit"] = float(options.time_limit_s)
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
        x = np.fromiter((v.value if v.value is not None else 0.0 for v in flat), float, len(flat))
        obj = float(res.incumbent_objective)
        if arrays.is_mip and res.objective_bound is not None and obj != 0:
            gap = abs(obj - float(res.objective_bound)) / max(abs(obj), 1e-10)
    elif status == Status.TIME_LIMIT:
        pass
    return SolveOutput(
        status=status,
        x=x,
        objective=obj,
        mip_gap=gap,
        solver_status=str(tc.name),
        timings={"pyomo_build_s": t1 - t0, "run_s": t2 - t1},
    )
