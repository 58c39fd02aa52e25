"""Shared storage (共享储能): a physical plant leased to tenants as virtual batteries.

A plant (energy ``E``, power ``P``, efficiencies ``η_c``, ``η_d``, self-discharge ``σ``)
publishes one lease offer: a price per MWh of leased capacity per period (a day or a
calendar month), per MW of leased power per period, per MWh of throughput, and a subsidy
per MWh discharged. Each lease ``l`` (a tenant at a site) leases, per period ``k``, energy
``EL[l, k]`` and power ``PL[l, k]`` (decision variables) and runs its own virtual battery
inside the lease, at its tenant's site bus (the plant's energy reaches it over the grid; no
network is modelled between them)::

    Emin_l <= EL[l, k] <= Emax_l,   Pmin_l <= PL[l, k] <= Pmax_l   (shared_storage/lease_*)
    soc[l, t] = (1 - σ) soc[l, t-1] + η_c ch[l, t] - dis[l, t] / η_d,   soc[l, -1] = 0
    0 <= soc[l, t] <= EL[l, k(t)]                        (shared_storage/within_energy_lease)
    ch[l, t] <= PL[l, k(t)],  dis[l, t] <= PL[l, k(t)]   (shared_storage/within_power_lease)

The physical plant holds every virtual battery each hour (leases may add up to more than
the plant: tenants whose peaks differ share the same MWh)::

    sum_l soc[l, t] <= E                                 (shared_storage/physical_energy)
    -P <= sum_l (ch[l, t] - dis[l, t]) <= P              (shared_storage/physical_power)

Cost (terms ``lease``, ``storage_throughput``, ``storage_subsidy``)::

    sum_k f_k (c_E EL[l, k] + c_P PL[l, k]) + c_T sum_t (ch + dis) - s sum_t dis

with ``f_k`` the share of period ``k`` inside the horizon (hours inside / hours of the
period). ``dis - ch`` of each lease is injected at its site bus. A subsidy above what
losses cost makes cycling profitable, exactly as such a contract would.

*Own battery* (use (a): lease or build): a lease may carry ``own_battery``, the tenant's
alternative of building its own, sized in the same LP (energy ``EO_l``, power ``PO_l``) at
a cost per MWh and per MW per day of horizon::

    0 <= EO_l <= EOmax_l,  soc_o[l, t] <= EO_l,  ch_o, dis_o <= PO_l   (shared_storage/own_*)
    soc_o[l, t] = soc_o[l, t-1] + η_co ch_o - dis_o / η_do,  soc_o[l, -1] = 0
    cost (term ``own_storage``): (T / 24) (c_EO EO_l + c_PO PO_l)

Results: hourly ``shared_storage.<plant>/soc_mwh`` and ``/net_charge_mw``, per lease
``lease.<plant>.<tenant>/{charge_mw, discharge_mw, soc_mwh}``; ``Result.tables["leases"]``
(payments and benefit per tenant) and ``["shared_storage"]`` (the physical saving of
sharing: the plant's peak SOC against the sum of the tenants' own peaks).

Sizing: the leased MWh and MW are the lease's size, chosen by the LP. The companion of the
investment table, ``Result.tables["lease_sizing"]``, has one row per lease: the leased
energy and power as the mean over the offer's periods (weighted by each period's share
inside the horizon, ``sum_k f_k EL[l, k] / sum_k f_k``) and as the max over them, the lease
cost over the horizon ``sum_k f_k (c_E EL[l, k] + c_P PL[l, k])`` (exactly the objective's
``lease`` term) and per year (x 8760 / T). A lease is an operating expense: no capex, no
CRF, ``annualised_capex`` 0; the appraisal (:mod:`engine.economics`) counts it once, in the
operating cost, and shows it as its own cash-flow line.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.model.linear import prev_in_time
from engine.model.sizing import HOURS_PER_YEAR
from engine.scenario.base import Amount, Cost, Efficiency, Model, PositiveAmount

__all__ = ["COMPONENT", "Lease", "LeaseOffer", "OwnBattery", "SharedStoragePlant"]


class LeaseOffer(Model):
    """The plant's prices: per MWh and per MW leased per ``period`` (``"day"`` or
    ``"month"``), per MWh of throughput (charge + discharge), and the subsidy per MWh
    discharged."""

    period: Literal["day", "month"] = "month"
    energy_price_per_mwh_period: Cost = 0.0
    power_price_per_mw_period: Cost = 0.0
    throughput_price_per_mwh: Cost = 0.0
    subsidy_per_mwh_discharged: Cost = 0.0


class OwnBattery(Model):
    """A tenant's alternative to leasing: building its own battery (sized by the LP)."""

    cost_per_mwh_day: Cost
    cost_per_mw_day: Cost = 0.0
    max_energy_mwh: Amount
    max_power_mw: Amount
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95


class Lease(Model):
    """A tenant's lease on the plant: its virtual battery serves ``site``'s bus. The leased
    energy and power lie in ``[min, max]`` (default max: the plant's)."""

    tenant: str
    site: str
    min_energy_mwh: Amount = 0.0
    max_energy_mwh: Amount | None = None
    min_power_mw: Amount = 0.0
    max_power_mw: Amount | None = None
    own_battery: OwnBattery | None = None

    @model_validator(mode="after")
    def _check(self) -> Lease:
        for what in ("energy_mwh", "power_mw"):
            lo, hi = getattr(self, f"min_{what}"), getattr(self, f"max_{what}")
            if hi is not None and lo > hi:
                raise ValueError(f"min_{what}: must be <= max_{what}={hi:g}, got {lo:g}")
        return self


class SharedStoragePlant(Model):
    """A shared storage plant, its lease offer and the leases that clear on it."""

    name: str
    site: str | None = None
    energy_mwh: PositiveAmount
    power_mw: PositiveAmount
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    self_discharge_per_h: Amount = 0.0
    offer: LeaseOffer = Field(default_factory=LeaseOffer)
    leases: list[Lease] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> SharedStoragePlant:
        if self.self_discharge_per_h >= 1.0:
            raise ValueError(f"self_discharge_per_h: must be < 1, got {self.self_discharge_per_h}")
        for k, lease in enumerate(self.leases):
            for what, cap in (("energy_mwh", self.energy_mwh), ("power_mw", self.power_mw)):
                for end in ("min", "max"):
                    v = getattr(lease, f"{end}_{what}")
                    if v is not None and v > cap * (1 + 1e-12):
                        raise ValueError(
                            f"leases[{k}].{end}_{what}: tenant {lease.tenant!r} leases more "
                            f"than the plant holds ({what}={cap:g}), got {v:g}")
        tenants = [x.tenant for x in self.leases]
        dup = sorted({t for t in tenants if tenants.count(t) > 1})
        if dup:
            raise ValueError(f"leases: one lease per tenant, got duplicates {dup}")
        return self


def check(scenario: Any) -> None:
    names = [s.name for s in scenario.sites]
    plants = [p.name for p in scenario.shared_storage]
    dup = sorted({n for n in plants if plants.count(n) > 1})
    if dup:
        raise ValueError(f"shared_storage: plant names must be unique, got duplicates {dup}")
    for i, p in enumerate(scenario.shared_storage):
        if p.site is not None and p.site not in names:
            raise ValueError(f"shared_storage[{i}].site: unknown site {p.site!r}; sites are "
                             f"{names}")
        for k, lease in enumerate(p.leases):
            if lease.site not in names:
                raise ValueError(f"shared_storage[{i}].leases[{k}].site: unknown site "
                                 f"{lease.site!r}; sites are {names}")


def periods(data: Any, period: str) -> tuple[np.ndarray, np.ndarray]:
    """Period of each hour (0-based) and each period's share inside the horizon."""
    if period == "month":
        return data.month, data.month_hours / data.month_total_hours
    days = data.index.normalize().to_numpy()
    _, code, hours = np.unique(days, return_inverse=True, return_counts=True)
    return code.reshape(-1).astype(np.int64), hours / 24.0


def _leases(f: Formulation) -> list[tuple[int, Any, Any]]:
    return [(i, p, x) for i, p in enumerate(f.data.scenario.shared_storage) for x in p.leases]


def _battery(f: Formulation, prefix: str, site: np.ndarray, e_cols: np.ndarray,
             p_cols: np.ndarray, eta_c: np.ndarray, eta_d: np.ndarray, keep: np.ndarray
             ) -> tuple[Any, Any, Any]:
    """Charge, discharge and SOC of ``n`` batteries, empty at the start, whose energy and
    power bounds are the columns ``e_cols``, ``p_cols`` ``(n, T)``; injected at ``site``."""
    m = f.model
    n, T = e_cols.shape
    ch = m.add_variables(f"{prefix}/charge_mw", (n, T))
    dis = m.add_variables(f"{prefix}/discharge_mw", (n, T))
    soc = m.add_variables(f"{prefix}/soc_mwh", (n, T))
    m.add_constraints(f"{prefix}/soc_balance", (n, T),
                      [(soc.idx, 1.0), (prev_in_time(soc.idx), -keep[:, None]),
                       (ch.idx, -eta_c[:, None]), (dis.idx, 1.0 / eta_d[:, None])],
                      lb=0.0, ub=0.0)
    m.add_constraints(f"{prefix}/within_energy", (n, T), [(soc.idx, 1.0), (e_cols, -1.0)],
                      ub=0.0)
    m.add_constraints(f"{prefix}/within_charge_power", (n, T), [(ch.idx, 1.0), (p_cols, -1.0)],
                      ub=0.0)
    m.add_constraints(f"{prefix}/within_discharge_power", (n, T),
                      [(dis.idx, 1.0), (p_cols, -1.0)], ub=0.0)
    f.inject(dis.idx, site, 1.0)
    f.inject(ch.idx, site, -1.0)
    return ch, dis, soc


def add(f: Formulation) -> None:
    items = _leases(f)
    if not items:
        return
    m, T = f.model, f.T
    site_pos = {sd.site.name: s for s, sd in enumerate(f.data.sites)}
    plants = f.data.scenario.shared_storage
    plant = np.array([i for i, _, _ in items], np.int64)
    site = np.array([site_pos[x.site] for _, _, x in items], np.int64)
    col = lambda fn: np.array([fn(p, x) for _, p, x in items], dtype=np.float64)
    L = len(items)
    # lease variables, one per (lease, period) of its plant's offer, flat over all plants
    parts = []  # per plant: its leases, their period of each hour, the periods' shares
    for i, p in enumerate(plants):
        sel = np.flatnonzero(plant == i)
        if sel.size:
            code, share = periods(f.data, p.offer.period)
            parts.append((i, sel, code, share))
    size = [sel.size * share.size for _, sel, _, share in parts]
    offset = np.cumsum([0] + size)
    lease_of = np.concatenate([np.repeat(sel, share.size) for _, sel, _, share in parts])
    hi_e = col(lambda p, x: p.energy_mwh if x.max_energy_mwh is None else x.max_energy_mwh)
    hi_p = col(lambda p, x: p.power_mw if x.max_power_mw is None else x.max_power_mw)
    el = m.add_variables("shared_storage/lease_energy_mwh", int(offset[-1]),
                         lb=col(lambda p, x: x.min_energy_mwh)[lease_of], ub=hi_e[lease_of])
    pl = m.add_variables("shared_storage/lease_power_mw", int(offset[-1]),
                         lb=col(lambda p, x: x.min_power_mw)[lease_of], ub=hi_p[lease_of])
    e_cols = np.zeros((L, T), np.int64)
    p_cols = np.zeros((L, T), np.int64)
    meta: dict[str, Any] = {"plant": plant, "site": site, "parts": []}
    first_h = np.zeros(int(offset[-1]), np.int64)  # first hour of each lease column's period
    for (i, sel, code, share), start in zip(parts, offset[:-1]):
        K = share.size
        first = np.full(K, T, np.int64)
        np.minimum.at(first, code, np.arange(T))
        first_h[start:start + sel.size * K] = np.tile(first, sel.size)
        e_idx = el.idx[start:start + sel.size * K].reshape(sel.size, K)
        p_idx = pl.idx[start:start + sel.size * K].reshape(sel.size, K)
        e_cols[sel] = e_idx[:, code]
        p_cols[sel] = p_idx[:, code]
        o = plants[i].offer
        if o.energy_price_per_mwh_period:
            f.cost("lease", e_idx, o.energy_price_per_mwh_period * share[None, :])
        if o.power_price_per_mw_period:
            f.cost("lease", p_idx, o.power_price_per_mw_period * share[None, :])
        meta["parts"].append((i, sel, e_idx, p_idx, share))
    eta_c = col(lambda p, x: p.charge_efficiency)
    eta_d = col(lambda p, x: p.discharge_efficiency)
    keep = 1.0 - col(lambda p, x: p.self_discharge_per_h)
    ch, dis, soc = _battery(f, "shared_storage", site, e_cols, p_cols, eta_c, eta_d, keep)
    # the physical plant holds every virtual battery each hour
    P = len(plants)
    rows = np.broadcast_to(plant[:, None] * T + np.arange(T)[None, :], (L, T))
    e_plant = np.array([p.energy_mwh for p in plants])[:, None] * np.ones((1, T))
    p_plant = np.array([p.power_mw for p in plants])[:, None] * np.ones((1, T))
    m.add_constraints("shared_storage/physical_energy", (P, T), [(soc.idx, 1.0, rows)],
                      ub=e_plant)
    m.add_constraints("shared_storage/physical_power", (P, T),
                      [(ch.idx, 1.0, rows), (dis.idx, -1.0, rows)], lb=-p_plant, ub=p_plant)
    tp = col(lambda p, x: p.offer.throughput_price_per_mwh)[:, None]
    if np.any(tp):
        f.cost("storage_throughput", ch.idx, tp)
        f.cost("storage_throughput", dis.idx, tp)
    sub = col(lambda p, x: p.offer.subsidy_per_mwh_discharged)[:, None]
    if np.any(sub):
        f.cost("storage_subsidy", dis.idx, -sub)
    own = np.array([x.own_battery is not None for _, _, x in items], bool)
    if own.any():
        meta["own"] = _add_own(f, [x.own_battery for _, _, x in items if x.own_battery],
                               site[own])
        meta["own_sel"] = own
    meta["lease_first_h"] = first_h
    f.meta["shared_storage"] = meta


def _add_own(f: Formulation, batts: list[OwnBattery], site: np.ndarray) -> dict[str, Any]:
    """The tenants' own batteries, sized in the same LP (module docstring)."""
    m, T = f.model, f.T
    col = lambda a: np.array([getattr(b, a) for b in batts], dtype=np.float64)
    eo = m.add_variables("shared_storage/own_energy_mwh", len(batts), ub=col("max_energy_mwh"))
    po = m.add_variables("shared_storage/own_power_mw", len(batts), ub=col("max_power_mw"))
    days = T / 24.0
    f.cost("own_storage", eo.idx, col("cost_per_mwh_day") * days)
    if np.any(col("cost_per_mw_day")):
        f.cost("own_storage", po.idx, col("cost_per_mw_day") * days)
    e_cols = np.repeat(eo.idx[:, None], T, axis=1)
    p_cols = np.repeat(po.idx[:, None], T, axis=1)
    _battery(f, "shared_storage/own", site, e_cols, p_cols, col("charge_efficiency"),
             col("discharge_efficiency"), np.ones(len(batts)))
    return {"energy": eo.idx, "power": po.idx, "site": site,
            "eta_c": col("charge_efficiency"), "eta_d": col("discharge_efficiency")}


def extract(r: Extraction) -> None:
    """Hourly plant and lease columns, the virtual and own batteries as storage for the
    traceability, and the tables ``leases`` and ``shared_storage`` (module docstring)."""
    meta = r.f.meta.get("shared_storage")
    if meta is None:
        return
    import pandas as pd

    f = r.f
    items = _leases(f)
    plants = f.data.scenario.shared_storage
    ch, dis, soc = (r.val(f"shared_storage/{k}") for k in ("charge_mw", "discharge_mw",
                                                           "soc_mwh"))
    plant, site = meta["plant"], meta["site"]
    col = lambda fn: np.array([fn(p, x) for _, p, x in items], dtype=np.float64)
    for i, p in enumerate(plants):
        sel = plant == i
        r.columns[f"shared_storage.{p.name}/soc_mwh"] = soc[sel].sum(axis=0)
        r.columns[f"shared_storage.{p.name}/net_charge_mw"] = (ch[sel] - dis[sel]).sum(axis=0)
    for k, (_, p, x) in enumerate(items):
        base = f"lease.{p.name}.{x.tenant}"
        r.columns[f"{base}/charge_mw"] = ch[k]
        r.columns[f"{base}/discharge_mw"] = dis[k]
        r.columns[f"{base}/soc_mwh"] = soc[k]
    r.storage.append({"site": site, "charge": ch, "discharge": dis,
                      "soc0_mwh": np.zeros(len(items)),
                      "charge_efficiency": col(lambda p, x: p.charge_efficiency),
                      "discharge_efficiency": col(lambda p, x: p.discharge_efficiency),
                      "self_discharge_per_h": col(lambda p, x: p.self_discharge_per_h)})
    n = len(items)
    e_pay, p_pay, mean_e, mean_p = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    for i, sel, e_idx, p_idx, share in meta["parts"]:
        o = plants[i].offer
        e_val, p_val = r.x[e_idx], r.x[p_idx]
        e_pay[sel] = (e_val * share).sum(axis=1) * o.energy_price_per_mwh_period
        p_pay[sel] = (p_val * share).sum(axis=1) * o.power_price_per_mw_period
        mean_e[sel] = (e_val * share).sum(axis=1) / share.sum()
        mean_p[sel] = (p_val * share).sum(axis=1) / share.sum()
    charged, discharged = ch.sum(axis=1), dis.sum(axis=1)
    tput = col(lambda p, x: p.offer.throughput_price_per_mwh) * (charged + discharged)
    subsidy = col(lambda p, x: p.offer.subsidy_per_mwh_discharged) * discharged
    price = np.array([sd.grid_import_price if sd.grid_import_price.size else np.zeros(f.T)
                      for sd in f.data.sites])
    value = ((dis - ch) * price[site]).sum(axis=1)  # the energy shifted, at the site's price
    payment = e_pay + p_pay + tput - subsidy
    table = pd.DataFrame({
        "plant": [p.name for _, p, _ in items], "tenant": [x.tenant for _, _, x in items],
        "site": [x.site for _, _, x in items],
        "mean_leased_energy_mwh": mean_e, "mean_leased_power_mw": mean_p,
        "charged_mwh": charged, "discharged_mwh": discharged,
        "peak_soc_mwh": soc.max(axis=1, initial=0.0),
        "energy_payment": e_pay, "power_payment": p_pay, "throughput_payment": tput,
        "subsidy": subsidy, "payment": payment,
        "shifted_value": value, "net_benefit": value - payment,
        "own_energy_mwh": 0.0, "own_power_mw": 0.0,
    })
    own = meta.get("own")
    if own is not None:
        table.loc[meta["own_sel"], "own_energy_mwh"] = r.x[own["energy"]]
        table.loc[meta["own_sel"], "own_power_mw"] = r.x[own["power"]]
        och, odis = r.val("shared_storage/own/charge_mw"), r.val("shared_storage/own/discharge_mw")
        r.storage.append({"site": own["site"], "charge": och, "discharge": odis,
                          "soc0_mwh": np.zeros(och.shape[0]), "charge_efficiency": own["eta_c"],
                          "discharge_efficiency": own["eta_d"],
                          "self_discharge_per_h": np.zeros(och.shape[0])})
        for j, k in enumerate(np.flatnonzero(meta["own_sel"])):
            _, p, x = items[k]
            r.columns[f"lease.{p.name}.{x.tenant}/own_charge_mw"] = och[j]
            r.columns[f"lease.{p.name}.{x.tenant}/own_discharge_mw"] = odis[j]
    r.tables["leases"] = table
    r.tables["lease_sizing"] = _lease_sizing(r, items, meta, e_pay + p_pay)
    rows = []
    for i, p in enumerate(plants):
        sel = plant == i
        peak = float(soc[sel].sum(axis=0).max(initial=0.0))
        own_peaks = float(soc[sel].max(axis=1, initial=0.0).sum())
        rows.append({"plant": p.name, "energy_mwh": p.energy_mwh, "power_mw": p.power_mw,
                     "tenants": int(sel.sum()), "peak_soc_mwh": peak,
                     "sum_tenant_peak_soc_mwh": own_peaks,
                     "sharing_saving_fraction": 1.0 - peak / own_peaks if own_peaks > 1e-9
                     else 0.0})
    r.tables["shared_storage"] = pd.DataFrame(rows)
    r.kpis["shared_storage_discharged_mwh"] = float(discharged.sum())
    r.kpis["shared_storage_payment"] = float(payment.sum())


#: Columns of ``Result.tables["lease_sizing"]`` (module docstring).
SIZING_COLUMNS = ["asset", "plant", "tenant", "site", "period", "periods",
                  "mean_leased_energy_mwh", "max_leased_energy_mwh", "mean_leased_power_mw",
                  "max_leased_power_mw", "capex", "annualised_capex", "lease_cost",
                  "annual_cost"]


def _lease_sizing(r: Extraction, items: list, meta: dict[str, Any], cost: np.ndarray) -> Any:
    """One row per lease: its size (mean and max over the offer's periods) and its cost over
    the horizon and per year; no capex (module docstring)."""
    import pandas as pd

    plants = r.f.data.scenario.shared_storage
    n = len(items)
    vals = {k: np.zeros(n) for k in ("mean_e", "max_e", "mean_p", "max_p")}
    count = np.zeros(n, np.int64)
    for _, sel, e_idx, p_idx, share in meta["parts"]:
        inside = share > 0
        e_val, p_val = r.x[e_idx][:, inside], r.x[p_idx][:, inside]
        w = share[inside]
        vals["mean_e"][sel] = (e_val * w).sum(axis=1) / w.sum()
        vals["mean_p"][sel] = (p_val * w).sum(axis=1) / w.sum()
        vals["max_e"][sel] = e_val.max(axis=1, initial=0.0)
        vals["max_p"][sel] = p_val.max(axis=1, initial=0.0)
        count[sel] = int(inside.sum())
    rows = pd.DataFrame({
        "asset": [f"lease.{p.name}.{x.tenant}" for _, p, x in items],
        "plant": [p.name for _, p, _ in items], "tenant": [x.tenant for _, _, x in items],
        "site": [x.site for _, _, x in items],
        "period": [plants[i].offer.period for i, _, _ in items], "periods": count,
        "mean_leased_energy_mwh": vals["mean_e"], "max_leased_energy_mwh": vals["max_e"],
        "mean_leased_power_mw": vals["mean_p"], "max_leased_power_mw": vals["max_p"],
        "capex": 0.0, "annualised_capex": 0.0, "lease_cost": cost,
        "annual_cost": cost * HOURS_PER_YEAR / r.f.T})
    return rows[SIZING_COLUMNS]


COMPONENT = Component(
    name="shared_storage", field="shared_storage", level="scenario",
    schema=list[SharedStoragePlant], default=Field(default_factory=list), check=check,
    add=add, extract=extract,
)
