"""Time series fields.

Every time-varying field accepts

* a number (constant over the horizon),
* a sequence / NumPy array / ``pandas.Series`` of length ``horizon_h``,
* in files (YAML/JSON) also ``{daily: [24 values]}`` or ``{weekly: [168 values]}``
  (tiled over the horizon from ``start``, hour 0 = local midnight of the first
  day) and ``{csv: path, column: name}`` (path relative to the scenario file).

After validation a series is a ``float`` or a 1-D ``float64`` array of length
``horizon_h``; NaN, infinities and (for physical quantities) negative values are
rejected with a :class:`~engine.errors.ScenarioError` naming the field.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import partial
from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator, PlainSerializer

from engine.scenario.base import MAX_MAGNITUDE, _short

__all__ = ["FractionSeries", "Series", "SignedSeries", "series_type"]


def _coerce_series(value: Any, *, low: float | None, high: float | None) -> float | np.ndarray:
    """Turn a scalar / sequence / Series into a float or a clean float64 array."""
    _check_numbers(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        arr = np.asarray([float(value)])
        scalar = True
    else:
        if isinstance(value, Mapping):
            raise ValueError(
                f"must be a number or a series; a mapping {sorted(value)!r} is only understood in "
                "files as {daily: [...]}, {weekly: [...]} or {csv: path, column: name}"
            )
        # pandas is imported only if a value may be a Series: without it in sys.modules
        # nothing can be one, and the solve path stays free of pandas' import time
        pd = sys.modules.get("pandas")
        if pd is not None and isinstance(value, pd.Series):
            if isinstance(value.index, pd.DatetimeIndex) and len(value) > 1:
                steps = value.index.to_series().diff().iloc[1:]
                off = steps != pd.Timedelta(hours=1)
                if off.any():
                    raise ValueError(f"time index has a gap or is not hourly at {steps.index[off][0]}")
            value = value.to_numpy()
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number or a series of numbers, got {_short(value)}") from None
        if arr.ndim != 1:
            raise ValueError(f"must be one-dimensional, got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError("must not be empty; give a number or horizon_h values")
        scalar = False
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = "" if scalar else f" at hour {i}"
        raise ValueError(f"must be finite, got {arr[i]}{where}")
    for bound, cmp, word in ((low, np.less, ">="), (high, np.greater, "<=")):
        if bound is not None:
            viol = cmp(arr, bound)
            if viol.any():
                i = int(np.flatnonzero(viol)[0])
                where = "" if scalar else f" at hour {i}"
                # the magnitude limit of every price and amount says where it comes from
                why = (" in magnitude (larger values are out of the solver's numerical "
                       "range)" if abs(bound) == MAX_MAGNITUDE else "")
                raise ValueError(f"must be {word} {bound:g}{why}, got {arr[i]:g}{where}")
    return float(arr[0]) if scalar else arr


def _check_numbers(value: Any) -> None:
    """Refuse what NumPy would silently turn into numbers: booleans, strings, None."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise ValueError(f"must be a number or a series of numbers, got {_short(value)}")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf":
            raise ValueError(f"must be a number or a series of numbers, got an array of "
                             f"{value.dtype}")
    elif isinstance(value, (list, tuple)):
        for i, x in enumerate(value):
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.number)):
                raise ValueError(  # noqa: TRY004 -- pydantic reports ValueErrors only
                    f"must be a number or a series of numbers, got {_short(x)} at hour {i}")


def _dump_series(value: float | np.ndarray) -> float | list[float]:
    return value.tolist() if isinstance(value, np.ndarray) else value


def series_type(low: float | None, high: float | None) -> Any:
    return Annotated[
        Any,
        BeforeValidator(partial(_coerce_series, low=low, high=high)),
        PlainSerializer(_dump_series),
    ]


#: A time series of a non-negative physical quantity (MW, MWh, kg/MWh, ...), at most
#: ``MAX_MAGNITUDE`` (engine.scenario.base).
Series = series_type(0.0, MAX_MAGNITUDE)
#: A time series that may be negative (prices, temperatures), within ``±MAX_MAGNITUDE``.
SignedSeries = series_type(-MAX_MAGNITUDE, MAX_MAGNITUDE)
#: A time series of fractions in [0, 1].
FractionSeries = series_type(0.0, 1.0)
