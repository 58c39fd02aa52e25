"""The backend-neutral sparse model that the formulation writes into.

A model is a list of *variable groups* (name, shape, bounds, cost, integrality) laid out
as consecutive column blocks, and a list of *constraint groups* (name, row shape,
lower/upper bounds, coefficient triplets), all NumPy arrays. No per-element Python
object is ever created here; the backends turn the arrays into a solver model in bulk.

Terms of a constraint group are given *aligned with its rows*: a pair ``(cols, coef)``
where ``cols`` has the group's row shape (one entry per row) or the row shape plus one
trailing axis (several entries per row, ``-1`` marking an absent entry), and ``coef``
broadcasts to ``cols``. This keeps every formulation function free of loops over hours.
A term may instead name each entry's row: a triple ``(cols, coef, rows)`` with ``rows``
(flat row positions inside the group) of the shape of ``cols``, for entries that are
scattered over rows unevenly (a job's hours, the supplies of a bus), so that nothing is
padded.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Term = (tuple[np.ndarray, "np.ndarray | float"]
        | tuple[np.ndarray, "np.ndarray | float", np.ndarray])


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
class _VarSpec:
    group: VarGroup
    lb: np.ndarray  # each broadcastable to the group's shape, kept unexpanded until arrays()
    ub: np.ndarray
    cost: np.ndarray
    integer: bool


@dataclass
class _ConSpec:
    group: ConGroup
    #: ``(cols, coef)``: ``cols`` int32 of the row shape (+ a trailing axis), ``coef``
    #: broadcastable to it and kept unexpanded (most coefficients are scalars or per-asset);
    #: or ``(cols, coef, rows)`` with explicit int32 row positions
    terms: list[tuple[np.ndarray, ...]]
    lb: np.ndarray
    ub: np.ndarray


@dataclass
class LinearModel:
    """Variables, constraints and a linear objective, stored as arrays.

    The objective is ``min cost @ x + offset``.

    Bounds, costs and coefficients are kept as given (a scalar or a per-asset column stays
    that small) and expanded only once, by :meth:`arrays`, straight into the solver's
    arrays: the model never holds a second full copy of the matrix. The model keeps
    references to the arrays it is given, so callers must not modify them afterwards.
    """

    var_groups: dict[str, VarGroup] = field(default_factory=dict)
    con_groups: dict[str, ConGroup] = field(default_factory=dict)
    offset: float = 0.0
    #: What a backend's diagnosis may want to know beyond the arrays, by topic (e.g.
    #: ``"green_share"``: the fossil and facility terms of the green-share floor).
    notes: dict = field(default_factory=dict)
    _vars: list[_VarSpec] = field(default_factory=list)
    _cons: list[_ConSpec] = field(default_factory=list)
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
        spec = _VarSpec(group, *(_broadcastable(v, shape, f"variable group {name!r}: {what}")
                                 for v, what in ((lb, "lb"), (ub, "ub"), (cost, "cost"))),
                        bool(integer))
        self._vars.append(spec)
        self.var_groups[name] = group
        self.n_cols += group.size
        return group

    def add_cost(self, cols: np.ndarray, coef: float | np.ndarray) -> None:
        """Add ``coef`` to the objective coefficients of ``cols`` (accumulates; ``cols < 0``
        are skipped)."""
        self._check_open()
        cols = np.asarray(cols)
        if cols.size and not np.issubdtype(cols.dtype, np.integer):
            raise ValueError(f"add_cost: cols must be integer column indices, got {cols.dtype}")
        self._extra_cost.append((cols, _broadcastable(coef, cols.shape, "add_cost: coef")))

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
            ``coef`` broadcasts to ``cols.shape``; zero coefficients are dropped. A triple
            ``(cols, coef, rows)`` gives each entry's flat row position inside the group
            (``rows`` broadcasts to ``cols.shape``) instead.
        lb, ub : float or array
            Row bounds, broadcast to ``shape``. Use equal values for equalities.
        """
        self._check_open()
        if name in self.con_groups:
            raise ValueError(f"constraint group {name!r} exists already")
        shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        group = ConGroup(name, self.n_rows, shape)
        stored = []
        for term in terms:
            if len(term) not in (2, 3):
                raise ValueError(f"constraint group {name!r}: a term is (cols, coef) or "
                                 f"(cols, coef, rows), got {len(term)} items")
            cols = np.asarray(term[0])
            rows = None
            if len(term) == 3:
                rows = np.asarray(term[2])
                try:
                    np.broadcast_to(rows, cols.shape)
                except ValueError:
                    raise ValueError(f"constraint group {name!r}: rows of shape {rows.shape} "
                                     f"do not broadcast to cols of shape {cols.shape}") from None
                if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= group.size):
                    raise ValueError(f"constraint group {name!r}: row positions must lie in "
                                     f"[0, {group.size}), got {int(rows.min())}..{int(rows.max())}")
            elif cols.shape != shape and cols.shape[:-1] != shape:
                raise ValueError(
                    f"constraint group {name!r}: term of shape {cols.shape} does not match rows "
                    f"{shape}"
                )
            if cols.size and int(cols.max()) >= self.n_cols:
                raise ValueError(f"constraint group {name!r}: column {int(cols.max())} does not "
                                 f"exist ({self.n_cols} columns)")
            # int32 halves the index memory; HiGHS takes int32 indices anyway (rows stay
            # unexpanded when they broadcast, like coefficients)
            entry = (cols.astype(np.int32),
                     _broadcastable(term[1], cols.shape, f"constraint group {name!r}: coef"))
            stored.append(entry if rows is None else (*entry, rows.astype(np.int32)))
        self._cons.append(_ConSpec(
            group, stored, _broadcastable(lb, shape, f"constraint group {name!r}: lb"),
            _broadcastable(ub, shape, f"constraint group {name!r}: ub")))
        self.con_groups[name] = group
        self.n_rows += group.size
        return group

    # ------------------------------------------------------------------ arrays
    def arrays(self) -> ModelArrays:
        """Expand everything into solver-ready arrays (CSC matrix).

        The first call finalises the model: each group's terms are written straight into
        the matrix and dropped (peak memory stays near the size of the result), later calls
        return the same arrays and groups can no longer be added.
        """
        if self._arrays is _RELEASED:
            raise RuntimeError("the model's arrays were released after the solve; build again")
        if self._arrays is not None:
            return self._arrays
        n, m = self.n_cols, self.n_rows
        # the matrix first: its terms are freed while it is written, before the vectors
        # below take their room
        A = _csc_from_groups(self._cons, m, n)
        cost, col_lb, col_ub = np.empty(n), np.empty(n), np.empty(n)
        integrality = np.zeros(n, dtype=bool)
        for v in self._vars:
            g = v.group
            for out, val in ((cost, v.cost), (col_lb, v.lb), (col_ub, v.ub)):
                out[g.start:g.start + g.size].reshape(g.shape)[...] = val
            integrality[g.start:g.start + g.size] = v.integer
        for cols, coef in self._extra_cost:
            keep = cols >= 0
            np.add.at(cost, cols[keep], np.broadcast_to(coef, cols.shape)[keep])
        row_lb, row_ub = np.empty(m), np.empty(m)
        for c in self._cons:
            g = c.group
            row_lb[g.start:g.start + g.size].reshape(g.shape)[...] = c.lb
            row_ub[g.start:g.start + g.size].reshape(g.shape)[...] = c.ub
        self._vars, self._cons, self._extra_cost = [], [], []
        self._arrays = ModelArrays(cost=cost, col_lb=col_lb, col_ub=col_ub,
                                   integrality=integrality, row_lb=row_lb, row_ub=row_ub, A=A,
                                   offset=self.offset)
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


def _broadcastable(value: float | np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``value`` as float64, unexpanded, after checking that it broadcasts to ``shape``."""
    arr = np.asarray(value, dtype=np.float64)
    try:
        np.broadcast_to(arr, shape)  # a view: checks without allocating
    except ValueError:
        raise ValueError(f"{what}: shape {arr.shape} does not broadcast to {shape}") from None
    return arr


def _term_entries(term: tuple[np.ndarray, ...], group: ConGroup
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries ``(rows, cols, vals)`` of one stored term (absent columns and zero
    coefficients dropped), in the term's own order."""
    cols, coef = term[0], np.broadcast_to(term[1], term[0].shape)
    keep = (cols >= 0) & (coef != 0.0)
    if len(term) == 3:
        rows = np.broadcast_to(term[2], cols.shape)[keep]
    else:
        # an aligned term runs row-major with cols.size // group.size entries per row
        per_row = cols.size // group.size if group.size else 1
        rows = np.flatnonzero(keep.ravel()).astype(np.int32)
        if per_row > 1:
            rows //= np.int32(per_row)
    rows += np.int32(group.start)
    return rows, cols[keep], coef[keep]


def _csc_from_groups(cons: list[_ConSpec], n_rows: int, n_cols: int) -> CSC:
    """The CSC matrix of all constraint groups, written in place without a global sort.

    Two passes over the terms: the first counts the entries of each column (giving
    ``indptr``), the second writes each term's entries, stably sorted by column, at the
    next free slots of their columns. Only one term is expanded at a time, and each
    group's terms are dropped once written, so the peak stays near the matrix's own size.
    Terms come in row order of their groups, so rows are almost always already sorted
    within each column; the rare columns where they are not are sorted afterwards, and
    repeated (row, column) entries are summed, so the result equals
    :meth:`CSC.from_triplets` of all entries.
    """
    indptr = np.zeros(n_cols + 1, dtype=np.int64)
    for spec in cons:
        for term in spec.terms:
            cols, coef = term[0], term[1]
            keep = (cols >= 0) & (np.broadcast_to(coef, cols.shape) != 0.0)
            indptr[1:] += np.bincount(cols[keep], minlength=n_cols)
    np.cumsum(indptr, out=indptr)
    nnz = int(indptr[-1])
    if nnz >= 2**31:
        raise ValueError(f"the matrix has {nnz} non-zeros; HiGHS's int32 indices allow < 2**31")
    indptr = indptr.astype(np.int32)
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float64)
    nxt = indptr[:-1].copy()
    for spec in cons:
        terms, spec.terms = spec.terms, []  # written below: the group's copy goes with them
        while terms:
            rows, cols, vals = _term_entries(terms.pop(0), spec.group)
            if not cols.size:
                continue
            order = np.argsort(cols, kind="stable")
            rows, cols, vals = rows[order], cols[order], vals[order]
            del order
            first = np.empty(cols.size, dtype=bool)
            first[0] = True
            np.not_equal(cols[1:], cols[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            del first
            run = np.diff(np.append(starts, cols.size))
            # slot = next free slot of the column + rank of the entry within its run
            pos = np.arange(cols.size, dtype=np.int64)
            pos -= np.repeat(starts, run)
            pos += nxt[cols]
            indices[pos] = rows
            data[pos] = vals
            nxt[cols[starts]] += run.astype(np.int32)
    A = CSC(indptr, indices, data, (n_rows, n_cols))
    return _sum_duplicates(_sort_rows(A))


def _within_column(A: CSC) -> np.ndarray:
    """Mask over ``A.indices[1:]``: whether entry ``p + 1`` lies in the same column as ``p``."""
    same = np.ones(max(A.indices.size - 1, 0), dtype=bool)
    ends = A.indptr[1:-1]
    same[ends[(ends > 0) & (ends < A.indices.size)] - 1] = False
    return same


def _sort_rows(A: CSC) -> CSC:
    """Sort the row indices within each column (only the columns that need it)."""
    ind = A.indices
    if ind.size < 2:
        return A
    bad = (ind[1:] < ind[:-1]) & _within_column(A)
    if not bad.any():
        return A
    col_of = np.repeat(np.arange(A.shape[1], dtype=np.int64), np.diff(A.indptr))
    cols = np.unique(col_of[1:][bad])
    sel = np.isin(col_of, cols)
    pos = np.flatnonzero(sel)
    order = np.lexsort((ind[pos], col_of[pos]))
    ind[pos] = ind[pos][order]
    A.data[pos] = A.data[pos][order]
    return A


def _sum_duplicates(A: CSC) -> CSC:
    """Merge entries of equal (row, column) (a variable named twice in one row)."""
    ind = A.indices
    if ind.size < 2:
        return A
    # equal rows across a column boundary are not duplicates
    dup = (ind[1:] == ind[:-1]) & _within_column(A)
    if not dup.any():
        return A
    keep = np.concatenate(([True], ~dup))
    starts = np.flatnonzero(keep)
    data = np.add.reduceat(A.data, starts)
    col_of = np.repeat(np.arange(A.shape[1], dtype=np.int64), np.diff(A.indptr))[starts]
    indptr = np.zeros(A.shape[1] + 1, dtype=np.int32)
    np.cumsum(np.bincount(col_of, minlength=A.shape[1]), out=indptr[1:])
    return CSC(indptr, ind[starts], data, A.shape)


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
