"""The value of information of a rolling run (opt-in: it re-solves the horizon's LP and
runs the other controllers): the realised cost against the same controller with perfect
forecasts, against the controller without (or with) a plan, and against the
perfect-foresight optimum of the horizon, in total, by cost term and by month."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from engine.model.build import build
from engine.operations.guide import monthly_cost
from engine.results import extract

__all__ = ["value_of_information"]


def _row(objective: float, costs, kpis) -> dict[str, float]:
    return {"total": float(objective), "energy": float(costs.get("energy", 0.0)),
            "demand_charge": float(costs.get("demand_charge", 0.0)),
            "export_revenue": float(costs.get("export_revenue", 0.0)),
            "green_share": float(kpis.get("green_share", np.nan)),
            "peak_import_mw": float(kpis.get("peak_import_mw", np.nan)),
            "job_shortfall_mwh": float(kpis.get("job_shortfall_mwh", 0.0))}


def _name(forecaster: Any, plan: Any) -> str:
    f = "callable" if callable(forecaster) else str(forecaster)
    return f"rolling {f}, " + (f"plan {plan}" if plan else "no plan")


def value_of_information(res, data, forecaster, kw: dict[str, Any],
                         rolling: Callable[..., Any]) -> None:
    """Fill ``res.value_of_information`` and ``res.months["annual_optimum"]``.

    ``kw`` are the keyword arguments of the run (window, step, plan, ...) for the other
    controllers: with a plan, the same forecaster without it and perfect forecasts with and
    without it; without one, perfect forecasts. Each is run by ``rolling`` (:func:`engine.rolling_optimize`, passed in: this
    module does not import the controller). The table is
    ``value_of_information["controllers"]``, one row per controller and the annual optimum.
    """
    from engine.backends import SolverOptions
    from engine.backends.highs import PersistentHighs

    kw = dict(kw)
    # the scenario as given (a path when history_h reads the hours before its start)
    sc = kw.pop("scenario", None) or data.scenario
    plan = kw.get("plan")
    rows: dict[str, dict[str, float]] = {_name(forecaster, plan): _row(res.objective, res.costs,
                                                                        res.kpis)}
    # with a plan: also the same forecaster without it and perfect forecasts with and without
    # it; without a plan: perfect forecasts only (a plan costs a plan's solves every replan_h)
    runs = [(forecaster, None)] if plan and not callable(forecaster) else []
    if forecaster != "perfect":
        runs.append(("perfect", plan))
        if plan:
            runs.append(("perfect", None))
    perfect_same = res.objective if forecaster == "perfect" else None
    for f, p in runs:
        args = dict(kw, plan=p)
        if f == "perfect":
            args["warmup_h"] = 0
            args["history_h"] = 0  # perfect forecasts observe nothing
        r = rolling(sc, forecaster=f, value_of_information=False, **args)
        rows[_name(f, p)] = _row(r.objective, r.costs, r.kpis)
        if f == "perfect" and p == plan:
            perfect_same = r.objective
    fm = build(data)
    a = fm.model.arrays()
    options = SolverOptions(highs_options=dict(kw.get("highs_options") or {}))
    if a.is_mip:  # gensets, non-preemptible jobs: the engine's MILP path
        from engine.operations.model_data import _solve

        sol = _solve(a, options)
    else:
        sol = PersistentHighs(a, options).run()
    voi: dict[str, Any] = {"realised_cost": float(res.objective),
                           "perfect_forecast_rolling_cost": float(perfect_same)}
    if sol.x is not None:
        parts = extract(fm, sol.x)
        an = float(sol.objective)
        rows["annual optimum"] = _row(an, parts["costs"], parts["kpis"])
        res.months["annual_optimum"] = monthly_cost(fm, sol.x)
    else:
        an = float("nan")
    voi["annual_optimum_cost"] = an
    pr = voi["perfect_forecast_rolling_cost"]
    voi["cost_of_forecast_error"] = voi["realised_cost"] - pr
    voi["cost_of_limited_horizon"] = pr - an
    voi["realised_vs_annual_fraction"] = voi["realised_cost"] / an - 1.0 if an else np.nan
    voi["perfect_rolling_vs_annual_fraction"] = pr / an - 1.0 if an else np.nan
    for row in rows.values():
        row["vs_annual_fraction"] = row["total"] / an - 1.0 if an else np.nan
    voi["controllers"] = rows
    res.value_of_information = voi
