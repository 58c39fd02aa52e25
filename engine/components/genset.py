"""Gensets (gas or diesel generators): unit commitment, a mixed-integer model.

A genset entry is ``units`` identical units of ``max_power_mw`` each. Each unit is a row
``i`` of its own with a binary commitment, unless ``aggregate: true``: then the entry is one
row whose commitment is an integer count ``0..N`` (fewer integers and no symmetric copies
of one schedule; when it is exact is said below). For row ``i``
(``N_i`` units: 1, or ``units`` when aggregated) and hour ``t`` (``Δ = 1 h``)::

    u[i, t] in {0..N_i}  committed units,   v[i, t], w[i, t] >= 0  starts and stops
    u[i, t] - u[i, t-1] = v[i, t] - w[i, t],         u[i, -1] = units on before the horizon
    sum_{τ = t-UT+1..t} v[i, τ] <= u[i, t]             (minimum up time, tight form)
    sum_{τ = t-DT+1..t} w[i, τ] <= N_i - u[i, t]       (minimum down time, tight form)
    Pmin u[i, t] <= p[i, t] <= Pmax u[i, t]
    p[t] - p[t-1] <= RU (u[t] - v[t]) + SU v[t] - Pmin w[t]        (ramp up)
    p[t-1] - p[t] <= RD (u[t-1] - w[t]) + SD w[t] - Pmin v[t]      (ramp down)
    p[t] <= Pmax u[t] - (Pmax - SU) v[t] - (Pmax - SD) w[t+1]      (start/stop capacity)
    fuel[i, t] >= a_k u[i, t] + b_k p[i, t]     for every segment k of the fuel curve
    stock[g, t] = stock[g, t-1] - sum_{i of g} fuel[i, t] + delivery[g, t] >= 0,
        stock[g, -1] = fuel_stock_mwh_th                 (only with a fuel stock)
    cost: start_cost v  ("start"),  fuel_price[t] fuel  ("fuel"),
          carbon_price * emission_kg_per_mwh_th / 1000 * fuel  ("carbon")
    fossil[s, t] += p[i, t]   (every MWh of a genset counts against the green-share floor)
    sum_{i at s} Pmax_i u[i, t] >= PUE crit[s, t] (+ Pmax_largest)   (the data center's
        critical_reserve "n" ("n+1") in its hours: genset/critical_reserve)

Windows before hour 0 are cut off: the initial state takes their place. Units on before the
horizon for ``h0 = initial_hours_in_state`` hours stay on for the first ``max(0, UT - h0)``
hours; units off stay off for the first ``max(0, DT - h0)`` hours (bounds on ``u``).

Tightness: with ``UT, DT >= 1`` the windows' last terms are ``v[t] <= u[t]`` and
``w[t] <= N_i - u[t]``, so for a single unit an integral ``u`` fixes ``v`` and ``w``: only
``u`` is declared integer (an aggregated row declares ``v``, ``w`` integer too, where a start
and a stop in the same hour are a real swap of units). The min up/down sums are the convex
hull of the min up/down polytope (Rajan and Takriti, 2005). The ramp rows are the usual ones
with start-up and shut-down ramps ``SU = max(Pmin, RU)``, ``SD = max(Pmin, RD)`` (a unit
reaches at least its minimum in the hour it starts, and may stop from at least its minimum);
the ``- Pmin w`` / ``- Pmin v`` terms say that a stopping (starting) unit produced (produces)
at least ``Pmin``. The start/stop capacity row (Morales-España, Latorre and Ramos, 2013;
two rows, one for starts and one for stops, when ``UT = 1``) is implied by the ramps for
integral ``u`` but cuts the LP relaxation; it is written only where ``SU`` or ``SD`` is
below ``Pmax``. Ramps are MW per hour per unit; without a ramp field there is no ramp row
(``SU = SD = Pmax``). Before the horizon ``p[-1]`` is ``initial_power_mw`` per unit on (0
when none is on); a genset that is on with no ``initial_power_mw`` has no ramp row in hour 0.

Binaries only where they change the answer: a genset with ``Pmin = 0``, no no-load fuel and
no start cost loses nothing by staying committed (for ``k >= 1`` the fuel lines' ``a_k`` are
negative, so a larger ``u`` never raises the fuel bound), so its ``u`` is fixed at its upper
bound (the initial state's obligations kept) and declared continuous; a scenario whose
gensets are all like that stays an LP.

An aggregated row is exact for commitment, min up/down time (a count that meets the sums can
be split into units that each meet them; Knueven, Ostrowski and Wang, 2018) and fuel (with a
convex curve, sharing the load equally among the committed units is optimal); where
ramps bind, its ramp rows bound the total and a per-unit split is not guaranteed.

Sizing (``investment.extendable``, :mod:`engine.model.sizing`): the number of units is an
integer column ``n_e`` in ``[min_units, max_units]`` (``genset/capacity_units``; the
stated ``units`` are the existing ones), the entry is modelled as one aggregated row and its
count ``N`` becomes ``n_e`` in the rows above::

    u[t] <= n_e   (genset/units_built),    sum_{τ = t-DT+1..t} w[τ] + u[t] - n_e <= 0
    capex, fixed_om = (per MW costs) * max_power_mw * (n_e - units)   (annualised)

so the capacity ``n_e * Pmax`` bounds the power through ``p <= Pmax u``. Not with
``policy.outages`` (its scenarios read the stated units).

The fuel curve (MWh_th per hour of one unit) is convex piecewise linear:
``fuel(p) = fuel_no_load_mwh_th_per_h + integral of the incremental heat rate``, whose
slopes ``fuel_slopes_mwh_th_per_mwh`` hold between the breakpoints ``fuel_breakpoints_mw``
and must not decrease. Its segments are the lines ``a_k + b_k p`` with ``b_k`` the k-th slope
and ``a_0`` the no-load fuel, ``a_k = a_{k-1} + (b_{k-1} - b_k) bp_{k-1}``.
"""
from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction, full
from engine.model.formulation import Formulation
from engine.model.linear import prev_in_time
from engine.model.sizing import capacities
from engine.scenario.base import Amount, Bool, Cost, Integer, Model, PositiveAmount
from engine.scenario.finance import Investment
from engine.scenario.series import Series

__all__ = ["COMPONENT", "FuelDelivery", "Genset", "GensetInvestment"]


class GensetInvestment(Investment):
    """A genset's investment: sized in whole units of ``max_power_mw``.

    ``capex_per_mw`` and ``fixed_om_per_mw_year`` are per MW of unit rating (a unit costs
    them times ``max_power_mw``). With ``extendable`` the unit count is an integer in
    ``[min_units, max_units]`` (``min_units`` defaults to the stated ``units``; ``max_units``
    is required); the MW and MWh bounds of other assets do not apply.
    """

    min_units: Annotated[Integer, Field(ge=0)] | None = None
    max_units: Annotated[Integer, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _units_only(self) -> GensetInvestment:
        for key in ("min_mw", "max_mw", "min_mwh", "max_mwh", "energy_to_power_ratio_h"):
            if getattr(self, key) is not None:
                raise ValueError(f"{key}: a genset is sized in units (min_units, max_units), "
                                 f"got {getattr(self, key):g}")
        for key in ("capex_per_mwh", "fixed_om_per_mwh_year"):
            if getattr(self, key):
                raise ValueError(f"{key}: a genset has no energy capacity (use the per-MW "
                                 f"costs), got {getattr(self, key):g}")
        if self.min_units is not None and self.max_units is not None \
                and self.min_units > self.max_units:
            raise ValueError(f"min_units: extendable bounds inverted: must be <= "
                             f"max_units={self.max_units}, got {self.min_units}")
        return self

    def check_bounds(self, existing: float, *, energy: bool = False) -> tuple[float, float]:
        """``(lower, upper)`` unit counts given the ``existing`` (stated) units."""
        if self.max_units is None:
            raise ValueError("investment.max_units: required for an extendable genset, got None")
        lower = int(existing) if self.min_units is None else self.min_units
        if lower < existing:
            raise ValueError(f"investment.min_units: must be >= the stated (existing) units "
                             f"{existing:g}, got {lower}")
        if self.max_units < lower:
            raise ValueError(f"investment.max_units: extendable bounds inverted: must be >= "
                             f"{lower}, got {self.max_units}")
        return float(lower), float(self.max_units)


class FuelDelivery(Model):
    """Fuel that arrives at the start of ``hour`` (usable in that hour)."""

    hour: Annotated[Integer, Field(ge=0)]
    fuel_mwh_th: Amount


class Genset(Model):
    """``units`` identical generators with unit commitment (see the module's equations).

    Powers are per unit [MW]; fuel is thermal energy [MWh_th] (gas or diesel by its heating
    value); ramps [MW/h] per unit; times [h]. ``aggregate`` models the units as one integer
    count instead of one binary each: far fewer symmetric branches (one week of four units
    in the example: ~2 s against ~50 s), the same optimum unless ramps bind (then a
    relaxation: the module docstring says why). ``initial_units_on`` units were on, and the
    others off, for ``initial_hours_in_state`` hours before the horizon (None: long enough
    that no minimum up or down time is left), each at ``initial_power_mw``.
    ``fuel_stock_mwh_th`` (None: no limit) is the fuel in the tank at the start;
    ``fuel_deliveries`` refill it. ``investment`` (a :class:`GensetInvestment`) prices the
    units added to the stated ``units`` and, ``extendable``, makes their count a decision
    (``units`` may be 0: none exist yet, as in the business-as-usual case of a new site).
    """

    name: str
    units: Annotated[Integer, Field(ge=0)] = 1
    aggregate: Bool = False
    max_power_mw: PositiveAmount
    min_power_mw: Amount = 0.0
    ramp_up_mw_per_h: Amount | None = None
    ramp_down_mw_per_h: Amount | None = None
    min_up_h: Annotated[Integer, Field(ge=1)] = 1
    min_down_h: Annotated[Integer, Field(ge=1)] = 1
    start_cost: Cost = 0.0
    fuel_no_load_mwh_th_per_h: Amount = 0.0
    fuel_slopes_mwh_th_per_mwh: Annotated[list[PositiveAmount], Field(min_length=1)]
    fuel_breakpoints_mw: list[PositiveAmount] = Field(default_factory=list)
    fuel_price_per_mwh_th: Series
    emission_kg_per_mwh_th: Amount
    fuel_stock_mwh_th: Amount | None = None
    fuel_deliveries: list[FuelDelivery] = Field(default_factory=list)
    initial_units_on: Annotated[Integer, Field(ge=0)] = 0
    initial_hours_in_state: Annotated[Integer, Field(ge=1)] | None = None
    initial_power_mw: Amount | None = None
    investment: GensetInvestment | None = None

    @property
    def extendable(self) -> bool:
        """Whether the unit count is a decision (``investment.extendable``)."""
        return self.investment is not None and self.investment.extendable

    @model_validator(mode="after")
    def _check(self) -> Genset:
        if self.extendable:
            self.investment.check_bounds(self.units)
        if self.min_power_mw > self.max_power_mw:
            raise ValueError(f"min_power_mw: must be <= max_power_mw={self.max_power_mw:g}, "
                             f"got {self.min_power_mw:g}")
        slopes, bps = self.fuel_slopes_mwh_th_per_mwh, self.fuel_breakpoints_mw
        if len(bps) != len(slopes) - 1:
            raise ValueError(f"fuel_breakpoints_mw: must hold one breakpoint between each two "
                             f"slopes ({len(slopes) - 1}), got {len(bps)}")
        if any(b <= a for a, b in pairwise(bps)) or (bps and bps[-1] >= self.max_power_mw):
            raise ValueError(f"fuel_breakpoints_mw: must increase strictly inside (0, "
                             f"max_power_mw={self.max_power_mw:g}), got {bps}")
        down = [k for k in range(1, len(slopes)) if slopes[k] < slopes[k - 1]]
        if down:
            k = down[0]
            raise ValueError(f"fuel_slopes_mwh_th_per_mwh: must not decrease (a convex fuel "
                             f"curve), got {slopes[k]:g} after {slopes[k - 1]:g} at segment {k}")
        if self.fuel_deliveries and self.fuel_stock_mwh_th is None:
            raise ValueError(f"fuel_deliveries: need a fuel_stock_mwh_th (the tank they "
                             f"refill), got {len(self.fuel_deliveries)} delivery(ies)")
        if self.initial_units_on > self.units:
            raise ValueError(f"initial_units_on: must be <= units={self.units}, "
                             f"got {self.initial_units_on}")
        if self.initial_power_mw is not None:
            if self.initial_units_on == 0:
                raise ValueError(f"initial_power_mw: must be absent when no unit is on "
                                 f"(initial_units_on=0), got {self.initial_power_mw:g}")
            if not self.min_power_mw <= self.initial_power_mw <= self.max_power_mw:
                raise ValueError(
                    f"initial_power_mw: must be in [min_power_mw, max_power_mw] = "
                    f"[{self.min_power_mw:g}, {self.max_power_mw:g}], got {self.initial_power_mw:g}")
        return self

    def fuel_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Intercepts ``a_k`` [MWh_th/h] and slopes ``b_k`` [MWh_th/MWh] of the fuel curve's
        segments (one unit): ``fuel(p) = max_k a_k + b_k p`` for a committed unit."""
        b = np.asarray(self.fuel_slopes_mwh_th_per_mwh, dtype=np.float64)
        steps = -np.diff(b) * np.asarray(self.fuel_breakpoints_mw, dtype=np.float64)
        a = self.fuel_no_load_mwh_th_per_h + np.concatenate(([0.0], np.cumsum(steps)))
        return a, b


def check(scenario: Any) -> None:
    T = scenario.horizon_h
    outages = getattr(scenario.policy, "outages", None) is not None
    for i, site in enumerate(scenario.sites):
        for k, g in enumerate(site.gensets):
            path = f"sites[{i}].gensets[{k}]"
            if outages and g.extendable:
                raise ValueError(f"{path}.investment.extendable: not with policy.outages (its "
                                 f"scenarios use the stated units), got True")
            for what in ("min_up_h", "min_down_h"):
                if getattr(g, what) > T:
                    raise ValueError(f"{path}.{what}: must be <= horizon_h={T}, "
                                     f"got {getattr(g, what)}")
            for j, d in enumerate(g.fuel_deliveries):
                if d.hour >= T:
                    raise ValueError(f"{path}.fuel_deliveries[{j}].hour: must be < "
                                     f"horizon_h={T}, got {d.hour}")


def _rows(f: Formulation) -> dict[str, Any]:
    """One row per modelled unit (or per aggregated entry) and the per-row parameters."""
    entries = [(s, g) for s, sd in enumerate(f.data.sites) for g in sd.site.gensets]
    if not entries:
        return {"n": 0}
    T = f.T
    entry, count, u0, on_first, off_first = [], [], [], [], []
    for e, (_, g) in enumerate(entries):
        keep_on = max(0, g.min_up_h - g.initial_hours_in_state) if g.initial_hours_in_state else 0
        keep_off = max(0, g.min_down_h - g.initial_hours_in_state) if g.initial_hours_in_state else 0
        if g.aggregate or g.extendable or g.units == 0:  # (no units: one empty row)
            entry.append(e)
            count.append(g.units)
            u0.append(g.initial_units_on)
            on_first.append(keep_on)
            off_first.append(keep_off)
        else:
            for k in range(g.units):
                on = int(k < g.initial_units_on)
                entry.append(e)
                count.append(1)
                u0.append(on)
                on_first.append(keep_on if on else 0)
                off_first.append(0 if on else keep_off)
    entry_arr = np.array(entry, dtype=np.int64)
    gens = [g for _, g in entries]
    per_entry = lambda fn: np.array([fn(g) for g in gens], dtype=np.float64)[entry_arr]
    n = len(entry)
    hours = np.arange(T)[None, :]
    u0_arr = np.array(u0, dtype=np.float64)
    count_arr = np.array(count, dtype=np.float64)
    # initial obligations: the units on (off) at the start keep their state for a while
    u_lb = np.where(hours < np.array(on_first)[:, None], u0_arr[:, None], 0.0)
    u_ub = np.where(hours < np.array(off_first)[:, None], u0_arr[:, None], count_arr[:, None])
    p0 = np.array([(g.initial_power_mw or 0.0) for g in gens])[entry_arr] * u0_arr
    p0_known = np.array([g.initial_units_on == 0 or g.initial_power_mw is not None
                         for g in gens])[entry_arr] | (u0_arr == 0)
    return {
        "entries": entries, "n": n, "entry": entry_arr,
        "site": np.array([s for s, _ in entries], dtype=np.int64)[entry_arr],
        "count": count_arr, "u0": u0_arr, "u_lb": u_lb, "u_ub": u_ub, "p0": p0,
        "p0_known": p0_known,
        "aggregate": np.array([g.aggregate or g.extendable or g.units == 0
                               for g in gens])[entry_arr],
        "pmin": per_entry(lambda g: g.min_power_mw), "pmax": per_entry(lambda g: g.max_power_mw),
        "ut": per_entry(lambda g: g.min_up_h).astype(np.int64),
        "dt": per_entry(lambda g: g.min_down_h).astype(np.int64),
        "ru": per_entry(lambda g: np.nan if g.ramp_up_mw_per_h is None else g.ramp_up_mw_per_h),
        "rd": per_entry(lambda g: np.nan if g.ramp_down_mw_per_h is None
                        else g.ramp_down_mw_per_h),
    }


def _window(idx: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``(n, T, max length)`` columns of ``idx[i, t-length_i+1 .. t]`` (``-1`` where the
    window reaches before hour 0 or beyond the row's own length)."""
    n, T = idx.shape
    L = int(length.max())
    lag = np.arange(L)
    t_back = np.arange(T)[None, :, None] - lag[None, None, :]  # (1, T, L)
    ok = (t_back >= 0) & (lag[None, None, :] < length[:, None, None])
    cols = idx[np.arange(n)[:, None, None], np.clip(t_back, 0, None)]
    return np.where(ok, cols, -1)


def add(f: Formulation) -> None:
    R = _rows(f)
    n = R["n"]
    if not n:
        return
    T = f.T
    m = f.model
    col = lambda key: R[key][:, None]
    N, pmin, pmax, u0 = col("count"), col("pmin"), col("pmax"), col("u0")
    gens = [g for _, g in R["entries"]]
    cap = capacities(f, "genset", "units", gens, [g.name for g in gens],
                     np.array([g.units for g in gens], dtype=np.float64),
                     unit_mw=np.array([g.max_power_mw for g in gens]))
    n_col = cap.cols[R["entry"]]                      # the unit-count column of a row, or -1
    ext = n_col >= 0
    N_max = np.where(ext, cap.upper[R["entry"]], R["count"])[:, None]  # most units of a row
    # a row that loses nothing by staying committed (Pmin = 0, no no-load fuel, no start
    # cost) keeps u at its upper bound: no integer is needed for it (module docstring)
    free = np.array([g.min_power_mw == 0 and g.fuel_no_load_mwh_th_per_h == 0
                     and g.start_cost == 0 for _, g in R["entries"]])[R["entry"]]
    u_ub = np.where(ext[:, None] & (R["u_ub"] == N), N_max, R["u_ub"])
    u_lb = np.where(free[:, None] & ~ext[:, None], u_ub, R["u_lb"])
    need = bool((~free).any())
    agg = R["aggregate"] & ~free
    u = m.add_variables("genset/units_on", (n, T), lb=u_lb, ub=u_ub, integer=need)
    # a single unit's starts and stops follow from an integral u (module docstring);
    # aggregated rows keep them integral (a start and a stop in one hour is a swap)
    v = m.add_variables("genset/starts", (n, T), ub=N_max, integer=bool(agg.any()))
    w = m.add_variables("genset/stops", (n, T), ub=N_max, integer=bool(agg.any()))
    p = m.add_variables("genset/power_mw", (n, T), ub=N_max * pmax)
    u_prev = prev_in_time(u.idx)
    first = np.zeros((n, T))
    first[:, :1] = u0
    m.add_constraints("genset/commitment", (n, T),
                      [(u.idx, 1.0), (u_prev, -1.0), (v.idx, -1.0), (w.idx, 1.0)],
                      lb=first, ub=first)
    m.add_constraints("genset/min_up", (n, T), [(_window(v.idx, R["ut"]), 1.0), (u.idx, -1.0)],
                      ub=0.0)
    built = np.broadcast_to(n_col[:, None], (n, T))   # -1 (no term) on fixed rows
    m.add_constraints("genset/min_down", (n, T), [(_window(w.idx, R["dt"]), 1.0), (u.idx, 1.0),
                                                  (built, -1.0)],
                      ub=np.where(ext[:, None], 0.0, np.broadcast_to(N, (n, T))))
    if ext.any():
        m.add_constraints("genset/units_built", (int(ext.sum()), T),
                          [(u.idx[ext], 1.0), (built[ext], -1.0)], ub=0.0)
    m.add_constraints("genset/min_power", (n, T), [(p.idx, 1.0), (u.idx, -pmin)], lb=0.0)
    m.add_constraints("genset/max_power", (n, T), [(p.idx, 1.0), (u.idx, -pmax)], ub=0.0)
    _add_ramps(f, R, u, v, w, p)
    fuel = _add_fuel(f, R, u, p)
    sites = R["site"]
    f.inject(p.idx, sites, 1.0)
    f.fossil(p.idx, sites, 1.0)
    _add_reserve(f, R, u)
    start_cost = np.array([g.start_cost for _, g in R["entries"]])[R["entry"]][:, None]
    if np.any(start_cost):
        f.cost("start", v.idx, start_cost)
    f.meta["genset"] = {**{k: R[k] for k in ("entry", "site", "count")},
                        "names": [g.name for _, g in R["entries"]],
                        "entry_site": np.array([s for s, _ in R["entries"]], dtype=np.int64),
                        "emission": np.array([g.emission_kg_per_mwh_th for _, g in R["entries"]]),
                        "lines": [g.fuel_lines() for _, g in R["entries"]],
                        "stocked": fuel}


def _add_reserve(f: Formulation, R: dict[str, Any], u) -> None:
    """The data center's critical reserve (:mod:`engine.components.datacenter`): committed
    capacity at the site covers ``PUE * crit`` (+ the largest unit for N+1) in its hours
    (a site without a grid is islanded in every hour). The largest unit is the site's
    largest of all, so with units of different sizes the N+1 row is conservative (exact for
    identical units). One group, ``genset/critical_reserve``, one row per (site, hour)."""
    T = f.T
    terms, need = [], []
    for s, sd in enumerate(f.data.sites):
        rule = getattr(sd, "critical_reserve", None)
        rows = np.flatnonzero(R["site"] == s)
        if rule is None or not rows.size:
            continue
        kind, when = rule
        crit = sd.pue * (sd.critical_it_mw if sd.tiered else sd.inflexible_it_mw)
        req = crit + (R["pmax"][rows].max() if kind == "n+1" else 0.0)
        up = np.asarray(getattr(sd, "grid_available", np.zeros(0, bool)), bool)
        hours = np.flatnonzero(~up) if when == "outages" and up.size else np.arange(T)
        if not hours.size:
            continue
        cols = u.idx[rows][:, hours].T                      # (hours, units of the site)
        row_of = np.broadcast_to((len(need) + np.arange(hours.size))[:, None], cols.shape)
        terms.append((cols, np.broadcast_to(R["pmax"][rows], cols.shape), row_of))
        need.extend(req[hours].tolist())
    if terms:
        f.model.add_constraints("genset/critical_reserve", len(need), terms,
                                lb=np.array(need))


def _add_ramps(f: Formulation, R: dict[str, Any], u, v, w, p) -> None:
    """Ramp-up and ramp-down rows for the rows that have a ramp limit (module docstring)."""
    T = f.T
    p0 = R["p0"][:, None]
    known = R["p0_known"]
    for direction, rate_key in (("up", "ru"), ("down", "rd")):
        sel = np.flatnonzero(~np.isnan(R[rate_key]))
        if not sel.size:
            continue
        rate = R[rate_key][sel][:, None]
        pmin = R["pmin"][sel][:, None]
        edge = np.maximum(pmin, rate)  # SU or SD
        pi, ui, vi, wi = p.idx[sel], u.idx[sel], v.idx[sel], w.idx[sel]
        ub = np.zeros((sel.size, T))
        if direction == "up":
            # p[t] - p[t-1] - RU u[t] + (RU - SU) v[t] + Pmin w[t] <= 0 (+ p[-1] in hour 0)
            terms = [(pi, 1.0), (prev_in_time(pi), -1.0), (ui, -rate), (vi, rate - edge),
                     (wi, pmin)]
            ub[:, 0] = p0[sel, 0]
        else:
            # p[t-1] - p[t] - RD u[t-1] + (RD - SD) w[t] + Pmin v[t] <= 0 (+ RD u[-1] - p[-1])
            terms = [(prev_in_time(pi), 1.0), (pi, -1.0), (prev_in_time(ui), -rate),
                     (wi, rate - edge), (vi, pmin)]
            ub[:, 0] = rate[:, 0] * R["u0"][sel] - p0[sel, 0]
        ub[~known[sel], 0] = np.inf  # on before the horizon at an unknown power
        f.model.add_constraints(f"genset/ramp_{direction}", (sel.size, T), terms, ub=ub)
    _add_start_stop_capacity(f, R, u, v, w, p)


def _add_start_stop_capacity(f: Formulation, R: dict[str, Any], u, v, w, p) -> None:
    """``p[t] <= Pmax u[t] - (Pmax - SU) v[t] - (Pmax - SD) w[t+1]``: a unit that starts
    in hour ``t`` makes at most ``SU`` then, and one that stops in ``t+1`` at most ``SD``
    (one row with ``UT >= 2``, where no unit starts and stops in consecutive hours; two
    rows with ``UT = 1``). Implied by the ramp rows for integral ``u``, tighter in the LP
    relaxation."""
    pmax = R["pmax"]
    su = np.where(np.isnan(R["ru"]), pmax, np.maximum(R["pmin"], np.nan_to_num(R["ru"])))
    sd = np.where(np.isnan(R["rd"]), pmax, np.maximum(R["pmin"], np.nan_to_num(R["rd"])))
    limited = (su < pmax) | (sd < pmax)
    w_next = np.full_like(w.idx, -1)
    w_next[:, :-1] = w.idx[:, 1:]
    base = lambda sel: [(p.idx[sel], 1.0), (u.idx[sel], -pmax[sel][:, None])]
    start = lambda sel: (v.idx[sel], (pmax - su)[sel][:, None])
    stop = lambda sel: (w_next[sel], (pmax - sd)[sel][:, None])
    one = np.flatnonzero(limited & (R["ut"] >= 2))
    two = np.flatnonzero(limited & (R["ut"] < 2))
    shape = lambda sel: (sel.size, f.T)
    if one.size:
        f.model.add_constraints("genset/start_stop_capacity", shape(one),
                                [*base(one), start(one), stop(one)], ub=0.0)
    if two.size:
        f.model.add_constraints("genset/start_capacity", shape(two), [*base(two), start(two)],
                                ub=0.0)
        f.model.add_constraints("genset/stop_capacity", shape(two), [*base(two), stop(two)],
                                ub=0.0)


def _add_fuel(f: Formulation, R: dict[str, Any], u, p) -> np.ndarray:
    """Fuel above every segment line, its price, carbon and the fuel stocks; returns the
    entries that have a stock."""
    T = f.T
    entries = R["entries"]
    fuel = f.model.add_variables("genset/fuel_mwh_th", (R["n"], T))
    lines = [g.fuel_lines() for _, g in entries]
    seg_entry = np.concatenate([np.full(a.size, e) for e, (a, _) in enumerate(lines)])
    seg_a = np.concatenate([a for a, _ in lines])
    seg_b = np.concatenate([b for _, b in lines])
    # every row of an entry gets its entry's segments
    row_of, seg_of = np.nonzero(R["entry"][:, None] == seg_entry[None, :])
    f.model.add_constraints(
        "genset/fuel_curve", (row_of.size, T),
        [(fuel.idx[row_of], 1.0), (u.idx[row_of], -seg_a[seg_of][:, None]),
         (p.idx[row_of], -seg_b[seg_of][:, None])], lb=0.0)
    price = np.array([full(g.fuel_price_per_mwh_th, T) for _, g in entries])[R["entry"]]
    f.cost("fuel", fuel.idx, price)
    carbon_price = f.data.scenario.policy.carbon_price_per_t
    ef = np.array([g.emission_kg_per_mwh_th for _, g in entries])[R["entry"]][:, None]
    if carbon_price and np.any(ef):
        f.cost("carbon", fuel.idx, carbon_price * ef / 1000.0)
    stocked = np.array([e for e, (_, g) in enumerate(entries) if g.fuel_stock_mwh_th is not None],
                       dtype=np.int64)
    if stocked.size:
        G = stocked.size
        stock = f.model.add_variables("genset/fuel_stock_mwh_th", (G, T))
        rhs = np.zeros((G, T))
        for j, e in enumerate(stocked):
            g = entries[e][1]
            rhs[j, 0] += g.fuel_stock_mwh_th
            np.add.at(rhs[j], [d.hour for d in g.fuel_deliveries],
                      [d.fuel_mwh_th for d in g.fuel_deliveries])
        rank = np.full(len(entries), -1)
        rank[stocked] = np.arange(G)
        rows = np.flatnonzero(rank[R["entry"]] >= 0)
        at = (rank[R["entry"][rows]][:, None] * T + np.arange(T)[None, :]).astype(np.int32)
        f.model.add_constraints(
            "genset/fuel_stock", (G, T),
            [(stock.idx, 1.0), (prev_in_time(stock.idx), -1.0), (fuel.idx[rows], 1.0, at)],
            lb=rhs, ub=rhs)
    return stocked


def extract(r: Extraction) -> None:
    """Per genset entry: power, committed units, starts, fuel (from the curve) and stock;
    genset energy as a fossil traceability source; generation, fuel, starts, emissions."""
    meta = r.f.meta.get("genset")
    if meta is None:
        return
    u, v, p = r.val("genset/units_on"), r.val("genset/starts"), r.val("genset/power_mw")
    entry, E = meta["entry"], len(meta["names"])
    # fuel as the curve gives it (the fuel variable may lie above it where fuel is free)
    fuel = np.zeros_like(p)
    for e, (a, b) in enumerate(meta["lines"]):
        sel = entry == e
        fuel[sel] = np.max(a[:, None, None] * u[sel] + b[:, None, None] * p[sel], axis=0)
    fuel = np.maximum(fuel, 0.0)
    by_entry = lambda x: np.stack([x[entry == e].sum(axis=0) for e in range(E)])
    P, U, V, F = by_entry(p), by_entry(u), by_entry(v), by_entry(fuel)
    stock = r.val("genset/fuel_stock_mwh_th")
    for e, name in enumerate(meta["names"]):
        r.columns[f"genset.{name}/power_mw"] = P[e]
        r.columns[f"genset.{name}/units_on"] = U[e]
        r.columns[f"genset.{name}/starts"] = V[e]
        r.columns[f"genset.{name}/fuel_mwh_th"] = F[e]
    for j, e in enumerate(meta["stocked"]):
        r.columns[f"genset.{meta['names'][e]}/fuel_stock_mwh_th"] = stock[j]
    r.add_supply("genset", meta["entry_site"], P, clean=False)
    emissions = float((F.sum(axis=1) * meta["emission"]).sum() / 1000.0)
    r.kpis["emissions_t"] = r.kpis.get("emissions_t", 0.0) + emissions
    r.kpis["genset_generation_mwh"] = float(P.sum())
    r.kpis["genset_fuel_mwh_th"] = float(F.sum())
    r.kpis["genset_starts"] = float(V.sum())
    r.kpis["genset_emissions_t"] = emissions


COMPONENT = Component(
    name="genset", field="gensets", schema=list[Genset], default=Field(default_factory=list),
    check=check, add=add, extract=extract,
)
