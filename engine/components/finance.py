"""The scenario's ``finance`` block and the investment table of the sized assets.

No equations of its own: the capacity variables and their cost terms are written by the
assets' components through :mod:`engine.model.sizing`, which reads the discount rate here.
For asset ``i`` with capacity ``cap_i`` (chosen, or stated), stated capacity ``K_i``,
capex per unit ``c_i``, annualised capex per unit ``A_i = CRF(r, n_i) (c_i + replacement
worth)`` and fixed O&M per unit-year ``o_i``, the investment table reports (per year)::

    capex            = c_i (cap_i - K_i)
    annualised_capex = A_i (cap_i - K_i)
    fixed_om         = o_i (cap_i - K_i)
    annualised_cost  = annualised_capex + fixed_om
    replacement_cost = replacement_cost_fraction * capex   (in replacement_year)
    salvage          = salvage_fraction * capex            (at the end of the analysis)

A unit count (a genset: ``quantity`` ``"units"``) has ``cap_i``, ``K_i`` in units and its
costs per unit are the per-MW ones times the unit's MW; a GPU count (``"gpu"``) is priced
per GPU.

The objective's ``capex`` and ``fixed_om`` terms are these times the horizon's share of a
year, ``T / 8760``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from engine.components.base import Component, Extraction
from engine.scenario.finance import Finance

__all__ = ["COMPONENT", "investment_table"]

#: Columns of the investment table.
COLUMNS = ["asset", "kind", "name", "quantity", "extendable", "existing", "size", "added",
           "capex", "annualised_capex", "fixed_om", "annualised_cost", "lifetime_years",
           "replacement_year", "replacement_cost", "salvage"]


def check(scenario: Any) -> None:
    """A finance block is required as soon as an asset carries an investment."""
    if getattr(scenario, "finance", None) is not None:
        return
    for i, site in enumerate(scenario.sites):
        for kind, assets in site.asset_lists():
            for k, a in enumerate(assets):
                if getattr(a, "investment", None) is not None:
                    raise ValueError(f"finance: required when an asset has an investment "
                                     f"(sites[{i}].{kind}[{k}].investment), got None")
        g = getattr(site, "grid", None)
        if g is not None and g.investment is not None:
            raise ValueError(f"finance: required when an asset has an investment "
                             f"(sites[{i}].grid.investment), got None")
        dc = getattr(site, "datacenter", None)
        if dc is not None and getattr(dc, "investment", None) is not None:
            raise ValueError(f"finance: required when an asset has an investment "
                             f"(sites[{i}].datacenter.investment), got None")


def investment_table(entries: list[dict], x: np.ndarray) -> Any:
    """One row per priced capacity (see the module docstring), sizes read from ``x``."""
    import pandas as pd

    rows = []
    for e in entries:
        inv = e["investment"]
        size = float(x[e["col"]]) if e["col"] >= 0 else e["existing"]
        added = max(size - e["existing"], 0.0)
        capex = e["capex_per_unit"] * added
        ann = e["annualised_capex_per_unit"] * added
        om = e["fixed_om_per_unit_year"] * added
        rows.append({"asset": f"{e['kind']}.{e['name']}", "kind": e["kind"], "name": e["name"],
                     "quantity": e["quantity"], "extendable": e["col"] >= 0,
                     "existing": e["existing"], "size": size, "added": added, "capex": capex,
                     "annualised_capex": ann, "fixed_om": om, "annualised_cost": ann + om,
                     "lifetime_years": inv.lifetime_years,
                     "replacement_year": (float("nan") if inv.replacement_year is None
                                          else inv.replacement_year),
                     "replacement_cost": inv.replacement_cost_fraction * capex
                     if inv.replacement_year is not None else 0.0,
                     "salvage": inv.salvage_fraction * capex})
    return pd.DataFrame(rows, columns=COLUMNS)


def extract(r: Extraction) -> None:
    entries = r.f.meta.get("sizing")
    if entries:
        r.tables["investment"] = investment_table(entries, r.x)


COMPONENT = Component(
    name="finance", field="finance", level="scenario", schema=Finance | None, default=None,
    check=check, extract=extract,
)
