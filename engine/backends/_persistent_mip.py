"""A persistent HiGHS model that may hold integer columns: the flexibility envelope's MILPs.

:class:`~engine.backends.highs.PersistentHighs` keeps an LP alive and re-solves it from the
previous basis. A MILP has no basis to keep, but the same model may still be passed once and
re-solved with changed bounds (no rebuild, no new matrix), each solve started from a known
feasible point (``setSolution``: HiGHS checks it and takes it as its first incumbent, so
branch and bound starts with a bound instead of searching for one). Each re-solve is a full
branch and bound to ``mip_rel_gap``: exact within the gap, not a relaxation.

:meth:`PersistentMip.hold` is the envelope's inner loop with the Python trimmed: one bulk
row-bound call (the rows freed and the rows set), ``run``, and the objective read from
``getInfo`` -- no solution vector copied out.
"""
from __future__ import annotations

import numpy as np

from engine.backends.base import SolverOptions
from engine.backends.highs import PersistentHighs
from engine.model import ModelArrays

__all__ = ["PersistentMip"]


class PersistentMip(PersistentHighs):
    """Like :class:`~engine.backends.highs.PersistentHighs`, for an LP or a MILP.

    Parameters
    ----------
    arrays : ModelArrays
        The model with its first numbers; its sparsity pattern is final.
    options : SolverOptions
        As for :func:`~engine.backends.highs.to_highs` (``mip_rel_gap`` and
        ``time_limit_s`` apply to every re-solve of a MILP).
    """

    allows_mip = True

    def __init__(self, arrays: ModelArrays, options: SolverOptions) -> None:
        import highspy

        super().__init__(arrays, options)
        self.is_mip = bool(arrays.is_mip)
        self._optimal = highspy.HighsModelStatus.kOptimal
        self._start = None

    def set_start(self, x: np.ndarray | None) -> None:
        """The point each MILP re-solve starts from (``None``: none); ignored for an LP."""
        self._start = None if x is None else np.asarray(x, dtype=np.float64).copy()

    def hold(self, rows: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> float:
        """Set the bounds of ``rows`` (one bulk call), re-solve, return the objective
        (``nan`` unless optimal)."""
        h = self.h
        h.changeRowsBounds(int(rows.size), rows, lb, ub)
        if self.is_mip and self._start is not None:
            self._set_solution(self._start)
        h.run()
        if h.getModelStatus() != self._optimal:
            return float("nan")
        return float(h.getInfo().objective_function_value)

    def _set_solution(self, x: np.ndarray) -> None:
        import highspy

        sol = highspy.HighsSolution()
        sol.col_value = x.tolist()
        sol.value_valid = True
        self.h.setSolution(sol)
