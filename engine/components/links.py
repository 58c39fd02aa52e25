"""Links between regions: bandwidth, latency, energy and price of the data they carry.

A link joins two regions and carries up to its bandwidth in each direction (full duplex).
For link ``l``, direction ``d`` and hour ``t``, with ``x`` the GB moved by every transfer
routed over it (the placement's ``placement/transfer_gb``)::

    sum_{x on (l, d)} x[t] <= 450 * bandwidth_gbps_l      (placement/link; 1 Gbps = 450 GB/h)
    energy at each end [MWh] = energy_kwh_per_gb_l / 1000 * x[t]
    cost = price_per_gb_l * x[t]                          (cost term ``transfer``)

Only direct links are used (no routing through a third region).
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.components.base import Component
from engine.scenario.base import Cost, Model, NonNeg

__all__ = ["COMPONENT", "GB_PER_HOUR_PER_GBPS", "Link"]

#: GB carried in one hour by 1 Gbps: 3600 s x 1/8 GB/s.
GB_PER_HOUR_PER_GBPS = 3600.0 / 8.0


class Link(Model):
    """A network link between two regions (both directions, each up to the bandwidth)."""

    from_region: str
    to_region: str
    bandwidth_gbps: NonNeg
    latency_ms: NonNeg = 0.0
    energy_kwh_per_gb: NonNeg = 0.0
    price_per_gb: Cost = 0.0


def check(scenario: Any) -> None:
    regions = [r.name for r in scenario.regions]
    seen: set[frozenset] = set()
    for i, link in enumerate(scenario.links):
        for end in ("from_region", "to_region"):
            name = getattr(link, end)
            if name not in regions:
                raise ValueError(f"links[{i}].{end}: unknown region {name!r}; regions are "
                                 f"{regions}")
        if link.from_region == link.to_region:
            raise ValueError(f"links[{i}].to_region: a link joins two regions, got "
                             f"{link.to_region!r} at both ends")
        key = frozenset((link.from_region, link.to_region))
        if key in seen:
            raise ValueError(f"links[{i}]: a second link between {link.from_region!r} and "
                             f"{link.to_region!r}; give one link per pair of regions")
        seen.add(key)


COMPONENT = Component(
    name="links", field="links", level="scenario", schema=list[Link],
    default=Field(default_factory=list), check=check,
)
