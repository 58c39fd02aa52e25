"""Sizing a year on representative days, then checking the sizes on every hour.

:func:`size_with_representative_days` clusters the scenario's year into
``sizing.representative_days`` typical days (:func:`engine.model.periods.aggregate`, tsam;
the year's first and last days are two more periods of their own, so that storage leaves its
stated initial state and meets its terminal rule as in the full year), solves the sizing
model on them (storage linked across the year, costs weighted by the days each typical day
stands for), and re-runs the full-year dispatch at the chosen sizes
(:func:`engine.sizes.with_sizes`). Its result reports both totals -- the aggregated
model's objective and the full year's dispatch cost plus the same yearly investment
terms -- and the aggregation error ``aggregated / full - 1``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from engine.backends import SolverOptions, solve
from engine.components.finance import investment_table
from engine.errors import ScenarioError
from engine.model.build import build
from engine.model.data import prepare
from engine.model.periods import aggregate
from engine.model.sizing import HOURS_PER_YEAR
from engine.sizes import with_sizes
from engine.status import Status

log = logging.getLogger(__name__)

__all__ = ["RepresentativeSizing", "size_with_representative_days"]


@dataclass
class RepresentativeSizing:
    """Sizes chosen on typical days and the full year dispatched at them.

    Attributes
    ----------
    status : Status
        Of the aggregated solve.
    investment : pandas.DataFrame
        The chosen sizes (investment table, see :mod:`engine.components.finance`).
    aggregated_cost : float
        Objective of the typical-day model (a year: operations weighted by days, plus the
        yearly investment terms).
    full : Result
        The full-year dispatch at the chosen sizes.
    full_cost : float
        ``full.objective`` + the investment table's yearly ``annualised_cost`` (scaled to
        the horizon).
    aggregation_error : float
        ``aggregated_cost / full_cost - 1``.
    costs : dict
        The aggregated model's cost terms.
    timings : dict
        Seconds: ``aggregate_s`` (prepare and tsam), ``build_s``, ``solve_s`` (aggregated
        model), ``full_s`` (the full-year dispatch).
    n_days : int
        Typical days.
    """

    status: Status
    investment: Any
    aggregated_cost: float
    full: Any
    full_cost: float
    aggregation_error: float
    costs: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    n_days: int = 0

    def summary(self) -> str:
        lines = [f"{self.n_days} representative days: {self.status}",
                 f"  aggregated cost   {self.aggregated_cost:,.2f}",
                 f"  full-year cost    {self.full_cost:,.2f}  ({self.full.status})",
                 f"  aggregation error {self.aggregation_error:+.4%}"]
        lines += ["  " + ln for ln in self.investment[["asset", "quantity", "size",
                                                       "annualised_cost"]].to_string(
            index=False).splitlines()]
        return "\n".join(lines)


def size_with_representative_days(scenario: Any, backend: str = "highs",
                                  n_days: int | None = None,
                                  options: SolverOptions | None = None) -> RepresentativeSizing:
    """Size on representative days, then dispatch the full year at those sizes.

    Parameters
    ----------
    scenario : Scenario
        A 365-day year (8760 h) with extendable assets and a ``finance`` block.
    backend : {"highs", "pyomo"}
    n_days : int, optional
        Typical days; default ``scenario.sizing.representative_days``.
    options : SolverOptions, optional

    Returns
    -------
    RepresentativeSizing

    Raises
    ------
    ScenarioError
        Without a number of days, or a horizon other than 8760 h.
    """
    from engine.api import _as_scenario, optimize

    sc = _as_scenario(scenario)
    sz = getattr(sc, "sizing", None)
    n = n_days if n_days is not None else (sz.representative_days if sz is not None else None)
    if n is None:
        raise ScenarioError("sizing.representative_days: required, got None")
    if sc.horizon_h != 8760 or not 1 <= n <= 365:
        raise ScenarioError(f"sizing.representative_days: needs horizon_h = 8760 and 1..365 "
                            f"days, got horizon_h = {sc.horizon_h}, {n} days")
    t0 = time.perf_counter()
    data = aggregate(prepare(sc), int(n))
    t1 = time.perf_counter()
    f = build(data)
    f.model.arrays()
    t2 = time.perf_counter()
    out = solve(f.model, backend=backend, options=options or SolverOptions(),
                release_arrays=True)
    t3 = time.perf_counter()
    if out.x is None:
        raise RuntimeError(f"the representative-day model has no solution ({out.status}): "
                           f"{out.diagnosis}")
    table = investment_table(f.meta.get("sizing", []), out.x)
    costs = {term: sum(float((out.x[c] * coef).sum()) + k for c, coef, k in parts)
             for term, parts in f.costs.items()}
    full = optimize(with_sizes(sc, table), backend=backend)
    t4 = time.perf_counter()
    invest = float(table["annualised_cost"].sum()) * sc.horizon_h / HOURS_PER_YEAR
    full_cost = float(full.objective) + invest
    err = out.objective / full_cost - 1.0 if full_cost else float("nan")
    log.info("%d representative days: %.0f against %.0f on every hour (%+.3f%%)", n,
             out.objective, full_cost, 100 * err)
    return RepresentativeSizing(
        status=out.status, investment=table, aggregated_cost=float(out.objective), full=full,
        full_cost=full_cost, aggregation_error=err, costs=costs,
        timings={"aggregate_s": t1 - t0, "build_s": t2 - t1, "solve_s": t3 - t2,
                 "full_s": t4 - t3}, n_days=int(n))
