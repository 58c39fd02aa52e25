"""The outage survival rule in the model windows on forecasts
(:mod:`engine.operations.model_window`): the PV and wind an outage scenario may count on,
and the real-time floor of the battery (the planned SOC less the slack of the outage starts
a deviation reaches)."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np

from engine.errors import ScenarioError
from engine.model.data import ScenarioData
from engine.model.linear import ModelArrays
from engine.operations.model_data import _solve


def check_outage_credit(q: Optional[float], lookback_d: int) -> Optional[float]:
    """``rolling_optimize``'s ``outage_renewable_quantile`` and ``outage_lookback_d``,
    checked; returns the quantile as a float (or None)."""
    if q is not None and (isinstance(q, bool) or not isinstance(q, (int, float, np.number))
                          or not 0.0 <= float(q) <= 1.0):
        raise ScenarioError(f"outage_renewable_quantile must be a number in [0, 1] or None "
                            f"(no PV and wind in the outage scenarios), got {q!r}")
    if (isinstance(lookback_d, bool) or not isinstance(lookback_d, (int, np.integer))
            or lookback_d < 1):
        raise ScenarioError(f"outage_lookback_d must be an integer >= 1 [days], got "
                            f"{lookback_d!r}")
    return None if q is None else float(q)


class _SurvivalRules:
    """The survival rule on forecasts (a mixin of
    :class:`~engine.operations.model_window.ModelWindowRun`, whose state it reads)."""

    def _outage_renewables(self, f, wd: ScenarioData, info: dict) -> np.ndarray:
        """Upper bounds of the window's outage renewables ``outage/renewable_mw`` (flat,
        the group's layout) for windows on forecasts: per outage site and hour, the
        hydro the site may run plus the lower of the forecast PV + wind and the
        ``outage_renewable_quantile`` quantile of the actual PV + wind at the same hour of
        day over the ``outage_lookback_d`` days before the origin (data before the origin
        only; the history before the first hour counts); all of it 0 with the quantile
        None."""
        meta = f.meta["outages"]
        L = meta["L"]
        o, n = info["o"], info["n"]
        q = self.outage_renewable_quantile
        ren = np.zeros((L["sites"].size, n))
        if q is not None:
            se = self.series
            Y = se.Y if self.history is None else np.concatenate([self.history, se.Y], axis=1)
            H = Y.shape[1] - self.T
            op = np.cumsum([0] + [len(sd.site.pv) for sd in self.data.sites])
            ow = np.cumsum([0] + [len(sd.site.wind) for sd in self.data.sites])
            for i, s in enumerate(L["sites"].tolist()):
                rows = np.concatenate([se.pv[op[s]:op[s + 1]], se.wind[ow[s]:ow[s + 1]]])
                sd = wd.sites[s]
                fc = (np.asarray(sd.pv_avail_mw).reshape(-1, n).sum(axis=0)
                      + np.asarray(sd.wind_avail_mw).reshape(-1, n).sum(axis=0))
                past = Y[rows].sum(axis=0)  # (H + T,)
                days = np.arange(1, self.outage_lookback_d + 1)
                idx = H + o + (np.arange(n) % 24)[:, None] - 24 * days[None, :]  # (n, days)
                ok = idx >= 0
                if ok[:, 0].all():
                    vals = np.where(ok, past[np.maximum(idx, 0)], np.nan)
                    low = np.nanquantile(vals, q, axis=1)
                    ren[i] = np.minimum(fc, low)
                hyd = getattr(sd, "hydro_max_mw", None)
                if hyd is not None and np.size(hyd):
                    ren[i] += np.asarray(hyd).reshape(-1, n).sum(axis=0)
        site_row = meta["site_row"]
        # outage hours past the window's end wrap to its first hours (model_window's
        # docstring), whose renewables are not those hours': none counted there
        inside = L["k_start"][:, None] + np.arange(L["D"])[None, :] < n
        valid = np.tile(L["valid"] & inside, (L["sites"].size, 1))
        hour = np.tile(L["hour"], (L["sites"].size, 1))
        return np.where(valid, ren[site_row[:, None], hour], 0.0).reshape(-1)

    def _soc_floor(self, f, a: ModelArrays, x: np.ndarray, c: int,
                   soc: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """The lowest SOC each committed hour may reach in real time with a survival rule
        ``(B, c)``: the planned SOC less the least slack of the outage starts the window
        carries that a deviation there reaches (the next start, and every later one whose
        hour before is committed in the same step: a deviation persists). The slack of
        start ``s`` is the planned SOC at ``s - 1`` less the least SOC there that still
        carries the start's outage scenarios through the survival rule, in the window's
        own model: an LP with every other column at the window's
        solution, the outage dispatch free, the SOC at ``s - 1`` cut loose from the
        battery's own balance rows, its survival rows hard, and that SOC minimised. A
        real-time deviation below the planned SOC lowers the SOC at ``s - 1`` by at most
        as much. Without a later start in the window, or without ``slack_floor``: the
        planned SOC.

        Returns the floor and, with ``shift_discharge``, whether each committed hour reaches
        no outage start (``plan["shift_ok"]`` of :meth:`_shift_discharge`), else None."""
        floor = soc.copy()
        if not self.slack_floor:
            return floor, None
        meta = f.meta.get("outages")
        if (meta is None or meta.get("battery") is None
                or "policy/outage_survival" not in f.model.con_groups):
            return floor, None
        L, mb = meta["L"], meta["battery"]
        m = f.model
        nc = m.n_cols
        starts = np.unique(L["k_start"])
        # the starts a deviation at committed hour t reaches: every later one whose hour
        # before lies in the step (a deviation persists), and the next one in any case
        nxt = {}
        for t in range(c):
            later = starts[starts >= t + 1]
            if later.size:
                nxt[t] = later[(later <= c) | (later == later.min())]
        out_rows = np.zeros(a.A.shape[0], bool)
        for name, g in m.con_groups.items():
            if name.startswith(("outage/", "policy/outage_survival")):
                out_rows[g.start:g.start + g.size] = True
        surv = m.con_groups["policy/outage_survival"]
        rule_start = np.repeat(np.tile(L["k_start"], L["sites"].size), surv.shape[1]) \
            if surv.size else np.zeros(0, np.int64)
        A = a.A
        # the row of each slack column (one entry each, appended after the model's)
        slack_row = A.indices[A.indptr[nc:-1]]
        soc_g = m.var_groups["battery/soc_mwh"]
        n = soc_g.shape[1]
        bis = np.asarray(mb["plan_rows"], np.int64)
        least = {t: np.full(bis.size, np.inf) for t in nxt}
        for s in sorted(set(np.concatenate(list(nxt.values())).tolist()) if nxt else []):
            lb, ub = x.copy(), x.copy()
            cost = np.zeros(x.size)
            row_lb, row_ub = a.row_lb.copy(), a.row_ub.copy()
            for name, g in m.var_groups.items():
                if name.startswith("outage/"):
                    lb[g.start:g.start + g.size] = a.col_lb[g.start:g.start + g.size]
                    ub[g.start:g.start + g.size] = a.col_ub[g.start:g.start + g.size]
            # slack columns: free, but none on the survival rows of start s
            lb[nc:], ub[nc:] = a.col_lb[nc:], a.col_ub[nc:]
            rs = surv.start + np.flatnonzero(rule_start == s)
            ub[nc + np.flatnonzero(np.isin(slack_row, rs))] = 0.0
            cols = soc_g.start + bis * n + (s - 1)
            lb[cols], ub[cols] = a.col_lb[cols], a.col_ub[cols]
            cost[cols] = 1.0
            for j in cols.tolist():
                rows = A.indices[A.indptr[j]:A.indptr[j + 1]]
                rows = rows[~out_rows[rows]]
                row_lb[rows], row_ub[rows] = -np.inf, np.inf
            res = _solve(replace(a, col_lb=lb, col_ub=ub, cost=cost, row_lb=row_lb,
                                 row_ub=row_ub, integrality=np.zeros_like(a.integrality)),
                         self.options)
            # no solution (it should have one: the window's own is feasible): no slack
            slack = (np.zeros(bis.size) if res.x is None
                     else np.maximum(x[cols] - res.x[cols], 0.0))
            for t, ss in nxt.items():
                if s in ss:
                    least[t] = np.minimum(least[t], slack)
        # hours from which no start is reachable: a deviation there only meets the
        # window's own later discharge and terminal SOC (model_realise._shift_discharge)
        shift_ok = np.array([t not in nxt for t in range(c)]) if self.shift_discharge else None
        for t, sl in least.items():
            for q, bi in enumerate(bis.tolist()):
                lo = self.bats[bi][1].soc_min_fraction * self.bats[bi][1].energy_mwh
                floor[bi, t] = max(lo, soc[bi, t] - sl[q])
        return floor, shift_ok
