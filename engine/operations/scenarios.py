"""Forecast-aware windows: ``K`` forecast scenarios per window in one two-stage LP.

With ``rolling_optimize(..., scenarios=K)``, ``K >= 2``, each window is solved over ``K``
forecast scenarios of its PV, wind, inflexible load, PUE and import price:

* scenario 0 is the point forecast (the deterministic window's);
* scenarios ``1..K-1`` are block-bootstrap scenarios
  (:func:`kernels.forecast.bootstrap_scenarios`): the point forecast plus the whole
  ``W``-hour error path of an earlier forecast origin, drawn uniformly among the origins
  whose window was fully observed before the current origin (one draw for all series, so
  PV, load and price errors of one day stay together). Only forecast origins (after the
  warm-up) lend error paths; until 10 of them are complete, every scenario is the point
  forecast. Scenarios are clipped to the series' bounds. Fixed seed: same run, same
  scenarios.

The window LP is the deterministic window (:class:`~engine.operations.window.WindowModel`)
copied ``K`` times, block by block, each copy with its scenario's numbers and its cost
weighted ``1/K`` (the expected cost), plus non-anticipativity rows::

    x_k[j] - x_0[j] = 0    for k = 1..K-1 and every committed decision j

where the committed decisions are the first ``step`` hours of battery charge and discharge,
hydro and job power (what realisation commits; import, export and curtailment are each
scenario's recourse, and the SOC follows from the shared flows). The first copy's solution is
the window's plan; the value of stored energy of the real-time policy is the expectation
``-Σ_k y_k[soc balance]`` of the copies' duals. With ``K = 1`` there are no extra rows and the
window is the deterministic one exactly.

The stacked model is built once and updated in place like the deterministic one (all bounds,
costs and right-hand sides per window, the changed dynamic coefficients of every copy).
"""
from __future__ import annotations

import numpy as np

from engine.model import ModelArrays
from engine.model.linear import CSC
from engine.operations.window import WindowModel, WindowNumbers

#: Decision groups of the window committed in its first ``step`` hours (shared by scenarios).
SHARED = ("ch", "dis", "hydro", "flex")

#: Seed of the scenario draws.
SEED = 20231

#: Complete past error paths needed before an origin gets bootstrap scenarios.
MIN_PATHS = 10


def scenario_forecasts(Y: np.ndarray, fc: np.ndarray, origins: np.ndarray, warmup_h: int,
                       K: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Forecast scenarios of every series and origin, ``(n_series, O, K, W)``.

    Scenario 0 is the point forecast ``fc`` (n_series, O, W); the others add error paths of
    earlier forecast origins (module notes). Only data before each origin is used: an error
    path of origin ``o_j`` is drawn at ``o`` only if ``o_j + W <= o``.
    """
    n, O, W = fc.shape
    out = np.repeat(fc[:, :, None, :], K, axis=2)
    if K == 1 or n == 0:
        return out
    from kernels.forecast import bootstrap_scenarios

    idx = np.flatnonzero(origins >= warmup_h)
    if idx.size:
        T = Y.shape[1]
        Ypad = np.zeros((n, T + W))
        Ypad[:, :T] = Y
        sc = bootstrap_scenarios(Ypad, fc[:, idx, :], origins[idx], K - 1, SEED,
                                 min_paths=MIN_PATHS)  # (n, O', K-1, W)
        # an error path must lie inside the data: o_j + W <= T for every path drawn, which
        # holds since o_j + W <= o < T
        ok = ~np.isnan(sc).any(axis=(0, 2, 3))
        take = idx[ok]
        out[:, take, 1:, :] = sc[:, ok]
    np.clip(out, lo[:, None, None, None], hi[:, None, None, None], out=out)
    return out


class ScenarioWindow:
    """The two-stage window over ``K`` scenarios (module notes): stacking, numbers, arrays.

    Parameters
    ----------
    wm : WindowModel
        The deterministic window (one copy).
    K : int
        Scenarios, >= 1.
    step : int
        Committed hours (shared decisions) [h].
    """

    def __init__(self, wm: WindowModel, K: int, step: int) -> None:
        self.wm, self.K = wm, int(K)
        A = wm.template.A
        self.nr, self.nc = A.shape
        shared = []
        for name in SHARED:
            if name in wm.g:
                a, b, shape = wm._cs[name]
                shared.append(np.arange(a, b).reshape(shape)[:, :step].ravel())
        self.shared = np.concatenate(shared) if shared else np.zeros(0, np.int64)
        L = self.shared.size
        self.n_link = (self.K - 1) * L
        self.n_cols = self.K * self.nc
        self.n_rows = self.K * self.nr + self.n_link
        # the changed coefficients of copy k sit at rows + k nr, columns + k nc
        self.coef_rows = np.concatenate([wm.coef_rows + k * self.nr for k in range(self.K)])
        self.coef_cols = np.concatenate([wm.coef_cols + k * self.nc for k in range(self.K)])
        # the stacked matrix as triplets: K copies of the template, then the
        # non-anticipativity rows x_k[j] - x_0[j] = 0
        A = wm.template.A
        cols = np.repeat(np.arange(self.nc), np.diff(A.indptr))
        self._rows = [np.concatenate([A.indices + k * self.nr for k in range(self.K)])]
        self._cols = [np.concatenate([cols + k * self.nc for k in range(self.K)])]
        r = self.K * self.nr + np.arange(self.n_link)
        kk = np.repeat(np.arange(1, self.K), L)
        jj = np.tile(self.shared, self.K - 1)
        self._rows.append(np.concatenate([r, r]))
        self._cols.append(np.concatenate([kk * self.nc + jj, jj]))
        self._rows = np.concatenate(self._rows)
        self._cols = np.concatenate(self._cols)
        self._link_vals = np.concatenate([np.ones(self.n_link), -np.ones(self.n_link)])

    def numbers(self, copies: list[WindowNumbers]) -> WindowNumbers:
        """The stacked numbers from each scenario's window numbers (costs weighted 1/K)."""
        if len(copies) != self.K:
            raise ValueError(f"expected {self.K} scenario windows, got {len(copies)}")
        if self.K == 1:
            return copies[0]
        z = np.zeros(self.n_link)
        cat = np.concatenate
        return WindowNumbers(
            col_lb=cat([c.col_lb for c in copies]), col_ub=cat([c.col_ub for c in copies]),
            cost=cat([c.cost for c in copies]) / self.K,
            row_lb=cat([c.row_lb for c in copies] + [z]),
            row_ub=cat([c.row_ub for c in copies] + [z]),
            coef_vals=cat([c.coef_vals for c in copies]))

    def arrays(self, nums: WindowNumbers) -> ModelArrays:
        """The stacked window built from scratch with these numbers."""
        if self.K == 1:
            return self.wm.arrays(nums)
        t = self.wm.template
        nd = self.wm.coef_rows.size
        vals = []
        for k in range(self.K):
            v = t.A.data.copy()
            v[self.wm.coef_pos] = nums.coef_vals[k * nd:(k + 1) * nd]
            vals.append(v)
        A = CSC.from_triplets(self._rows, self._cols, np.concatenate(vals + [self._link_vals]),
                              (self.n_rows, self.n_cols))
        return ModelArrays(cost=nums.cost.copy(), col_lb=nums.col_lb.copy(),
                           col_ub=nums.col_ub.copy(), integrality=np.tile(t.integrality, self.K),
                           row_lb=nums.row_lb.copy(), row_ub=nums.row_ub.copy(), A=A, offset=0.0)

    def first(self, x: np.ndarray) -> np.ndarray:
        """The first copy's columns of a stacked solution (the window's plan)."""
        return x[:self.nc]

    def soc_value(self, y: np.ndarray) -> np.ndarray:
        """Expected value of a MWh stored, per battery and hour: ``-Σ_k y_k`` of the copies'
        SOC-balance duals, (B, W)."""
        a, b, shape = self.wm._rs["battery/soc_balance"]
        return -sum(y[k * self.nr + a:k * self.nr + b] for k in range(self.K)).reshape(shape)
