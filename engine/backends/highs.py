"""Direct highspy backend: the arrays go to HiGHS in one ``passModel`` call."""
from __future__ import annotations

import logging
import time

import numpy as np

from engine.backends.base import SolveOutput, SolverOptions
from engine.backends.diagnosis import diagnose_infeasible, error_diagnosis
from engine.model import LinearModel, ModelArrays
from engine.status import Status

log = logging.getLogger(__name__)
_banner_done = False

#: Wall-clock limit of a MILP when the caller gives none [s]. A week with a binary in many
#: hours can sit at a small gap for minutes (NOTES.md): every MILP call returns, with the
#: best solution found and its gap (status ``time_limit``). An LP has no default limit.
MIP_TIME_LIMIT_S = 60.0


def time_limit_for(options: SolverOptions, is_mip: bool) -> float | None:
    """The time limit a solve runs under: the caller's, else :data:`MIP_TIME_LIMIT_S` for a
    MILP and none (None) for an LP. ``math.inf`` lifts the default."""
    if options.time_limit_s is not None:
        return float(options.time_limit_s)
    return MIP_TIME_LIMIT_S if is_mip else None


def new_highs():
    """A fresh ``highspy.Highs``; HiGHS prints a banner to stdout on the first one in a
    process, which a library must not do, so that one is built with stdout muted."""
    global _banner_done
    import highspy

    if _banner_done:
        return highspy.Highs()
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _banner_done = True
    return h


def to_highs(arrays: ModelArrays, options: SolverOptions):
    """A ``highspy.Highs`` instance holding the model and the options (not yet run)."""
    import highspy

    h = new_highs()
    h.setOptionValue("output_flag", bool(options.log))
    if options.log:
        h.setOptionValue("log_to_console", False)
        h.cbLogging.subscribe(lambda e: log.info(str(e.message).rstrip()))
    A = arrays.A
    # the array overload of passModel takes the NumPy buffers as they are; filling a HighsLp
    # field by field costs ~10x more on an annual model
    integrality = (arrays.integrality.astype(np.int32) if arrays.is_mip
                   else np.zeros(A.shape[1], dtype=np.int32))
    status = h.passModel(
        A.shape[1], A.shape[0], A.nnz, int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize), float(arrays.offset),
        arrays.cost, arrays.col_lb, arrays.col_ub, arrays.row_lb, arrays.row_ub,
        A.indptr.astype(np.int32, copy=False), A.indices.astype(np.int32, copy=False), A.data,
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model (passModel returned kError)")
    limit = time_limit_for(options, arrays.is_mip)
    if limit is not None:
        h.setOptionValue("time_limit", limit)
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
    for key, value in options.highs_options.items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise ValueError(f"highs_options: HiGHS rejected option {key}={value!r}")
    return h


def map_status(h) -> Status:
    """Map HiGHS's model status to :class:`Status`."""
    import highspy

    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    if ms == S.kOptimal:
        return Status.OPTIMAL
    if ms == S.kInfeasible:
        return Status.INFEASIBLE
    if ms == S.kUnbounded:
        return Status.UNBOUNDED
    if ms == S.kUnboundedOrInfeasible:
        # presolve could not tell which; run_definite() re-solves without it first
        return Status.INFEASIBLE
    if ms in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit, S.kInterrupt):
        return Status.TIME_LIMIT
    return Status.ERROR


def run_definite(h) -> None:
    """``h.run()``; when presolve ends in "unbounded or infeasible", run again without
    presolve so that the status says which."""
    import highspy

    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kUnboundedOrInfeasible:
        h.setOptionValue("presolve", "off")
        h.run()


def read_outcome(h, is_mip: bool, timings: dict[str, float], diagnosis: str = "") -> SolveOutput:
    """Status, primal values (when a feasible point exists), objective, gap and iterations of
    a HiGHS instance that has run: the one place a backend reads them."""
    status = map_status(h)
    info = h.getInfo()
    x = None
    if status.has_solution and info.primal_solution_status == 2:  # kSolutionStatusFeasible
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    # a time limit before any feasible point keeps status time_limit with x None; its gap is
    # unknown (NaN), never 0, which would read as a proven optimum
    gap = (float(info.mip_gap) if is_mip else 0.0) if x is not None else float("nan")
    if status == Status.TIME_LIMIT and not diagnosis:
        import highspy

        reason = {highspy.HighsModelStatus.kTimeLimit:
                  f"time limit of {h.getOptionValue('time_limit')[1]:g} s",
                  highspy.HighsModelStatus.kIterationLimit: "iteration limit",
                  highspy.HighsModelStatus.kSolutionLimit: "solution limit",
                  }.get(h.getModelStatus(), "interruption")
        diagnosis = limit_note(reason, x is not None, gap, is_mip)
    return SolveOutput(
        status=status,
        x=x,
        objective=float(info.objective_function_value) if x is not None else float("nan"),
        mip_gap=gap,
        solver_status=h.modelStatusToString(h.getModelStatus()),
        iterations=int(max(info.simplex_iteration_count, 0) + max(info.ipm_iteration_count, 0)),
        timings=timings,
        diagnosis=diagnosis,
    )


def limit_note(reason: str, has_solution: bool, gap: float, is_mip: bool) -> str:
    """What a result stopped by a limit says: which limit, what the solution is worth and
    what to try."""
    if not has_solution:
        return (f"stopped at the solver's {reason} before any feasible solution was found; "
                f"give a larger time_limit_s")
    if is_mip:
        return (f"stopped at the solver's {reason}: the best solution found is returned, its "
                f"objective within a relative gap of {gap:.2e} of the optimum; give a larger "
                f"time_limit_s, or a larger mip_rel_gap to stop sooner")
    return (f"stopped at the solver's {reason}: the point returned is feasible but not proven "
            f"optimal; give a larger time_limit_s")


def solve_highs(model: LinearModel, arrays: ModelArrays | None, options: SolverOptions,
                release_arrays: bool = False) -> SolveOutput:
    """Solve with highspy. ``arrays=None`` takes ``model.arrays()``; with
    ``release_arrays`` the model's arrays are dropped as soon as HiGHS holds its own copy,
    so that they are gone before the solution is read (pass ``arrays=None`` then, so that
    no caller keeps them alive)."""
    t0 = time.perf_counter()
    if arrays is None:
        arrays = model.arrays()
    is_mip = arrays.is_mip
    # rows a component marked lazy (mostly slack at the optimum) generated on demand
    from engine.backends.lazy import solve_lazy

    lazy = solve_lazy(model, arrays, options, to_highs, run_definite, read_outcome)
    if lazy is not None:
        if release_arrays:
            del arrays
            model.release_arrays()
        return lazy
    # sites coupled by placed jobs: started from their pinned optima, solved apart
    from engine.backends.block_start import solve_block_start

    started = (solve_block_start(model, arrays, options, to_highs, run_definite, read_outcome)
               if options.fixed_start is None else None)
    if started is not None:
        if release_arrays:
            del arrays
            model.release_arrays()
        return started
    # parts that nothing couples (e.g. independent sites) as separate models in threads
    split = solve_blocks(arrays, options) if options.fixed_start is None else None
    if split is not None:
        if release_arrays:
            del arrays
            model.release_arrays()
        return split
    fixed_basis, reduced_s, fixed_start = None, 0.0, options.fixed_start
    limit = time_limit_for(options, is_mip)
    if "time_limit" in options.highs_options:  # set last by to_highs, over the default
        try:
            limit = float(options.highs_options["time_limit"])
        except (TypeError, ValueError):
            pass  # to_highs rejects it
    if fixed_start is not None and not is_mip:
        # the fixed LP solved in its dispatch form, its basis mapped back; sizes raised where
        # the LP with them fixed is infeasible (engine.backends.warm)
        from engine.backends.warm import raised_fixed_basis

        cols = np.asarray(fixed_start[0], dtype=np.int64)
        values = np.clip(np.asarray(fixed_start[1], dtype=np.float64), arrays.col_lb[cols],
                         arrays.col_ub[cols])
        tr = time.perf_counter()
        try:
            fixed_basis, values = raised_fixed_basis(
                arrays, cols, values, lambda a: to_highs(a, options), run_definite, limit)
        except RuntimeError as exc:  # HiGHS rejected the reduced LP: solve the fixed one
            log.debug("reduced fixed LP: %s", exc)
        fixed_start = (cols, values)
        reduced_s = time.perf_counter() - tr  # a solve: counted in run_s, not handover_s
    try:
        h = to_highs(arrays, options)
    except RuntimeError as exc:
        return SolveOutput(status=Status.ERROR, x=None, objective=float("nan"),
                           solver_status="load error", timings={"handover_s": 0.0},
                           diagnosis=f"{exc}; check the inputs behind the model's largest "
                                     f"numbers (engine.export_lp writes the model)")
    if release_arrays:
        del arrays
        model.release_arrays()
    t1 = time.perf_counter()
    solved_by_lp, lp_obj = False, float("nan")
    warm, to_lp = {}, None
    if is_mip and options.mip_start in ("lp", "auto"):
        solved_by_lp, lp_obj = _lp_first(h, options)
    elif options.fixed_start is not None and not is_mip:
        from engine.backends.warm import fix_then_free

        warm, to_lp = fix_then_free(h, *fixed_start,
                                    None if limit is None else max(limit - reduced_s, 0.0),
                                    run_definite, basis=fixed_basis)
    else:
        run_definite(h)
    t2 = time.perf_counter()
    out = read_outcome(h, is_mip and not solved_by_lp,
                       {"handover_s": t1 - t0 - reduced_s, "run_s": t2 - t1 + reduced_s, **warm})
    out.iterations += int(warm.get("fixed_iterations", 0))
    if to_lp is not None and out.x is not None:  # the freed start's step columns folded back
        out.x = to_lp(out.x)
    out.lp_relaxation = lp_obj
    if out.status == Status.INFEASIBLE:
        out.diagnosis = diagnose_infeasible(h, model)
    elif out.status == Status.ERROR:
        out.diagnosis = error_diagnosis(h, model)
    return out


def solve_blocks(arrays: ModelArrays, options: SolverOptions) -> SolveOutput | None:
    """Solve an LP block by block in threads (:mod:`engine.backends.blocks`); None when it
    is one block, a MILP, or some block is not optimal (the caller then solves it whole)."""
    if arrays.is_mip:
        return None
    import os
    from concurrent.futures import ThreadPoolExecutor

    from engine.backends.blocks import blocks_of, sub_arrays

    t0 = time.perf_counter()
    workers = int(options.threads or os.cpu_count() or 1)
    # one model per large block (merging two sites into one model brings back the
    # superlinear growth the split avoids); the pool runs ``workers`` of them at a time
    parts = blocks_of(arrays, 64)
    if parts is None:
        return None
    A = arrays.A.to_scipy()
    highs = [to_highs(sub_arrays(arrays, A, cols), options) for cols in parts]
    t1 = time.perf_counter()

    def run(h):
        run_definite(h)
        return read_outcome(h, False, {})

    with ThreadPoolExecutor(max_workers=min(workers, len(highs))) as pool:
        outs = list(pool.map(run, highs))
    t2 = time.perf_counter()
    if any(o.status != Status.OPTIMAL or o.x is None for o in outs):
        return None
    x = np.empty(arrays.A.shape[1])
    for cols, o in zip(parts, outs):
        x[cols] = o.x
    log.debug("solved %d uncoupled blocks in threads", len(parts))
    return SolveOutput(
        status=Status.OPTIMAL, x=x,
        objective=float(sum(o.objective for o in outs)) + float(arrays.offset), mip_gap=0.0,
        solver_status=outs[0].solver_status, iterations=int(sum(o.iterations for o in outs)),
        timings={"handover_s": t1 - t0, "run_s": t2 - t1}, diagnosis="")


#: An integer column whose relaxed value lies within this of an integer counts as integral.
LP_INTEGRAL_TOL = 1e-6


def _lp_first(h, options: SolverOptions) -> tuple[bool, float]:
    """``mip_start="lp"``: run the LP relaxation of the MILP held by ``h``; True when its
    solution is integral (then ``h`` holds the optimum of the MILP), else restore the
    integrality, pass the rounded integer columns as a partial MIP start and run the MILP in
    what is left of the time limit (False). Also returns the relaxation's objective (the
    root bound before cuts; NaN when the LP did not solve to optimality)."""
    import highspy

    lp = h.getLp()
    integrality = np.asarray(lp.integrality_, dtype=np.int32)
    ints = np.flatnonzero(integrality != 0).astype(np.int32)
    t0 = time.perf_counter()
    h.changeColsIntegrality(ints.size, ints, np.zeros(ints.size, dtype=np.int32))
    h.run()
    lp_obj = float("nan")
    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        lp_obj = float(h.getInfo().objective_function_value)
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)[ints]
        rounded = np.rint(x)
        if np.all(np.abs(x - rounded) <= LP_INTEGRAL_TOL):
            return True, lp_obj
    else:
        rounded = None
    h.changeColsIntegrality(ints.size, ints, integrality[ints])
    limit = time_limit_for(options, True)
    if limit is not None:
        h.setOptionValue("time_limit", max(limit - (time.perf_counter() - t0), 0.0))
    if rounded is not None:
        h.setSolution(int(ints.size), ints, rounded)
    run_definite(h)
    if limit is not None:
        h.setOptionValue("time_limit", limit)
    return False, lp_obj


class PersistentHighs:
    """One HiGHS instance kept alive across re-solves of a model whose structure is fixed.

    A rolling horizon solves the same window model many times with new numbers. Passing
    the model once and changing bounds, costs, right-hand sides and a few coefficients in
    place lets HiGHS start each solve from the previous optimal basis (warm start) instead
    of from scratch, and avoids rebuilding the matrix.

    Parameters
    ----------
    arrays : ModelArrays
        The model with its first numbers; the sparsity pattern of ``arrays.A`` is final
        (a coefficient may later change value, including to 0, but no entry is added).
    options : SolverOptions
        Solver options, as for :func:`to_highs`.
    """

    #: Whether a model with integer columns may be held (a subclass that re-solves MILPs).
    allows_mip = False

    def __init__(self, arrays: ModelArrays, options: SolverOptions) -> None:
        if arrays.is_mip and not self.allows_mip:
            raise ValueError("PersistentHighs: warm-started re-solves are for LPs only")
        self.h = to_highs(arrays, options)
        self.n_cols = arrays.A.shape[1]
        self.n_rows = arrays.A.shape[0]
        self._all_cols = np.arange(self.n_cols, dtype=np.int32)
        self._all_rows = np.arange(self.n_rows, dtype=np.int32)

    def update(
        self,
        col_lb: np.ndarray,
        col_ub: np.ndarray,
        cost: np.ndarray,
        row_lb: np.ndarray,
        row_ub: np.ndarray,
        coef_rows: np.ndarray | None = None,
        coef_cols: np.ndarray | None = None,
        coef_vals: np.ndarray | None = None,
    ) -> None:
        """Replace every column bound, cost and row bound, and the given coefficients.

        Bounds and costs go to HiGHS in three bulk calls; HiGHS offers no bulk call for
        matrix coefficients, so those go one ``changeCoeff`` each (callers pass only the
        ones whose value changed).

        Parameters
        ----------
        col_lb, col_ub, cost : numpy.ndarray, shape (n_cols,)
            Column bounds and objective coefficients.
        row_lb, row_ub : numpy.ndarray, shape (n_rows,)
            Row bounds.
        coef_rows, coef_cols, coef_vals : numpy.ndarray, optional
            Matrix entries to set, ``A[coef_rows[i], coef_cols[i]] = coef_vals[i]``; each must
            be an entry of the original sparsity pattern.
        """
        h = self.h
        h.changeColsBounds(self.n_cols, self._all_cols, col_lb, col_ub)
        h.changeColsCost(self.n_cols, self._all_cols, cost)
        h.changeRowsBounds(self.n_rows, self._all_rows, row_lb, row_ub)
        if coef_rows is not None and len(coef_rows):
            change = h.changeCoeff
            for r, c, v in zip(coef_rows.tolist(), coef_cols.tolist(), coef_vals.tolist()):
                change(r, c, v)

    def set_row_bounds(self, rows: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> None:
        """Change the bounds of the given rows only (one bulk call)."""
        rows = np.asarray(rows, dtype=np.int32)
        self.h.changeRowsBounds(int(rows.size), rows, np.asarray(lb, np.float64),
                                np.asarray(ub, np.float64))

    def row_duals(self) -> np.ndarray:
        """Row duals of the last solve, ``d objective / d row bound`` (HiGHS's sign)."""
        return np.asarray(self.h.getSolution().row_dual, dtype=np.float64)

    def run(self, solution: bool = True) -> SolveOutput:
        """Solve from the current basis; the solution, objective and simplex iterations.

        ``solution=False`` reads the objective only (``x`` is None): a re-solve that needs
        one number skips copying every column value out of HiGHS.
        """
        t0 = time.perf_counter()
        self.h.run()
        t1 = time.perf_counter()
        status = map_status(self.h)
        info = self.h.getInfo()
        x = None
        feasible = status.has_solution and info.primal_solution_status == 2
        if feasible and solution:
            x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        return SolveOutput(
            status=status,
            x=x,
            objective=float(info.objective_function_value) if feasible else float("nan"),
            solver_status=self.h.modelStatusToString(self.h.getModelStatus()),
            iterations=int(max(info.simplex_iteration_count, 0)),
            timings={"run_s": t1 - t0},
        )
