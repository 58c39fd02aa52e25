"""Tenants: the owners of jobs and inference streams, for the hourly green-power ledger.

Tenant ``n``'s consumption at site ``s`` in hour ``t`` is the facility energy of what it
owns there (``PUE[s, t]`` x its jobs' and inference IT power); every hour it takes the site's
traced mix ``m[s, t, k]`` (the battery a mixing tank, :mod:`kernels.trace`)::

    E[n, s, t, k] = m[s, t, k] * consumption[n, s, t],   sum_k m[s, t, k] = 1
    CFE[n, t] = sum_{s, k clean} E[n, s, t, k] / sum_{s, k} E[n, s, t, k]

(:mod:`engine.results.ledger` writes the ledger and the certificates.)
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.components.base import Component
from engine.scenario.base import Model

__all__ = ["COMPONENT", "Tenant"]


class Tenant(Model):
    """A tenant (an enterprise renting compute)."""

    name: str


def check(scenario: Any) -> None:
    names = [t.name for t in scenario.tenants]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"tenants: names must be unique, got duplicates {sorted(dup)}")
    owners = [(f"jobs[{k}].tenant", j.tenant) for k, j in enumerate(scenario.jobs)]
    owners += [(f"regions[{k}].tenant", r.tenant) for k, r in enumerate(scenario.regions)]
    used = set()
    for path, tenant in owners:
        if tenant is None:
            continue
        if tenant not in names:
            raise ValueError(f"{path}: unknown tenant {tenant!r}; tenants are {names}")
        used.add(tenant)
    for k, name in enumerate(names):
        if name not in used:
            raise ValueError(f"tenants[{k}]: tenant {name!r} owns nothing (no job and no "
                             "region's inference names it)")


COMPONENT = Component(
    name="tenants", field="tenants", level="scenario", schema=list[Tenant],
    default=Field(default_factory=list), check=check,
)
