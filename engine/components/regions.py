"""Regions: groups of sites, with their users' inference demand and its latency budget.

A region ``r`` holds sites (each site in at most one region). Its inference demand
``D[r, t]`` (IT MW) is served by the sites whose round trip stays within the budget::

    rtt(r, s) = 2 * latency_ms(link r - region(s))   (0 inside the region)
    S_r = {s with a data center : rtt(r, s) <= latency_budget_ms_r}

The equations that serve the demand are the placement's (:mod:`engine.components.placement`)::

    sum_{s in S_r} q[r, s, t] = D[r, t],   q >= 0      (placement/inference)

Data of jobs whose ``home_region`` is ``r`` lives at the region's first site (``sites[0]``):
the sending end of a transfer draws its energy there.

Grid values of a region (``import_price_per_mwh``, ``export_price_per_mwh``,
``emission_factor_kg_per_mwh``, ``marginal_emission_factor_kg_per_mwh``,
``clean_share_fraction``; hourly series or scalars) hold for the grid of each of its sites
that does not state them (:func:`engine.components.grid.inherit_from_regions`); a grid that
states one as well must state the same series (else a ``ScenarioError`` naming both).
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.components.base import Component
from engine.scenario.base import Model, NonNeg
from engine.scenario.series import FractionSeries, Series, SignedSeries

__all__ = ["COMPONENT", "Region"]

_GRID_FIELDS = ("import_price_per_mwh", "export_price_per_mwh", "emission_factor_kg_per_mwh",
                "marginal_emission_factor_kg_per_mwh", "clean_share_fraction")


class Region(Model):
    """A region (e.g. ``east``, ``west``): its sites and its users' inference demand.

    ``inference_it_mw`` is the IT power the region's users ask for each hour (0: none);
    it must be served within ``latency_budget_ms`` of round trip (required with a demand).
    ``tenant`` owns the demand (for the tenant ledger). The grid fields (prices per MWh,
    average and marginal emission factors in kg/MWh, clean share) are the region's grid,
    taken by the grids of its sites that do not state them.
    """

    name: str
    sites: list[str] = Field(default_factory=list)
    inference_it_mw: Series = 0.0
    latency_budget_ms: NonNeg | None = None
    tenant: str | None = None
    import_price_per_mwh: SignedSeries | None = None
    export_price_per_mwh: SignedSeries | None = None
    emission_factor_kg_per_mwh: Series | None = None
    marginal_emission_factor_kg_per_mwh: Series | None = None
    clean_share_fraction: FractionSeries | None = None


def check(scenario: Any) -> None:
    regions = scenario.regions
    names = [r.name for r in regions]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"regions: names must be unique, got duplicates {sorted(dup)}")
    site_names = [s.name for s in scenario.sites]
    owner: dict[str, str] = {}
    for i, region in enumerate(regions):
        for k, s in enumerate(region.sites):
            if s not in site_names:
                raise ValueError(f"regions[{i}].sites[{k}]: unknown site {s!r}; sites are "
                                 f"{site_names}")
            if s in owner:
                raise ValueError(f"regions[{i}].sites[{k}]: site {s!r} is in region "
                                 f"{owner[s]!r} already; a site is in one region")
            owner[s] = region.name
        stated = [f for f in _GRID_FIELDS if getattr(region, f) is not None]
        gridded = [s.name for s in scenario.sites if s.name in region.sites and s.grid is not None]
        if stated and not gridded:
            # nothing would take the values: say so rather than ignore them
            raise ValueError(f"regions[{i}].{stated[0]}: stated, but region {region.name!r} has "
                             f"no site with a grid to take it (sites {region.sites})")


COMPONENT = Component(
    name="regions", field="regions", level="scenario", schema=list[Region],
    default=Field(default_factory=list), check=check,
)
