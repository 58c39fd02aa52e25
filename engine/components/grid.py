"""Grid connection: import, export, monthly peak and emissions.

For the grid of site ``s`` and hour ``t``::

    0 <= imp[s, t] <= Imax_s * up[s, t],   0 <= exp[s, t] <= Emax_s * up[s, t]
        (up = 0 in outage hours)
    peak[s, m] >= imp[s, t]  for every hour t of calendar month m
        (only when a demand charge is set)
    cost: price_imp imp - price_exp exp + dc_rate * factor[s, m] * peak
          + carbon_price * ef[t] / 1000 * imp         (ef in kg/MWh, price per t; ef the
            average factor, or the marginal one with policy.carbon_basis = "marginal")
    fossil[s, t] = (1 - clean_share[t]) * imp[s, t]   (for the green-share floor)

With representative days (:mod:`engine.model.periods`) an hour of a typical day bounds the
peak of every month in which one of the days it stands for lies.

The demand charge of a month is pro-rated by default: ``factor[s, m]`` = hours of month
``m`` inside the horizon / hours of the whole month (on the local clock; a full month pays
the full rate, a 168-h week of a 744-h month 168/744 of it);
``demand_charge_proration="full_month"`` makes every month touched pay the full rate.
``Result.demand_charges`` lists, per site and month, the hours, factor, peak and charge.

``imp - exp`` is injected at the site bus.

No simultaneous import and export, with a binary only where it can change the answer.
Importing ``x`` MW and exporting the same ``x`` MW in one hour leaves the bus balance as it
was and changes the objective by ``x (price_imp + carbon_price ef / 1000 - price_exp)``, plus
a peak that can only rise; it adds ``(1 - clean) x`` of fossil energy, which can only tighten
the green-share floor. So it can lower the objective only in the hours where
``price_exp[s, t] > price_imp[s, t] + carbon_price ef[s, t] / 1000`` (with import and export
both possible in that hour); everywhere else some optimum never does it and the plain
bounds stay. In those hours alone a binary ``v`` (one column per selected (grid, hour)
pair, group ``grid/importing``) forbids it::

    imp[s, t] <= Imax_s v,   exp[s, t] <= Emax_s (1 - v)

and the model becomes a MILP; a scenario without such hours stays an LP.

Region values (:mod:`engine.components.regions`): a grid that does not state one of
:data:`REGION_FIELDS` takes the value its site's region states (prices, average and marginal
emission factors, clean share); a grid that states it too must state the same series, else a
``ScenarioError`` names both fields. ``import_price_per_mwh`` is required on the grid or on
its site's region.

Sizing (``investment.extendable``, :mod:`engine.model.sizing`): the connection ``Imax_s``
becomes a variable ``cap[s]`` and the import bound the row
``imp[s, t] <= up[s, t] cap[s]`` (``grid/import_within_capacity``); the export limit stays
as stated. Big-M and the peak's bound use the largest connection.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, PrivateAttr, model_serializer, model_validator

from engine.components.base import Component, Extraction, full
from engine.model.formulation import Formulation
from engine.model.sizing import capacities
from engine.scenario.base import Amount, Cost, Integer, Model
from engine.scenario.finance import Investment, check_extendable
from engine.scenario.series import FractionSeries, Series, SignedSeries

__all__ = ["COMPONENT", "REGION_FIELDS", "Grid", "inherit_from_regions"]

#: Grid inputs a region may state for the grids of its sites (same names, same units).
REGION_FIELDS = ("import_price_per_mwh", "export_price_per_mwh", "emission_factor_kg_per_mwh",
                 "marginal_emission_factor_kg_per_mwh", "clean_share_fraction")


class Grid(Model):
    """The site's grid connection.

    ``emission_factor_kg_per_mwh`` is the grid's average CO2 intensity (for emissions and the
    carbon price); ``marginal_emission_factor_kg_per_mwh`` the intensity of the marginal unit
    (KPI ``emissions_marginal_t``; priced instead of the average with the policy's
    ``carbon_basis: marginal``, since shifting load on averages can raise system emissions); ``clean_share_fraction`` the carbon-free share of grid energy in each hour
    (for the green-share floor and the 24/7 CFE score). No import or export in
    ``outage_hours``. ``demand_charge_per_mw_month`` applies to each calendar month's peak
    import (months in the scenario's time zone), pro-rated for a month the horizon covers
    in part (``demand_charge_proration="prorated"``: rate x hours of the month inside the
    horizon / hours of the month), or the full rate for every month it touches
    (``"full_month"``). Prices, factors and clean share not stated here come from the
    site's region when it states them (``import_price_per_mwh`` is required on one of them).
    """

    import_max_mw: Amount
    export_max_mw: Amount = 0.0
    import_price_per_mwh: SignedSeries | None = None
    export_price_per_mwh: SignedSeries = 0.0
    demand_charge_per_mw_month: Cost = 0.0
    demand_charge_proration: Literal["prorated", "full_month"] = "prorated"
    emission_factor_kg_per_mwh: Series = 0.0
    marginal_emission_factor_kg_per_mwh: Series | None = None
    clean_share_fraction: FractionSeries = 0.0
    outage_hours: list[Annotated[Integer, Field(ge=0)]] = Field(default_factory=list)
    investment: Investment | None = None
    #: Fields taken from the site's region (not stated here): left out when written.
    _inherited: set = PrivateAttr(default_factory=set)

    @model_serializer(mode="wrap")
    def _without_inherited(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self._inherited - self.model_fields_set:
                data.pop(name, None)
        return data

    @model_validator(mode="after")
    def _check_investment(self) -> Grid:
        check_extendable(self.investment, mw=self.import_max_mw)
        return self


def prepare(site: Any, weather: dict[str, np.ndarray], index: Any) -> dict[str, np.ndarray]:
    g = site.grid
    if g is None:
        empty = np.zeros(0)
        return {"grid_import_price": empty, "grid_export_price": empty,
                "grid_emission_kg_per_mwh": empty, "grid_marginal_kg_per_mwh": empty,
                "grid_clean_share": empty,
                "grid_available": np.zeros(0, bool)}
    T = len(index)
    avail = np.ones(T, dtype=bool)
    avail[np.asarray(g.outage_hours, dtype=np.int64)] = False
    return {"grid_import_price": full(g.import_price_per_mwh, T),
            "grid_export_price": full(g.export_price_per_mwh, T),
            "grid_emission_kg_per_mwh": full(g.emission_factor_kg_per_mwh, T),
            "grid_marginal_kg_per_mwh": full(g.emission_factor_kg_per_mwh
                                             if g.marginal_emission_factor_kg_per_mwh is None
                                             else g.marginal_emission_factor_kg_per_mwh, T),
            "grid_clean_share": full(g.clean_share_fraction, T),
            "grid_available": avail}


def demand_charge_factors(data: Any, grids: list[Grid]) -> np.ndarray:
    """``(G, n_months)``: the share of each month's rate each grid pays (hours of the month
    inside the horizon / hours of the month when pro-rated, else 1)."""
    factor = np.ones((len(grids), data.n_months))
    prorated = np.array([g.demand_charge_proration == "prorated" for g in grids], bool)
    factor[prorated] = data.month_hours / data.month_total_hours
    return factor


def _short(value: Any) -> str:
    arr = np.asarray(value, dtype=np.float64)
    return f"{float(arr):g}" if arr.ndim == 0 else f"a series starting {arr[:3].tolist()}"


def inherit_from_regions(scenario: Any) -> None:
    """Give each site's grid the :data:`REGION_FIELDS` its region states and it does not.

    A grid field the user stated (``model_fields_set``) is never overwritten: when the
    region states it too, the two must be equal hour by hour (else ``ValueError`` naming
    both). Inherited values are set without marking the field as stated, so a later
    validation inherits again from the region as it then is, and ``to_dict`` leaves them
    out (a sweep or a window of the region's value changes the grid's with it).
    """
    T = scenario.horizon_h
    where: dict[str, int] = {}
    for k, region in enumerate(getattr(scenario, "regions", [])):
        for name in region.sites:
            where.setdefault(name, k)
    for i, site in enumerate(scenario.sites):
        g = site.grid
        if g is None or site.name not in where:
            continue
        k = where[site.name]
        region = scenario.regions[k]
        for name in REGION_FIELDS:
            value = getattr(region, name, None)
            if value is None:
                continue
            if name not in g.model_fields_set:
                g.__dict__[name] = value  # inherited: not validated again, not "stated"
                g._inherited.add(name)  # and not written: the region says it
                continue
            mine = getattr(g, name)
            if mine is None or not np.array_equal(full(mine, T), full(value, T)):
                raise ValueError(
                    f"sites[{i}].grid.{name}: {None if mine is None else _short(mine)} "
                    f"differs from regions[{k}].{name}={_short(value)} of its region "
                    f"{region.name!r}; state it once (a grid that does not state it takes "
                    "the region's)")


def check(scenario: Any) -> None:
    T = scenario.horizon_h
    inherit_from_regions(scenario)
    for i, site in enumerate(scenario.sites):
        if site.grid is not None and site.grid.import_price_per_mwh is None:
            raise ValueError(f"sites[{i}].grid.import_price_per_mwh: required field is "
                             "missing (state it on the grid or on the site's region's "
                             "regions[].import_price_per_mwh)")
    marginal = getattr(scenario.policy, "carbon_basis", "average") == "marginal"
    for i, site in enumerate(scenario.sites):
        if site.grid is not None and marginal \
                and site.grid.marginal_emission_factor_kg_per_mwh is None:
            raise ValueError(f"sites[{i}].grid.marginal_emission_factor_kg_per_mwh: "
                             "policy.carbon_basis is 'marginal': give the grid's marginal "
                             "factor")
        if site.grid is not None:
            bad = [h for h in site.grid.outage_hours if h >= T]
            if bad:
                raise ValueError(
                    f"sites[{i}].grid.outage_hours: hours must be < horizon_h={T}, got {bad[0]}"
                )


def add(f: Formulation) -> None:
    sites = [(s, sd) for s, sd in enumerate(f.data.sites) if sd.site.grid is not None]
    if not sites:
        return
    T = f.T
    G = len(sites)
    site_of = np.array([s for s, _ in sites], dtype=np.int64)
    grids = [sd.site.grid for _, sd in sites]
    up = np.array([sd.grid_available for _, sd in sites], dtype=np.float64)
    cap = capacities(f, "grid", "mw", grids, [sd.site.name for _, sd in sites],
                     np.array([g.import_max_mw for g in grids]))
    imax = cap.upper[:, None]  # the stated limit, or the largest connection when sized
    emax = np.array([g.export_max_mw for g in grids])[:, None]
    imp = f.model.add_variables("grid/import_mw", (G, T), ub=imax * up)
    cap.limit(f, "grid/import_within_capacity", imp.idx, up)
    f.inject(imp.idx, site_of, 1.0)
    price_imp = np.array([sd.grid_import_price for _, sd in sites])
    f.cost("energy", imp.idx, price_imp)
    if np.any(emax > 0):
        exp = f.model.add_variables("grid/export_mw", (G, T), ub=emax * up)
        f.inject(exp.idx, site_of, -1.0)
        price_exp = np.array([sd.grid_export_price for _, sd in sites])
        f.cost("export_revenue", exp.idx, -price_exp)
        binary_at = _no_simultaneous(f, imp.idx, exp.idx, price_imp, price_exp, imax * up,
                                     emax * up, sites)
    else:
        binary_at = np.zeros((G, T), bool)
    rate = np.array([g.demand_charge_per_mw_month for g in grids])
    if np.any(rate > 0):
        M = f.data.n_months
        peak = f.model.add_variables("grid/peak_mw", (G, M), ub=imax)
        pairs = f.data.extra.get("hour_month_pairs")
        if pairs is None:
            month_cols = peak.idx[:, f.data.month]  # (G, T): the peak of each hour's month
            f.model.add_constraints("grid/peak", (G, T), [(imp.idx, 1.0), (month_cols, -1.0)],
                                    ub=0.0)
        else:  # representative days: an hour of a typical day counts in each of its months
            hours, months = pairs
            f.model.add_constraints("grid/peak", (G, hours.size),
                                    [(imp.idx[:, hours], 1.0), (peak.idx[:, months], -1.0)],
                                    ub=0.0)
        factor = demand_charge_factors(f.data, grids)
        f.cost("demand_charge", peak.idx, rate[:, None] * factor)
        f.meta["grid_demand_charge"] = {"rate": rate, "factor": factor}
    carbon_price = f.data.scenario.policy.carbon_price_per_t
    ef = np.array([sd.grid_emission_kg_per_mwh for _, sd in sites])
    ef_m = np.array([sd.grid_marginal_kg_per_mwh for _, sd in sites])
    if carbon_price:
        basis = ef_m if f.data.scenario.policy.carbon_basis == "marginal" else ef
        f.cost("carbon", imp.idx, carbon_price * basis / 1000.0)
    clean = np.array([sd.grid_clean_share for _, sd in sites])
    f.fossil(imp.idx, site_of, 1.0 - clean)
    f.meta["grid"] = {"site": site_of, "emission_kg_per_mwh": ef, "clean_share": clean,
                      "marginal_kg_per_mwh": ef_m,
                      "import_price": price_imp, "binary_at": binary_at}


def arbitrage_hours(price_imp: np.ndarray, price_exp: np.ndarray, imp_ub: np.ndarray,
                    exp_ub: np.ndarray, carbon_per_mwh: np.ndarray | float = 0.0) -> np.ndarray:
    """Mask ``(G, T)`` of the (grid, hour) pairs where buying to sell back in the same hour
    would pay: ``price_exp > price_imp + carbon cost of the import``, both flows possible."""
    gain = np.asarray(price_exp) - np.asarray(price_imp) - carbon_per_mwh
    return (gain > 0) & (np.asarray(imp_ub) > 0) & (np.asarray(exp_ub) > 0)


def _no_simultaneous(f: Formulation, imp: np.ndarray, exp: np.ndarray, price_imp: np.ndarray,
                     price_exp: np.ndarray, imp_ub: np.ndarray, exp_ub: np.ndarray,
                     sites: list) -> np.ndarray:
    """Binaries ``grid/importing`` over the (grid, hour) pairs where arbitrage would pay;
    returns the ``(G, T)`` mask of those pairs."""
    G, T = imp.shape
    imp_ub = np.broadcast_to(imp_ub, (G, T))
    exp_ub = np.broadcast_to(exp_ub, (G, T))
    carbon_price = f.data.scenario.policy.carbon_price_per_t
    key = ("grid_marginal_kg_per_mwh" if f.data.scenario.policy.carbon_basis == "marginal"
           else "grid_emission_kg_per_mwh")
    carbon = (carbon_price * np.array([getattr(sd, key) for _, sd in sites]) / 1000.0
              if carbon_price else 0.0)
    sel = arbitrage_hours(price_imp, price_exp, imp_ub, exp_ub, carbon)
    n = int(sel.sum())
    if not n:
        return sel
    v = f.model.add_variables("grid/importing", n, lb=0.0, ub=1.0, integer=True)
    f.model.add_constraints("grid/import_if_importing", n,
                            [(imp[sel], 1.0), (v.idx, -imp_ub[sel])], ub=0.0)
    f.model.add_constraints("grid/export_if_not_importing", n,
                            [(exp[sel], 1.0), (v.idx, exp_ub[sel])], ub=exp_ub[sel])
    return sel


def extract(r: Extraction) -> None:
    """Import, export and price columns; grid energy split into clean and fossil sources."""
    meta = r.f.meta.get("grid")
    if meta is None:
        return
    names = r.site_names
    imp = r.val("grid/import_mw")
    exp = r.val("grid/export_mw")
    exp = np.zeros_like(imp) if exp is None else exp
    for i, s in enumerate(meta["site"]):
        r.columns[f"grid.{names[s]}/import_mw"] = imp[i]
        r.columns[f"grid.{names[s]}/export_mw"] = exp[i]
        r.columns[f"grid.{names[s]}/import_price_per_mwh"] = meta["import_price"][i]
    r.add_supply("grid_clean", meta["site"], imp * meta["clean_share"], clean=True)
    r.add_supply("grid_fossil", meta["site"], imp * (1.0 - meta["clean_share"]), clean=False)
    r.kpis["emissions_t"] = float((imp * meta["emission_kg_per_mwh"]).sum() / 1000.0)
    r.kpis["emissions_marginal_t"] = float((imp * meta["marginal_kg_per_mwh"]).sum() / 1000.0)
    r.kpis["grid_import_mwh"] = float(imp.sum())
    r.kpis["grid_export_mwh"] = float(exp.sum())
    # coincident peak of all sites' imports (one site: that site's peak)
    r.kpis["peak_import_mw"] = float(imp.sum(axis=0).max()) if imp.size else 0.0
    dc = r.f.meta.get("grid_demand_charge")
    if dc is not None and r.want_tables:  # the charges' cost is in the cost records
        r.tables["demand_charges"] = _demand_charges(r, meta["site"], dc)


def _demand_charges(r: Extraction, site_of: np.ndarray, dc: dict) -> Any:
    """One row per (site, month) of the sites with a demand charge."""
    import pandas as pd

    d = r.f.data
    peak = r.val("grid/peak_mw")  # (G, M)
    rows = []
    for i, s in enumerate(site_of):
        if dc["rate"][i] <= 0:
            continue
        for m, label in enumerate(d.month_labels):
            rows.append({
                "site": r.site_names[s], "month": label,
                "hours_in_horizon": int(d.month_hours[m]),
                "hours_in_month": int(d.month_total_hours[m]),
                "factor": float(dc["factor"][i, m]),
                "rate_per_mw_month": float(dc["rate"][i]),
                "peak_mw": float(peak[i, m]),
                "charge": float(dc["rate"][i] * dc["factor"][i, m] * peak[i, m]),
            })
    return pd.DataFrame(rows)


COMPONENT = Component(
    name="grid", field="grid", schema=Grid | None, default=None,
    check=check, prepare=prepare, add=add, extract=extract,
)
