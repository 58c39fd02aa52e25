"""Investment inputs: an asset's capital and fixed costs and sizing bounds, and the
scenario's ``finance`` block (discount rate, analysis period, escalation).

An asset (PV, wind, battery, grid connection) that carries an ``investment`` is priced with
its annualised capital cost and fixed O&M; with ``extendable: true`` its capacity becomes a
decision variable between ``min_*`` and ``max_*`` (see :mod:`engine.model.sizing`). The
asset's stated capacity (``capacity_mw``, ``energy_mwh``, ``import_max_mw``) is what exists
already: it is what the business-as-usual case keeps, and investment costs are charged only
on the capacity added to it.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from engine.scenario.base import (
    Amount,
    Bool,
    Cost,
    Fraction,
    Integer,
    Model,
    Number,
    PositiveAmount,
)

__all__ = ["Finance", "Investment", "check_extendable"]


def _above_minus_one(value: float) -> float:
    if value <= -1.0:
        raise ValueError(f"must be > -1 (a rate of -100 % or less has no present value), "
                         f"got {value:g}")
    return value


#: A yearly rate (discount, escalation) as a fraction, > -1.
Rate = Annotated[Number, AfterValidator(_above_minus_one), Field(le=10.0)]


class Investment(Model):
    """Capital and fixed costs of an asset, and its sizing bounds.

    Per unit of the asset's capacity: ``capex_per_mw`` (power: PV and wind DC MW, battery
    MW, grid connection MW) and, for a battery, ``capex_per_mwh`` (energy);
    ``fixed_om_per_mw_year`` / ``fixed_om_per_mwh_year`` likewise. ``lifetime_years`` sets
    the capital recovery factor ``CRF = r / (1 - (1 + r)^-n)`` (``1 / n`` at ``r = 0``);
    ``replacement_year`` (within the lifetime) costs ``replacement_cost_fraction`` of the
    capex again (battery cells, inverters); ``salvage_fraction`` of the capex comes back at
    the end of the analysis period (cash flow only).

    ``extendable``: the capacity is a decision variable in ``[min, max]`` (``min_mw`` /
    ``max_mw`` for power, ``min_mwh`` / ``max_mwh`` for a battery's energy; ``min``
    defaults to the stated capacity, ``max`` is required). ``energy_to_power_ratio_h``
    fixes a battery's energy to that many hours of its power.
    """

    capex_per_mw: Cost = 0.0
    capex_per_mwh: Cost = 0.0
    fixed_om_per_mw_year: Cost = 0.0
    fixed_om_per_mwh_year: Cost = 0.0
    lifetime_years: Annotated[Integer, Field(ge=1, le=100)]
    replacement_year: Annotated[Integer, Field(ge=1)] | None = None
    replacement_cost_fraction: Annotated[Number, Field(ge=0.0, le=10.0)] = 1.0
    salvage_fraction: Fraction = 0.0
    extendable: Bool = False
    min_mw: Amount | None = None
    max_mw: Amount | None = None
    min_mwh: Amount | None = None
    max_mwh: Amount | None = None
    energy_to_power_ratio_h: PositiveAmount | None = None

    @model_validator(mode="after")
    def _check(self) -> Investment:
        if self.replacement_year is not None and self.replacement_year >= self.lifetime_years:
            raise ValueError(f"replacement_year: must be < lifetime_years={self.lifetime_years}, "
                             f"got {self.replacement_year}")
        for lo, hi in (("min_mw", "max_mw"), ("min_mwh", "max_mwh")):
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{lo}: extendable bounds inverted: must be <= {hi}={b:g}, "
                                 f"got {a:g}")
        return self

    def check_bounds(self, existing: float, *, energy: bool = False) -> tuple[float, float]:
        """``(lower, upper)`` of an extendable capacity whose stated value is ``existing``;
        ``ValueError`` naming the field (``investment.max_mw``, ...) when ``max`` is missing or
        ``min`` < ``existing``. The asset models call it when they are validated."""
        lo, hi = ("min_mwh", "max_mwh") if energy else ("min_mw", "max_mw")
        lower, upper = getattr(self, lo), getattr(self, hi)
        if upper is None:
            raise ValueError(f"investment.{hi}: required for an extendable asset, got None")
        lower = existing if lower is None else lower
        if lower < existing:
            raise ValueError(f"investment.{lo}: must be >= the stated (existing) capacity "
                             f"{existing:g}, "
                             f"got {lower:g}")
        if upper < lower:
            raise ValueError(f"investment.{hi}: extendable bounds inverted: must be >= "
                             f"{lower:g}, "
                             f"got {upper:g}")
        return float(lower), float(upper)


def check_extendable(inv: Investment | None, mw: float | None = None,
                     mwh: float | None = None) -> None:
    """Check an asset's extendable bounds against its stated capacities (``mw`` for the
    power, ``mwh`` for a battery's energy); ``ValueError`` naming ``investment.<field>``."""
    if inv is None or not inv.extendable:
        return
    if mw is not None:
        inv.check_bounds(mw)
    if mwh is not None:
        inv.check_bounds(mwh, energy=True)


class Finance(Model):
    """The economics of a scenario's investments.

    ``discount_rate_fraction`` (real, per year, > -1) discounts cash flows and annualises
    capital costs; ``analysis_years`` is the appraisal period (NPV, payback, IRR);
    ``energy_escalation_fraction`` and ``om_escalation_fraction`` grow the yearly operating
    savings and the fixed O&M from year 2 on.
    """

    discount_rate_fraction: Rate
    analysis_years: Annotated[Integer, Field(ge=1, le=100)]
    energy_escalation_fraction: Rate = 0.0
    om_escalation_fraction: Rate = 0.0
