"""Where an annual sizing LP starts: the capacities chosen on representative days.

:func:`engine.optimize` solves an annual sizing LP (capacities as columns,
:mod:`engine.model.sizing`) in two steps when ``sizing.annual_start`` is
``"representative_days"`` (the default) and the year can be represented by typical days
(:func:`engine.components.periods.check_representable`): :func:`annual_start` sizes the
year on :data:`START_DAYS` cyclic typical days (:data:`START_STORAGE`; themselves started
from :data:`PRE_START_DAYS` days' sizes; under a second on the example), and
:func:`start_columns` hands those sizes to the backend as ``SolverOptions.fixed_start``:
the annual LP is solved with the capacities fixed at them (a dispatch LP), then freed and
continued from that basis with the primal simplex
(:func:`engine.backends.warm.fix_then_free`). The optimum is the annual LP's own; only the
path to it changes (benchmarks/SIZING_RESULTS.md).
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from engine.backends import SolverOptions, solve
from engine.components.finance import investment_table
from engine.model.build import build
from engine.model.periods import aggregate

log = logging.getLogger(__name__)

__all__ = ["PRE_START_DAYS", "START_DAYS", "START_STORAGE", "annual_start", "start_columns"]

#: Typical days of the annual sizing LP's start, whatever ``sizing.representative_days``
#: (that one sets the appraisal's typical days): the start's sizes are only worth their
#: closeness to the annual optimum. On the site-comparison example (benchmarks/
#: SIZING_RESULTS.md) the freed annual solve took, from the sizes of linked days, 45-200
#: primal iterations at 36-64 days but 450-1,100 at 24-32 (each ~2 ms: the capacities'
#: dense columns are basic); 40 was chosen then to keep clear of that edge. From cyclic
#: days' sizes it took 24 at 40 days, 48-121 at 24, 36, 44 and 48, but 257 at 32 and 536
#: at 64: the count moves with the clustering, not steadily with N.
START_DAYS = 40

#: How the start's typical days model storage (:func:`engine.model.periods.aggregate`),
#: tried in turn until one gives sizes. Cyclic days (each day its own storage cycle) make
#: a far cheaper LP than days linked across the year: on the site-comparison example the
#: 40-day model solved in 0.16 s against 0.73 s, and its sizes left the annual LP 24 freed
#: iterations against 120 (benchmarks/SIZING_RESULTS.md). Linked days are the fallback for
#: a year whose cyclic days have no solution (e.g. an annual green floor that bounded
#: capacities meet only with energy stored from one day to another).
START_STORAGE = ("cyclic", "linked")

#: Typical days of the start's own start: the :data:`START_DAYS` model is solved with its
#: capacities fixed at these days' sizes, then freed (as the annual LP is). On the example
#: 48 days took 2.4 s cold (10,600 iterations) and ~0.8 s from the sizes of 4 or 12 days
#: alike; 4 days solve in ~0.2 s.
PRE_START_DAYS = 4


def _has_extendable(sc: Any) -> bool:
    from engine.sizes import _assets

    # a data center's GPU count is sized too (engine.model.sizing), though not an asset list's
    return any(getattr(getattr(a, "investment", None), "extendable", False)
               for site in sc.sites
               for a in [a for _, a in _assets(site)] + [getattr(site, "datacenter", None)])


def annual_start(sc: Any, data: Any, backend: str = "highs"
                 ) -> tuple[dict[tuple[str, str, str], float], float] | None:
    """Sizes to start an annual sizing LP from: a sizing on :data:`START_DAYS` typical days.

    Storage is modelled as :data:`START_STORAGE` says (cyclic days first, linked days when
    those give no sizes). That sizing is itself started from the sizes of
    :data:`PRE_START_DAYS` typical days (fixed, solved, freed); without them (no solution,
    an error) it is solved cold.

    Used by :func:`engine.optimize` when ``sizing.annual_start`` is
    ``"representative_days"`` (the default): the annual LP is then solved with its
    capacities fixed at these sizes, and again from that basis with them free
    (:func:`engine.backends.warm.fix_then_free`). The optimum is the annual LP's own.

    Parameters
    ----------
    sc : Scenario
    data : ScenarioData
        ``prepare(sc)`` (reused: the typical days are clustered from it).
    backend : str
        Only ``"highs"`` uses a start.

    Returns
    -------
    (dict, float) or None
        ``{(kind, name, quantity): size}`` and the seconds it took; None when the scenario
        has no extendable asset, is not a year the typical days can represent (see
        :mod:`engine.components.periods`), asks for ``annual_start: none``, uses another
        backend, is a MILP (the backend starts only an LP from fixed sizes), or the
        :data:`START_DAYS` model has no solution (or fails).
    """
    from engine.components.periods import check_representable

    sz = getattr(sc, "sizing", None)
    if backend != "highs" or (sz is not None and sz.annual_start == "none"):
        return None
    if not _has_extendable(sc):
        return None
    try:
        check_representable(sc, "a representative-day start needs")
    except ValueError as exc:
        log.info("no representative-day start for the annual sizing LP: %s", exc)
        return None
    t0 = time.perf_counter()
    sizes = None
    try:
        for storage in START_STORAGE:
            sizes = _chain(data, backend, storage)
            if sizes is not None:
                break
    except _MilpStart:
        log.info("no representative-day start: the sizing model is a MILP")
        return None
    if sizes is None:  # the annual LP is solved cold
        return None
    return sizes, time.perf_counter() - t0


class _MilpStart(Exception):
    """The typical-day sizing model is a MILP (the backend starts only an LP)."""


def _chain(data: Any, backend: str, storage: str) -> dict[tuple[str, str, str], float] | None:
    """Sizes on :data:`START_DAYS` typical days modelling storage as ``storage``, started
    from :data:`PRE_START_DAYS` days' sizes (cold without them); None without a solution."""
    sizes = None
    for n_days in (PRE_START_DAYS, START_DAYS):
        try:
            f = build(aggregate(data, n_days, storage=storage))
            if f.model.arrays().is_mip:
                raise _MilpStart
            # the larger model from the smaller one's sizes; cold when it had none
            fixed = start_columns(f, sizes) if sizes is not None else None
            out = solve(f.model, backend=backend, options=SolverOptions(fixed_start=fixed),
                        release_arrays=True)
        except _MilpStart:
            raise
        except Exception as exc:  # noqa: BLE001 -- a start is an aid only: do without it
            log.warning("no start from %d %s typical days for the annual sizing LP: %r",
                        n_days, storage, exc)
            sizes = None
            continue
        if out.x is None:
            log.info("no start from %d %s typical days: that model is %s", n_days, storage,
                     out.status)
            sizes = None
            continue
        table = investment_table(f.meta.get("sizing", []), out.x)
        sizes = {(r.kind, r.name, r.quantity): float(r.size)
                 for r in table.itertuples(index=False)}
    return sizes


def start_columns(f: Any, sizes: dict[tuple[str, str, str], float]
                  ) -> tuple[Any, Any] | None:
    """``(cols, values)`` of the capacity columns of a built model at ``sizes`` (keys as
    from :func:`annual_start`); None when no column matches."""
    pairs = [(e["col"], sizes[(e["kind"], e["name"], e["quantity"])])
             for e in f.meta.get("sizing", [])
             if e["col"] >= 0 and (e["kind"], e["name"], e["quantity"]) in sizes]
    if not pairs:
        return None
    cols, values = zip(*pairs)
    return np.array(cols, dtype=np.int64), np.array(values, dtype=np.float64)
