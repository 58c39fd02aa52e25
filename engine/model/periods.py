"""Representative days: the year clustered into typical days (tsam), storage linked across
the year (Kotzur et al. 2018, "Time series aggregation for energy system design: modeling
seasonal storage", Applied Energy 213).

:func:`aggregate` turns the prepared arrays of a year (365 days x 24 h) into ``N`` typical
days: every hourly input array of every site (prices, availability per MW, load, PUE,
emission factors, ...) is one column clustered by ``tsam.aggregate`` (hierarchical, medoid
days, column means preserved). The typical days ``k = 0..N-1`` follow each other on the
model's time axis (``T' = 24 N`` hours); day ``d`` of the year is represented by typical
day ``k(d)`` (the cluster order) and each hour of typical day ``k`` weighs ``n_k`` (its
number of days, ``sum_k n_k = 365``):

* every hourly cost coefficient is multiplied by its hour's weight
  (:meth:`~engine.model.formulation.Formulation.cost`), the annual green-share floor
  weighs each hour too, and the annualised investment terms cover a whole year;
* the demand charge keeps the year's calendar months: the peak of month ``m`` is at least
  the import of every hour of every typical day that stands for a day of ``m``
  (``extra["hour_month_pairs"]``), an upper estimate of the month's own peak;
* storage (:func:`link_storage`): within a typical day the state of charge is a deviation
  ``δ[k, h]`` from the day's start (``δ[k, -1] = 0``); across the year a state ``S[d]`` at
  each day boundary follows the cluster order::

      δ[k, h] = (1 - σ) δ[k, h-1] + η_c ch[k, h] - dis[k, h] / η_d
      S[d+1]  = (1 - σ)^24 S[d] + δ[k(d), 23]
      δmin[k] <= δ[k, h] <= δmax[k]
      SOCmin E <= S[d] + δmin[k(d)],   S[d] + δmax[k(d)] <= SOCmax E
      S[0] = initial_soc_fraction E,   terminal rule on S[365]

  (the bounds are exact without self-discharge, σ = 0, as in Kotzur et al.'s simplified
  formulation; with σ > 0 the decay within a day is ignored in them);
* with ``storage="cyclic"`` instead, each typical day is a cycle of its own (the
  chronological balance with hour 0 following hour 23 of the same day, ``SOCmin E <=
  soc[k, h] <= SOCmax E``), with no state carried between days and no initial or terminal
  rule: the older typical-day model, cheaper to solve, used only to start the annual sizing
  LP (:mod:`engine.annual_start`);
* the year's first and last days are periods of their own (``own_ends``, the default: their
  own data, weight 1, so ``N + 2`` periods for ``N`` typical days). Without them the stated
  initial state ``S[0]`` and the terminal rule on ``S[365]`` pin the boundary states of
  every typical day: a day that swings the storage through most of its window must end
  where it started, and the only way from ``S[0]`` to the daily cycle's low point is a
  drift of every day of some clusters, which narrows their window all year. On the
  site-comparison example (battery at 50 % on 1 January, ``at_least_initial``) that cost
  +16 % of the operating cost at fixed sizes with 12 typical days; with the two days of
  their own, +0.3 % (benchmarks/SIZING_RESULTS.md). The two days' data replace one day of
  their clusters each, so the column means are those of tsam's days but for those two;
* hydro energy budgets (:mod:`engine.components.hydro`) keep the calendar year's blocks
  through ``extra["periods"]["year_hour"]``, the typical hour of each hour of the year;
* ``start_hour`` (default 0) starts every period at another local hour: the year is read as
  a cycle from that hour of 1 January, its last period closing with the first
  ``start_hour`` hours of 1 January (every hour counted once, the stated initial storage
  state applying at ``start_hour``). Measured on the example for every hour 0..23 at 8, 12
  and 24 typical days: no hour is consistently better than midnight once the ends have
  their own periods (the error moves by about +-1 % from hour to hour with the clustering
  of the shifted days; 06-08 h, where the storage is lowest, was worse), so nothing exposes
  it beyond this function and the benchmark (``benchmarks.sizing --start-hours``).
"""
from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.model.formulation import Formulation
from engine.model.linear import prev_in_time

if TYPE_CHECKING:  # pragma: no cover
    from engine.model.data import ScenarioData, SiteData

log = logging.getLogger(__name__)

__all__ = ["HOURS_PER_DAY", "STORAGE_MODES", "aggregate", "link_storage"]

HOURS_PER_DAY = 24
#: How :func:`aggregate`'s typical days model storage (its ``storage`` argument).
STORAGE_MODES = ("linked", "cyclic")


def _hourly_arrays(sd: SiteData, T: int) -> dict[str, np.ndarray]:
    return {k: v for k, v in vars(sd).items()
            if k not in ("site", "weather") and isinstance(v, np.ndarray) and v.ndim >= 1
            and v.shape[-1] == T and v.size and v.dtype != bool}


def _typical_series(rep: Any, columns: list[str], n_days: int
                    ) -> dict[str, np.ndarray]:
    """Each column of tsam's representatives (rows indexed by (typical day, hour)) as the
    typical days' hours one after the other. One sort and one array instead of a ``.loc``
    per (day, column) pair, which took two thirds of :func:`aggregate` on an annual site."""
    rep = rep.sort_index()
    days = np.asarray(rep.index.get_level_values(0), dtype=np.int64)
    if rep.shape[0] == n_days * HOURS_PER_DAY and np.array_equal(
            days, np.repeat(np.arange(n_days), HOURS_PER_DAY)):
        block = rep[columns].to_numpy(dtype=np.float64)
        return {c: np.ascontiguousarray(block[:, j]) for j, c in enumerate(columns)}
    return {c: np.concatenate([rep.loc[k, c].to_numpy() for k in range(n_days)])
            for c in columns}


def aggregate(data: ScenarioData, n_days: int, start_hour: int = 0,
              own_ends: bool | None = None, storage: str = "linked") -> ScenarioData:
    """The prepared arrays of a 365-day year as ``n_days`` typical days.

    Parameters
    ----------
    data : ScenarioData
        A prepared scenario of 8760 hours starting at local midnight.
    n_days : int
        Number of typical days (1..365).
    start_hour : int
        Local hour (0..23) at which every typical day starts. The year is read as a cycle
        from hour ``start_hour`` of its first day: day ``d`` is hours
        ``start_hour + 24 d .. start_hour + 24 d + 23`` and the last one wraps around, the
        first ``start_hour`` hours of the year closing it (see the module docstring).
    own_ends : bool, optional
        Give the year's first and last days periods of their own (their own data, weight
        1), so that storage can move from its stated initial state to the daily cycle, and
        back to its terminal state, as it does in the full year (see the module docstring).
        Default: yes with linked storage, no with cyclic days (which have no such state).
    storage : {"linked", "cyclic"}
        How storage is modelled over the typical days: ``"linked"`` across the year
        (:func:`link_storage`, the default), or ``"cyclic"``: each typical day returns to its
        own starting state, nothing carried from day to day and no initial or terminal
        state (a cheaper LP, for the annual sizing LP's start: :mod:`engine.annual_start`).

    Returns
    -------
    ScenarioData
        ``24 P`` hours (``P = n_days``, or ``n_days + 2`` with ``own_ends``, or more when
        tsam appends extreme days); ``extra["hour_weight"]`` (days each hour stands for) and
        ``extra["periods"]`` (``order``: the period of each day of the year, ``counts``,
        ``hours``, ``start_hour``, ``typical_days``: the clustered periods before the two
        ends, ``year_hour``: the model hour of each calendar hour);
        ``extra["hour_month_pairs"]`` (hours, months) for the monthly peaks; the year's
        months.
    """
    import pandas as pd
    import tsam

    # here, not at the top: the battery component imports this module for link_storage
    from engine.model.data import ScenarioData, SiteData

    if not 0 <= int(start_hour) < HOURS_PER_DAY:
        raise ValueError(f"start_hour: must be 0..23, got {start_hour!r}")
    if storage not in STORAGE_MODES:
        raise ValueError(f"storage: must be one of {STORAGE_MODES}, got {storage!r}")
    if own_ends is None:
        own_ends = storage == "linked"
    T = data.T
    D = T // HOURS_PER_DAY
    h0 = int(start_hour)
    # hour t of the shifted year is hour (t + h0) mod T of the calendar year
    cal = (np.arange(T) + h0) % T
    columns: dict[str, np.ndarray] = {}
    for s, sd in enumerate(data.sites):
        for name, arr in _hourly_arrays(sd, T).items():
            rows = arr.reshape(-1, T)
            for i, row in enumerate(rows):
                columns[f"{s}|{name}|{i}"] = row[cal]
        for name, row in sd.weather.items():
            columns[f"{s}|weather:{name}|0"] = np.broadcast_to(row, (T,))[cal]
    frame = pd.DataFrame(columns, index=pd.date_range("2001-01-01", periods=T, freq="h"))
    varying = [c for c in frame if np.ptp(frame[c].to_numpy()) > 1e-12]
    if varying and n_days < D:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = tsam.aggregate(frame[varying], n_days, period_duration=HOURS_PER_DAY)
        for w in caught:
            log.info("tsam: %s", w.message)
        order = np.asarray(res.cluster_assignments, dtype=np.int64)
        rep = res.cluster_representatives
        # extreme periods appended by tsam add typical days beyond the n asked for
        n_days = int(rep.index.get_level_values(0).max()) + 1
        typical = _typical_series(rep, varying, n_days)
    else:  # nothing varies, or every day is its own typical day
        order = np.arange(D) if varying else np.zeros(D, np.int64)
        n_days = D if varying else 1
        typical = {c: frame[c].to_numpy()[:n_days * HOURS_PER_DAY] for c in varying}
    n_typical = n_days
    if own_ends and n_days < D:
        order = order.copy()
        for day in (0, D - 1):
            hrs = slice(day * HOURS_PER_DAY, (day + 1) * HOURS_PER_DAY)
            for c in typical:
                typical[c] = np.concatenate([typical[c], frame[c].to_numpy()[hrs]])
            order[day] = n_days
            n_days += 1
    counts = np.bincount(order, minlength=n_days).astype(np.float64)
    Tn = n_days * HOURS_PER_DAY
    for c in frame:
        if c not in typical:
            typical[c] = np.full(Tn, frame[c].iloc[0])
    sites = []
    for s, sd in enumerate(data.sites):
        arrays = {k: v for k, v in vars(sd).items() if k not in ("site", "weather")}
        for name, arr in _hourly_arrays(sd, T).items():
            rows = arr.reshape(-1, T).shape[0]
            arrays[name] = np.stack([typical[f"{s}|{name}|{i}"] for i in range(rows)]
                                    ).reshape(arr.shape[:-1] + (Tn,))
        for name, arr in vars(sd).items():  # boolean hours (grid availability): all up
            if isinstance(arr, np.ndarray) and arr.dtype == bool and arr.shape[-1:] == (T,):
                arrays[name] = np.ones(arr.shape[:-1] + (Tn,), dtype=bool)
        weather = {k: typical[f"{s}|weather:{k}|0"] for k in sd.weather}
        sites.append(SiteData(sd.site, weather, **arrays))
    index = data.index[cal[np.arange(Tn) % T]]  # labels only: a calendar hour per model hour
    weight = np.repeat(counts, HOURS_PER_DAY)
    # (typical hour, month) of every hour of the year, each pair once: it bounds the month's
    # peak (a shifted day can straddle two months)
    typical_hour = (order[np.arange(T) // HOURS_PER_DAY] * HOURS_PER_DAY
                    + np.arange(T) % HOURS_PER_DAY)
    hours, months = np.unique(np.stack([typical_hour, data.month[cal]]), axis=1)
    # the typical hour that stands for each hour of the calendar year
    year_hour = np.empty(T, np.int64)
    year_hour[cal] = typical_hour
    out = ScenarioData(data.scenario, index, np.zeros(Tn, np.int64), data.n_months, sites,
                       data.components, month_labels=data.month_labels,
                       month_hours=data.month_hours, month_total_hours=data.month_total_hours,
                       extra={"hour_weight": weight, "hour_month_pairs": (hours, months),
                              "periods": {"order": order, "counts": counts,
                                          "hours": HOURS_PER_DAY, "start_hour": h0,
                                          "typical_days": n_typical, "year_hour": year_hour,
                                          "storage": storage}})
    for c in data.components:
        if c.prepare_scenario is not None:
            out.extra.update(c.prepare_scenario(out))
    return out


def link_storage(f: Formulation, kind: str, ch: np.ndarray, dis: np.ndarray, *, keep: np.ndarray,
                 eta_c: np.ndarray, eta_d: np.ndarray, smin: np.ndarray, smax: np.ndarray,
                 init: np.ndarray, rule: np.ndarray, cap: Any) -> None:
    """The state of charge of ``n`` storage units over typical days, linked across the year
    (see the module docstring). ``ch``, ``dis``: ``(n, T')`` columns; ``keep = 1 - σ``,
    efficiencies, SOC fractions and ``init``: ``(n, 1)``; ``rule``: terminal rule per unit;
    ``cap``: the energy :class:`~engine.model.sizing.Capacity`."""
    per = f.data.extra["periods"]
    order, H = per["order"], per["hours"]
    n, T = ch.shape
    N = T // H
    D = order.size
    emax = cap.upper[:, None] * smax
    m = f.model
    delta = m.add_variables(f"{kind}/soc_intra_mwh", (n, T), lb=-emax, ub=emax)
    prev = prev_in_time(delta.idx)
    prev[:, ::H] = -1  # each typical day starts from its own boundary state
    m.add_constraints(f"{kind}/soc_intra_balance", (n, T),
                      [(delta.idx, 1.0), (prev, -keep), (ch, -eta_c), (dis, 1.0 / eta_d)],
                      lb=0.0, ub=0.0)
    dmax = m.add_variables(f"{kind}/soc_intra_max_mwh", (n, N), lb=-emax, ub=emax)
    dmin = m.add_variables(f"{kind}/soc_intra_min_mwh", (n, N), lb=-emax, ub=emax)
    day = np.arange(T) // H
    m.add_constraints(f"{kind}/soc_intra_below_max", (n, T),
                      [(delta.idx, 1.0), (dmax.idx[:, day], -1.0)], ub=0.0)
    m.add_constraints(f"{kind}/soc_intra_above_min", (n, T),
                      [(delta.idx, 1.0), (dmin.idx[:, day], -1.0)], lb=0.0)
    S = m.add_variables(f"{kind}/soc_boundary_mwh", (n, D + 1), lb=0.0, ub=emax)
    last = delta.idx[:, order * H + H - 1]  # (n, D): each day's net change
    m.add_constraints(f"{kind}/soc_inter_link", (n, D),
                      [(S.idx[:, 1:], 1.0), (S.idx[:, :-1], -(keep ** H)), (last, -1.0)],
                      lb=0.0, ub=0.0)
    # SOCmax E - S[d] - δmax[k(d)] >= 0 and S[d] + δmin[k(d)] - SOCmin E >= 0
    (cols, coef), const = cap.terms(np.broadcast_to(smax, (n, D)))
    m.add_constraints(f"{kind}/soc_inter_max", (n, D),
                      [(S.idx[:, :-1], 1.0), (dmax.idx[:, order], 1.0), (cols, -coef)],
                      ub=const)
    (cols, coef), const = cap.terms(np.broadcast_to(smin, (n, D)))
    m.add_constraints(f"{kind}/soc_inter_min", (n, D),
                      [(S.idx[:, :-1], 1.0), (dmin.idx[:, order], 1.0), (cols, -coef)],
                      lb=const)
    cap.limit(f, f"{kind}/soc_final_within_capacity", S.idx[:, -1:], smax)
    (cols, coef), const = cap.terms(init[:, 0])
    m.add_constraints(f"{kind}/soc_inter_initial", n, [(S.idx[:, 0], 1.0), (cols, -coef)],
                      lb=const, ub=const)
    for name, lo, hi in (("at_least_initial", 0.0, np.inf), ("equal_initial", 0.0, 0.0)):
        sel = rule == name
        if sel.any():
            m.add_constraints(f"{kind}/terminal_{name}", int(sel.sum()),
                              [(S.idx[sel, -1], 1.0), (S.idx[sel, 0], -1.0)], lb=lo, ub=hi)
