"""The scenario's ``sizing`` block: representative days for a year's sizing.

No equations are added here. With ``sizing.representative_days: N``,
:func:`engine.representative.size_with_representative_days` clusters the year into ``N``
typical days (:func:`engine.model.periods.aggregate`), every hour of typical day ``k``
weighing the ``n_k`` days it stands for (``sum_k n_k = 365``)::

    cost   = sum_k n_k sum_h c[k, h] x[k, h]   (+ the yearly investment terms)
    S[d+1] = (1 - σ)^24 S[d] + δ[k(d), 23]      (storage linked across the year)

solves, then re-runs the full-year dispatch at the chosen sizes. :func:`engine.optimize`
itself always solves every hour; with ``annual_start: representative_days`` (the default) it
sizes on the typical days first and starts the annual sizing LP from those sizes
(:func:`engine.annual_start.annual_start`: fixed, solved, then freed; the optimum is the
annual LP's own). This component only validates the block: the horizon must
be a 365-day year from local midnight, and the components that the typical days cannot
represent (jobs with release hours, outage scenarios, gensets' minimum up and down times,
grid outage hours, feeder networks) are refused. Hydro energy budgets are kept over the
calendar year's blocks (:mod:`engine.components.hydro`).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from engine.components.base import Component
from engine.scenario.base import Integer, Model

__all__ = ["COMPONENT", "Sizing", "check_representable"]


class Sizing(Model):
    """How a year is sized: ``representative_days`` typical days (1..365; None: every
    hour), and how the annual sizing LP is started (``annual_start``)."""

    representative_days: Annotated[Integer, Field(ge=1, le=365)] | None = None
    #: How :func:`engine.optimize` starts an annual sizing LP: ``"representative_days"``
    #: (sizes chosen on 40 typical days, :data:`engine.annual_start.START_DAYS`, whatever
    #: ``representative_days``; fixed for a first solve and then freed) or ``"none"`` (a
    #: cold solve).
    annual_start: Literal["representative_days", "none"] = "representative_days"


def check(scenario: Any) -> None:
    sz = getattr(scenario, "sizing", None)
    if sz is None or sz.representative_days is None:
        return
    check_representable(scenario, f"sizing.representative_days: {sz.representative_days} "
                                  f"typical days need")


def check_representable(scenario: Any, where: str) -> None:
    """``ValueError`` (its text starting with ``where``) when typical days cannot represent
    the scenario's year."""
    if scenario.horizon_h != 8760:
        raise ValueError(f"{where} a 365-day year (horizon_h = 8760), got horizon_h = "
                         f"{scenario.horizon_h}")
    first = scenario.index[0]
    if first.hour or first.minute:
        raise ValueError(f"{where} a start at local midnight, got start = {scenario.start!r}")
    if getattr(scenario, "jobs", None):
        raise ValueError(f"{where} no jobs (their windows are hours of the year), got "
                         f"{len(scenario.jobs)}")
    if scenario.policy.outages is not None:
        raise ValueError(f"{where} no policy.outages, got outage scenarios")
    leases = sum(len(p.leases) for p in getattr(scenario, "shared_storage", None) or [])
    if leases:  # leased per calendar day or month, each virtual battery within the day
        raise ValueError(f"{where} no shared_storage leases (their periods are days or months "
                         f"of the calendar year), got {leases}")
    for i, site in enumerate(scenario.sites):
        if getattr(site, "gensets", None):
            raise ValueError(f"{where} no gensets (sites[{i}].gensets is set)")
        if getattr(site, "network", None) is not None:
            raise ValueError(f"{where} no feeder network (sites[{i}].network is set)")
        if site.grid is not None and site.grid.outage_hours:
            raise ValueError(f"{where} no grid outage hours (sites[{i}].grid.outage_hours "
                             f"is set)")


COMPONENT = Component(
    name="sizing", field="sizing", level="scenario", schema=Sizing | None, default=None,
    check=check,
)
