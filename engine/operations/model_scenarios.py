"""Forecast scenarios for the model windows (:mod:`engine.operations.model_window`,
``rolling_optimize(..., scenarios=K)``): ``K`` copies of the window's own model, each on its
own PV and wind, the committed hours' decisions shared (two-stage), solved as one model.

Scenario 0 is the point forecast (the deterministic window). Scenarios ``1..K-1`` add to the
point forecast of PV and wind (the other series stay at the point forecast) the whole
``W``-hour error path of an earlier origin, drawn with a fixed seed (per origin) among the
``scenario_paths`` (20) most recent origins whose window was fully observed before the
current origin (``o_j + W <= o``: no leakage). The origins that lend paths are the run's
forecast origins and, with ``history_h``, origins inside the history every ``step_h`` hours,
forecast by the same forecaster fitted on the history's first 72 h (24 h for the naive
ones), data before each origin only: so that scenarios exist from the first window. Until
``K - 1`` paths are complete the window is the deterministic one. Scenarios are clipped to
``[0, capacity]``.

Shared (non-anticipative) columns, ``x_k[j] - x_0[j] = 0``: the first ``step_h`` hours of
battery charge and discharge, hydro, genset units on, starts, stops and power, job power
and job starts (what realisation commits). Each copy keeps its own imports, exports,
curtailment, monthly peaks, outage dispatch and later hours; costs are weighted ``1/K``
(the expected cost). The window's plan, the real-time floor and the targets of the
realisation are copy 0's. A scenario whose model differs in shape from copy 0's is left
out (counted in ``ModelWindowRun.scenario_dropped``).

Measured on the microgrid week (``benchmarks/ROLLING_RESULTS.md``): not better on the
July rows, better on May and September, and sensitive to the draws; opt-in.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

import numpy as np

from engine.model.linear import CSC, ModelArrays
from engine.operations.forecasts import _forecast_all

SEED = 20261202


class _ModelScenarios:
    """Scenario windows (a mixin of :class:`~engine.operations.model_window.ModelWindowRun`,
    whose state it reads)."""

    def _error_paths(self) -> None:
        """The PV and wind error paths of every origin that lends one (module notes):
        ``self.err`` (rows, P, W) for the rows ``self.err_rows`` (PV then wind), their origins
        ``self.err_o`` (horizon hours, negative inside the history)."""
        se = self.series
        rows = np.concatenate([se.pv, se.wind]).astype(np.int64)
        self.err_rows = rows
        W = self.W
        o_week = self.origins[self.origins >= self.warmup]
        Y = se.Y
        pad = np.zeros((Y.shape[0], self.T + W))
        pad[:, :self.T] = Y
        take = o_week[:, None] + np.arange(W)[None, :]
        k = np.searchsorted(self.origins, o_week)
        E_week = pad[rows][:, take] - self.fc[rows][:, k, :]
        ends_ok = o_week + W <= self.T
        E_week, o_week = E_week[:, ends_ok], o_week[ends_ok]
        E_hist = np.zeros((rows.size, 0, W))
        o_hist = np.zeros(0, np.int64)
        if self.history is not None and self.history.shape[1] and not callable(self.forecaster):
            H = self.history.shape[1]
            fit = 72 if "holt_winters" in str(self.forecaster) else 24
            ser = replace(se, Y=np.concatenate([self.history, Y], axis=1))
            oh = np.arange(fit, H - W + 1, self.step, dtype=np.int64)
            if oh.size:
                fc = _forecast_all(ser, oh, W, self.forecaster, fit)
                t2 = oh[:, None] + np.arange(W)[None, :]
                E_hist = ser.Y[rows][:, t2] - fc[rows]
                o_hist = oh - H
        self.err = np.concatenate([E_hist, E_week], axis=1)
        self.err_o = np.concatenate([o_hist, o_week])
        cap = []
        for sd in self.data.sites:
            cap += [p.capacity_mw for p in sd.site.pv] + [w.capacity_mw for w in sd.site.wind]
        self.err_cap = np.array(cap, float)

    def _scenario_fcs(self, k: int) -> list[np.ndarray]:
        """The forecasts of scenarios ``1..K-1`` at origin index ``k`` (each (n_series, W)),
        or [] while fewer than ``K - 1`` paths are complete before the origin."""
        o = int(self.origins[k])
        ok = np.flatnonzero(self.err_o + self.W <= o)
        if ok.size < self.K_model - 1:
            return []
        ok = ok[-self.scenario_paths:]
        rng = np.random.default_rng(SEED + o)
        pick = rng.choice(ok, size=self.K_model - 1, replace=ok.size < self.K_model - 1)
        out = []
        for j in pick.tolist():
            fc = self.fc[:, k, :].copy()
            fc[self.err_rows] = np.clip(fc[self.err_rows] + self.err[:, j, :], 0.0,
                                        self.err_cap[:, None])
            out.append(fc)
        return out

    def _shared_cols(self, f, info: dict, c: int) -> np.ndarray:
        """Copy 0's columns of the decisions committed in the first ``c`` hours."""
        vg = f.model.var_groups
        cols = []
        n = info["n"]
        for name in ("battery/charge_mw", "battery/discharge_mw", "hydro/power_mw",
                     "genset/units_on", "genset/starts", "genset/stops", "genset/power_mw"):
            if name in vg:
                g = vg[name]
                idx = g.start + np.arange(g.size).reshape(-1, n)
                cols.append(idx[:, :c].ravel())
        if "job/power_mw" in vg:
            meta = f.meta["job"]
            g = vg["job/power_mw"]
            cols.append(g.start + np.flatnonzero(meta["t_of"] < c))
            if "job/start" in vg and "start" in meta:
                gs = vg["job/start"]
                cols.append(gs.start + np.flatnonzero(np.asarray(meta["start"]["t"]) < c))
        return np.concatenate(cols).astype(np.int64) if cols else np.zeros(0, np.int64)

    @staticmethod
    def _stack(arrs: list[ModelArrays], shared: np.ndarray) -> ModelArrays:
        """The copies block by block, costs weighted ``1/K``, and the non-anticipativity
        rows ``x_k[j] - x_0[j] = 0`` for the shared columns ``j``."""
        K = len(arrs)
        nr, nc = arrs[0].A.shape
        rows, cols, vals = [], [], []
        for k, a in enumerate(arrs):
            if a.A.shape != (nr, nc):
                raise RuntimeError("scenario windows of different shapes")
            A = a.A
            rows.append(A.indices.astype(np.int64) + k * nr)
            cols.append(np.repeat(np.arange(nc), np.diff(A.indptr)) + k * nc)
            vals.append(A.data)
        L = shared.size
        r = K * nr + np.arange((K - 1) * L)
        kk = np.repeat(np.arange(1, K), L)
        jj = np.tile(shared, K - 1)
        rows += [r, r]
        cols += [kk * nc + jj, jj]
        vals += [np.ones(r.size), -np.ones(r.size)]
        A = CSC.from_triplets(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals),
                              (K * nr + r.size, K * nc))
        cat = np.concatenate
        z = np.zeros(r.size)
        return ModelArrays(cost=cat([a.cost for a in arrs]) / K,
                           col_lb=cat([a.col_lb for a in arrs]),
                           col_ub=cat([a.col_ub for a in arrs]),
                           integrality=cat([a.integrality for a in arrs]),
                           row_lb=cat([a.row_lb for a in arrs] + [z]),
                           row_ub=cat([a.row_ub for a in arrs] + [z]), A=A,
                           offset=sum(a.offset for a in arrs) / K)

    def _scenario_window(self, k: int, f0, a0: ModelArrays, info0: dict
                         ) -> Optional[tuple[ModelArrays, int]]:
        """The stacked window at origin index ``k`` (copy 0: the point forecast's arrays
        ``a0``) and copy 0's column count; None without scenarios there."""
        fcs = self._scenario_fcs(k)
        if not fcs:
            return None
        arrs = [a0]
        for fc in fcs:
            wd, info = self._window_data(k, fc)
            _, a = self._window_arrays(wd, info)
            if a.A.shape == a0.A.shape:  # (a scenario whose model differs is left out)
                arrs.append(a)
            else:
                self.scenario_dropped += 1
        if len(arrs) < 2:
            return None
        c = min(self.step, info0["n"])
        return self._stack(arrs, self._shared_cols(f0, info0, c)), a0.A.shape[1]
