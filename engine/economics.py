"""Site economics: NPV against business-as-usual, payback, IRR, LCOE, cost per GPU-hour.

:func:`appraise` solves a scenario whose assets carry ``investment`` blocks (the project:
extendable capacities sized by the optimiser) and the same site with only its existing
assets (:func:`business_as_usual`: every asset at its stated capacity, no investment), and
turns the two into a yearly cash flow over ``finance.analysis_years`` (REopt's approach:
the project's net cash flow is the operating saving against business-as-usual minus what
the new capacity costs). With ``r`` the discount rate, year ``y = 0..N``::

    capex[0]        = - sum_i capex_i
    capex[y]        = - sum_i capex_i               for y = k n_i (k >= 1, y < N): renewal
    replacement[y]  = - sum_i replacement_cost_i    for y = k n_i + y_rep_i < N
    fixed_om[y]     = - sum_i fixed_om_i (1 + e_om)^(y - 1)                   (y >= 1)
    savings[y]      = (C_bau - C_project) (1 + e_energy)^(y - 1)              (y >= 1)
    salvage[N]      = sum_i salvage_i
    NPV             = sum_y net[y] / (1 + r)^y

``C`` is the yearly operating cost: the objective less the ``capex`` and ``fixed_om`` terms,
scaled from the horizon to a year (x 8760 / T). A shared-storage lease (the objective's
``lease`` term, ``L`` per year) is an operating expense, counted once inside ``C`` (no capex,
no CRF); the cash flow shows it as its own line, so that ``lease + savings`` is the saving
above::

    lease[y]        = (L_bau - L_project) (1 + e_energy)^(y - 1)              (y >= 1)
    savings[y]      = ((C_bau - L_bau) - (C_project - L_project)) (1 + e_energy)^(y - 1)

Simple and discounted payback are the (linearly interpolated) years at which the cumulative
(discounted) cash flow turns non-negative for good -- replacements included, so a late
replacement can push it back; the IRR is the rate at which the NPV is zero (scipy's
``brentq``).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.model.sizing import HOURS_PER_YEAR, crf
from engine.sizes import business_as_usual, with_sizes

log = logging.getLogger(__name__)

__all__ = ["Appraisal", "appraise", "business_as_usual", "cash_flows", "crf", "irr", "npv",
           "payback_years", "with_sizes"]

#: Objective terms of the investments (not operating costs).
INVESTMENT_TERMS = ("capex", "fixed_om")


def npv(flows: Sequence[float], rate: float) -> float:
    """Net present value ``sum_y flows[y] / (1 + rate)^y`` (year 0 undiscounted)."""
    flows = np.asarray(flows, dtype=np.float64)
    return float(np.sum(flows / (1.0 + rate) ** np.arange(flows.size)))


def payback_years(flows: Sequence[float], rate: float = 0.0) -> float:
    """Years until the cumulative (discounted at ``rate``) cash flow is non-negative and stays
    so; linear within the year it turns. NaN if it never does within the flows.

    Parameters
    ----------
    flows : sequence of float
        Net cash flow of years ``0..N``.
    rate : float
        0 for the simple payback; the discount rate for the discounted payback.
    """
    disc = np.asarray(flows, dtype=np.float64) / (1.0 + rate) ** np.arange(len(flows))
    cum = np.cumsum(disc)
    if cum[-1] < 0:
        return float("nan")
    neg = np.flatnonzero(cum < 0)
    if not neg.size:
        return 0.0
    y = int(neg[-1]) + 1  # first year of the final non-negative run
    return float(y - 1 + (-cum[y - 1]) / disc[y])


def irr(flows: Sequence[float], lo: float = -0.99, hi: float = 10.0) -> float:
    """Internal rate of return: the rate in ``(lo, hi)`` where the NPV is zero (the lowest
    such rate if several); NaN if the NPV does not change sign there."""
    from scipy.optimize import brentq

    grid = np.concatenate((np.linspace(lo, 0.0, 100, endpoint=False), np.geomspace(1e-4, hi, 200)))
    grid.sort()
    vals = np.array([npv(flows, r) for r in grid])
    change = np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) <= 0)
    if not change.size:
        return float("nan")
    k = int(change[0])
    if vals[k] == 0.0:
        return float(grid[k])
    return float(brentq(lambda r: npv(flows, r), grid[k], grid[k + 1], xtol=1e-12))


def cash_flows(investment: Any, finance: Any, savings_per_year: float,
               lease_saving_per_year: float = 0.0) -> Any:
    """The yearly cash flow table (see the module docstring).

    Parameters
    ----------
    investment : pandas.DataFrame
        :attr:`Result.investment` of the project.
    finance : Finance
        The scenario's finance block.
    savings_per_year : float
        Operating cost of business-as-usual minus the project's, per year, in year 1 (less
        the shared-storage leases when ``lease_saving_per_year`` is given).
    lease_saving_per_year : float
        Shared-storage lease cost of business-as-usual minus the project's, per year, in
        year 1 (column ``lease``; escalates like the savings).

    Returns
    -------
    pandas.DataFrame
        Index ``year`` 0..N; columns ``capex``, ``replacement``, ``fixed_om``, ``savings``,
        ``salvage``, ``lease``, ``net``, ``discounted``, ``cumulative``,
        ``cumulative_discounted``.
    """
    import pandas as pd

    N, r = finance.analysis_years, finance.discount_rate_fraction
    years = np.arange(N + 1)
    out = {k: np.zeros(N + 1) for k in ("capex", "replacement", "fixed_om", "savings",
                                         "salvage")}
    grow = lambda e: np.where(years >= 1, (1.0 + e) ** np.maximum(years - 1, 0), 0.0)
    for row in investment.itertuples(index=False):
        n = int(row.lifetime_years)
        out["capex"][0] -= row.capex
        for y in range(n, N, n):
            out["capex"][y] -= row.capex
        if not math.isnan(row.replacement_year):
            for y in range(int(row.replacement_year), N, n):
                out["replacement"][y] -= row.replacement_cost
        out["salvage"][N] += row.salvage
    out["fixed_om"] = -float(investment["fixed_om"].sum()) * grow(finance.om_escalation_fraction)
    out["savings"] = savings_per_year * grow(finance.energy_escalation_fraction)
    out["lease"] = lease_saving_per_year * grow(finance.energy_escalation_fraction)
    table = pd.DataFrame(out, index=pd.Index(years, name="year"))
    table["net"] = table[list(out)].sum(axis=1)
    table["discounted"] = table["net"] / (1.0 + r) ** years
    table["cumulative"] = table["net"].cumsum()
    table["cumulative_discounted"] = table["discounted"].cumsum()
    return table


def _operating_per_year(res: Any, T: int) -> float:
    inv = sum(float(res.costs.get(t, 0.0)) for t in INVESTMENT_TERMS)
    return (float(res.objective) - inv) * HOURS_PER_YEAR / T


def _lease_per_year(res: Any, T: int) -> float:
    """The objective's shared-storage ``lease`` term, per year."""
    return float(res.costs.get("lease", 0.0)) * HOURS_PER_YEAR / T


def _gpu_hours(res: Any, scenario: Any) -> float:
    total = 0.0
    for site in scenario.sites:
        dc = site.datacenter
        col = f"datacenter.{site.name}/it_mw"
        if f"datacenter.{site.name}/it_served_mw" in res.hourly:  # GPUs sized: served work
            col = f"datacenter.{site.name}/it_served_mw"
        if dc is not None and col in res.hourly:
            total += float(res.hourly[col].sum()) * 1000.0 / dc.it_power_per_gpu_kw
    return total


@dataclass
class Appraisal:
    """The project against business-as-usual.

    Attributes
    ----------
    project, bau : Result
        The sized scenario and the one with only existing assets.
    investment : pandas.DataFrame
        The project's investment table.
    cash_flows : pandas.DataFrame
        Yearly cash flow (:func:`cash_flows`).
    metrics : dict
        ``npv``, ``simple_payback_years``, ``discounted_payback_years``, ``irr``,
        ``initial_capex``, ``annualised_investment`` (per year), ``operating_cost_per_year``
        and ``bau_operating_cost_per_year`` (each with its shared-storage leases),
        ``lease_cost_per_year`` and ``bau_lease_cost_per_year``, ``savings_per_year``
        (leases included), ``lcoe_onsite_per_mwh``
        (annualised cost of the new PV, wind and batteries per MWh of on-site renewable
        energy used), ``cost_per_gpu_hour`` (levelised over the analysis period: present
        worth of every cost / present worth of the GPU-hours) and its ``bau_`` twin.
    leases : pandas.DataFrame or None
        The project's ``Result.tables["lease_sizing"]``: one row per shared-storage lease
        (leased MWh and MW, mean and max over the offer's periods; its annual cost).
    """

    project: Any
    bau: Any
    investment: Any
    cash_flows: Any
    metrics: dict[str, float] = field(default_factory=dict)
    leases: Any = None

    def summary(self) -> str:
        """The metrics, the investment table and the cash flow as text."""
        lines = ["metrics:"]
        lines += [f"  {k:<30}{v:>18,.4f}" for k, v in self.metrics.items()]
        lines.append("investment:")
        lines += ["  " + ln for ln in self.investment.to_string(index=False).splitlines()]
        if self.leases is not None and len(self.leases):
            lines.append("shared-storage leases (operating expense, per year):")
            lines += ["  " + ln for ln in self.leases.to_string(index=False).splitlines()]
        lines.append("cash flow:")
        lines += ["  " + ln for ln in self.cash_flows.to_string(
            float_format=lambda v: f"{v:,.0f}").splitlines()]
        return "\n".join(lines)


def appraise(scenario: Any, backend: str = "highs", **options: Any) -> Appraisal:
    """Size a scenario's extendable assets and appraise them against business-as-usual.

    Parameters
    ----------
    scenario : Scenario or path
        With a ``finance`` block and assets that carry ``investment``.
    backend : {"highs", "pyomo"}
    **options
        Passed on to :func:`engine.optimize` for both solves.

    With ``sizing.representative_days``, the sizes come from the typical-day model and the
    project is the full-year dispatch at those sizes
    (:func:`engine.representative.size_with_representative_days`).

    Returns
    -------
    Appraisal

    Raises
    ------
    ScenarioError
        If the scenario is invalid or has no ``finance`` block.
    """
    from engine.api import _as_scenario, optimize
    from engine.errors import ScenarioError

    sc = _as_scenario(scenario)
    fin = getattr(sc, "finance", None)
    if fin is None:
        raise ScenarioError("finance: required to appraise a scenario, got None")
    sz = getattr(sc, "sizing", None)
    if sz is not None and sz.representative_days is not None:
        # sizes from typical days; the project is the full year dispatched at them
        from engine.representative import size_with_representative_days

        rep = size_with_representative_days(sc, backend=backend)
        project, table = rep.full, rep.investment
        project.investment = table
    else:
        project = optimize(sc, backend=backend, **options)
        table = project.investment
    bau = optimize(business_as_usual(sc), backend=backend, **options)
    for name, res in (("project", project), ("business-as-usual", bau)):
        if not res.has_solution:
            raise RuntimeError(f"appraise: the {name} scenario has no solution "
                               f"({res.status}): {res.diagnosis}")
    T = sc.horizon_h
    op, op_bau = _operating_per_year(project, T), _operating_per_year(bau, T)
    lease, lease_bau = _lease_per_year(project, T), _lease_per_year(bau, T)
    flows = cash_flows(table, fin, (op_bau - lease_bau) - (op - lease), lease_bau - lease)
    r, N = fin.discount_rate_fraction, fin.analysis_years
    net = flows["net"].to_numpy()
    onsite = table[table["kind"].isin(["pv", "wind", "battery"])]["annualised_cost"].sum()
    gen = float(project.kpis.get("renewable_generation_mwh", 0.0)) * HOURS_PER_YEAR / T
    pw = lambda yearly: npv(np.concatenate(([0.0], yearly)), r)  # years 1..N

    def levelised(res: Any, capex_flows: np.ndarray, om: np.ndarray) -> float:
        ops = _operating_per_year(res, T) * (1 + fin.energy_escalation_fraction) ** np.arange(N)
        gpu = pw(np.full(N, _gpu_hours(res, sc) * HOURS_PER_YEAR / T))
        cost = -npv(capex_flows, r) + pw(ops) - npv(om, r)
        return cost / gpu if gpu else float("nan")

    invest = (flows["capex"] + flows["replacement"] + flows["salvage"]).to_numpy()
    metrics = {
        "npv": npv(net, r),
        "simple_payback_years": payback_years(net),
        "discounted_payback_years": payback_years(net, r),
        "irr": irr(net),
        "initial_capex": float(table["capex"].sum()),
        "annualised_investment": float(table["annualised_cost"].sum()),
        "operating_cost_per_year": op,
        "bau_operating_cost_per_year": op_bau,
        "savings_per_year": op_bau - op,
        "lease_cost_per_year": lease,
        "bau_lease_cost_per_year": lease_bau,
        "lcoe_onsite_per_mwh": float(onsite) / gen if gen else float("nan"),
        "cost_per_gpu_hour": levelised(project, invest, flows["fixed_om"].to_numpy()),
        "bau_cost_per_gpu_hour": levelised(bau, np.zeros(N + 1), np.zeros(N + 1)),
    }
    log.info("appraisal of %r: NPV %.0f, payback %.2f years", sc.name, metrics["npv"],
             metrics["simple_payback_years"])
    return Appraisal(project, bau, table, flows, metrics,
                     project.tables.get("lease_sizing"))
