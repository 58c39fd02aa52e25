"""Time series fields, the scenario's hours, and series aligned by timestamp.

Every time-varying field accepts

* a number (constant over the horizon),
* a sequence / NumPy array / ``pandas.Series`` without timestamps, of length exactly
  ``horizon_h`` (hour 0 is ``start``): a *positional* series,
* a ``pandas.Series`` with a ``DatetimeIndex`` (and, for ``weather``, a ``DataFrame``): a
  *timestamped* series, aligned by timestamp (see below),
* in files (YAML/JSON) also ``{daily: [24 values]}`` or ``{weekly: [168 values]}``
  (tiled over the horizon from ``start``, hour 0 = local midnight of the first
  day) and ``{csv: path, column: name}`` (path relative to the scenario file); a CSV file
  with a ``time`` column is timestamped, one without is positional.

Timestamped series are aligned by timestamp, never by position: the scenario's hours
(:func:`hourly_index`) are selected from the series, so ``start`` and ``horizon_h`` may take
a window out of a longer (e.g. yearly) series. Naive timestamps are local times in the
scenario's ``timezone``; tz-aware ones are converted. A duplicate timestamp, a timestamp off
the scenario's hourly steps, a missing hour inside the horizon (a gap, or a series that does
not cover the horizon) or a missing value is an error naming the field, the source and the
first bad hour.

Where the alignment runs: a field validator does not know the scenario's horizon, so a
timestamped value is kept as a :class:`TimedSeries` until the scenario's validators align
it (:func:`align_data` on the raw input before the nested models are validated,
:func:`align_models` on models that were built beforehand).

After validation a series is a ``float`` or a 1-D ``float64`` array of length
``horizon_h``; NaN, infinities and (for physical quantities) negative values are
rejected with a :class:`~engine.errors.ScenarioError` naming the field.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, PlainSerializer

from engine.errors import format_path
from engine.scenario.base import MAX_MAGNITUDE, _short

__all__ = ["FractionSeries", "Series", "SignedSeries", "TimedSeries", "align", "align_data",
           "align_models", "hourly_index", "series_type"]


# ----------------------------------------------------------------------------- the hours
@functools.lru_cache(maxsize=64)
def _hourly_index(start: str, timezone: str, T: int) -> pd.DatetimeIndex:
    ts = pd.Timestamp(start)
    ts = ts.tz_localize(timezone) if ts.tzinfo is None else ts.tz_convert(timezone)
    return pd.date_range(ts, periods=T, freq="h")


def hourly_index(start: Any, timezone: Any, T: int) -> pd.DatetimeIndex:
    """The ``T`` hours from ``start`` on the clock of ``timezone`` (tz-aware).

    ``start`` is local wall time in ``timezone`` unless it carries its own UTC offset. A
    local start that does not exist (clocks skip it) or is ambiguous (clocks pass it twice)
    raises pandas' ``NonExistentTimeError`` / ``AmbiguousTimeError``; an unreadable start
    or zone raises pandas' (or the tz database's) error. Indexes are cached: the returned
    object is a copy, so renaming it renames nobody else's.
    """
    if isinstance(start, str) and isinstance(timezone, str) and type(T) is int:
        return _hourly_index(start, timezone, T).copy()
    return _hourly_index.__wrapped__(start, timezone, T)


def _local_start_kind(start: Any, timezone: Any) -> str:
    """``"nonexistent"``, ``"ambiguous"`` or ``""`` for a local ``start`` in ``timezone``.

    Probed with ``tz_localize``'s NaT options rather than by exception class, whose name
    differs between pandas 2 and 3.
    """
    try:
        ts = pd.Timestamp(start)
        if ts.tzinfo is not None:
            return ""
        if ts.tz_localize(timezone, ambiguous=True, nonexistent="NaT") is pd.NaT:
            return "nonexistent"
        if ts.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT") is pd.NaT:
            return "ambiguous"
    except Exception:  # noqa: BLE001 -- an unreadable start or zone: the generic message
        return ""
    return ""


def describe_start_error(start: Any, timezone: Any, exc: Exception) -> str:
    """A clear message for an ``hourly_index`` failure."""
    kind = _local_start_kind(start, timezone)
    if kind == "nonexistent":
        return (f"start: {start!r} is not a time on the clock of {timezone} (the clocks skip "
                f"it when they go forward); give a time that exists or a UTC offset")
    if kind == "ambiguous":
        ts = pd.Timestamp(start)
        both = [ts.tz_localize(timezone, ambiguous=dst).isoformat(sep=" ", timespec="minutes")
                for dst in (True, False)]
        return (f"start: {start!r} happens twice on the clock of {timezone} (the clocks go "
                f"back); give it with its UTC offset: '{both[0]}' or '{both[1]}'")
    return (f"start/timezone: cannot build an hourly index from start={start!r}, "
            f"timezone={timezone!r}: {exc}")


def _fmt(t: pd.Timestamp) -> str:
    return t.isoformat(sep=" ", timespec="minutes")


# ----------------------------------------------------------------------------- timestamps
@dataclass(frozen=True, eq=False)
class TimedSeries:
    """Values at timestamps, not yet aligned to a scenario's hours.

    Attributes
    ----------
    values : pandas.Series
        Numbers on a ``DatetimeIndex`` (naive: local times of the scenario's zone).
    source : str
        What to call it in errors: the CSV file as written in the scenario, or
        ``"the pandas Series"``.
    """

    values: pd.Series
    source: str

    def __repr__(self) -> str:
        idx = self.values.index
        span = f"{idx.min()} .. {idx.max()}" if len(idx) else "empty"
        return f"TimedSeries({self.source}, {len(idx)} values, {span})"


def is_timed(value: Any) -> bool:
    """Whether ``value`` is a timestamped series (aligned later, by timestamp)."""
    return isinstance(value, TimedSeries) or (
        isinstance(value, pd.Series) and isinstance(value.index, pd.DatetimeIndex))


def as_timed(value: Any) -> TimedSeries:
    if isinstance(value, TimedSeries):
        return value
    return TimedSeries(value, "the pandas Series")


def align(value: Any, index: pd.DatetimeIndex, where: str) -> np.ndarray:
    """The values of a timestamped series at the hours of ``index``, by timestamp.

    Raises
    ------
    ValueError
        ``"<where>: <source> ..."`` for a duplicate timestamp, a timestamp off the hourly
        steps of ``index``, a local time that does not exist or is ambiguous, a missing hour
        or a missing value, naming the first bad hour.
    """
    ts = as_timed(value)
    src, s = ts.source, ts.values
    tz = index.tz
    idx = pd.DatetimeIndex(s.index)
    if idx.hasnans:
        i = int(np.flatnonzero(idx.isna())[0])
        raise ValueError(f"{where}: {src} has a missing or unreadable timestamp at row {i}")
    if idx.tz is None:
        try:
            idx = idx.tz_localize(tz, ambiguous="infer")
        except Exception:  # noqa: BLE001  (pandas' Ambiguous/NonExistentTimeError, ValueError)
            dup = idx[idx.duplicated()]
            if len(dup):
                raise ValueError(f"{where}: {src} has the timestamp {dup[0]} twice "
                                 f"(first duplicate)") from None
            bad = idx[idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").isna()][0]
            gone = pd.isna(pd.DatetimeIndex([bad]).tz_localize(tz, ambiguous=[True],
                                                               nonexistent="NaT")[0])
            why = ("does not exist there (the clocks skip it)" if gone else
                   "happens twice there (the clocks go back); give timestamps with their UTC "
                   "offset")
            raise ValueError(f"{where}: {src} has the local time {bad}, which on the clock of "
                             f"{tz} {why}") from None
    else:
        idx = idx.tz_convert(tz)
    dup = idx[idx.duplicated()]
    if len(dup):
        raise ValueError(f"{where}: {src} has the timestamp {_fmt(dup[0])} twice (first "
                         f"duplicate)")
    off = idx[(idx - index[0]) % pd.Timedelta(hours=1) != pd.Timedelta(0)]
    if len(off):
        raise ValueError(f"{where}: {src} is not hourly: {_fmt(off.sort_values()[0])} is not on "
                         f"the scenario's hours ({_fmt(index[0])} + whole hours)")
    try:
        vals = np.asarray(s.to_numpy(), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {src} must hold numbers, got {_short(s.iloc[0])}") from None
    pos = idx.get_indexer(index)
    missing = pos < 0
    if missing.any():
        t = index[int(np.flatnonzero(missing)[0])]
        first, last = idx.min(), idx.max()
        if len(idx) == 0 or t < first or t > last:
            span = f"covers {_fmt(first)} .. {_fmt(last)}" if len(idx) else "is empty"
            raise ValueError(f"{where}: {src} {span}, the scenario needs {_fmt(t)} (first "
                             f"missing hour)")
        raise ValueError(f"{where}: {src} has a gap: no value for {_fmt(t)} (first missing "
                         f"hour)")
    out = vals[pos]
    nan = np.isnan(out)
    if nan.any():
        t = index[int(np.flatnonzero(nan)[0])]
        raise ValueError(f"{where}: {src} has no value (empty or NaN) for {_fmt(t)} (first "
                         f"missing hour)")
    return out


def align_data(data: Any, index: pd.DatetimeIndex, path: tuple = ()) -> Any:
    """Raw scenario data with every timestamped series replaced by its aligned array.

    A ``DataFrame`` with a ``DatetimeIndex`` becomes a mapping of its columns (a whole table,
    e.g. ``weather``). New containers are built where something changes; the caller's
    data is not modified. Models (already validated objects) are left to
    :func:`align_models`.
    """
    if is_timed(data):
        return align(data, index, format_path(path))
    if isinstance(data, pd.DataFrame) and isinstance(data.index, pd.DatetimeIndex):
        return {str(c): align(data[c], index, format_path(path + (str(c),)))
                for c in data.columns}
    if isinstance(data, Mapping):
        out = {k: align_data(v, index, path + (k,)) for k, v in data.items()}
        return out if any(out[k] is not data[k] for k in data) else data
    if isinstance(data, list) and data and not isinstance(data[0], (int, float)):
        out_list = [align_data(v, index, path + (i,)) for i, v in enumerate(data)]
        return out_list if any(a is not b for a, b in zip(out_list, data)) else data
    return data


def align_models(model: BaseModel, index: pd.DatetimeIndex, path: tuple = ()) -> None:
    """Align, in place, the timestamped series still held by (nested) models.

    They are there when a model was built on its own (``Grid(import_price_per_mwh=s)``)
    before it went into the scenario. Each aligned array is assigned to its field, so the
    field's and the model's checks run on it (errors name the full path).
    """
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            align_models(value, index, path + (name,))
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for i, item in enumerate(value):
                align_models(item, index, path + (name, i))
        elif isinstance(value, TimedSeries):
            arr = align(value, index, format_path(path + (name,)))
            try:
                setattr(model, name, arr)
            except Exception as exc:  # a ScenarioError naming the field inside the model
                prefix = format_path(path)
                raise ValueError(f"{prefix}.{exc}" if prefix else str(exc)) from None


# ----------------------------------------------------------------------------- fields
def _coerce_series(value: Any, *, low: float | None, high: float | None
                   ) -> float | np.ndarray | TimedSeries:
    """Turn a scalar / sequence / Series into a float or a clean float64 array (a
    timestamped series is kept as a :class:`TimedSeries`, aligned by the scenario)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number or a series of numbers, got {value!r}")
    if is_timed(value):
        return as_timed(value)
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
        if isinstance(value, pd.Series):
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


def _dump_series(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, TimedSeries):  # only before the scenario aligned it
        return {_fmt(t) if t.tzinfo else str(t): float(v) for t, v in value.values.items()}
    return value


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
