"""Reading scenario files: the file forms of series (``{daily: ...}``, ``{weekly: ...}``,
``{csv: ..., column: ...}``), whole tables from CSV, and relative paths.

Everything here turns file-level data into plain Python/NumPy values before pydantic
validates the scenario; errors are :class:`~engine.errors.ScenarioError` naming the path.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from engine._clock import hour_clock
from engine.errors import ScenarioError, format_path


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
    try:
        clock = hour_clock(ctx["start"], ctx["tz"] or "UTC", T)
    except Exception:
        raise ScenarioError(
            f"start/timezone: cannot build the hours of {ctx['start']!r} in {ctx['tz']!r}"
        ) from None
    # hour 0 of the pattern is local midnight (Monday midnight for weekly profiles); the
    # phase follows the local clock, so a profile stays on its hours across DST changes
    phase = clock.hour_of_day() + (24 * clock.weekday() if period == 168 else 0)
    return pattern[phase % period]


def _read_csv(spec: Mapping, base_dir: Path, path: tuple, ctx: dict) -> Any:
    where = format_path(path)
    file = base_dir / str(spec["csv"])
    if not file.is_file():
        raise ScenarioError(f"{where}.csv: file {str(file)!r} does not exist")
    columns = _read_csv_fast(file, spec.get("column"), "column" in spec)
    if columns is None:
        columns = _read_csv_pandas(spec, file, where)
    return columns[spec["column"]] if "column" in spec else columns


#: Characters of the plain decimal numbers the fast CSV reader takes (no spaces, NaN or inf).
_NUMBER_CHARS = b"0123456789.+-eE"
#: The fast reader takes numbers of at most 15 characters (so at most 15 digits: an exact
#: integer mantissa in a double) with an exponent of at most 7 in magnitude (so, with at
#: most 14 decimals, a power of ten up to 10**22, exact in a double). pandas' C parser
#: (``float_precision="high"``) then scales the exact mantissa once by an exact power of
#: ten, which is correctly rounded, as Python's ``float()`` is: both give the same double.
_MAX_NUMBER_CHARS = 15
_MAX_EXPONENT = 7


def _read_csv_fast(file: Path, column: Any, one: bool) -> dict[str, np.ndarray] | None:
    """The numeric columns of a plain CSV file without pandas, or None to leave it to pandas.

    Reads exactly what ``pd.read_csv(file, comment="#")`` gives for the files it accepts:
    UTF-8 without BOM (line ends ``\\n``, ``\\r\\n`` or ``\\r``, which Python's universal
    newlines read as pandas does), comma-separated, no quotes, ``#`` only at the start
    of whole-line comments, a header of distinct non-empty names without surrounding
    spaces, every row with the header's number of fields, and the columns wanted made of
    plain decimal numbers (see ``_MAX_NUMBER_CHARS``). Anything else -- and every error --
    goes to pandas, which keeps today's parsing and messages.

    Parameters
    ----------
    file : Path
        The CSV file.
    column : Any
        The column wanted when ``one``; ignored otherwise.
    one : bool
        One column (``{csv, column}``) or every column but ``time`` (a whole table).
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if '"' in text or text.startswith("\ufeff"):
        return None
    lines = [ln for ln in text.split("\n") if ln and ln[0] != "#"]
    if len(lines) < 2:
        return None
    body = "\n".join(lines[1:])
    if "#" in body:
        return None
    header = lines[0].split(",")
    if len(set(header)) != len(header) or any(not h or h != h.strip() for h in header):
        return None
    if one:
        if not isinstance(column, str) or column not in header:
            return None
        wanted = [column]
    else:
        wanted = [c for c in header if c != "time"]
    n = len(header)
    if any(ln.count(",") != n - 1 for ln in lines[1:]):
        return None  # pandas pads short rows with NaN and may index by a long row's first
    # every row has n fields, so field j of row i is flat[i * n + j]
    flat = body.replace("\n", ",").split(",")
    out = {}
    for c in wanted:
        tokens = flat[header.index(c)::n]
        joined = "\n".join(tokens).encode("utf-8")
        if joined.translate(None, _NUMBER_CHARS + b"\n") or \
                max(map(len, tokens)) > _MAX_NUMBER_CHARS:
            return None
        try:
            values = np.fromiter(map(float, tokens), dtype=np.float64, count=len(tokens))
            if b"e" in joined or b"E" in joined:
                exps = [int(t.lower().partition("e")[2]) for t in tokens if "e" in t.lower()]
                if max(map(abs, exps)) > _MAX_EXPONENT:
                    return None
        except ValueError:  # "1e", "1.2.3", "" ...: not a number; pandas says so
            return None
        if np.signbit(values[values == 0.0]).any():
            return None  # pandas reads an all-integer column's "-0" as +0.0
        out[c] = values
    return out


def _read_csv_pandas(spec: Mapping, file: Path, where: str) -> dict[str, np.ndarray]:
    """Today's reader: ``pd.read_csv(file, comment="#")``, with its errors."""
    import pandas as pd

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
    out = {}
    for c in cols:
        try:
            out[c] = frame[c].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise ScenarioError(
                f"{where}: column {c!r} of {str(file)!r} is not numeric (a time column must be "
                f"named 'time'), first value {frame[c].iloc[0]!r}"
            ) from None
    return out
