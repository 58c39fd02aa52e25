"""One HiGHS model re-used across the scenarios of a sweep that change only numbers.

A batch worker builds each scenario's backend-neutral arrays (cheap) and hands them to
:meth:`ReusableHighs.solve`. When the matrix has the same shape and sparsity pattern as a
model it holds (same columns, rows and non-zero positions, an LP), only what differs goes
into that model in place -- costs, column and row bounds, the objective offset and the
matrix values that changed -- and HiGHS re-solves from the previous optimal basis (a warm
start). Anything else -- another pattern, a MILP, a previous solve that did not end
optimal -- builds a new model, so a structural change falls back to a rebuild by itself.
"""
from __future__ import annotations

import hashlib
import time

import numpy as np

from engine.backends.base import SolveOutput, SolverOptions
from engine.backends.highs import diagnose_infeasible, read_outcome, run_definite, to_highs
from engine.model import LinearModel, ModelArrays
from engine.status import Status

__all__ = ["MappedHighs", "ReusableHighs", "same_structure"]


def same_structure(a: ModelArrays, b: ModelArrays) -> bool:
    """Whether two models have the same columns, rows, integrality and non-zero pattern."""
    return (a.A.shape == b.A.shape and a.A.nnz == b.A.nnz
            and np.array_equal(a.integrality, b.integrality)
            and np.array_equal(a.A.indptr, b.A.indptr)
            and np.array_equal(a.A.indices, b.A.indices))


def _changed(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    # inf == inf holds; NaN never occurs in a built model
    return np.flatnonzero(old != new).astype(np.int32)


class ReusableHighs:
    """HiGHS models kept between solves, updated in place when the structure allows.

    Up to ``max_models`` models of different structures are kept (least recently used
    first out), so that a sweep whose values switch a constraint group on and off (a
    green floor of 0 and of 0.4) still re-uses a model for each of its structures.
    Not thread-safe: keep one per thread (a batch worker keeps one per process or thread).

    Parameters
    ----------
    options : SolverOptions
        Options of every solve.
    reuse : bool
        False: always build a new model (the reference the in-place path is tested against).
    max_models : int
        Models kept, one per structure.
    """

    def __init__(self, options: SolverOptions | None = None, reuse: bool = True,
                 max_models: int = 4) -> None:
        self.options = options or SolverOptions()
        self.reuse = reuse
        self.max_models = max_models
        #: structure key -> (Highs, the arrays it holds now), most recently used last
        self._held: dict[tuple, tuple] = {}
        self.n_reused = 0
        self.n_built = 0

    def drop(self) -> None:
        """Forget every held model (the next solves build)."""
        self._held.clear()

    @staticmethod
    def _key(arrays: ModelArrays) -> tuple:
        A = arrays.A
        digest = hashlib.blake2b(A.indptr.tobytes(), digest_size=16)
        digest.update(A.indices.tobytes())
        digest.update(np.packbits(arrays.integrality).tobytes())
        return (A.shape, A.nnz, digest.hexdigest())

    def solve(self, model: LinearModel, arrays: ModelArrays) -> tuple[SolveOutput, bool]:
        """Solve ``arrays`` (the arrays of ``model``), in place when possible.

        Returns
        -------
        (SolveOutput, bool)
            The outcome (``timings`` has ``handover_s`` and ``run_s``) and whether a held
            model was updated in place.
        """
        t0 = time.perf_counter()
        key = self._key(arrays)
        held = self._held.pop(key, None)
        reused = (self.reuse and held is not None and not arrays.is_mip
                  and same_structure(held[1], arrays))
        if reused:
            h = held[0]
            self._update(h, held[1], arrays)
            self.n_reused += 1
        else:
            h = to_highs(arrays, self.options)
            self.n_built += 1
        t1 = time.perf_counter()
        run_definite(h)
        t2 = time.perf_counter()
        out = read_outcome(h, arrays.is_mip, {"handover_s": t1 - t0, "run_s": t2 - t1})
        if out.status == Status.INFEASIBLE:
            out.diagnosis = diagnose_infeasible(h, model)
        # keep it when optimal: the next scenario of this structure starts from its basis
        # (a diagnosis or a presolve-off re-run has changed a model that ended otherwise)
        if self.reuse and out.status == Status.OPTIMAL and not arrays.is_mip:
            self._held[key] = (h, arrays)
            while len(self._held) > self.max_models:
                self._held.pop(next(iter(self._held)))
        return out, reused

    @staticmethod
    def _update(h, old: ModelArrays, new: ModelArrays) -> None:
        cols = _changed(old.cost, new.cost)
        if cols.size:
            h.changeColsCost(cols.size, cols, new.cost[cols])
        cols = np.union1d(_changed(old.col_lb, new.col_lb), _changed(old.col_ub, new.col_ub))
        if cols.size:
            cols = cols.astype(np.int32)
            h.changeColsBounds(cols.size, cols, new.col_lb[cols], new.col_ub[cols])
        rows = np.union1d(_changed(old.row_lb, new.row_lb), _changed(old.row_ub, new.row_ub))
        if rows.size:
            rows = rows.astype(np.int32)
            h.changeRowsBounds(rows.size, rows, new.row_lb[rows], new.row_ub[rows])
        if new.offset != old.offset:
            h.changeObjectiveOffset(float(new.offset))
        pos = np.flatnonzero(old.A.data != new.A.data)
        if pos.size:
            # HiGHS has no bulk call for coefficients: one changeCoeff per changed entry
            col_of = np.searchsorted(new.A.indptr, pos, side="right") - 1
            change = h.changeCoeff
            for r, c, v in zip(new.A.indices[pos].tolist(), col_of.tolist(),
                               new.A.data[pos].tolist()):
                change(r, c, v)


class MappedHighs:
    """One HiGHS model whose numbers follow a sweep's parametric map.

    The batch driver finds which entries of the costs, bounds, right-hand sides and matrix
    values change with the swept numbers (:mod:`engine.batch.parametric`); each scenario
    then hands HiGHS only the touched entries whose value differs from the model's and
    re-solves from the previous basis. No scenario is prepared, built or expanded. After a
    solve that does not end optimal, the next scenario starts from a new model.

    Parameters
    ----------
    arrays : ModelArrays
        The reference model (an LP); its vectors are copied, not changed.
    options : SolverOptions
        Options of every solve.
    """

    _VECTORS = ("cost", "col_lb", "col_ub", "row_lb", "row_ub", "A")

    def __init__(self, arrays: ModelArrays, options: SolverOptions | None = None) -> None:
        if arrays.is_mip:
            raise ValueError("MappedHighs: warm-started re-solves are for LPs only")
        self.options = options or SolverOptions()
        self._a0 = arrays
        self._cur = {"cost": arrays.cost.copy(), "col_lb": arrays.col_lb.copy(),
                     "col_ub": arrays.col_ub.copy(), "row_lb": arrays.row_lb.copy(),
                     "row_ub": arrays.row_ub.copy(), "A": arrays.A.data.copy()}
        self._offset = float(arrays.offset)
        self._h = None
        self.n_reused = 0
        self.n_built = 0

    def _arrays(self) -> ModelArrays:
        from engine.model import CSC

        a0, c = self._a0, self._cur
        return ModelArrays(cost=c["cost"], col_lb=c["col_lb"], col_ub=c["col_ub"],
                           integrality=a0.integrality, row_lb=c["row_lb"], row_ub=c["row_ub"],
                           A=CSC(a0.A.indptr, a0.A.indices, c["A"], a0.A.shape),
                           offset=self._offset)

    def solve(self, model: LinearModel, changes: dict[str, tuple[np.ndarray, np.ndarray]]
              ) -> tuple[SolveOutput, bool]:
        """Set the touched entries ``changes[name] = (positions, values)`` (names ``cost``,
        ``col_lb``, ``col_ub``, ``row_lb``, ``row_ub``, ``A`` (positions in the CSC values),
        ``offset``) and solve; ``model`` names the rows of an infeasibility diagnosis.

        Returns
        -------
        (SolveOutput, bool)
            The outcome and whether the held model was updated in place.
        """
        t0 = time.perf_counter()
        h = self._h
        moved: dict[str, np.ndarray] = {}
        for name in self._VECTORS:
            ch = changes.get(name)
            if ch is None or not ch[0].size:
                continue
            idx, vals = ch
            cur = self._cur[name]
            diff = cur[idx] != vals
            if diff.any():
                pos = idx[diff]
                cur[pos] = vals[diff]
                moved[name] = pos
        off = changes.get("offset")
        new_offset = float(off[1][0]) if off is not None and off[0].size else self._offset
        reused = h is not None
        if h is None:
            self._offset = new_offset
            h = to_highs(self._arrays(), self.options)
            self.n_built += 1
        else:
            self._apply(h, moved, new_offset)
            self.n_reused += 1
        t1 = time.perf_counter()
        run_definite(h)
        t2 = time.perf_counter()
        out = read_outcome(h, False, {"handover_s": t1 - t0, "run_s": t2 - t1})
        if out.status == Status.INFEASIBLE:
            out.diagnosis = diagnose_infeasible(h, model)
        # only an optimal basis is worth starting from (a diagnosis may have changed h)
        self._h = h if out.status == Status.OPTIMAL else None
        return out, reused

    def _apply(self, h, moved: dict[str, np.ndarray], offset: float) -> None:
        c = self._cur
        pos = moved.get("cost")
        if pos is not None:
            cols = pos.astype(np.int32)
            h.changeColsCost(cols.size, cols, c["cost"][pos])
        if "col_lb" in moved or "col_ub" in moved:
            cols = np.union1d(moved.get("col_lb", []), moved.get("col_ub", [])).astype(np.int32)
            h.changeColsBounds(cols.size, cols, c["col_lb"][cols], c["col_ub"][cols])
        if "row_lb" in moved or "row_ub" in moved:
            rows = np.union1d(moved.get("row_lb", []), moved.get("row_ub", [])).astype(np.int32)
            h.changeRowsBounds(rows.size, rows, c["row_lb"][rows], c["row_ub"][rows])
        if offset != self._offset:
            h.changeObjectiveOffset(offset)
            self._offset = offset
        pos = moved.get("A")
        if pos is not None:
            A = self._a0.A
            col_of = np.searchsorted(A.indptr, pos, side="right") - 1
            change = h.changeCoeff
            for r, col, v in zip(A.indices[pos].tolist(), col_of.tolist(),
                                 c["A"][pos].tolist()):
                change(r, col, v)


def preload() -> None:
    """Import highspy (for a process that forks batch workers: they inherit it)."""
    import highspy  # noqa: F401
