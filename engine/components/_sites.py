"""Which sites a job may run at, and whether the placement (not the one-site jobs) places it.

Shared by :mod:`engine.components.jobs` (the jobs at one site, with no data to move) and
:mod:`engine.components.placement` (every other job); reads only scenario fields.
"""
from __future__ import annotations

from typing import Any

__all__ = ["hosts", "is_placed", "max_power_at", "region_of", "reachable"]


def hosts(scenario: Any, job: Any) -> list[int]:
    """Positions of the sites with a data center that ``job.sites`` allows (all if empty)."""
    return [i for i, s in enumerate(scenario.sites)
            if s.datacenter is not None and (not job.sites or s.name in job.sites)]


def region_of(scenario: Any) -> dict[str, str]:
    """Region name of every site that is in a region."""
    return {s: r.name for r in getattr(scenario, "regions", []) for s in r.sites}


def linked(scenario: Any, a: str, b: str) -> tuple[int, int] | None:
    """``(link position, direction)`` of the direct link carrying data from region ``a`` to
    ``b`` (direction 0: from_region -> to_region), or None."""
    for i, link in enumerate(getattr(scenario, "links", [])):
        if (link.from_region, link.to_region) == (a, b):
            return i, 0
        if (link.from_region, link.to_region) == (b, a):
            return i, 1
    return None


def reachable(scenario: Any, job: Any) -> list[tuple[int, int, int]]:
    """``(site position, link, direction)`` of the allowed sites the job's data can reach:
    in its home region (link -1), or in a region with a direct link from it. Without a
    home region every allowed site (the data is wherever the job runs)."""
    cands = hosts(scenario, job)
    home = getattr(job, "home_region", None)
    if home is None:
        return [(s, -1, 0) for s in cands]
    where = region_of(scenario)
    out = []
    for s in cands:
        reg = where.get(scenario.sites[s].name)
        if reg == home:
            out.append((s, -1, 0))
        elif reg is not None and (lk := linked(scenario, home, reg)) is not None:
            out.append((s, *lk))
    return out


def is_placed(scenario: Any, job: Any) -> bool:
    """Whether the placement handles the job: several allowed sites, or data to move to
    its one site."""
    cands = hosts(scenario, job)
    if len(cands) > 1:
        return True
    home = getattr(job, "home_region", None)
    if not cands or home is None or not getattr(job, "data_gb", 0.0):
        return False
    return region_of(scenario).get(scenario.sites[cands[0]].name) != home


def max_power_at(job: Any, dc: Any) -> float:
    """Largest IT power the job may draw at a data center [MW]."""
    if job.max_power_mw is not None:
        return min(job.max_power_mw, dc.it_capacity_mw)
    if job.gpus is not None:
        return min(job.gpus * dc.it_power_per_gpu_kw / 1000.0, dc.it_capacity_mw)
    return dc.it_capacity_mw
