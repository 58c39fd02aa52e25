r"""Autoregressive models fitted by least squares, with recursive multi-step forecasts.

With lags :math:`L = (l_1, \dots, l_p)` (``1..p`` for a plain AR(p); ``(1, 2, 24, 168)`` for
a sparse seasonal AR),

.. math:: y_t = c + \sum_{i=1}^{p} \phi_i\, y_{t-l_i} + \varepsilon_t ,

:math:`(c, \phi)` minimise :math:`\sum_t \varepsilon_t^2` over every ``t`` whose lags are
observed, and the h-step forecast substitutes earlier forecasts for unobserved lags
(recursive strategy).

The rolling kernel refits at every origin on all data before it (expanding window) without
refitting from scratch: it keeps the normal equations :math:`X^\top X`, :math:`X^\top y` and
adds each new row once, so a year of daily refits costs one pass plus one small solve per
origin. The solve uses ``lstsq`` so a rank-deficient fit (a constant series) returns the
minimum-norm solution instead of failing.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

from kernels.forecast._origins import as_series_2d, use_parallel


def _lags(lags: int | NDArray[np.integer] | list[int]) -> NDArray[np.int64]:
    if isinstance(lags, (int, np.integer)):
        arr = np.arange(1, int(lags) + 1, dtype=np.int64)
    else:
        arr = np.ascontiguousarray(lags, dtype=np.int64)
    if arr.ndim != 1 or arr.size == 0 or arr.min() < 1 or np.any(np.diff(arr) <= 0):
        raise ValueError(f"lags must be a positive int or strictly increasing ints >= 1: {lags}")
    return arr


# --------------------------------------------------------------------------------------------
# NumPy reference: explicit design matrix and numpy.linalg.lstsq
# --------------------------------------------------------------------------------------------


def ar_fit_reference(y: NDArray[np.floating], lags) -> NDArray[np.float64]:
    """Least-squares ``[c, phi_1, ..., phi_p]`` on the whole of ``y`` (NumPy reference)."""
    y = np.asarray(y, dtype=np.float64)
    lg = _lags(lags)
    t = np.arange(lg[-1], len(y))
    X = np.column_stack([np.ones(t.size)] + [y[t - lag] for lag in lg])
    return np.linalg.lstsq(X, y[t], rcond=None)[0]


def ar_forecast_reference(y, coef, lags, horizon: int) -> NDArray[np.float64]:
    """Recursive forecast of ``y[n : n + H]`` with coefficients ``coef`` (NumPy reference)."""
    lg = _lags(lags)
    ext = list(np.asarray(y, dtype=np.float64))
    n = len(ext)
    for _ in range(horizon):
        ext.append(coef[0] + sum(c * ext[-lag] for c, lag in zip(coef[1:], lg)))
    return np.array(ext[n:])


def ar_rolling_reference(y, lags, origins, horizon: int) -> NDArray[np.float64]:
    """Refit from scratch on ``y[:o]`` and forecast, for each origin (NumPy reference)."""
    y = np.asarray(y, dtype=np.float64)
    return np.stack(
        [
            ar_forecast_reference(y[:o], ar_fit_reference(y[:o], lags), lags, horizon)
            for o in origins
        ]
    )


# --------------------------------------------------------------------------------------------
# Numba kernels
# --------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _ar_rolling_one(z, lags, origins, horizon, out):
    """Expanding-window AR refit and recursive forecast at each origin, on scaled data ``z``."""
    p = lags.shape[0]
    q = p + 1
    maxlag = lags[p - 1]
    G = np.zeros((q, q))
    c = np.zeros(q)
    x = np.empty(q)
    x[0] = 1.0
    buf = np.empty(maxlag + horizon)
    t_next = maxlag  # first row whose lags are all observed
    for k in range(origins.shape[0]):
        o = origins[k]
        # add the rows t < o not yet in the normal equations (only data before the origin)
        while t_next < o:
            for i in range(p):
                x[i + 1] = z[t_next - lags[i]]
            yt = z[t_next]
            for i in range(q):
                c[i] += x[i] * yt
                for j in range(i, q):
                    G[i, j] += x[i] * x[j]
            t_next += 1
        for i in range(q):
            for j in range(i):
                G[i, j] = G[j, i]
        coef = np.linalg.lstsq(G, c)[0]
        buf[:maxlag] = z[o - maxlag : o]
        for h in range(horizon):
            f = coef[0]
            for i in range(p):
                f += coef[i + 1] * buf[maxlag + h - lags[i]]
            buf[maxlag + h] = f
            out[k, h] = f


@nb.njit(cache=True, parallel=True)
def ar_rolling_batch_nb(Z, lags, origins, horizon):
    """Rolling AR forecasts of (S, N) scaled series, parallel over series; (S, O, H)."""
    n_series = Z.shape[0]
    out = np.empty((n_series, origins.shape[0], horizon))
    for s in nb.prange(n_series):
        _ar_rolling_one(Z[s], lags, origins, horizon, out[s])
    return out


@nb.njit(cache=True)
def ar_rolling_batch_serial_nb(Z, lags, origins, horizon):
    """Same as :func:`ar_rolling_batch_nb` on one thread (small batches)."""
    n_series = Z.shape[0]
    out = np.empty((n_series, origins.shape[0], horizon))
    for s in range(n_series):
        _ar_rolling_one(Z[s], lags, origins, horizon, out[s])
    return out


# --------------------------------------------------------------------------------------------
# Public wrappers
# --------------------------------------------------------------------------------------------


def ar_rolling(
    y: NDArray[np.floating],
    lags: int | NDArray[np.integer],
    origins: NDArray[np.integer],
    horizon: int,
    *,
    parallel: bool | None = None,
) -> NDArray[np.float64]:
    """Rolling-origin AR forecasts, refitted by least squares on ``y[:o]`` at each origin.

    Parameters
    ----------
    y : numpy.ndarray, shape (N,) or (S, N)
        Series [unit of y].
    lags : int or array of int
        ``p`` for lags ``1..p``, or an explicit increasing lag set [samples].
    origins : numpy.ndarray of int, shape (O,)
        Strictly increasing origins; the first needs ``max(lags) + len(lags) + 1`` samples.
    horizon : int
        Forecast horizon ``H`` [samples].
    parallel : bool, optional
        Run series in parallel threads; default only for large batches (as
        :func:`~kernels.forecast.hw_rolling`).

    Returns
    -------
    numpy.ndarray, shape (O, H) or (S, O, H)

    Notes
    -----
    Each series is scaled to ``(y - a) / s`` with ``a``, ``s`` the mean and standard
    deviation of the data before the *first* origin, so the normal equations are well
    scaled and no origin sees later data. Least squares with an intercept is equivariant
    under this map, so the forecasts are those of the unscaled fit.
    """
    arr, was_1d = as_series_2d(y)
    lg = _lags(lags)
    o = np.ascontiguousarray(origins, dtype=np.int64)
    if o.ndim != 1 or o.size == 0 or np.any(np.diff(o) <= 0):
        raise ValueError("origins must be a non-empty strictly increasing 1-D array")
    need = int(lg[-1]) + lg.size + 1
    if o[0] < need or o[-1] > arr.shape[1]:
        raise ValueError(f"origins must lie in [{need}, {arr.shape[1]}], got {o[0]}..{o[-1]}")
    train = arr[:, : o[0]]
    a = train.mean(axis=1, keepdims=True)
    s = train.std(axis=1, keepdims=True)
    s[s == 0] = 1.0  # a constant training prefix: nothing to scale
    kernel = (
        ar_rolling_batch_nb
        if use_parallel(arr.shape[0], arr.shape[1], parallel)
        else ar_rolling_batch_serial_nb
    )
    out = kernel(np.ascontiguousarray((arr - a) / s), lg, o, horizon)
    out = out * s[:, :, None] + a[:, :, None]
    return out[0] if was_1d else out


def ar_forecast(y: NDArray[np.floating], lags, horizon: int) -> NDArray[np.float64]:
    """Fit on all of a 1-D ``y`` and forecast the next ``horizon`` samples; shape (H,)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError("ar_forecast takes one series; use ar_rolling for many")
    return ar_rolling(y, lags, np.array([y.size]), horizon)[0]
