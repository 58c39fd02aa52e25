r"""Seasonal naive forecasts (persistence is the period-1 case).

.. math:: \hat y_{o+h} = y_{o + h - m \lceil (h+1)/m \rceil}, \qquad h = 0, \dots, H-1

i.e. the last observed value of the same phase: ``m = 24`` repeats the last day,
``m = 168`` the last week, ``m = 1`` the last value (persistence).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

from kernels.forecast._origins import as_series_2d

DAILY = 24
WEEKLY = 168


def seasonal_naive_reference(
    y: NDArray[np.floating], origins: NDArray[np.integer], period: int, horizon: int
) -> NDArray[np.float64]:
    """Rolling seasonal naive forecasts of a 1-D series by fancy indexing (NumPy reference)."""
    y = np.asarray(y, dtype=np.float64)
    origins = np.asarray(origins)
    h = np.arange(horizon)
    idx = origins[:, None] - period + (h % period)[None, :]
    return y[idx]


# one thread: a light loop over few series, where waking a thread pool costs more
@nb.njit(cache=True)
def seasonal_naive_rolling_nb(Y, origins, period, horizon):
    """Rolling seasonal naive forecasts of (S, N) series (compiled); (S, O, H)."""
    n_series = Y.shape[0]
    n_orig = origins.shape[0]
    out = np.empty((n_series, n_orig, horizon))
    for s in range(n_series):
        for k in range(n_orig):
            base = origins[k] - period
            for h in range(horizon):
                out[s, k, h] = Y[s, base + h % period]
    return out


def seasonal_naive_rolling(
    y: NDArray[np.floating], origins: NDArray[np.integer], period: int, horizon: int
) -> NDArray[np.float64]:
    """Rolling-origin seasonal naive forecasts.

    Parameters
    ----------
    y : numpy.ndarray, shape (N,) or (S, N)
        Series [unit of y].
    origins : numpy.ndarray of int, shape (O,)
        Origins, each ``>= period`` (one full period must be observed) and ``<= N``.
    period : int
        Seasonal period [samples]: 1 (persistence), 24 (daily), 168 (weekly) for hourly data.
    horizon : int
        Forecast horizon ``H`` [samples].

    Returns
    -------
    numpy.ndarray, shape (O, H) or (S, O, H)
    """
    arr, was_1d = as_series_2d(y)
    o = np.ascontiguousarray(origins, dtype=np.int64)
    if period < 1:
        raise ValueError(f"period must be >= 1, got {period}")
    if o.min() < period or o.max() > arr.shape[1]:
        raise ValueError(
            f"origins must lie in [period={period}, N={arr.shape[1]}], got {o.min()}..{o.max()}"
        )
    out = seasonal_naive_rolling_nb(arr, o, period, horizon)
    return out[0] if was_1d else out
