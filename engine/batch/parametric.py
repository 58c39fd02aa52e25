"""A sweep's model as an affine function of its swept numbers, built once and verified.

A sweep that changes only numbers (prices, sizes, floors) gives models that differ only in
their costs, bounds, right-hand sides, matrix values and objective offset -- and, for the
results, in the cost records and the numeric metadata the components keep. For most such
paths these numbers are affine in the swept value: ``v(p) = v(r) + Σ_i (p_i - r_i) s_i``.
:func:`build_map` finds the slopes ``s_i`` by building the model at probe values (a
reference ``r``, the sweep's first scenario, and one changed path at a time) and accepts
the map only if it is verified:

* **same structure** at every probe: columns, rows, integrality, the matrix's non-zero
  pattern, the cost records' columns and the metadata's non-numeric parts (so the same
  HiGHS model can hold every scenario);
* **affine in each path**: at a second changed value of each path the prediction equals the
  built model (a path with only two distinct values in the sweep is affine on them);
* **additive across paths**: at cross probes (scenarios of the sweep in which several paths
  differ from the reference at once) the prediction equals the built model;
* **the summary row** (costs and KPIs, :func:`engine.results.extract.summarize`) of the
  mapped formulation equals that of the built one at each probe, for two test points x
  (the extraction may read data the map does not carry).

"Equal" means within ``1e-9`` relative (the map's arithmetic rounds differently from the
build's); infinite bounds must be the same infinity. The map is checked on the probes only:
a dependence that is affine at three values of a path and at the cross probes but not in
between would go unnoticed (the built-in components have none such: their numbers are
products of one parameter with data). Any failed check returns None with the reason
logged, and the batch falls back to rebuilding each scenario (still re-using a HiGHS model
when the structure allows, :class:`engine.backends.reuse.ReusableHighs`).
"""
from __future__ import annotations

import copy
import logging
import math
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ParametricMap", "build_map"]

log = logging.getLogger(__name__)

#: Relative tolerance of the verification (prediction against the built model).
RTOL = 1e-9
#: Distinct values of a path up to which every one is probed (a grid's few values).
PROBE_ALL = 3
_VECTORS = ("cost", "col_lb", "col_ub", "row_lb", "row_ub", "A", "offset", "records", "meta")


class MapRejected(Exception):
    """The sweep's models are not (verifiably) one affine map; the reason is the message."""


@dataclass
class _Built:
    """One probe: its parameters, formulation, arrays and flat vectors."""

    params: np.ndarray
    f: Any
    arrays: Any
    vectors: dict[str, np.ndarray]
    skeleton: tuple


@dataclass(repr=False)
class ParametricMap:
    """Vectors of the model and the results as affine functions of the swept numbers.

    Attributes
    ----------
    paths : list of str
        The swept paths, in the order of the parameter vector.
    ref : numpy.ndarray
        The reference parameters (the sweep's first scenario).
    f : Formulation
        The reference scenario's built formulation (its model's arrays included).
    base : dict of str to numpy.ndarray
        The reference's vectors (``cost``, ``col_lb``, ``col_ub``, ``row_lb``, ``row_ub``,
        ``A`` (the CSC values), ``offset``, ``records`` (cost records), ``meta``).
    touched : dict of str to (numpy.ndarray, numpy.ndarray)
        Per vector, the positions that change with some path and their slopes
        ``(n_touched, n_paths)``.
    n_probes : int
        Models built to find and verify the map.
    records : list
        The layout of the ``records`` vector: ``(key, term, cols, coef shape)`` per cost
        record of any probe.
    """

    paths: list[str]
    ref: np.ndarray
    f: Any
    base: dict[str, np.ndarray]
    touched: dict[str, tuple[np.ndarray, np.ndarray]]
    n_probes: int = 0
    records: list = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"ParametricMap({len(self.paths)} paths, {self.n_probes} builds, changed "
                f"entries {({k: int(v[0].size) for k, v in self.touched.items()})})")

    def delta(self, params: dict[str, Any]) -> np.ndarray:
        """``p - r`` of a scenario's swept values."""
        return np.array([float(params[p]) for p in self.paths]) - self.ref

    def changes(self, params: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per vector, the touched positions and their values at ``params``."""
        dp = self.delta(params)
        return {k: (idx, self.base[k][idx] + slopes @ dp)
                for k, (idx, slopes) in self.touched.items()}

    def vectors(self, params: dict[str, Any]) -> dict[str, np.ndarray]:
        """Every vector at ``params`` (copies of the reference's with the changes)."""
        out = {}
        for k, (idx, vals) in self.changes(params).items():
            v = self.base[k].copy()
            v[idx] = vals
            out[k] = v
        for k in _VECTORS:
            out.setdefault(k, self.base[k])
        return out

    def arrays(self, params: dict[str, Any]) -> Any:
        """The solver arrays at ``params`` (:class:`engine.model.ModelArrays`)."""
        return _arrays_of(self.f.model.arrays(), self.vectors(params))

    def formulation(self, params: dict[str, Any], vectors: dict[str, np.ndarray] | None = None
                    ) -> Any:
        """The reference formulation with the cost records and the metadata at ``params``
        (what :func:`engine.results.extract.summarize` reads)."""
        v = vectors if vectors is not None else self.vectors(params)
        return _formulation_of(self.f, v, self.records)

    def formulation_of(self, changes: dict[str, tuple[np.ndarray, np.ndarray]]) -> Any:
        """:meth:`formulation` from :meth:`changes` already computed."""
        v = {}
        for k in ("records", "meta"):
            idx, vals = changes[k]
            if idx.size:
                v[k] = self.base[k].copy()
                v[k][idx] = vals
            else:
                v[k] = self.base[k]
        return _formulation_of(self.f, v, self.records)


# ---------------------------------------------------------------------- building
def build_map(paths: list[str], param_sets: list[dict[str, Any]], make: Any
              ) -> ParametricMap | None:
    """The sweep's parametric map, or None (reason logged) when it cannot be verified.

    Parameters
    ----------
    paths : list of str
        Swept paths.
    param_sets : list of dict
        Every scenario's changes (path -> value), in sweep order.
    make : callable
        ``make(params) -> Scenario``: a validated scenario of the base with ``params``.
    """
    try:
        return _build_map(paths, param_sets, make)
    except MapRejected as exc:
        log.info("sweep: no parametric map, each scenario is rebuilt: %s", exc)
        return None
    except Exception as exc:  # noqa: BLE001  (a probe that fails to build or extract:
        # the scenarios will report their own errors one by one)
        log.warning("sweep: no parametric map, each scenario is rebuilt: a probe failed "
                    "(%s: %s)", type(exc).__name__, exc)
        return None


def _build_map(paths: list[str], param_sets: list[dict[str, Any]], make: Any) -> ParametricMap:
    if not paths or not param_sets:
        raise MapRejected("nothing swept")
    P = len(paths)
    values = np.empty((len(param_sets), P))
    for j, p in enumerate(param_sets):
        for i, path in enumerate(paths):
            v = p.get(path)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise MapRejected(f"{path} = {v!r} in scenario {j} is not a finite number")
            values[j, i] = float(v)
    ref = values[0]
    # the probe points: the reference; per path the value farthest from it (the slope) and
    # one or all others (the check); then the sweep's scenarios that change the most paths
    points: list[tuple[np.ndarray, int | None]] = [(ref, None)]
    for i in range(P):
        distinct = np.unique(values[:, i])
        others = distinct[distinct != ref[i]]
        if others.size == 0:
            continue  # not changed by the sweep
        far = others[np.argmax(np.abs(others - ref[i]))]
        rest = others[others != far]
        if distinct.size > PROBE_ALL:
            rest = rest[[np.argmin(np.abs(rest - (ref[i] + far) / 2))]]
        for val, slope_of in [(far, i)] + [(v, None) for v in rest]:
            pv = ref.copy()
            pv[i] = val
            points.append((pv, slope_of))
    n_diff = (values != ref).sum(axis=1)
    for j in np.argsort(-n_diff, kind="stable")[:2]:
        if n_diff[j] >= 2:
            points.append((values[j], None))

    from engine.errors import ScenarioError

    probes: list[_Built] = []
    for pv, _ in points:
        try:
            sc = make({path: _number(pv[i], param_sets[0][path])
                       for i, path in enumerate(paths)})
        except ScenarioError as exc:
            raise MapRejected(f"a probe does not validate ({exc})") from None
        b = _build(sc, pv)
        if probes and b.skeleton != probes[0].skeleton:
            raise MapRejected(f"the model's structure changes at {_describe(paths, pv)}")
        probes.append(b)
    layout = _record_layout(probes)
    for b in probes:
        b.vectors["records"] = _record_vector(b.f, layout)
    r = probes[0]
    base = r.vectors
    slopes = {k: np.zeros((v.size, P)) for k, v in base.items()}
    for (pv, i), b in zip(points, probes):
        if i is not None:
            for k, v in b.vectors.items():
                slopes[k][:, i] = _slope(base[k], v, pv[i] - ref[i], f"{k} along {paths[i]}")
    touched = {}
    for k, sl in slopes.items():
        idx = np.flatnonzero(np.any(sl != 0.0, axis=1))
        touched[k] = (idx, np.ascontiguousarray(sl[idx]))
    m = ParametricMap(list(paths), ref, r.f, base, touched, n_probes=len(probes),
                      records=layout)
    rng = np.random.default_rng(0)
    n = r.arrays.cost.size
    xs = [rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 10.0, n)]
    for b in probes[1:]:
        params = dict(zip(paths, b.params))
        pred = m.vectors(params)
        for k in _VECTORS:
            _same(pred[k], b.vectors[k], f"{k} at {_describe(paths, b.params)}")
        _same_summary(m.formulation(params, pred), b.f, xs, _describe(paths, b.params))
    log.info("sweep: parametric map of %d path(s) from %d builds; changed entries %s", P,
             len(probes), {k: int(v[0].size) for k, v in touched.items()})
    return m


def _record_key(term: str, cols: np.ndarray, coef: Any, seen: dict) -> tuple:
    k = (term, cols.tobytes(), np.shape(coef))
    seen[k] = seen.get(k, -1) + 1
    return k + (seen[k],)


def _record_layout(probes: list[_Built]) -> list[tuple]:
    """The cost records of every probe, each once ``(key, term, cols, coef shape)``: a
    record some probes lack (a carbon price of 0 adds no carbon record) is zero there."""
    layout: dict[tuple, tuple] = {}
    for b in probes:
        seen: dict = {}
        for term, parts in b.f.costs.items():
            for cols, coef, _ in parts:
                key = _record_key(term, cols, coef, seen)
                layout.setdefault(key, (key, term, cols, np.shape(coef)))
    return list(layout.values())


def _record_vector(f: Any, layout: list[tuple]) -> np.ndarray:
    """The coefficients and constant of each record of ``layout`` in ``f`` (zero where
    ``f`` lacks it)."""
    have: dict[tuple, tuple] = {}
    seen: dict = {}
    for term, parts in f.costs.items():
        for cols, coef, const in parts:
            have[_record_key(term, cols, coef, seen)] = (coef, const)
    if len(have) != len(have.keys() & {k for k, *_ in layout}):
        raise MapRejected("a cost record outside the layout")
    out = []
    for key, _, _, shape in layout:
        coef, const = have.get(key, (np.zeros(shape), 0.0))
        out.append(np.append(np.ravel(coef), const))
    return np.concatenate(out) if out else np.zeros(0)


def _number(value: float, like: Any) -> Any:
    return int(value) if isinstance(like, int) and float(value).is_integer() else float(value)


def _describe(paths: list[str], pv: np.ndarray) -> str:
    return ", ".join(f"{p}={v:g}" for p, v in zip(paths, pv))


def _build(scenario: Any, pv: np.ndarray) -> _Built:
    from engine.model.build import build
    from engine.model.data import prepare

    f = build(prepare(scenario))
    a = f.model.arrays()
    if a.is_mip:
        raise MapRejected("the model is a MILP (a warm-started LP re-solve does not apply)")
    meta_vals: list[np.ndarray] = []
    meta_skel = _walk(f.meta, meta_vals)
    vectors = {"cost": a.cost, "col_lb": a.col_lb, "col_ub": a.col_ub, "row_lb": a.row_lb,
               "row_ub": a.row_ub, "A": a.A.data, "offset": np.array([a.offset]),
               "records": np.zeros(0),  # laid out over all probes (_record_vector)
               "meta": np.concatenate(meta_vals) if meta_vals else np.zeros(0)}
    skeleton = (a.A.shape, a.A.indptr.tobytes(), a.A.indices.tobytes(),
                a.integrality.tobytes(), pickle.dumps(meta_skel))
    return _Built(pv.copy(), f, a, vectors, skeleton)


def _walk(obj: Any, out: list[np.ndarray]) -> Any:
    """The non-numeric skeleton of ``obj``; its float leaves appended to ``out``."""
    if isinstance(obj, dict):
        return {k: _walk(v, out) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_walk(v, out) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "f":
        out.append(obj.ravel())
        return ("float", obj.shape)
    if isinstance(obj, float):
        out.append(np.array([obj]))
        return ("float", ())
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.shape, obj.tobytes())
    return obj


def _refill(obj: Any, vals: np.ndarray, pos: list[int]) -> Any:
    """``obj`` with its float leaves taken from ``vals`` (in :func:`_walk`'s order)."""
    if isinstance(obj, dict):
        return {k: _refill(v, vals, pos) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_refill(v, vals, pos) for v in obj)
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "f":
        n = obj.size
        out = vals[pos[0]:pos[0] + n].reshape(obj.shape).copy()
        pos[0] += n
        return out
    if isinstance(obj, float):
        pos[0] += 1
        return float(vals[pos[0] - 1])
    return obj


def _slope(a0: np.ndarray, a1: np.ndarray, d: float, what: str) -> np.ndarray:
    fin0, fin1 = np.isfinite(a0), np.isfinite(a1)
    if not np.array_equal(fin0, fin1) or not np.array_equal(a0[~fin0], a1[~fin1]):
        raise MapRejected(f"{what}: a bound turns infinite")
    s = np.zeros(a0.size)
    s[fin0] = (a1[fin0] - a0[fin0]) / d
    return s


def _same(pred: np.ndarray, got: np.ndarray, what: str) -> None:
    fin = np.isfinite(got)
    if not np.array_equal(fin, np.isfinite(pred)) or \
            not np.array_equal(pred[~fin], got[~fin]):
        raise MapRejected(f"{what}: infinite entries differ")
    err = np.abs(pred[fin] - got[fin]) - RTOL * np.maximum(1.0, np.abs(got[fin]))
    if err.size and err.max() > 0:
        k = int(np.argmax(err))
        raise MapRejected(f"{what}: not affine (entry {k}: predicted {pred[fin][k]!r}, "
                          f"built {got[fin][k]!r})")


def _same_summary(fm: Any, fb: Any, xs: list[np.ndarray], where: str) -> None:
    from engine.results.extract import summarize

    for x in xs:
        a, b = summarize(fm, x), summarize(fb, x)
        for part in ("costs", "kpis"):
            pa, pb = a[part], b[part]
            if list(pa.index) != list(pb.index):
                raise MapRejected(f"summary {part} at {where}: different entries")
            va, vb = pa.to_numpy(dtype=float), pb.to_numpy(dtype=float)
            nan = np.isnan(vb)
            if not np.array_equal(nan, np.isnan(va)):
                raise MapRejected(f"summary {part} at {where}: NaN differs")
            bad = np.abs(va[~nan] - vb[~nan]) > 1e-9 * np.maximum(1.0, np.abs(vb[~nan]))
            if bad.any():
                name = list(pb.index[~nan][bad])[0]
                raise MapRejected(f"summary {part}.{name} at {where}: the extraction depends "
                                  f"on the swept value beyond the map")


# ---------------------------------------------------------------------- evaluation
def _arrays_of(a0: Any, v: dict[str, np.ndarray]) -> Any:
    from engine.model.linear import CSC, ModelArrays

    A = CSC(a0.A.indptr, a0.A.indices, v["A"], a0.A.shape) if v["A"] is not a0.A.data \
        else a0.A
    return ModelArrays(cost=v["cost"], col_lb=v["col_lb"], col_ub=v["col_ub"],
                       integrality=a0.integrality, row_lb=v["row_lb"], row_ub=v["row_ub"],
                       A=A, offset=float(v["offset"][0]))


def _formulation_of(f0: Any, v: dict[str, np.ndarray], layout: list[tuple]) -> Any:
    f = copy.copy(f0)
    rec = v["records"]
    pos = 0
    costs: dict[str, list] = {}
    for _, term, cols, shape in layout:
        n = int(np.prod(shape))
        costs.setdefault(term, []).append((cols, rec[pos:pos + n].reshape(shape),
                                           float(rec[pos + n])))
        pos += n + 1
    f.costs = costs
    f.meta = _refill(f0.meta, v["meta"], [0])
    return f
