"""Rolling-origin bookkeeping shared by every forecast kernel.

An *origin* ``o`` is an index into the series ``y``: a forecast made at ``o`` may use
``y[:o]`` (the data strictly before the origin) and predicts ``y[o], ..., y[o + H - 1]``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def rolling_origins(
    n: int, first_origin: int, step: int, horizon: int, *, complete: bool = True
) -> NDArray[np.int64]:
    """Origins ``first_origin, first_origin + step, ...`` of a rolling-origin run.

    Parameters
    ----------
    n : int
        Length of the series [samples].
    first_origin : int
        First origin; the first forecast uses ``y[:first_origin]`` [samples].
    step : int
        Distance between consecutive origins [samples], e.g. 24 for a daily re-forecast
        of an hourly series.
    horizon : int
        Forecast horizon ``H`` [samples].
    complete : bool, default True
        If True keep only origins whose whole horizon is observed, ``o + H <= n`` (what a
        skill evaluation needs). If False keep every origin ``o <= n`` (an operational run
        whose last forecast reaches past the data).

    Returns
    -------
    numpy.ndarray of int64
        Strictly increasing origins.
    """
    if step < 1 or horizon < 1:
        raise ValueError(f"step and horizon must be >= 1, got step={step}, horizon={horizon}")
    if first_origin < 1:
        raise ValueError(f"first_origin must be >= 1 (a forecast needs data), got {first_origin}")
    last = n - horizon if complete else n
    if last < first_origin:
        raise ValueError(
            f"no origin fits: n={n}, first_origin={first_origin}, horizon={horizon}, "
            f"complete={complete}"
        )
    return np.arange(first_origin, last + 1, step, dtype=np.int64)


def as_series_2d(y: NDArray[np.floating]) -> tuple[NDArray[np.float64], bool]:
    """Return ``y`` as a C-contiguous float64 (series, time) array and whether it was 1-D.

    Raises ``ValueError`` on non-finite values: the recursive filters would carry a NaN
    forward for ever, so a gap must be filled by the caller, who knows what it means.
    """
    arr = np.ascontiguousarray(y, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D (time) or 2-D (series, time), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"y must be finite; first non-finite value at index {tuple(bad)}")
    was_1d = arr.ndim == 1
    return (arr[None, :] if was_1d else arr), was_1d
