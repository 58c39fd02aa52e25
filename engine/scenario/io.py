"""Reading scenario files: the file forms of series (``{daily: ...}``, ``{weekly: ...}``,
``{csv: ..., column: ...}``), whole tables from CSV, and relative paths.

Everything here turns file-level data into plain Python/NumPy values before pydantic
validates the scenario; errors are :class:`~engine.errors.ScenarioError` naming the path.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from engine.errors import ScenarioError, format_path
from engine.scenario.series import TimedSeries, describe_start_error, hourly_index


def _iter_series(model: BaseModel, path: tuple) -> Iterator[tuple[tuple, Any]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _iter_series(value, path + (name,))
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for i, item in enumerate(value):
                yield from _iter_series(item, path + (name, i))
        elif isinstance(value, np.ndarray):
            yield path + (name,), value


def _resolve_file_forms(data: Any, base_dir: Path, path: tuple = (), ctx: dict | None = None) -> Any:
    """Replace ``{daily: ...}``, ``{weekly: ...}`` and ``{csv: ...}`` by arrays or columns."""
    if ctx is None:
        ctx = {"T": data.get("horizon_h"), "start": data.get("start"), "tz": data.get("timezone")}
    if isinstance(data, Mapping):
        keys = set(data)
        if keys and keys <= {"daily", "weekly"} and len(keys) == 1:
            return _tile(data, path, ctx)
        if "csv" in keys and "column" in keys:
            if keys != {"csv", "column"}:
                extra = sorted(keys - {"csv", "column"})
                raise ScenarioError(f"{format_path(path)}: a {{csv, column}} series takes no other "
                                    f"keys, got {extra}")
            return _read_csv(data, base_dir, path, ctx)
        if "csv" in keys:
            # a whole table (e.g. weather) from a file, plus the mapping's other fields
            rest = {k: _resolve_file_forms(v, base_dir, path + (k,), ctx)
                    for k, v in data.items() if k != "csv"}
            return {**_read_csv(data, base_dir, path, ctx), **rest}
        return {k: _resolve_file_forms(v, base_dir, path + (k,), ctx) for k, v in data.items()}
    if isinstance(data, list):
        return [_resolve_file_forms(v, base_dir, path + (i,), ctx) for i, v in enumerate(data)]
    return data


def _resolve_case_paths(data: dict, base_dir: Path) -> None:
    """Make each ``sites[i].network.case`` path relative to the scenario file absolute."""
    for site in data.get("sites") or []:
        net = site.get("network") if isinstance(site, Mapping) else None
        if isinstance(net, Mapping) and isinstance(net.get("case"), str):
            case = Path(net["case"])
            if not case.is_absolute():
                site["network"] = {**net, "case": str(base_dir / case)}


def _tile(spec: Mapping, path: tuple, ctx: dict) -> np.ndarray:
    (kind, values), = spec.items()
    period = 24 if kind == "daily" else 168
    where = format_path(path)
    try:
        pattern = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}.{kind}: must be a list of {period} numbers") from None
    if pattern.shape != (period,):
        raise ScenarioError(f"{where}.{kind}: must have {period} values, got {pattern.size}")
    T = ctx["T"]
    if not isinstance(T, int) or T < 1:
        raise ScenarioError(f"{where}: a {kind} profile needs an integer horizon_h, got {T!r}")
    tz = ctx["tz"] or "UTC"
    try:
        index = hourly_index(ctx["start"], tz, T)
    except Exception as exc:  # noqa: BLE001  (pandas raises several types here)
        raise ScenarioError(describe_start_error(ctx["start"], tz, exc)) from None
    # hour 0 of the pattern is local midnight (Monday midnight for weekly profiles); the
    # phase follows the local clock, so a profile stays on its hours across DST changes
    phase = index.hour.to_numpy() + (24 * index.dayofweek.to_numpy() if period == 168 else 0)
    return pattern[phase % period]


def _read_csv(spec: Mapping, base_dir: Path, path: tuple, ctx: dict) -> Any:
    """One column (``{csv, column}``) or every column but ``time`` (a whole table) of a CSV
    file: arrays (positional) or, when the file has a ``time`` column,
    :class:`~engine.scenario.series.TimedSeries` that the scenario aligns by timestamp."""
    where = format_path(path)
    file = base_dir / str(spec["csv"])
    if not file.is_file():
        raise ScenarioError(f"{where}.csv: file {str(file)!r} does not exist")
    try:
        frame = pd.read_csv(file, comment="#")
    except Exception as exc:  # pandas raises several parser errors
        raise ScenarioError(f"{where}.csv: cannot read {str(file)!r}: {exc}") from None
    if "column" in spec:
        col = spec["column"]
        if col not in frame.columns:
            raise ScenarioError(
                f"{where}.column: {col!r} is not a column of {str(file)!r}; columns are "
                f"{list(frame.columns)}"
            )
        cols = [col]
    else:
        # a whole frame (e.g. weather): every column but the time stamp
        cols = [c for c in frame.columns if c != "time"]
    times = _times(frame, file, where) if "time" in frame.columns else None
    out: dict[str, Any] = {}
    for c in cols:
        try:
            values = frame[c].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise ScenarioError(
                f"{where}: column {c!r} of {str(file)!r} is not numeric (a time column must be "
                f"named 'time'), first value {frame[c].iloc[0]!r}"
            ) from None
        out[c] = values if times is None else TimedSeries(
            pd.Series(values, index=times), str(spec["csv"]))
    return out[spec["column"]] if "column" in spec else out


def _times(frame: pd.DataFrame, file: Path, where: str) -> pd.DatetimeIndex:
    """The ``time`` column as timestamps: naive (local times of the scenario's zone) or
    tz-aware (from UTC offsets in the file; several offsets, e.g. across DST, are read as
    instants)."""
    raw = frame["time"]
    try:
        # a time with an offset next to one without is a guess either way (pandas would
        # give the naive one the other's offset): refuse it
        has_offset = raw.astype(str).str.strip().str.contains(r"(?:Z|[+-]\d\d:?\d\d)$")
        if has_offset.any() and not has_offset.all():
            row = int(np.flatnonzero(~has_offset.to_numpy())[0])
            raise ValueError(f"some times carry a UTC offset and some do not (row {row}: "
                             f"{raw.iloc[row]!r})")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                times = pd.to_datetime(raw, format="ISO8601")
            mixed = times.dtype == object  # pandas 2: objects (and a warning) for mixed offsets
        except ValueError:
            if not has_offset.all():
                raise
            mixed = True  # pandas 3 raises for mixed offsets
        if mixed:
            # several UTC offsets (e.g. across DST): instants
            times = pd.to_datetime(raw, format="ISO8601", utc=True)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{where}: the time column of {str(file)!r} is not readable as "
                            f"ISO 8601 timestamps: {exc}") from None
    return pd.DatetimeIndex(times)
