"""Scenario variants for sizing: business-as-usual, and the dispatch at chosen sizes.

Both return a deep copy; the scenario given is never changed. (The stated capacity of an
extendable asset is what exists already; see :mod:`engine.scenario.finance`.)
"""
from __future__ import annotations

from typing import Any

__all__ = ["business_as_usual", "with_sizes"]


def _assets(site: Any) -> list[tuple[str, Any]]:
    out = [(kind, a) for kind, assets in site.asset_lists() for a in assets]
    if getattr(site, "grid", None) is not None:
        out.append(("grid", site.grid))
    return out


def business_as_usual(scenario: Any) -> Any:
    """The same scenario with only the existing assets: every asset at its stated capacity,
    its ``investment`` dropped, and no green-share floor (the existing assets cannot be held
    to a target that the investments are made for; REopt's business-as-usual case has no
    renewable-fraction constraint either). A copy; the scenario is unchanged."""
    sc = scenario.model_copy(deep=True)
    sc.policy.green_share_min_fraction = 0.0
    for site in sc.sites:
        for _, a in _assets(site):
            if getattr(a, "investment", None) is not None:
                a.investment = None
        dc = getattr(site, "datacenter", None)
        if dc is not None and dc.investment is not None:
            # the stated GPUs only; the investment stays (not extendable) for its GPU row,
            # which sheds the inflexible load they cannot serve
            dc.investment = dc.investment.model_copy(update={"extendable": False})
    return sc


def with_sizes(scenario: Any, investment: Any) -> Any:
    """A copy of ``scenario`` whose assets are stated at the sizes of ``investment`` (a
    :attr:`Result.investment` table), without investments: the dispatch at those sizes."""
    sc = scenario.model_copy(deep=True)
    size = {(row.kind, row.name, row.quantity): row.size
            for row in investment.itertuples(index=False)}
    kind_of = {"pv": "pv", "wind": "wind", "batteries": "battery", "grid": "grid",
               "gensets": "genset"}
    for site in sc.sites:
        for field_name, a in _assets(site):
            kind = kind_of.get(field_name)
            if kind is None or getattr(a, "investment", None) is None:
                continue
            name = site.name if kind == "grid" else a.name
            a.investment = None
            mw = size.get((kind, name, "mw"))
            if kind in ("pv", "wind") and mw is not None:
                if kind == "pv" and a.inverter_capacity_mw is not None and a.capacity_mw > 0:
                    a.inverter_capacity_mw = a.inverter_capacity_mw * mw / a.capacity_mw
                a.capacity_mw = mw
            elif kind == "battery":
                if mw is not None:
                    a.charge_power_mw = a.discharge_power_mw = mw
                mwh = size.get((kind, name, "mwh"))
                if mwh is not None:
                    a.energy_mwh = mwh
            elif kind == "grid" and mw is not None:
                a.import_max_mw = mw
            elif kind == "genset":
                units = size.get((kind, name, "units"))
                if units is not None:
                    a.units = int(round(units))
        dc = getattr(site, "datacenter", None)
        gpus = size.get(("datacenter", site.name, "gpu"))
        if dc is not None and dc.investment is not None and gpus is not None:
            # a count held at the chosen size, without costs (it may be fractional)
            dc.investment = dc.investment.model_copy(update={
                "extendable": True, "min_gpus": gpus, "max_gpus": gpus, "capex_per_gpu": 0.0,
                "fixed_om_per_gpu_year": 0.0, "replacement_year": None})
    return sc
