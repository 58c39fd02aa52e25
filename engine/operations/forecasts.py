"""The forecasts of a rolling run: the forecast series of a scenario stacked as rows of one
array, and every origin's window forecast in one call of the rolling-origin kernels of
:mod:`kernels.forecast` (or a user forecaster)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional, Union

import numpy as np

from engine.model.data import ScenarioData

__all__ = ["FORECASTERS", "Forecaster"]

#: Built-in forecasters and the history each needs before its first forecast [h].
FORECASTERS = {"perfect": 0, "persistence": 1, "seasonal_naive": 24, "holt_winters": 336,
               "holt_winters_anchored": 336, "holt_winters_adaptive": 336}

#: ``holt_winters_adaptive``: hours between refits, hours of data each refit sees, and the
#: hours before a refit on whose 48-h forecasts the refitted and the current parameters
#: are compared (the better is kept) [h].
REFIT_EVERY_H, REFIT_LOOKBACK_H, REFIT_CHECK_H = 720, 1344, 336

#: A user forecaster: ``f(history, horizon) -> forecast`` with ``history`` of shape
#: ``(n_series, o)`` (data before the origin only) and a result of shape ``(n_series, horizon)``.
Forecaster = Callable[[np.ndarray, int], np.ndarray]


@dataclass
class _Series:
    """The forecast series of a scenario stacked as rows of one array, and where each is."""

    Y: np.ndarray  # (n_series, T) actuals
    lo: np.ndarray  # (n_series,) clip bounds of a forecast
    hi: np.ndarray
    pv: np.ndarray  # row of each PV plant (sites, then plants)
    wind: np.ndarray
    inflex: np.ndarray  # row of each site
    pue: np.ndarray
    price: np.ndarray  # row of each grid


def _stack_series(data: ScenarioData) -> _Series:
    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    idx: dict[str, list[int]] = {k: [] for k in ("pv", "wind", "inflex", "pue", "price")}

    def add(kind: str, y: np.ndarray, low: float, high: float) -> None:
        idx[kind].append(len(rows))
        rows.append(np.asarray(y, np.float64))
        lo.append(low)
        hi.append(high)

    for sd in data.sites:
        for asset, y in zip(sd.site.pv, sd.pv_avail_mw):
            add("pv", y, 0.0, asset.capacity_mw)
        for asset, y in zip(sd.site.wind, sd.wind_avail_mw):
            add("wind", y, 0.0, asset.capacity_mw)
    for sd in data.sites:
        add("inflex", sd.inflexible_it_mw, 0.0, sd.it_capacity_mw)
    for sd in data.sites:
        add("pue", sd.pue, 1.0, np.inf)
    for sd in data.sites:
        if sd.site.grid is not None:
            add("price", sd.grid_import_price, -np.inf, np.inf)
    arr = lambda k: np.array(idx[k], dtype=np.int64)  # noqa: E731
    return _Series(np.array(rows).reshape(len(rows), data.T), np.array(lo), np.array(hi),
                   arr("pv"), arr("wind"), arr("inflex"), arr("pue"), arr("price"))


def _forecasts(series: _Series, origins: np.ndarray, W: int,
               forecaster: Union[str, Forecaster], warmup_h: int,
               known_h: Optional[np.ndarray] = None,
               history: Optional[np.ndarray] = None) -> np.ndarray:
    """Forecasts of every series for every origin: (n_series, O, W).

    Origins before ``warmup_h`` get the actual values (perfect); the others use only
    ``Y[:, :o]``. Hours past the end of the data are 0 (they are padded in the window).
    ``known_h[i]`` (optional, (n_series,)): the first ``known_h[i]`` hours after each
    origin of series ``i`` are published before the origin (a day-ahead price) and taken
    as they are; 0 forecasts them all.
    ``history`` (optional, (n_series, H)): the hours observed before the first hour
    (``rolling_optimize(history_h=H)``). They are simply earlier data: the series runs from
    ``-H``, so the forecasters fit on ``H + warmup_h`` hours and each origin ``o`` sees
    ``H + o`` hours before it.
    """
    if history is not None and history.shape[1] > 0:
        H = history.shape[1]
        series = replace(series, Y=np.concatenate([history, series.Y], axis=1))
        origins = origins + H
        warmup_h = warmup_h + H
    out = _forecast_all(series, origins, W, forecaster, warmup_h)
    if known_h is not None:
        Y = series.Y
        for i in np.flatnonzero(np.asarray(known_h) > 0):
            kh = int(min(known_h[i], W))
            take = origins[:, None] + np.arange(kh)[None, :]
            ok = take < Y.shape[1]
            out[i, :, :kh] = np.where(ok, Y[i, np.minimum(take, Y.shape[1] - 1)], 0.0)
    return out


def _forecast_all(series: _Series, origins: np.ndarray, W: int,
                  forecaster: Union[str, Forecaster], warmup_h: int) -> np.ndarray:
    Y = series.Y
    n, T = Y.shape
    pad = np.zeros((n, T + W))
    pad[:, :T] = Y
    take = origins[:, None] + np.arange(W)[None, :]  # (O, W)
    out = pad[:, take]  # perfect forecasts; overwritten below after the warm-up
    fc = np.flatnonzero(origins >= warmup_h)
    if forecaster == "perfect" or fc.size == 0 or n == 0:
        return out
    o_fc = origins[fc]
    if callable(forecaster):
        for k, o in zip(fc, o_fc):
            f = np.asarray(forecaster(Y[:, :o].copy(), W), dtype=np.float64)
            if f.shape != (n, W):
                raise ValueError(f"forecaster returned shape {f.shape}, expected {(n, W)}")
            out[:, k, :] = f
    elif forecaster in ("persistence", "seasonal_naive"):
        from kernels.forecast import seasonal_naive_rolling

        period = 1 if forecaster == "persistence" else 24
        out[:, fc, :] = seasonal_naive_rolling(Y, o_fc, period, W)
    elif forecaster in ("holt_winters", "holt_winters_anchored", "holt_winters_adaptive"):
        from kernels.forecast import anchor, fit_anchor, fit_holt_winters, hw_fitted, hw_rolling

        # parameters and initial states from the warm-up period only: no later data. Weather
        # driven series (PV, wind, PUE) get a daily season only: they have no weekly cycle,
        # and a weekly season estimated from two weeks froze the January PV profile (mean
        # error -2.0 MW over the Xining year, against -0.01 MW with the daily season alone)
        train = Y[:, :warmup_h]
        weekly = np.zeros(n, bool)
        # load and price also get a weekly season, which needs two weeks to initialise: with
        # a shorter warm-up (a one-week scenario) they get the daily season alone
        if warmup_h >= 2 * 168:
            weekly[np.concatenate([series.inflex, series.price])] = True
        for rows, period2 in ((np.flatnonzero(weekly), 168), (np.flatnonzero(~weekly), None)):
            if rows.size:
                models = [fit_holt_winters(train[i], period2=period2, horizon=min(W, 48), step=24)
                          for i in rows]
                if forecaster == "holt_winters_adaptive":
                    for i, m in enumerate(models):
                        out[rows[i], fc, :] = _adaptive(Y[rows[i]], m, train[rows[i]], o_fc,
                                                        W, period2)
                    continue
                f = hw_rolling(Y[rows], models, o_fc, W)
                if forecaster == "holt_winters_anchored":
                    # re-anchored on the latest one-step error, phi fitted on the warm-up
                    # (kernels.forecast.anchor); phi = 0 where that does not pay there
                    for i, m in enumerate(models):
                        y = Y[rows[i]]
                        phi = fit_anchor(train[rows[i]], m, min(W, 48))
                        f[i] = anchor(f[i], y, hw_fitted(y[:o_fc[-1]], m), o_fc, phi)
                out[rows[:, None], fc[None, :], :] = f
    else:  # pragma: no cover - checked by the caller
        raise ValueError(forecaster)
    np.clip(out, series.lo[:, None, None], series.hi[:, None, None], out=out)
    return out



def _adaptive(y: np.ndarray, m0, train: np.ndarray, o_fc: np.ndarray, W: int,
              period2) -> np.ndarray:
    """Holt–Winters re-anchored on the latest one-step error (:mod:`kernels.forecast.anchor`),
    its smoothing parameters refitted every ``REFIT_EVERY_H`` hours on the last
    ``REFIT_LOOKBACK_H`` hours and kept where their 48-h forecasts of the last
    ``REFIT_CHECK_H`` hours beat the current ones. Every refit, comparison and anchor uses
    data before the segment's first origin only. Returns (O, W)."""
    from kernels.forecast import (
        HoltWinters,
        anchor,
        fit_anchor,
        fit_holt_winters,
        hw_fitted,
        hw_rolling,
    )

    h = min(W, 48)
    cur, phi = m0, fit_anchor(train, m0, h)
    out = np.empty((o_fc.size, W))
    starts = list(range(int(o_fc[0]), int(o_fc[-1]) + 1, REFIT_EVERY_H))
    for s0 in starts:
        if s0 > starts[0]:
            tr = y[max(0, s0 - REFIT_LOOKBACK_H):s0]
            vo = np.arange(s0 - REFIT_CHECK_H, s0 - h + 1, 24, dtype=np.int64)
            try:
                mf = fit_holt_winters(tr, period2=period2, horizon=h, step=24)
            except ValueError:  # too little data for a fit
                mf = None
            if mf is not None and vo.size and vo[0] > 0:
                cand = HoltWinters(mf.alpha, mf.beta, mf.gamma, mf.omega, m0.level0, m0.trend0,
                                   m0.season1, m0.season2)
                past = y[:s0]
                tgt = past[vo[:, None] + np.arange(h)[None, :]]
                err = [float(np.mean((hw_rolling(past, m, vo, h) - tgt) ** 2))
                       for m in (cur, cand)]
                if err[1] < err[0]:
                    cur, phi = cand, fit_anchor(tr, mf, h)
        sel = (o_fc >= s0) & (o_fc < s0 + REFIT_EVERY_H)
        o = o_fc[sel]
        f = hw_rolling(y, cur, o, W)
        out[sel] = anchor(f, y, hw_fitted(y[:int(o[-1])], cur), o, phi)
    return out
