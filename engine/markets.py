"""Markets around the park: demand-response baselines and the flexibility envelope.

* :func:`with_baselines` solves the scenario's own plan without its demand-response events
  and fills each event's baseline from it (the ``previous_days`` rule of
  :mod:`engine.components.demand_response`); :func:`engine.optimize` calls it by itself
  and reports the cost of the events to the park (``dr_cost_to_park``: the cost without
  the DR terms, minus the plan's).
* :func:`notice_pins`: events announced ``notice_h`` hours ahead. The park is solved in
  stages, one per announcement hour; each stage fixes the hours before its announcement to
  the previous stage's decisions (non-anticipativity), and :func:`engine.optimize` solves
  the last stage with those fixings (see :mod:`engine.components.demand_response`).
* :func:`flexibility_envelope`: for each start hour and each duration, the largest
  reduction of a site's net grid import below its plan that the park can hold with every
  service kept (no more unserved load or unmet EV energy than in the plan, every job
  done). One persistent HiGHS model per structure: the plan is solved, then each point only
  changes the upper bounds of the hold rows (``demand_response/envelope_hold``) in place and
  re-solves warm; a sequence of same-structure scenarios (the days of a year) re-uses the
  same model with its bounds, costs and coefficients changed in place.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.backends.base import SolverOptions
from engine.components.demand_response import DemandResponse, announced_h, event_baselines
from engine.errors import ScenarioError
from engine.model.build import build
from engine.model.data import prepare
from engine.status import Status

__all__ = ["column_hours", "cost_to_park", "flexibility_envelope", "needs_baselines",
           "needs_notice", "notice_pins", "with_baselines"]

log = logging.getLogger(__name__)

#: Cost terms of the demand-response settlement (not a cost of running the park).
DR_TERMS = ("dr_revenue", "dr_penalty")


def needs_baselines(sc: Any) -> bool:
    """Whether some event's baseline must come from the plan without events."""
    dr = getattr(sc, "demand_response", None)
    return dr is not None and any(e.baseline_mw is None for e in dr.events)


def _without_events(sc: Any) -> Any:
    dr = sc.demand_response or DemandResponse()
    return sc.model_copy(update={"demand_response": dr.model_copy(update={"events": []})})


def with_baselines(sc: Any, solve: Callable[[Any], Any]) -> tuple[Any, Any]:
    """The scenario with every event's baseline filled from its plan without events.

    Parameters
    ----------
    sc : Scenario
        A scenario whose ``demand_response.baseline`` is ``previous_days``.
    solve : callable
        ``solve(scenario) -> Result`` (e.g. ``engine.optimize`` with its options).

    Returns
    -------
    (Scenario, Result)
        The scenario with declared baselines (``baseline_mw`` per event hour) and the plan
        without events; if the plan has no solution, the scenario is returned unchanged.
    """
    plan = solve(_without_events(sc))
    if not plan.has_solution:
        return sc, plan
    h = plan.hourly
    net = {}
    for s in sc.sites:
        if s.grid is not None:
            net[s.name] = (h[f"grid.{s.name}/import_mw"].to_numpy()
                           - h[f"grid.{s.name}/export_mw"].to_numpy())
    dr = sc.demand_response
    base = event_baselines(dr, net, sc.horizon_h)
    events = [e.model_copy(update={"baseline_mw": [float(v) for v in b]})
              for e, b in zip(dr.events, base)]
    new = dr.model_copy(update={"events": events, "baseline": "declared"})
    return sc.model_copy(update={"demand_response": new}), plan


def cost_to_park(res: Any, plan: Any) -> None:
    """Add KPIs ``dr_cost_to_park`` (running cost with events minus the plan's, DR
    settlement excluded) and ``dr_net_benefit`` (settlement minus that cost) to ``res``."""
    if not (res.has_solution and plan.has_solution):
        return
    settle = float(sum(res.costs.get(t, 0.0) for t in DR_TERMS))
    cost = float(res.costs.sum()) - settle - float(plan.costs.sum())
    res.kpis["dr_cost_to_park"] = cost
    res.kpis["dr_net_benefit"] = -settle - cost


#: An envelope point at or below this reduction [MW] holds nothing: it is reported as 0 and
#: every window containing its window is 0 without a solve.
ZERO_MW = 1e-9


def needs_notice(sc: Any) -> bool:
    """Whether some event is announced after the horizon's start (``notice_h < start_h``)."""
    dr = getattr(sc, "demand_response", None)
    return dr is not None and any(announced_h(e) > 0 for e in dr.events)


def column_hours(f: Any) -> np.ndarray:
    """Hour of each column of ``f``'s model (-1: not tied to an hour): groups whose last
    axis is the horizon, job and EV-session power at their own hours, and a lease's
    capacity per period at the period's first hour (it is contracted before the period)."""
    m, T = f.model, f.T
    hour = np.full(m.n_cols, -1, np.int64)
    for g in m.var_groups.values():
        if len(g.shape) >= 1 and g.shape[-1] == T:
            hour[g.start:g.start + g.size] = np.arange(g.size) % T
    ss = f.meta.get("shared_storage")
    if ss is not None and "lease_first_h" in ss:
        # a lease is decided before its period: its columns belong to the period's first hour
        for name in ("shared_storage/lease_energy_mwh", "shared_storage/lease_power_mw"):
            g = m.var_groups[name]
            hour[g.start:g.start + g.size] = ss["lease_first_h"]
    job, ev = f.meta.get("job"), f.meta.get("ev")
    if job is not None and "job/power_mw" in m.var_groups:
        g = m.var_groups["job/power_mw"]
        hour[g.start:g.start + g.size] = job["t_of"]
    if ev is not None:
        g = m.var_groups["ev/charge_mw"]
        hour[g.start:g.start + g.size] = ev["t_of"]
        if "ev/discharge_mw" in m.var_groups:
            g = m.var_groups["ev/discharge_mw"]
            hour[g.start:g.start + g.size] = ev["t_of"][ev["dis_sel"]]
    return hour


def _pins_of(f: Any, x: np.ndarray, before: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per variable group (demand response's own excluded), the positions of its columns of
    hours ``< before`` and their values in ``x`` (clipped into the columns' bounds)."""
    hour = column_hours(f)
    a = f.model.arrays()
    out = {}
    for name, g in f.model.var_groups.items():
        if name.startswith("demand_response/"):
            continue
        sl = slice(g.start, g.start + g.size)
        pos = np.flatnonzero((hour[sl] >= 0) & (hour[sl] < before))
        if pos.size:
            j = g.start + pos
            out[name] = (pos, np.clip(x[j], a.col_lb[j], a.col_ub[j]))
    return out


def _known_by(sc: Any, hour: int) -> Any:
    """The scenario with only the events announced by ``hour``."""
    dr = sc.demand_response
    events = [e for e in dr.events if announced_h(e) <= hour]
    return sc.model_copy(update={"demand_response": dr.model_copy(update={"events": events})})


def notice_pins(sc: Any, backend: str = "highs", options: SolverOptions | None = None
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fixings of the last stage of a scenario whose events come with notice.

    Stage 0 solves the park with the events known from the start; stage ``k`` adds the
    events announced at ``a_k`` and fixes every hourly column of an hour ``< a_k`` to stage
    ``k - 1``'s value. The returned fixings are those of the last stage (its announcement
    hour), to be set as ``data.extra["dr_pin"]`` before the last stage is built.

    Parameters
    ----------
    sc : Scenario
        With declared baselines (see :func:`with_baselines`).
    backend : {"highs", "pyomo"}
        The backend of the stage solves (the same as the final solve's).
    options : SolverOptions, optional

    Returns
    -------
    dict
        ``{variable group: (positions in the group, values)}``; empty without notice.

    Raises
    ------
    ScenarioError
        If a stage has no solution (the fixings would be undefined).
    """
    from engine.backends import solve

    options = options or SolverOptions()
    hours = sorted({announced_h(e) for e in sc.demand_response.events if announced_h(e) > 0})
    if not hours:
        return {}
    pins: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    prev = 0
    for a in hours:
        data = prepare(_known_by(sc, prev))
        data.extra["dr_pin"] = pins
        f = build(data)
        out = solve(f.model, backend=backend, options=options)
        if out.x is None:
            raise ScenarioError(f"demand_response: the stage before the announcement at hour "
                                f"{a} has no solution ({out.status.value}); the park's "
                                "decisions before that hour are undefined")
        pins = _pins_of(f, np.asarray(out.x), a)
        log.info("demand response notice: stage announced at %d h, %d columns fixed", a,
                 sum(p.size for p, _ in pins.values()))
        prev = a
    return pins


def _points(T: int, durations: Sequence[int], hours: Sequence[int] | None
            ) -> list[tuple[int, int]]:
    starts = range(T) if hours is None else hours
    return [(h, d) for h in starts for d in durations if h + d <= T]


def flexibility_envelope(scenarios: Any, durations: Sequence[int] = (1, 2, 4), *,
                         hours: Sequence[int] | None = None,
                         options: SolverOptions | None = None) -> Any:
    """The flexibility envelope: the MW a site can hold below its plan, per start and
    duration, with every service kept.

    Each point is one solve of ``max R`` (no bisection): the hold rows of its window get the
    plan's net import as upper bound, the rows of the previous point are freed, in one bulk
    call. Points run hour by hour with the durations ascending, so consecutive points differ
    by a few row bounds and an LP re-solves from the previous optimal basis. A MILP
    (gensets with commitment, non-preemptible jobs, ...) is solved exactly the same way on
    the same persistent model, each point a full branch and bound to ``mip_rel_gap``
    started from the plan's solution (feasible for every point with ``R = 0``): the
    envelope of a MILP is exact within that gap, not its LP relaxation.

    Parameters
    ----------
    scenarios : Scenario or sequence of Scenario
        One scenario, or several of the same structure (e.g. the days of a year); its
        demand-response events, if any, are left out (the envelope is measured against the
        plan without them). Each is solved on its own (its storage starts from its own
        initial state).
    durations : sequence of int
        Hours the reduction must be held.
    hours : sequence of int, optional
        Start hours (default: every hour whose window fits the horizon).
    options : SolverOptions, optional
        HiGHS options (for a MILP, ``mip_rel_gap`` and ``time_limit_s`` hold per point).

    Returns
    -------
    pandas.DataFrame
        One row per (scenario, site, start, duration): ``scenario`` (position),
        ``site``, ``start_h``, ``duration_h``, ``plan_net_import_mw`` (the plan's mean over
        the window), ``reduction_mw`` (``nan`` where a point was not solved to optimality,
        e.g. a MILP point at its time limit). ``attrs`` hold ``n_points``,
        ``n_models_built``, ``is_mip``, ``plan_s`` (plan solves) and ``points_s``
        (envelope solves, in total).

    Raises
    ------
    ScenarioError
        If a scenario has no site with a grid, or its plan has no optimal solution.
    """
    import pandas as pd

    from engine.backends._persistent_mip import PersistentMip
    from engine.backends.reuse import same_structure

    many = isinstance(scenarios, (list, tuple))
    items = list(scenarios) if many else [scenarios]
    options = options or SolverOptions()
    durations = sorted(set(int(d) for d in durations))
    solver, held = None, None
    cols: dict[str, list[Any]] = {k: [] for k in ("scenario", "site", "start_h",
                                                  "duration_h", "plan_net_import_mw",
                                                  "reduction_mw")}
    built, t_plan, t_points, any_mip, n_solved = 0, 0.0, 0.0, False, 0
    for k, sc in enumerate(items):
        data = prepare(_without_events(sc))
        data.extra["dr_envelope"] = True
        f = build(data)
        groups = f.model.var_groups
        if "demand_response/envelope_mw" not in groups:
            raise ScenarioError(f"scenarios[{k}]: the envelope needs a site with a grid")
        a = f.model.arrays()
        any_mip |= bool(a.is_mip)
        r_col = groups["demand_response/envelope_mw"].start
        hold = f.model.con_groups["demand_response/envelope_hold"]
        lb, ub = a.col_lb.copy(), a.col_ub.copy()
        row_lb, row_ub = a.row_lb.copy(), a.row_ub.copy()
        ub[r_col] = 0.0
        t0 = time.perf_counter()
        if solver is not None and same_structure(held, a):
            pos = np.flatnonzero(held.A.data != a.A.data)
            col_of = np.searchsorted(a.A.indptr, pos, side="right") - 1
            solver.update(lb, ub, a.cost, row_lb, row_ub, a.A.indices[pos], col_of,
                          a.A.data[pos])
        else:
            solver = PersistentMip(a, options)
            solver.update(lb, ub, a.cost, row_lb, row_ub)
            built += 1
        held = a
        solver.set_start(None)
        out = solver.run()
        t_plan += time.perf_counter() - t0
        if out.status != Status.OPTIMAL:
            raise ScenarioError(f"scenarios[{k}]: the plan is {out.status.value}; no envelope")
        x = out.x
        # every service kept: no more unserved or unmet energy than in the plan
        for name in ("bus/unserved_mw", "bus/unserved_critical_mw", "ev/unmet_mwh"):
            g = groups.get(name)
            if g is not None:
                ub[g.start:g.start + g.size] = x[g.start:g.start + g.size]
        G, T = hold.shape
        net = x[groups["grid/import_mw"].idx]
        if "grid/export_mw" in groups:
            net = net - x[groups["grid/export_mw"].idx]
        cost = np.zeros_like(a.cost)
        cost[r_col] = -1.0
        ub[r_col] = np.inf
        site_names = [data.sites[s].site.name for s in f.meta["grid"]["site"]]
        points = _points(T, durations, hours)
        order = sorted(range(len(points)), key=lambda n: (-points[n][0], points[n][1]))
        t1 = time.perf_counter()
        solver.update(lb, ub, cost, row_lb, row_ub)  # hold rows free: R = 0 is the plan
        solver.set_start(x)  # a MILP point starts from the plan (R = 0 holds every window)
        inf = np.inf
        for gi in range(G):
            base = hold.start + gi * T
            net_g = net[gi]
            prev: set[int] = set()
            red = np.full(len(points), np.nan)
            # a window holding nothing makes every window containing it hold nothing (its
            # rows are a subset): starts run backwards so that the windows starting later
            # are known; zero_end[t]: earliest end of a zero window starting at t
            zero_end = np.full(T + 1, np.iinfo(np.int64).max)
            for n in order:
                h, d = points[n]
                if zero_end[h:h + d].min() <= h + d:
                    red[n] = 0.0
                    continue
                cur = set(range(h, h + d))
                changed = sorted(prev ^ cur)
                rows_ = np.array(changed, np.int32) + base
                new_ub = np.array([net_g[t] if t in cur else inf for t in changed])
                red[n] = -solver.hold(rows_, row_lb[rows_], new_ub)
                n_solved += 1
                prev = cur
                if red[n] <= ZERO_MW:
                    red[n] = 0.0
                    zero_end[h] = min(zero_end[h], h + d)
            starts = np.array([h for h, _ in points], np.int64)
            durs = np.array([d for _, d in points], np.int64)
            csum = np.concatenate([[0.0], np.cumsum(net_g)])
            cols["scenario"] += [k] * len(points)
            cols["site"] += [site_names[gi]] * len(points)
            cols["start_h"] += starts.tolist()
            cols["duration_h"] += durs.tolist()
            cols["plan_net_import_mw"] += ((csum[starts + durs] - csum[starts]) / durs).tolist()
            cols["reduction_mw"] += red.tolist()
        t_points += time.perf_counter() - t1
    df = pd.DataFrame(cols)
    df.attrs.update({"n_points": len(df), "n_solved": n_solved, "n_models_built": built,
                     "is_mip": any_mip,
                     "plan_s": t_plan, "points_s": t_points})
    return df
