r"""Additive Holt–Winters with level, optional trend and one or two seasons.

The model is the additive double-seasonal method of Taylor (2003), written in
error-correction form. With one-step error :math:`e_t = y_t - \hat y_{t|t-1}`,

.. math::

    \hat y_{t|t-1} &= \ell_{t-1} + b_{t-1} + d_{t-m_1} + w_{t-m_2} \\
    \ell_t &= \ell_{t-1} + b_{t-1} + \alpha e_t \\
    b_t &= b_{t-1} + \alpha \beta e_t \\
    d_t &= d_{t-m_1} + \gamma e_t \\
    w_t &= w_{t-m_2} + \omega e_t

and the forecast made after observing :math:`y_{o-1}` (origin :math:`o`) for
:math:`h = 1, \dots, H` is

.. math:: \hat y_{o-1+h|o-1} = \ell_{o-1} + h\, b_{o-1} + d_{o-1+h-m_1 k_1} + w_{o-1+h-m_2 k_2}

with :math:`k_i = \lceil h / m_i \rceil` (the latest estimate of that phase).

The level and trend lines are the component form of Holt (1957) and of statsmodels'
``ExponentialSmoothing`` (``smoothing_level`` = :math:`\alpha`, ``smoothing_trend`` =
:math:`\beta`, ``smoothing_seasonal`` = :math:`\gamma`), where the season is updated as
:math:`d_t = \gamma (y_t - \ell_{t-1} - b_{t-1}) + (1-\gamma) d_{t-m}`. Taylor (2003) updates
the seasons with the *new* level, :math:`D_t = \delta (y_t - \ell_t - w_{t-m_2}) +
(1-\delta) D_{t-m_1}`; the two are the same model with :math:`\gamma = \delta (1-\alpha)`
and :math:`\omega = \omega_\text{Taylor} (1-\alpha)`.

* No trend: ``beta = 0`` and ``trend0 = 0`` keep :math:`b_t = 0` exactly.
* One season: pass a weekly season of length 1 holding 0 with ``omega = 0``; it then adds
  exactly zero. :func:`initial_states` does this when ``weekly=False``.

References
----------
Taylor, J.W. (2003). Short-term electricity demand forecasting using double seasonal
exponential smoothing. *Journal of the Operational Research Society* 54, 799–805.
Hyndman, R.J., Athanasopoulos, G. *Forecasting: Principles and Practice*, 3rd ed., §8.3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np
from numpy.typing import NDArray

from kernels.forecast._origins import as_series_2d, use_parallel

DAILY = 24
WEEKLY = 168
NO_SEASON_INIT = 12


@dataclass(frozen=True, eq=False)  # eq=False: array fields have no scalar ==
class HoltWinters:
    """Parameters and initial states of one additive Holt–Winters model.

    Attributes
    ----------
    alpha, beta, gamma, omega : float
        Smoothing of level, trend, first (daily) and second (weekly) season, each in
        [0, 1] [-]. ``beta`` is unused when ``trend0 == 0`` and ``beta == 0``.
    level0 : float
        Level before the first observation, :math:`\\ell_{-1}` [unit of y].
    trend0 : float
        Trend before the first observation, :math:`b_{-1}` [unit of y per sample].
    season1, season2 : numpy.ndarray
        Initial seasonal indices for the phases ``t mod m`` of the first ``m`` samples
        (``season1[j]`` is the daily index used for ``y[j]``) [unit of y]. A season of length
        1 holding 0 with zero smoothing is "no season".
    """

    alpha: float
    beta: float
    gamma: float
    omega: float
    level0: float
    trend0: float
    season1: NDArray[np.float64] = field(repr=False)
    season2: NDArray[np.float64] = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma", "omega"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"HoltWinters: {name} must be in [0, 1], got {value}")
        for name in ("level0", "trend0"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"HoltWinters: {name} must be finite, got {getattr(self, name)}")
        for name in ("season1", "season2"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
                raise ValueError(f"HoltWinters: {name} must be a finite, non-empty 1-D array")
            # the kernels want contiguous float64; a frozen dataclass needs object.__setattr__
            object.__setattr__(self, name, arr)

    @property
    def params(self) -> NDArray[np.float64]:
        """``[alpha, beta, gamma, omega]`` as the kernels take them."""
        return np.array([self.alpha, self.beta, self.gamma, self.omega], dtype=np.float64)


def initial_states(
    y: NDArray[np.floating],
    *,
    period1: int | None = DAILY,
    period2: int | None = WEEKLY,
    trend: bool = False,
) -> tuple[float, float, NDArray[np.float64], NDArray[np.float64]]:
    """Heuristic initial states from the first cycles of ``y`` (classical decomposition).

    Uses only ``y[:2 * P]`` with ``P`` the longest period (or ``y[:P]`` when the series is
    shorter), so a model initialised on a training prefix does not see the test period.

    Parameters
    ----------
    y : numpy.ndarray
        Series [unit of y], at least one longest period long.
    period1 : int or None
        First (short, e.g. daily) seasonal period [samples]; None for no season at all
        (then ``period2`` must be None too, and the level starts at the mean of the first
        ``NO_SEASON_INIT`` samples).
    period2 : int or None
        Second (long, e.g. weekly) period [samples], a multiple of ``period1``; None for a
        single season.
    trend : bool
        Estimate an initial trend from the change between the first two long cycles.

    Returns
    -------
    level0, trend0 : float
    season1 : numpy.ndarray, shape (period1,)
    season2 : numpy.ndarray, shape (period2,) or (1,) when ``period2`` is None
    """
    y = np.asarray(y, dtype=np.float64)
    if period1 is None:
        if period2 is not None:
            raise ValueError("period2 needs period1")
        # no season: a short window for the level, the change between its halves for a trend
        k = min(y.size, NO_SEASON_INIT)
        if k < 2:
            raise ValueError("need at least 2 samples to initialise")
        half = k // 2
        b0 = float((y[half : 2 * half].mean() - y[:half].mean()) / half) if trend else 0.0
        level0 = float(y[:k].mean() - b0 * (k + 1) / 2.0)
        return level0, b0, np.zeros(1), np.zeros(1)
    big = period2 if period2 else period1
    if period2 and period2 % period1:
        raise ValueError(f"period2={period2} must be a multiple of period1={period1}")
    if y.size < big:
        raise ValueError(f"need at least {big} samples to initialise, got {y.size}")
    n_cycles = 2 if y.size >= 2 * big else 1
    first = y[:big]
    b0 = 0.0
    if trend and n_cycles == 2:
        b0 = float((y[big : 2 * big].mean() - first.mean()) / big)
    # the mean of the first cycle sits at its middle sample (big - 1) / 2; step back to t = -1
    level0 = float(first.mean() - b0 * (big + 1) / 2.0)
    detr = y[: n_cycles * big] - (level0 + b0 * np.arange(1, n_cycles * big + 1))
    s1 = detr.reshape(-1, period1).mean(axis=0)
    s1 -= s1.mean()
    if period2:
        rest = detr - np.tile(s1, n_cycles * big // period1)
        s2 = rest.reshape(-1, period2).mean(axis=0)
        s2 -= s2.mean()
    else:
        s2 = np.zeros(1)
    return level0, b0, np.ascontiguousarray(s1), np.ascontiguousarray(s2)


# --------------------------------------------------------------------------------------------
# NumPy reference: textbook component form, one full run per origin (slow, obviously right)
# --------------------------------------------------------------------------------------------


def _reference_states(y, params, level0, trend0, season1, season2):
    """Run the component-form recursion over ``y``; return full histories.

    Histories are indexed by time ``t`` with an offset so that ``d[t - m1]`` for ``t < m1``
    reads the initial seasons: ``d_hist[m1 + t]`` is :math:`d_t`, ``d_hist[j]`` for ``j <
    m1`` is the initial index of phase ``j``.
    """
    alpha, beta, gamma, omega = params
    m1, m2 = len(season1), len(season2)
    n = len(y)
    lvl = np.empty(n + 1)
    trd = np.empty(n + 1)
    d = np.concatenate([season1, np.empty(n)])
    w = np.concatenate([season2, np.empty(n)])
    lvl[0], trd[0] = level0, trend0  # index 0 holds t = -1
    fitted = np.empty(n)
    for t in range(n):
        d_old, w_old = d[t], w[t]  # d_{t-m1}, w_{t-m2}
        fitted[t] = lvl[t] + trd[t] + d_old + w_old
        lvl[t + 1] = alpha * (y[t] - d_old - w_old) + (1 - alpha) * (lvl[t] + trd[t])
        trd[t + 1] = beta * (lvl[t + 1] - lvl[t]) + (1 - beta) * trd[t]
        # statsmodels / Hyndman form: the season sees the *previous* level and trend
        d[m1 + t] = gamma * (y[t] - lvl[t] - trd[t] - w_old) + (1 - gamma) * d_old
        w[m2 + t] = omega * (y[t] - lvl[t] - trd[t] - d_old) + (1 - omega) * w_old
    return fitted, lvl, trd, d, w


def hw_forecast_reference(y, model: HoltWinters, horizon: int) -> NDArray[np.float64]:
    """Forecast ``y[n], ..., y[n + H - 1]`` from all of ``y`` (NumPy reference)."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    _, lvl, trd, d, w = _reference_states(
        y, model.params, model.level0, model.trend0, model.season1, model.season2
    )
    m1, m2 = len(model.season1), len(model.season2)
    out = np.empty(horizon)
    for h in range(1, horizon + 1):
        t = n - 1 + h  # target time
        # latest estimate of the target's phase: step back whole periods until observed
        k1 = t - m1 * ((h - 1) // m1 + 1)
        k2 = t - m2 * ((h - 1) // m2 + 1)
        out[h - 1] = lvl[n] + h * trd[n] + d[m1 + k1] + w[m2 + k2]
    return out


def hw_rolling_reference(y, model: HoltWinters, origins, horizon: int) -> NDArray[np.float64]:
    """Rolling-origin forecasts, re-running the whole filter on ``y[:o]`` for each origin."""
    y = np.asarray(y, dtype=np.float64)
    return np.stack([hw_forecast_reference(y[:o], model, horizon) for o in origins])


def hw_fitted_reference(y, model: HoltWinters) -> NDArray[np.float64]:
    """One-step-ahead fitted values :math:`\\hat y_{t|t-1}` (NumPy reference)."""
    return _reference_states(
        np.asarray(y, dtype=np.float64),
        model.params,
        model.level0,
        model.trend0,
        model.season1,
        model.season2,
    )[0]


# --------------------------------------------------------------------------------------------
# Numba kernels: one pass through the series, ring buffers for the seasons
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def hw_fitted_nb(y, params, level0, trend0, season1, season2):
    """One-step-ahead fitted values of ``y`` (compiled); shape (n,)."""
    alpha, beta, gamma, omega = params[0], params[1], params[2], params[3]
    m1, m2 = season1.shape[0], season2.shape[0]
    d = season1.copy()
    w = season2.copy()
    lvl, trd = level0, trend0
    n = y.shape[0]
    fitted = np.empty(n)
    for t in range(n):
        i1, i2 = t % m1, t % m2
        f = lvl + trd + d[i1] + w[i2]
        fitted[t] = f
        e = y[t] - f
        lvl = lvl + trd + alpha * e
        trd = trd + alpha * beta * e
        d[i1] += gamma * e
        w[i2] += omega * e
    return fitted


@nb.njit(cache=True)
def hw_sse_nb(y, params, level0, trend0, season1, season2, start):
    """Sum of squared one-step errors over ``y[start:]`` (compiled, no allocation of fits)."""
    alpha, beta, gamma, omega = params[0], params[1], params[2], params[3]
    m1, m2 = season1.shape[0], season2.shape[0]
    d = season1.copy()
    w = season2.copy()
    lvl, trd = level0, trend0
    sse = 0.0
    for t in range(y.shape[0]):
        i1, i2 = t % m1, t % m2
        e = y[t] - (lvl + trd + d[i1] + w[i2])
        if t >= start:
            sse += e * e
        lvl = lvl + trd + alpha * e
        trd = trd + alpha * beta * e
        d[i1] += gamma * e
        w[i2] += omega * e
    return sse


@nb.njit(cache=True)
def _hw_rolling_one(y, params, level0, trend0, season1, season2, origins, horizon, out):
    """Fill ``out[k, :]`` with the forecast from origin ``origins[k]``; one filter pass."""
    alpha, beta, gamma, omega = params[0], params[1], params[2], params[3]
    m1, m2 = season1.shape[0], season2.shape[0]
    d = season1.copy()
    w = season2.copy()
    lvl, trd = level0, trend0
    n_orig = origins.shape[0]
    k = 0
    t = 0
    while k < n_orig:
        # emit every origin that sits at t *before* y[t] is consumed: no look-ahead
        while k < n_orig and origins[k] == t:
            for h in range(horizon):
                j = t + h
                out[k, h] = lvl + (h + 1) * trd + d[j % m1] + w[j % m2]
            k += 1
        if t >= y.shape[0]:
            break
        i1, i2 = t % m1, t % m2
        e = y[t] - (lvl + trd + d[i1] + w[i2])
        lvl = lvl + trd + alpha * e
        trd = trd + alpha * beta * e
        d[i1] += gamma * e
        w[i2] += omega * e
        t += 1


@nb.njit(cache=True)
def hw_rolling_nb(y, params, level0, trend0, season1, season2, origins, horizon):
    """Rolling-origin Holt–Winters forecasts of one series (compiled); (origins, H)."""
    out = np.full((origins.shape[0], horizon), np.nan)
    _hw_rolling_one(y, params, level0, trend0, season1, season2, origins, horizon, out)
    return out


@nb.njit(cache=True, parallel=True)
def hw_rolling_batch_nb(Y, params, level0, trend0, season1, season2, origins, horizon):
    """Rolling-origin forecasts of many series, parallel over series; (series, origins, H).

    ``Y`` (S, N); ``params`` (S, 4); ``level0``, ``trend0`` (S,); ``season1`` (S, m1);
    ``season2`` (S, m2); ``origins`` (O,) shared by all series, each in ``[0, N]`` (rows of
    origins past the data would be left unset).
    """
    n_series = Y.shape[0]
    out = np.empty((n_series, origins.shape[0], horizon))
    for s in nb.prange(n_series):
        _hw_rolling_one(
            Y[s], params[s], level0[s], trend0[s], season1[s], season2[s], origins, horizon, out[s]
        )
    return out


@nb.njit(cache=True)
def hw_rolling_batch_serial_nb(Y, params, level0, trend0, season1, season2, origins, horizon):
    """Same as :func:`hw_rolling_batch_nb` on one thread (small batches)."""
    n_series = Y.shape[0]
    out = np.empty((n_series, origins.shape[0], horizon))
    for s in range(n_series):
        _hw_rolling_one(
            Y[s], params[s], level0[s], trend0[s], season1[s], season2[s], origins, horizon, out[s]
        )
    return out


# --------------------------------------------------------------------------------------------
# Public wrappers
# --------------------------------------------------------------------------------------------


def _check_origins(origins, n: int) -> NDArray[np.int64]:
    o = np.ascontiguousarray(origins, dtype=np.int64)
    if o.ndim != 1 or o.size == 0:
        raise ValueError("origins must be a non-empty 1-D array")
    if np.any(np.diff(o) <= 0):
        raise ValueError("origins must be strictly increasing")
    if o[0] < 0 or o[-1] > n:
        raise ValueError(f"origins must lie in [0, {n}], got {o[0]}..{o[-1]}")
    return o


def hw_fitted(y: NDArray[np.floating], model: HoltWinters) -> NDArray[np.float64]:
    """One-step-ahead fitted values :math:`\\hat y_{t|t-1}` of a 1-D series [unit of y]."""
    arr, was_1d = as_series_2d(y)
    if not was_1d:
        raise ValueError("hw_fitted takes one series")
    return hw_fitted_nb(
        arr[0], model.params, model.level0, model.trend0, model.season1, model.season2
    )


def hw_forecast(y: NDArray[np.floating], model: HoltWinters, horizon: int) -> NDArray[np.float64]:
    """Forecast the ``horizon`` samples after the end of ``y`` [unit of y]; shape (H,)."""
    arr, was_1d = as_series_2d(y)
    if not was_1d:
        raise ValueError("hw_forecast takes one series; use hw_rolling for many")
    origins = np.array([arr.shape[1]], dtype=np.int64)
    return hw_rolling_nb(
        arr[0],
        model.params,
        model.level0,
        model.trend0,
        model.season1,
        model.season2,
        origins,
        horizon,
    )[0]


def hw_rolling(
    y: NDArray[np.floating],
    models: HoltWinters | list[HoltWinters],
    origins: NDArray[np.integer],
    horizon: int,
    *,
    parallel: bool | None = None,
) -> NDArray[np.float64]:
    """Rolling-origin Holt–Winters forecasts in one compiled call.

    For each origin ``o`` the forecast of ``y[o : o + H]`` uses ``y[:o]`` only: the filter
    runs once through the series and emits the H-step forecast from its state at ``o``.

    Parameters
    ----------
    y : numpy.ndarray, shape (N,) or (S, N)
        One series or S series on a common time axis [unit of y].
    models : HoltWinters or list of HoltWinters
        One model, or one per series (same season lengths for all).
    origins : numpy.ndarray of int, shape (O,)
        Strictly increasing origins in ``[0, N]`` (see :func:`rolling_origins`).
    horizon : int
        Forecast horizon ``H`` [samples].
    parallel : bool, optional
        Run series in parallel threads; default only for batches large enough to pay for
        the thread pool (``PARALLEL_MIN_SAMPLES``). Same numbers either way.

    Returns
    -------
    numpy.ndarray, shape (O, H) or (S, O, H)
        ``out[..., k, h]`` forecasts ``y[..., origins[k] + h]``.
    """
    arr, was_1d = as_series_2d(y)
    o = _check_origins(origins, arr.shape[1])
    if was_1d:
        m = models if isinstance(models, HoltWinters) else models[0]
        return hw_rolling_nb(arr[0], m.params, m.level0, m.trend0, m.season1, m.season2, o, horizon)
    ms = [models] * arr.shape[0] if isinstance(models, HoltWinters) else list(models)
    if len(ms) != arr.shape[0]:
        raise ValueError(f"{len(ms)} models for {arr.shape[0]} series")
    params = np.stack([m.params for m in ms])
    l0 = np.array([m.level0 for m in ms])
    b0 = np.array([m.trend0 for m in ms])
    s1 = np.ascontiguousarray(np.stack([m.season1 for m in ms]), dtype=np.float64)
    s2 = np.ascontiguousarray(np.stack([m.season2 for m in ms]), dtype=np.float64)
    kernel = (
        hw_rolling_batch_nb
        if use_parallel(arr.shape[0], arr.shape[1], parallel)
        else hw_rolling_batch_serial_nb
    )
    return kernel(arr, params, l0, b0, s1, s2, o, horizon)
