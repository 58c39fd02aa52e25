"""The long-horizon plan of the model windows (:mod:`engine.operations.model_window`): the
horizon's MILP on forecasts made at the origin, the realised past fixed, whose SOC, job
progress, monthly peaks and run starts are the windows' targets."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np

from engine.model.build import build
from engine.operations.model_data import _FIXED, _append_cols, _solve

log = logging.getLogger(__name__)


class _ModelPlanner:
    """The plan (a mixin of :class:`~engine.operations.model_window.ModelWindowRun`)."""

    # ------------------------------------------------------------------ the plan
    def set_plan(self, mode: str, replan_h: int) -> None:
        """Guide the windows by a plan over the rest of the horizon, re-solved every
        ``replan_h`` hours from the first forecast origin on (:meth:`replan`)."""
        from engine.operations.guide import PlanGuide

        self.plan_mode, self.replan_h = mode, int(replan_h)
        # its forecasts over the horizon and the scenario arrays mixing actuals and them
        self._guide = PlanGuide(self, mode, replan_h)

    def replan(self, o: int) -> dict:
        """The plan at origin ``o``: the horizon's model (the MILP) on the actual data before
        ``o`` and the forecasts made at ``o`` after it, the realised decisions before ``o``
        fixed. Its targets for a window ``[o, e)`` (:meth:`_window_arrays`): the SOC at the
        window's last hour (a minimum), each job's progress by ``e`` (a minimum), the
        planned monthly peaks (a minimum of the window's peak variables) and which runs of
        non-preemptible jobs start inside the window (then they must)."""
        from engine.operations.guide import column_hours

        t0 = time.perf_counter()
        gd = self._guide
        fc = gd.forecasts(o)
        f = build(gd._data(o, fc))
        m = f.model
        a = m.arrays()
        lb, ub = a.col_lb.copy(), a.col_ub.copy()
        hour = column_hours(f)
        if "job/work_mwh" in m.var_groups:
            g = m.var_groups["job/work_mwh"]
            meta = f.meta["job"]
            hour[g.start:g.start + g.size] = meta["t_of"][meta["work"]["sel"]]
        xr = self._realised_x(f)
        for name in _FIXED:
            if name in m.var_groups:
                g = m.var_groups[name]
                cols = g.start + np.flatnonzero(hour[g.start:g.start + g.size] < o)
                lb[cols] = xr[cols]
                ub[cols] = xr[cols]
        if "grid/peak_mw" in m.var_groups:
            g = m.var_groups["grid/peak_mw"]
            cols = g.start + np.arange(g.size)
            lb[cols] = np.maximum(lb[cols], self.peak.reshape(-1))
        rlb, rub = a.row_lb.copy(), a.row_ub.copy()
        # what can no longer be met is not asked of the plan: job energy and runs
        for name in ("job/energy", "job/work", "job/start_once"):
            if name in m.con_groups:
                g = m.con_groups[name]
                rlb[g.start:g.start + g.size] = 0.0
        a2 = replace(a, col_lb=lb, col_ub=ub, row_lb=rlb, row_ub=rub)
        # a shortfall of job energy against the full need at the value of lost load
        rows, need = [], []
        for name in ("job/energy", "job/work"):
            if name in m.con_groups:
                g = m.con_groups[name]
                rows.append(g.start + np.arange(g.size))
                need.append(a.row_lb[g.start:g.start + g.size])
        srows: list = []
        self._survival_slack(m.con_groups, srows, [], [], [])
        if srows:
            a2, _ = _append_cols(a2, srows[0], -np.ones(srows[0].size),
                                 np.full(srows[0].size, self.survival_penalty),
                                 np.full(srows[0].size, np.inf))
        if rows:
            rr = np.concatenate(rows)
            a2 = replace(a2, row_lb=a2.row_lb.copy())
            a2.row_lb[rr] = np.concatenate(need)
            a2, _ = _append_cols(a2, rr, np.ones(rr.size), np.full(rr.size, self.voll),
                                 np.concatenate(need))
        out = _solve(a2, self.options)
        rec = {"origin_h": o, "status": str(out.status), "objective": out.objective,
               "solve_s": time.perf_counter() - t0}
        self.plan_last = o
        self.plan_records.append(rec)
        if out.x is None:
            log.warning("plan at hour %d: %s; the windows keep the previous plan", o,
                        out.status)
            return rec
        x = out.x[:m.n_cols]
        vg = m.var_groups

        def var(name: str) -> np.ndarray:
            g = vg[name]
            return x[g.start:g.start + g.size].reshape(g.shape)

        tg: dict[str, Any] = {}
        tg["soc"] = var("battery/soc_mwh") if "battery/soc_mwh" in vg else None
        tg["peak"] = var("grid/peak_mw") if "grid/peak_mw" in vg else None
        jobs, T = self.data.jobs, self.T
        cum = np.zeros((self.J, T + 1))
        start = np.full(self.J, -1, np.int64)
        if self.J:
            meta = f.meta["job"]
            work = np.zeros((self.J, T))
            np.add.at(work, (meta["job_of"], meta["t_of"]), var("job/power_mw"))
            if "job/work_mwh" in vg:
                sel = meta["work"]["sel"]
                wk = np.zeros((self.J, T))
                np.add.at(wk, (meta["job_of"][sel], meta["t_of"][sel]), var("job/work_mwh"))
                capped = jobs.full_power_mw > 0
                work[capped] = wk[capped]
            cum[:, 1:] = np.cumsum(work, axis=1)
            if "start" in meta and "job/start" in vg:
                sv = var("job/start")
                on = sv > 0.5
                start[meta["start"]["job"][on]] = meta["start"]["t"][on]
        tg["job_cum"] = cum
        tg["start"] = start
        self.plan_targets = tg
        return rec
