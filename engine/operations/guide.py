"""The long-horizon plan that guides the rolling windows (hierarchical, plan-guided MPC).

At its first forecast origin, and again every ``replan_h`` hours, the controller solves the
scenario's own hourly LP (:func:`engine.model.build.build`, the formulation of
:func:`engine.optimize`) over the whole horizon with

* every decision of the hours before the origin fixed to what was realised (and their data
  the actual data, so the realised SOC, job progress, monthly peaks and green-share bank
  are the plan's starting point), and
* the hours from the origin on the forecasts made at the origin (data before it only):
  the forecaster's first week repeated to the end of the horizon, so that a trend fitted
  on a few weeks is not extrapolated over months.

``plan="annual"`` re-plans the whole remaining horizon each time. ``plan="monthly"``
re-plans only from the origin to the end of the next calendar month and keeps the hours
after it at the previous plan (decisions and data): a smaller LP each time; the first plan
covers the whole horizon.

The plan is kept in one :class:`engine.backends.highs.PersistentHighs` and re-solved from
its previous basis. Each window reads from the latest plan (:meth:`PlanGuide.targets`):

* the planned peak import of each month the window touches (a lower bound of the window's
  peak variable: import up to it costs nothing more in the window);
* the value of stored energy at the window's last hour, from the dual of the plan's SOC
  balance one hour later (replacing the fixed terminal SOC rule, except in the last window);
* for each job, the dual of its energy row (the plan's marginal cost of its energy: the
  value of a MWh done inside the window) and the energy the plan has done by the window's
  end (a progress target);
* the green-share bank the plan still needs at the window's end: the plan's cumulative
  allowance there minus its allowance at the end of the horizon.

A plan that is infeasible (a job that can no longer finish is given what it can still do;
a green floor out of reach is relaxed and the plan re-solved) or not optimal is reported
and the windows keep the previous plan (none before the first: the fixed rules).
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import replace
from typing import Any, Optional

import numpy as np

from engine.model.build import build
from engine.model.data import ScenarioData

log = logging.getLogger(__name__)

#: Plan modes of :func:`engine.rolling_optimize`.
PLANS = ("annual", "monthly")

#: Hours of a forecast repeated over a long plan horizon (a week: daily and weekly phases).
REPEAT_H = 168


def monthly_end(data: ScenarioData, o: int) -> int:
    """End (exclusive) of the calendar month after the month of hour ``o`` [h]."""
    month = data.month
    later = np.flatnonzero(month >= month[o] + 2)
    return int(later[0]) if later.size else data.T


def shortest_monthly_horizon(data: ScenarioData, origins: np.ndarray) -> int:
    """Fewest hours a monthly plan covers from any origin (ignoring the horizon's end) [h]."""
    out = []
    for o in origins.tolist():
        e = monthly_end(data, o)
        if e < data.T:
            out.append(e - o)
    return min(out) if out else data.T


def _hours_of(groups, T: int, n: int) -> np.ndarray:
    """Hour of each column (or row) of groups whose last axis is the time axis; -1 else."""
    hour = np.full(n, -1, np.int64)
    for g in groups.values():
        if len(g.shape) >= 1 and g.shape[-1] == T:
            hour[g.start:g.start + g.size] = np.arange(g.size) % T
    return hour


def column_hours(f) -> np.ndarray:
    """Hour of each column of the horizon's model ``f`` (-1: not tied to an hour)."""
    m, T = f.model, f.data.T
    hour = _hours_of(m.var_groups, T, m.n_cols)
    if "job/power_mw" in m.var_groups:
        g = m.var_groups["job/power_mw"]
        hour[g.start:g.start + g.size] = f.meta["job"]["t_of"]
    return hour


def monthly_cost(f, x: np.ndarray, col_hour: Optional[np.ndarray] = None) -> np.ndarray:
    """The objective of the horizon's model ``f`` at ``x`` by calendar month: hourly terms
    in their month, the monthly peaks' demand charge in theirs, the constant spread over the
    hours [currency]; sums to ``cost @ x + offset``."""
    data = f.data
    a = f.model.arrays()
    h = column_hours(f) if col_hour is None else col_hour
    c = a.cost * x
    out = np.zeros(data.n_months)
    timed = h >= 0
    np.add.at(out, data.month[h[timed]], c[timed])
    if "grid/peak_mw" in f.model.var_groups:
        g = f.model.var_groups["grid/peak_mw"]
        out += c[g.start:g.start + g.size].reshape(g.shape).sum(axis=0)
        timed[g.start:g.start + g.size] = True
    rest = float(c[~timed].sum())
    out += (rest + a.offset) * np.bincount(data.month, minlength=data.n_months) / data.T
    return out


def critical_it(sd: Any, inflex: np.ndarray, hours: slice) -> np.ndarray:
    """A tiered site's critical IT load [MW] in ``hours`` when its inflexible load there is
    ``inflex`` (a forecast): the stated ``critical_it_mw`` profile (a schedule, known)
    capped by it, or ``critical_load_fraction`` times it, as
    :mod:`engine.components.datacenter` derives it from the actual load."""
    from engine.components.base import full

    dc = sd.site.datacenter
    T = np.shape(sd.inflexible_it_mw)[-1]
    if dc.critical_it_mw is not None:
        return np.minimum(full(dc.critical_it_mw, T)[hours], inflex)
    return full(dc.critical_load_fraction, T)[hours] * inflex


class PlanGuide:
    """The plan of a rolling run (see the module docstring).

    Parameters
    ----------
    run : engine.operations.controller._RollingRun
        The run: data, forecast series, forecaster, warm-up, realised arrays and state.
    mode : {"annual", "monthly"}
    replan_h : int
        Hours between plans [h].
    """

    def __init__(self, run: Any, mode: str, replan_h: int) -> None:
        self.run = run
        self.mode = mode
        self.replan_h = int(replan_h)
        data = run.data
        self.T = data.T
        self._map(build(data))
        self.solver = None
        self.last_origin: Optional[int] = None
        self.x: Optional[np.ndarray] = None
        self.records: list[dict] = []
        self.plan_s = 0.0
        self.forecast_s = 0.0
        self._prev: Optional[Any] = None  # numbers of the previous plan (monthly mode)
        # what the windows read, set by each plan
        self.peak: Optional[np.ndarray] = None  # (G, n_months) [MW]
        self.soc_value: Optional[np.ndarray] = None  # (B, T) value of SOC at hour t [cur/MWh]
        self.job_value: Optional[np.ndarray] = None  # (J,) [cur/MWh]
        self.job_cum: Optional[np.ndarray] = None  # (J, T + 1) planned energy before hour t
        self.bank_need: Optional[np.ndarray] = None  # (T + 1,) bank needed at hour t [MWh]
        self.monthly_cost: dict[int, np.ndarray] = {}  # origin -> planned cost per month

    def _map(self, f) -> None:
        """Column and row hours and the groups of the horizon's model ``f``."""
        m = f.model
        self.n_cols, self.n_rows = m.n_cols, m.n_rows
        self.col_hour = column_hours(f)
        self.row_hour = _hours_of(m.con_groups, self.T, self.n_rows)
        self.vg, self.cg = m.var_groups, m.con_groups

    # ------------------------------------------------------------------ when
    def due(self, o: int) -> bool:
        """A plan is made at origin ``o`` (at or after the warm-up; then every replan_h)."""
        if o < self.run.warmup:
            return False
        return self.last_origin is None or o - self.last_origin >= self.replan_h

    @property
    def ready(self) -> bool:
        return self.peak is not None

    # ------------------------------------------------------------------ forecasts
    def forecasts(self, o: int) -> np.ndarray:
        """Each forecast series over ``[o, T)`` from data before ``o`` (n_series, T - o)."""
        from engine.operations.forecasts import _forecasts

        run = self.run
        H = self.T - o
        if run.forecaster == "perfect":
            return run.series.Y[:, o:].copy()
        h = min(H, REPEAT_H) if not callable(run.forecaster) else H
        fc = _forecasts(run.series, np.array([o], np.int64), h, run.forecaster,
                        run.warmup, history=run.history)[:, 0, :]
        if h < H:
            fc = np.tile(fc, (1, -(-H // h)))[:, :H]
        # what is published before the origin (a day-ahead price) is taken as it is
        kh = np.minimum(run.known_h, H)
        for i in np.flatnonzero(kh > 0):
            fc[i, :kh[i]] = run.series.Y[i, o:o + kh[i]]
        return fc

    def _data(self, o: int, fc: np.ndarray) -> ScenarioData:
        """The scenario's arrays with the forecasts from hour ``o`` on (actual before)."""
        run, data = self.run, self.run.data
        se = run.series

        def mix(actual: np.ndarray, rows: np.ndarray) -> np.ndarray:
            out = np.array(actual, dtype=np.float64, copy=True)
            out[..., o:] = fc[rows].reshape(out[..., o:].shape)
            return out

        sites = []
        p = w = g = 0
        for s, sd in enumerate(data.sites):
            nd = copy.copy(sd)
            n_pv, n_w = len(sd.site.pv), len(sd.site.wind)
            nd.pv_avail_mw = mix(sd.pv_avail_mw, se.pv[p:p + n_pv])
            nd.wind_avail_mw = mix(sd.wind_avail_mw, se.wind[w:w + n_w])
            p, w = p + n_pv, w + n_w
            nd.inflexible_it_mw = mix(sd.inflexible_it_mw, se.inflex[s:s + 1])
            nd.pue = mix(sd.pue, se.pue[s:s + 1])
            if getattr(sd, "tiered", False):  # the critical tier follows the forecast load
                nd.critical_it_mw = np.array(sd.critical_it_mw, dtype=np.float64, copy=True)
                nd.critical_it_mw[o:] = critical_it(sd, nd.inflexible_it_mw[o:], slice(o, None))
            if sd.site.grid is not None:
                nd.grid_import_price = mix(sd.grid_import_price, se.price[g:g + 1])
                g += 1
            sites.append(nd)
        return replace(data, sites=sites)

    # ------------------------------------------------------------------ plan
    def replan(self, o: int) -> dict:
        """Solve the plan at origin ``o``; returns a record of it."""
        from engine.backends.highs import PersistentHighs

        t0 = time.perf_counter()
        fc = self.forecasts(o)
        t1 = time.perf_counter()
        f = build(self._data(o, fc))
        a = f.model.arrays()
        lb, ub = a.col_lb.copy(), a.col_ub.copy()
        rlb, rub = a.row_lb.copy(), a.row_ub.copy()
        # the past: fixed at what was realised
        # the model's structure may depend on the data (groups written only where they can
        # bind): everything is mapped through this plan's own model
        self._map(f)
        xr = self.run.realised_x(f)
        past = (self.col_hour >= 0) & (self.col_hour < o)
        lb[past] = xr[past]
        ub[past] = xr[past]
        self._relax_jobs(o, xr, rlb, rub)
        cost, A = a.cost, a.A
        end = self.T
        if (self.mode == "monthly" and self._prev is not None
                and self._prev[1].A.shape == a.A.shape
                and np.array_equal(self._prev[1].A.indptr, a.A.indptr)
                and np.array_equal(self._prev[1].A.indices, a.A.indices)):
            end = monthly_end(self.run.data, o)
            px, pa = self._prev
            later_c = self.col_hour >= end
            later_r = self.row_hour >= end
            lb[later_c] = px[later_c]
            ub[later_c] = px[later_c]
            rlb[later_r] = pa.row_lb[later_r]
            rub[later_r] = pa.row_ub[later_r]
            col_of = np.repeat(np.arange(self.n_cols), np.diff(A.indptr))
            A = A.copy()
            keep = self.col_hour[col_of] >= end
            A.data[keep] = pa.A.data[keep]
        # annual: warm start from the previous plan's basis (a few thousand iterations against
        # ~50,000 cold on the Xining year); monthly: a cold solve, whose presolve removes the
        # fixed past and future (faster than a warm start that keeps them)
        same = (self.mode == "annual" and self.solver is not None
                and np.array_equal(A.indptr, self._A.indptr)
                and np.array_equal(A.indices, self._A.indices))
        if same:
            changed = np.flatnonzero(A.data != self._A.data)
            col_of = np.repeat(np.arange(self.n_cols), np.diff(A.indptr))
            self.solver.update(lb, ub, cost, rlb, rub, A.indices[changed], col_of[changed],
                               A.data[changed])
        else:
            # the plan is an LP: binaries (no simultaneous charge / import and export where
            # wasting energy pays) are relaxed, as the windows have none
            a2 = replace(a, col_lb=lb, col_ub=ub, row_lb=rlb, row_ub=rub, A=A,
                         integrality=np.zeros_like(a.integrality))
            self.solver = PersistentHighs(a2, self.run.options)
        self._A = A
        out = self.solver.run()
        relaxed = False
        if out.x is None and "policy/green_share_annual" in self.cg:
            r = self.cg["policy/green_share_annual"].start
            rub2 = rub.copy()
            rub2[r] = np.inf
            self.solver.update(lb, ub, cost, rlb, rub2)
            out = self.solver.run()
            relaxed = True
        t2 = time.perf_counter()
        rec = {"origin_h": o, "status": str(out.status), "objective": out.objective,
               "iterations": out.iterations, "forecast_s": t1 - t0, "solve_s": t2 - t1,
               "free_until_h": end, "green_relaxed": relaxed, "warm": same}
        self.forecast_s += t1 - t0
        self.plan_s += t2 - t1
        self.last_origin = o
        rec["read_s"] = 0.0
        rec["total_s"] = t2 - t0
        if out.x is None:
            log.warning("plan at hour %d: %s; the windows keep the previous plan", o, out.status)
            self.records.append(rec)
            return rec
        self.x = out.x
        self._prev = (out.x, replace(a, row_lb=rlb, row_ub=rub, A=A))
        self._read(f, out.x, self.solver.row_duals(), o)
        t3 = time.perf_counter()
        rec["read_s"] = t3 - t2
        rec["total_s"] = t3 - t0
        self.plan_s += t3 - t2
        self.records.append(rec)
        return rec

    def _relax_jobs(self, o: int, xr: np.ndarray, rlb: np.ndarray, rub: np.ndarray) -> None:
        """A job that can no longer finish must do only what it still can."""
        if "job/energy" not in self.cg:
            return
        jobs = self.run.data.jobs
        done = self.run.r["job"][:, :o].sum(axis=1)
        hours = np.maximum(jobs.deadline - np.maximum(jobs.release, o), 0)
        can = done + jobs.max_power_mw * hours
        r = self.cg["job/energy"]
        sl = slice(r.start, r.start + r.size)
        rlb[sl] = np.minimum(rlb[sl], can)
        rub[sl] = np.maximum(np.minimum(rub[sl], can), rlb[sl])

    def _read(self, f, x: np.ndarray, y: np.ndarray, o: int) -> None:
        """The targets of the windows from the plan's solution ``x`` and row duals ``y``."""
        run, data, T = self.run, self.run.data, self.T
        vg, cg = self.vg, self.cg
        wm = run.wm

        def var(name: str) -> np.ndarray:
            g = vg[name]
            return x[g.start:g.start + g.size].reshape(g.shape)

        G = wm.grid_site.size
        self.peak = var("grid/peak_mw").copy() if "grid/peak_mw" in vg else np.zeros(
            (G, data.n_months))
        B = len(wm.bats)
        self.soc_value = np.zeros((B, T))
        if B and "battery/soc_balance" in cg:
            g = cg["battery/soc_balance"]
            yd = y[g.start:g.start + g.size].reshape(g.shape)
            # one more MWh in soc[t] adds keep MWh to the right-hand side of row t + 1
            self.soc_value[:, :-1] = -wm.bat_keep[:, None] * yd[:, 1:]
        J = run.J
        self.job_value = np.zeros(J)
        self.job_cum = np.zeros((J, T + 1))
        if J and "job/energy" in cg:
            g = cg["job/energy"]
            self.job_value = np.maximum(y[g.start:g.start + g.size], 0.0)
            meta = f.meta["job"]
            work = np.zeros((J, T))
            np.add.at(work, (meta["job_of"], meta["t_of"]), var("job/power_mw"))
            self.job_cum[:, 1:] = np.cumsum(work, axis=1)
        else:
            work = np.zeros((J, T))
        # green-share bank: cumulative allowance (1 - alpha) facility - fossil of the plan
        alpha = wm.alpha
        self.bank_need = np.zeros(T + 1)
        sites = f.data.sites
        S = len(sites)
        if alpha > 0 and wm.matching == "annual":
            flex = np.zeros((S, T))
            if J:
                np.add.at(flex, data.jobs.site, work)
            fac = np.array([sd.pue * (sd.inflexible_it_mw) for sd in sites]) + np.array(
                [sd.pue for sd in sites]) * flex
            allow = (1.0 - alpha) * fac.sum(axis=0)
            if G:
                imp = var("grid/import_mw").reshape(G, T)
                allow -= (imp * (1.0 - run.g_clean)).sum(axis=0)
            cum = np.concatenate([[0.0], np.cumsum(allow)])
            self.bank_need = cum - cum[-1]
        self.monthly_cost[o] = self._monthly_cost(f, x)

    def _monthly_cost(self, f, x: np.ndarray) -> np.ndarray:
        return monthly_cost(f, x, self.col_hour)

    def plan_by_month(self) -> np.ndarray:
        """Planned cost of each month by the plan in force at its first hour (the first
        plan for months that start before it); NaN without a plan."""
        data = self.run.data
        out = np.full(data.n_months, np.nan)
        if not self.monthly_cost:
            return out
        origins = np.array(sorted(self.monthly_cost))
        starts = np.searchsorted(data.month, np.arange(data.n_months))
        for mth, h in enumerate(starts.tolist()):
            k = max(int(np.searchsorted(origins, h, side="right")) - 1, 0)
            out[mth] = self.monthly_cost[int(origins[k])][mth]
        return out

    # ------------------------------------------------------------------ targets
    def targets(self, o: int, e: int) -> dict:
        """What the window ``[o, e)`` reads from the latest plan."""
        return {"peak": self.peak, "soc_value": self.soc_value[:, e - 1],
                "job_value": self.job_value, "job_done_by_end": self.job_cum[:, e],
                "bank_need": float(self.bank_need[e])}
