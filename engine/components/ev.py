"""EV charging (光储充): chargers and charging sessions, optionally vehicle-to-grid (V2G).

A session is deferrable energy, the same formulation as a compute job
(:mod:`engine.components._deferrable`): it draws power only while the car is plugged in,
``[arrival_h, departure_h)``, and must receive its energy by departure. For session ``i`` of
site ``s`` and hour ``t`` of its stay::

    0 <= p[i, t] <= Pmax_i                              (ev/charge_mw)
    sum_t p[i, t] - sum_t d[i, t] + u_i = E_i           (ev/energy)
    0 <= u_i <= E_i                                     (ev/unmet_mwh, priced at the
                                                         site's unmet_energy_value_per_mwh)

with ``Pmax_i = min(max_power_kw_i, charger_power_kw) / 1000``. Without V2G ``d = 0``. The
chargers bound the site's total charging power (plug assignment is not modelled: the
chargers' power is pooled)::

    sum_{i at s} (p[i, t] + d[i, t]) <= N_s * Pc_s     (ev/charger_capacity, only in the
                                                        hours the sessions could exceed it)

*V2G* sessions (``v2g: true``) may also discharge into the site bus; their car battery
``C_i`` (``battery_mwh``) arrives holding ``A_i`` (``arrival_soc_mwh``)::

    0 <= d[i, t],  p[i, t] + d[i, t] <= Pmax_i          (ev/discharge_mw, ev/v2g_rate)
    0 <= A_i + sum_{tau <= t} (p[i, tau] - d[i, tau]) <= C_i   (ev/car_energy)
    cost: v2g_degradation_cost_per_mwh * d               (term ``degradation``)

``d - p`` is injected at the site bus (energy as delivered to the car: the charger's losses
are not modelled). V2G energy is traced as a source of its own, ``ev_v2g`` (not clean).
"""
from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

import engine.components._deferrable as dfr
from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.scenario.base import Amount, Bool, Cost, Integer, Model, PositiveAmount

__all__ = ["COMPONENT", "EVCharging", "EVSession"]


class EVSession(Model):
    """One charging session: the car is plugged in over ``[arrival_h, departure_h)`` and
    needs ``energy_mwh`` by departure, drawn at no more than ``max_power_kw`` (and the
    charger's power). ``v2g: true`` lets it discharge too: give its ``battery_mwh`` and the
    energy it arrives with, ``arrival_soc_mwh``."""

    name: str
    arrival_h: Annotated[Integer, Field(ge=0)]
    departure_h: Annotated[Integer, Field(ge=1)]
    energy_mwh: Amount
    max_power_kw: PositiveAmount
    v2g: Bool = False
    battery_mwh: PositiveAmount | None = None
    arrival_soc_mwh: Amount | None = None

    @model_validator(mode="after")
    def _check(self) -> EVSession:
        if self.departure_h <= self.arrival_h:
            raise ValueError(f"departure_h: session {self.name!r} must leave after it arrives "
                             f"(arrival_h={self.arrival_h}), got {self.departure_h}")
        if self.v2g:
            if self.battery_mwh is None or self.arrival_soc_mwh is None:
                raise ValueError("battery_mwh: a V2G session needs battery_mwh and "
                                 "arrival_soc_mwh")
            if self.arrival_soc_mwh + self.energy_mwh > self.battery_mwh * (1 + 1e-9):
                raise ValueError(
                    f"energy_mwh: arrival_soc_mwh={self.arrival_soc_mwh:g} + energy_mwh="
                    f"{self.energy_mwh:g} exceeds battery_mwh={self.battery_mwh:g}")
        return self


class EVCharging(Model):
    """A site's EV chargers and the sessions they serve.

    ``chargers`` chargers of ``charger_power_kw`` each (their power is pooled). Energy a
    session does not receive by departure is unmet, priced at
    ``unmet_energy_value_per_mwh`` (required: there is no silent default for it). V2G
    discharge costs ``v2g_degradation_cost_per_mwh``.
    """

    chargers: Annotated[Integer, Field(ge=1)]
    charger_power_kw: PositiveAmount
    unmet_energy_value_per_mwh: Cost
    v2g_degradation_cost_per_mwh: Cost = 0.0
    sessions: list[EVSession] = Field(default_factory=list)


def check(scenario: Any) -> None:
    T = scenario.horizon_h
    for i, site in enumerate(scenario.sites):
        ev = site.ev_charging
        if ev is None:
            continue
        names = [x.name for x in ev.sessions]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"sites[{i}].ev_charging.sessions: names must be unique, got "
                             f"duplicates {dup}")
        for k, x in enumerate(ev.sessions):
            if x.departure_h > T:
                raise ValueError(f"sites[{i}].ev_charging.sessions[{k}].departure_h: must be "
                                 f"<= horizon_h={T}, got {x.departure_h}")


def _sessions(f: Formulation) -> list[tuple[int, Any, Any]]:
    return [(s, sd.site.ev_charging, x) for s, sd in enumerate(f.data.sites)
            if sd.site.ev_charging is not None for x in sd.site.ev_charging.sessions]


def add(f: Formulation) -> None:
    items = _sessions(f)
    if not items:
        return
    m, T = f.model, f.T
    site = np.array([s for s, _, _ in items], np.int64)
    col = lambda fn: np.array([fn(ev, x) for _, ev, x in items], dtype=np.float64)
    release = np.array([x.arrival_h for _, _, x in items], np.int64)
    deadline = np.array([x.departure_h for _, _, x in items], np.int64)
    energy = col(lambda ev, x: x.energy_mwh)
    pmax = col(lambda ev, x: min(x.max_power_kw, ev.charger_power_kw) / 1000.0)
    v2g = np.array([x.v2g for _, _, x in items], bool)
    w = dfr.windows(release, deadline)
    own, t_of = w.owner, w.t_of
    ch = m.add_variables("ev/charge_mw", own.size, ub=pmax[own])
    unmet = m.add_variables("ev/unmet_mwh", len(items), ub=energy)
    f.cost("ev_unmet", unmet.idx, col(lambda ev, x: ev.unmet_energy_value_per_mwh))
    n = len(items)
    extra: list[tuple[Any, ...]] = [(unmet.idx, 1.0, np.arange(n))]
    meta: dict[str, Any] = {"site": site, "owner": own, "t_of": t_of, "v2g": v2g}
    cap_cols, cap_owner = [ch.idx], [own]
    if v2g.any():
        sel = v2g[own]
        e_own, e_t = own[sel], t_of[sel]
        dis = m.add_variables("ev/discharge_mw", e_own.size, ub=pmax[e_own])
        extra.append((dis.idx, -1.0, e_own))  # net energy: d counts against the session
        m.add_constraints("ev/v2g_rate", e_own.size, [(ch.idx[sel], 1.0), (dis.idx, 1.0)],
                          ub=pmax[e_own])
        # car energy after each hour: A + cumulative (p - d), within [0, C]; one row per
        # v2g entry with every earlier entry of its session (stays are short)
        pos = np.arange(e_own.size)
        start = np.searchsorted(e_own, e_own)  # first v2g entry of the same session
        lengths = pos - start + 1
        row = np.repeat(pos, lengths)
        k = np.arange(row.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        src = start[row] + k
        arrive = col(lambda ev, x: x.arrival_soc_mwh or 0.0)[e_own]
        battery = col(lambda ev, x: x.battery_mwh or 0.0)[e_own]
        m.add_constraints("ev/car_energy", e_own.size,
                          [(ch.idx[sel][src], 1.0, row), (dis.idx[src], -1.0, row)],
                          lb=-arrive, ub=battery - arrive)
        f.cost("degradation", dis.idx, col(lambda ev, x: ev.v2g_degradation_cost_per_mwh)[e_own])
        f.inject(dis.idx, site[e_own], 1.0, t_of=e_t)
        cap_cols.append(dis.idx)
        cap_owner.append(e_own)
        meta["dis_sel"] = sel
    dfr.add_energy(m, "ev/energy", ch.idx, own, np.ones(n, bool), lb=energy, ub=energy,
                   extra=extra)
    head = np.zeros((f.S, T))
    for s, sd in enumerate(f.data.sites):
        ev = sd.site.ev_charging
        if ev is not None:
            head[s] = ev.chargers * ev.charger_power_kw / 1000.0
    c_own = np.concatenate(cap_owner)
    c_t = np.concatenate([t_of] + ([t_of[meta["dis_sel"]]] if v2g.any() else []))
    dfr.add_capacity(m, "ev/charger_capacity", np.concatenate(cap_cols), site[c_own] * T + c_t,
                     pmax[c_own], head.ravel())
    f.inject(ch.idx, site[own], -1.0, t_of=t_of)
    f.meta["ev"] = meta


def extract(r: Extraction) -> None:
    """Per site ``ev.<site>/charge_mw`` and ``/discharge_mw``; the table ``ev_sessions``
    (``session``, ``site``, ``arrival_h``, ``departure_h``, ``energy_mwh``, ``delivered_mwh``
    (net of V2G), ``discharged_mwh``, ``unmet_mwh``); KPIs ``ev_energy_mwh``,
    ``ev_delivered_mwh``, ``ev_unmet_mwh``, ``ev_v2g_mwh``."""
    import pandas as pd

    meta = r.f.meta.get("ev")
    if meta is None:
        return
    items = _sessions(r.f)
    S, T = r.f.S, r.f.T
    own, t_of, site = meta["owner"], meta["t_of"], meta["site"]
    n = len(items)
    ch = r.val("ev/charge_mw")
    charge = np.zeros((S, T))
    np.add.at(charge, (site[own], t_of), ch)
    dis_site = np.zeros((S, T))
    discharged = np.zeros(n)
    dis = r.val("ev/discharge_mw")
    if dis is not None:
        sel = meta["dis_sel"]
        np.add.at(dis_site, (site[own[sel]], t_of[sel]), dis)
        discharged = np.bincount(own[sel], weights=dis, minlength=n)
        r.add_supply("ev_v2g", site[own[sel]], dis, clean=False, t_of=t_of[sel])
    names = r.site_names
    for s in sorted(set(site.tolist())):
        r.columns[f"ev.{names[s]}/charge_mw"] = charge[s]
        r.columns[f"ev.{names[s]}/discharge_mw"] = dis_site[s]
    drawn = np.bincount(own, weights=ch, minlength=n)
    unmet = r.val("ev/unmet_mwh")
    energy = np.array([x.energy_mwh for _, _, x in items])
    r.tables["ev_sessions"] = pd.DataFrame({
        "session": [x.name for _, _, x in items],
        "site": [names[s] for s in site],
        "arrival_h": [x.arrival_h for _, _, x in items],
        "departure_h": [x.departure_h for _, _, x in items],
        "energy_mwh": energy,
        "delivered_mwh": drawn - discharged,
        "discharged_mwh": discharged,
        "unmet_mwh": unmet,
    })
    r.kpis["ev_energy_mwh"] = float(energy.sum())
    r.kpis["ev_delivered_mwh"] = float((drawn - discharged).sum())
    r.kpis["ev_unmet_mwh"] = float(unmet.sum())
    r.kpis["ev_v2g_mwh"] = float(discharged.sum())


COMPONENT = Component(
    name="ev", field="ev_charging", schema=EVCharging | None, default=None, check=check,
    add=add, extract=extract,
)
