"""The backend-neutral sparse model that the formulation writes into.

A model is a list of *variable groups* (name, shape, bounds, cost, integrality) laid out
as consecutive column blocks, and a list of *constraint groups* (name, row shape,
lower/upper bounds, coefficient triplets), all NumPy arrays. No per-element Python
object is ever created here; the backends turn the arrays into a solver model in bulk.

Terms of a constraint group are given *aligned with its rows*: a pair ``(cols, coef)``
where ``cols`` has the group's row shape (one entry per row) or the row shape plus one
trailing axis (several entries per row, ``-1`` marking an absent entry), and ``coef``
broadcasts to ``cols``. This keeps every formulation function free of loops over hours.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Term = tuple[np.ndarray, "np.ndarray | float"]


@dataclass(frozen=True)
class Group:
    """A block of consecutive indices ``start .. start + size`` with an N-d shape."""

    name: str
    start: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def idx(self) -> np.ndarray:
        """The block's indices (columns or rows), shaped like the group."""
        return np.arange(self.start, self.start + self.size, dtype=np.int64).reshape(self.shape)


class VarGroup(Group):
    """A block of columns."""


class ConGroup(Group):
    """A block of rows."""


@dataclass
class LinearModel:
    """Variables, constraints and a linear objective, stored as arrays.

    The objective is ``min cost @ x + offset``.
    """

    var_groups: dict[str, VarGroup] = field(default_factory=dict)
    con_groups: dict[str, ConGroup] = field(default_factory=dict)
    offset: float = 0.0
    _lb: list[np.ndarray] = field(default_factory=list)
    _ub: list[np.ndarray] = field(default_factory=list)
    _cost: list[np.ndarray] = field(default_factory=list)
    _int: list[np.ndarray] = field(default_factory=list)
    _row_lb: list[np.ndarray] = field(default_factory=list)
    _row_ub: list[np.ndarray] = field(default_factory=list)
    _rows: list[np.ndarray] = field(default_factory=list)
    _cols: list[np.ndarray] = field(default_factory=list)
    _vals: list[np.ndarray] = field(default_factory=list)
    _extra_cost: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0
    _arrays: ModelArrays | None = None

    def _check_open(self) -> None:
        if self._arrays is not None:
            raise RuntimeError("the model is finalised (arrays() was called); build a new one")

    # ------------------------------------------------------------------ building
    def add_variables(
        self,
        name: str,
        shape: int | Sequence[int],
        lb: float | np.ndarray = 0.0,
        ub: float | np.ndarray = np.inf,
        cost: float | np.ndarray = 0.0,
        integer: bool = False,
    ) -> VarGroup:
        """Add a group of variables; bounds and costs broadcast to ``shape``."""
        self._check_open()
        if name in self.var_groups:
            raise ValueError(f"variable group {name!r} exists already")
        shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        group = VarGroup(name, self.n_cols, shape)
        n = group.size
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), shape).ravel())
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), shape).ravel())
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), shape).ravel())
        self._int.append(np.full(n, bool(integer)))
        self.var_groups[name] = group
        self.n_cols += n
        return group

    def add_cost(self, cols: np.ndarray, coef: float | np.ndarray) -> None:
        """Add ``coef`` to the objective coefficients of ``cols`` (accumulates)."""
        self._check_open()
        cols = np.asarray(cols, dtype=np.int64)
        coef = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)
        keep = cols >= 0
        self._extra_cost.append((cols[keep].ravel(), coef[keep].ravel()))

    def add_constraints(
        self,
        name: str,
        shape: int | Sequence[int],
        terms: Sequence[Term],
        lb: float | np.ndarray = -np.inf,
        ub: float | np.ndarray = np.inf,
    ) -> ConGroup:
        """Add a group of rows ``lb <= sum(coef * x[cols]) <= ub``.

        Parameters
        ----------
        name : str
            Stable group name, e.g. ``"battery/soc_balance"``.
        shape : int or tuple
            Shape of the rows (e.g. ``(n_batteries, T)``).
        terms : sequence of (cols, coef)
            ``cols`` has shape ``shape`` or ``shape + (k,)``; entries ``< 0`` are skipped;
            ``coef`` broadcasts to ``cols.shape``.
        lb, ub : float or array
            Row bounds, broadcast to ``shape``. Use equal values for equalities.
        """
        self._check_open()
        if name in self.con_groups:
            raise ValueError(f"constraint group {name!r} exists already")
        shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        group = ConGroup(name, self.n_rows, shape)
        n = group.size
        row_ids = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64).reshape(shape)
        for cols, coef in terms:
            cols = np.asarray(cols, dtype=np.int64)
            if cols.shape == shape:
                rows = row_ids
            elif cols.shape[:-1] == shape:
                rows = np.broadcast_to(row_ids[..., None], cols.shape)
            else:
                raise ValueError(
                    f"constraint group {name!r}: term of shape {cols.shape} does not match rows "
                    f"{shape}"
                )
            vals = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape)
            keep = (cols >= 0) & (vals != 0.0)
            # int32 halves the index memory; HiGHS takes int32 indices anyway
            self._rows.append(rows[keep].astype(np.int32))
            self._cols.append(cols[keep].astype(np.int32))
            self._vals.append(vals[keep])
        self._row_lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), shape).ravel())
        self._row_ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), shape).ravel())
        self.con_groups[name] = group
        self.n_rows += n
        return group

    # ------------------------------------------------------------------ arrays
    def arrays(self) -> ModelArrays:
        """Concatenate everything into solver-ready arrays (CSC matrix).

        The first call finalises the model: the coefficient triplets move into the matrix
        (halving peak memory) and later calls return the same arrays; groups can no longer
        be added.
        """
        if self._arrays is _RELEASED:
            raise RuntimeError("the model's arrays were released after the solve; build again")
        if self._arrays is not None:
            return self._arrays
        cat = _cat_float
        cost = cat(self._cost).copy()
        for cols, coef in self._extra_cost:
            np.add.at(cost, cols, coef)
        rows = np.concatenate(self._rows) if self._rows else np.zeros(0, np.int32)
        cols = np.concatenate(self._cols) if self._cols else np.zeros(0, np.int32)
        vals = cat(self._vals)
        # the triplets live on only in the matrix: free them before it is built
        self._rows, self._cols, self._vals = [], [], []
        A = CSC.from_triplets(rows, cols, vals, (self.n_rows, self.n_cols))
        del rows, cols, vals
        self._arrays = ModelArrays(
            cost=cost,
            col_lb=cat(self._lb),
            col_ub=cat(self._ub),
            integrality=np.concatenate(self._int) if self._int else np.zeros(0, bool),
            row_lb=cat(self._row_lb),
            row_ub=cat(self._row_ub),
            A=A,
            offset=self.offset,
        )
        return self._arrays

    def release_arrays(self) -> None:
        """Drop the solver arrays once a solver holds its own copy (lowers peak memory while
        results are extracted); the groups stay, so results and diagnoses still work."""
        if self._arrays is not None:
            self._arrays = _RELEASED

    def group_of_row(self, row: int) -> tuple[str, tuple[int, ...]]:
        """Name of the constraint group holding ``row`` and the row's index inside it."""
        for g in self.con_groups.values():
            if g.start <= row < g.start + g.size:
                return g.name, tuple(int(i) for i in np.unravel_index(row - g.start, g.shape))
        raise IndexError(row)

    def group_of_col(self, col: int) -> tuple[str, tuple[int, ...]]:
        """Name of the variable group holding ``col`` and the column's index inside it."""
        for g in self.var_groups.values():
            if g.start <= col < g.start + g.size:
                return g.name, tuple(int(i) for i in np.unravel_index(col - g.start, g.shape))
        raise IndexError(col)


@dataclass
class CSC:
    """A compressed-sparse-column matrix as three arrays (what HiGHS takes).

    Built here with NumPy alone, so the solve path does not import SciPy (a few tenths of a
    second per process); :meth:`to_scipy` gives a ``scipy.sparse.csc_matrix`` when wanted.
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return int(self.data.size)

    @classmethod
    def from_triplets(cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray,
                      shape: tuple[int, int]) -> CSC:
        """Sort triplets by (column, row) and sum duplicates; indices are int32 (HiGHS's)."""
        n_cols = shape[1]
        order = np.lexsort((rows, cols))
        rows = rows[order]
        cols = cols[order]
        vals = vals[order]
        del order
        if rows.size > 1:
            dup = (rows[1:] == rows[:-1]) & (cols[1:] == cols[:-1])
            if dup.any():
                starts = np.flatnonzero(np.concatenate(([True], ~dup)))
                vals = np.add.reduceat(vals, starts)
                rows = rows[starts]
                cols = cols[starts]
        indptr = np.zeros(n_cols + 1, dtype=np.int32)
        np.cumsum(np.bincount(cols, minlength=n_cols), out=indptr[1:])
        return cls(indptr, rows.astype(np.int32, copy=False), vals, shape)

    def copy(self) -> CSC:
        """A copy with its own arrays."""
        return CSC(self.indptr.copy(), self.indices.copy(), self.data.copy(), self.shape)

    def to_scipy(self):
        """The same matrix as ``scipy.sparse.csc_matrix``."""
        import scipy.sparse as sp

        return sp.csc_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    def tocsr(self):
        """The same matrix as ``scipy.sparse.csr_matrix``."""
        return self.to_scipy().tocsr()


@dataclass
class ModelArrays:
    """Solver-ready arrays: ``min cost @ x + offset`` s.t. ``row_lb <= A x <= row_ub``."""

    cost: np.ndarray
    col_lb: np.ndarray
    col_ub: np.ndarray
    integrality: np.ndarray
    row_lb: np.ndarray
    row_ub: np.ndarray
    A: CSC
    offset: float

    @property
    def is_mip(self) -> bool:
        return bool(self.integrality.any())

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays handed to a solver."""
        A = self.A
        return int(
            sum(a.nbytes for a in (self.cost, self.col_lb, self.col_ub, self.row_lb, self.row_ub))
            + A.data.nbytes + A.indices.nbytes + A.indptr.nbytes
        )


_RELEASED = object()  # marks a model whose arrays were handed over and dropped


def _cat_float(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.float64, copy=False) if parts else np.zeros(0)


def prev_in_time(idx: np.ndarray) -> np.ndarray:
    """Column of the previous hour along the last axis; ``-1`` (absent) in the first hour."""
    out = np.full_like(idx, -1)
    out[..., 1:] = idx[..., :-1]
    return out


def grouped(
    groups: np.ndarray, n_groups: int, cols: np.ndarray, coef: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Arrange scattered entries into rows by ``groups``.

    Returns ``(cols2d, coef2d)`` of shape ``(n_groups, kmax)``, padded with column ``-1``,
    so that e.g. every in-window job power of hour ``t`` is summed into row ``t`` without a
    Python loop.
    """
    cols = np.asarray(cols, dtype=np.int64).ravel()
    coef = np.broadcast_to(np.asarray(coef, dtype=np.float64), cols.shape).ravel()
    groups = np.asarray(groups, dtype=np.int64).ravel()
    counts = np.bincount(groups, minlength=n_groups) if groups.size else np.zeros(n_groups, int)
    kmax = max(int(counts.max()) if counts.size else 0, 1)
    out_c = np.full((n_groups, kmax), -1, dtype=np.int64)
    out_v = np.zeros((n_groups, kmax))
    if cols.size:
        order = np.argsort(groups, kind="stable")
        g = groups[order]
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        pos = np.arange(g.size) - first[g]
        out_c[g, pos] = cols[order]
        out_v[g, pos] = coef[order]
    return out_c, out_v
