"""The hours of a scenario's horizon on its local clock, from NumPy and the tz database.

Validating a scenario, tiling ``{daily: ...}`` / ``{weekly: ...}`` profiles, numbering the
calendar months of the demand charge and keying the PV cache need, for every hour of the
horizon, its UTC instant and its local hour, weekday and month. Reading them from NumPy
instead of a ``pandas.DatetimeIndex`` keeps ``import pandas`` (0.4-0.6 s) off the path from
a scenario file to the HiGHS solve; pandas is imported only when a user asks for
:attr:`HourClock.index`.

Exactness. The hours are those of today's (and the user-facing) pandas index::

    start = pd.Timestamp(start)
    start = start.tz_localize(tz) if start.tzinfo is None else start.tz_convert(tz)
    pd.date_range(start, periods=T, freq="h")

i.e. the UTC instants ``start + k h``, labelled on the zone's local clock. The zone object
is the one pandas itself builds from the name (pytz under pandas 2, zoneinfo under pandas
3, the standard library's UTC for ``"UTC"``), so the offsets come from the same tz
database as pandas' labels. The UTC offset is read once per 24 hours of the horizon and
located by bisection where it changes. That is exact because no zone changes its UTC
offset twice within 24 hours (the closest two changes in the whole tz database are a week
apart; ``tests/test_clock.py`` checks the installed database). Everything the fast path
does not read exactly -- start strings other than ``YYYY-MM-DD[ HH:MM[:SS][+HH:MM|Z]]``,
years outside 1900-2200, fixed-offset or dateutil zone strings, a local start that does
not exist or is ambiguous -- is built by pandas as before, so its errors are pandas' own.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["HourClock", "hour_clock"]

_NS = 1_000_000_000
_HOUR_NS = 3600 * _NS
_DAY_NS = 24 * _HOUR_NS
#: Hours between two reads of the UTC offset; must stay below the shortest time between
#: two offset changes of any zone (a week in the tz database; tests/test_clock.py checks).
_STRIDE_H = 24
_START = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?)?"
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class HourClock:
    """The ``T`` hourly instants from ``start`` and their labels in ``timezone``.

    Build it with :func:`hour_clock` (cached). Arrays are read-only and may be shared.

    Attributes
    ----------
    start, timezone : str
        As given in the scenario.
    T : int
        Hours of the horizon.
    tzinfo : datetime.tzinfo
        The zone, the object pandas builds from ``timezone``.
    utc_ns : numpy.ndarray of int64, shape (T,)
        UTC instant of each hour, nanoseconds since 1970-01-01 (pandas' ``asi8``).
    offset_ns : numpy.ndarray of int64, shape (T,)
        UTC offset of each hour's local time [ns].
    first_label : str
        The first hour as pandas prints it, e.g. ``'2023-01-01 00:00:00+08:00'``.
    """

    __slots__ = ("T", "_index", "first_label", "offset_ns", "start", "timezone", "tzinfo",
                 "utc_ns")

    def __init__(self, start: str, timezone: str, T: int, tzinfo: dt.tzinfo,
                 utc_ns: np.ndarray, offset_ns: np.ndarray, first_label: str,
                 index: pd.DatetimeIndex | None = None) -> None:
        self.start, self.timezone, self.T, self.tzinfo = start, timezone, int(T), tzinfo
        self.utc_ns, self.offset_ns = _frozen(utc_ns), _frozen(offset_ns)
        self.first_label = first_label
        self._index = index

    @property
    def tz_label(self) -> str:
        """``str`` of the zone, as ``str(index.tz)`` prints it (e.g. ``'Asia/Shanghai'``)."""
        return str(self.tzinfo)

    @property
    def local_ns(self) -> np.ndarray:
        """Local wall time of each hour, nanoseconds since 1970-01-01 local midnight."""
        return self.utc_ns + self.offset_ns

    def hour_of_day(self) -> np.ndarray:
        """Local hour (0-23) of each hour, as ``index.hour``."""
        return (self.local_ns // _HOUR_NS) % 24

    def weekday(self) -> np.ndarray:
        """Local weekday (Monday 0 ... Sunday 6) of each hour, as ``index.dayofweek``."""
        # 1970-01-01 was a Thursday (weekday 3)
        return (self.local_ns // _DAY_NS + 3) % 7

    def month_codes(self) -> tuple[np.ndarray, int]:
        """Consecutive 0-based number of each hour's local calendar month, and the count.

        Equal to ``pd.factorize(index.tz_localize(None).to_period("M"), sort=True)``: months
        are numbered in calendar order among those the horizon touches (a clock set back
        across a month boundary revisits a month but does not renumber it).
        """
        days = (self.local_ns // _DAY_NS).astype("datetime64[D]")
        months = days.astype("datetime64[M]").astype(np.int64)
        uniq, codes = np.unique(months, return_inverse=True)
        return codes.reshape(-1).astype(np.int64), int(uniq.size)

    @property
    def index(self) -> pd.DatetimeIndex:
        """The hourly, tz-aware ``pandas.DatetimeIndex`` (pandas is imported here).

        A new index object on each access, sharing one built array: clocks are cached
        and shared, and a caller that names its index (``index.name = "time"``) must not
        rename everybody's.
        """
        if self._index is None:
            self._index = _pandas_index(self.start, self.timezone, self.T)
        return self._index.copy()


@functools.lru_cache(maxsize=32)
def _cached_clock(start: str, timezone: str, T: int) -> HourClock:
    return _fast_clock(start, timezone, T) or _pandas_clock(start, timezone, T)


def hour_clock(start: Any, timezone: Any, T: int) -> HourClock:
    """The :class:`HourClock` of ``T`` hours from ``start`` in ``timezone``.

    Raises
    ------
    Exception
        Whatever pandas raises for a start or zone it cannot read (the fast path never
        raises: what it cannot read exactly it leaves to pandas).
    """
    if isinstance(start, str) and isinstance(timezone, str) and type(T) is int:
        return _cached_clock(start, timezone, T)
    return _pandas_clock(start, timezone, T)


# ------------------------------------------------------------------------------ pandas path
def _pandas_index(start: Any, timezone: Any, T: int) -> pd.DatetimeIndex:
    import pandas as pd

    ts = pd.Timestamp(start)
    ts = ts.tz_localize(timezone) if ts.tzinfo is None else ts.tz_convert(timezone)
    return pd.date_range(ts, periods=T, freq="h")


def _pandas_clock(start: Any, timezone: Any, T: int) -> HourClock:
    index = _pandas_index(start, timezone, T)
    utc = index.asi8
    local = index.tz_localize(None).asi8
    return HourClock(start, timezone, T, index.tz, utc, local - utc, str(index[0]), index)


# ------------------------------------------------------------------------------ fast path
def _fast_clock(start: str, timezone: str, T: int) -> HourClock | None:
    """The clock from the standard library and NumPy, or None to leave it to pandas."""
    m = _START.fullmatch(start)
    if m is None or T < 1:
        return None
    y, mo, d, hh, mm, ss, off = m.groups()
    if not 1900 <= int(y) <= 2200:  # pandas' Timestamp ends in 2262; keep far from it
        return None
    try:
        tz = _tzinfo(timezone)
        naive = dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except Exception:  # noqa: BLE001  (unknown zone, 2023-02-30 ...: pandas' error, from pandas)
        return None
    if off is None:
        utc = _localize(naive, tz)
        if utc is None:
            return None
    else:
        delta = dt.timedelta(0) if off == "Z" else (
            dt.timedelta(hours=int(off[1:3]), minutes=int(off[4:6])) * (1 if off[0] == "+" else -1))
        utc = naive - delta
    t0 = int((utc.replace(tzinfo=dt.timezone.utc) - _EPOCH).total_seconds())
    offsets = _offsets_s(tz, t0, T)
    label = str(dt.datetime.fromtimestamp(t0, dt.timezone(dt.timedelta(seconds=int(offsets[0])))))
    utc_ns = (t0 + 3600 * np.arange(T, dtype=np.int64)) * _NS
    return HourClock(start, timezone, T, tz, utc_ns, offsets * _NS, label)


def _tzinfo(name: str) -> dt.tzinfo:
    """The tzinfo pandas builds from a zone name (``maybe_get_tz``), for the names it reads
    from the tz database; other forms raise, which leaves them to pandas."""
    if name in ("UTC", "utc"):
        return dt.timezone.utc
    if not name or name[0] in "+-" or name.startswith(("UTC+", "UTC-", "dateutil/", "tzfile",
                                                      "tzlocal")):
        raise ValueError(f"zone {name!r} is left to pandas")
    if _pandas_uses_pytz():
        import pytz

        return pytz.timezone(name)
    import zoneinfo

    return zoneinfo.ZoneInfo(name)


@functools.cache
def _pandas_uses_pytz() -> bool:
    """Whether pandas builds zones with pytz (pandas 2) rather than zoneinfo (pandas 3)."""
    pd = sys.modules.get("pandas")
    if pd is not None:
        version = pd.__version__
    else:
        from importlib.metadata import distribution

        # the Version line of the installed metadata: importlib's version() parses all of
        # pandas' long METADATA with the email parser (~10 ms)
        found = re.search(r"^Version:\s*(\S+)", distribution("pandas").read_text("METADATA") or "",
                          re.MULTILINE)
        if found is None:
            from importlib.metadata import version as installed

            return int(installed("pandas").split(".")[0]) < 3
        version = found.group(1)
    return int(version.split(".")[0]) < 3


def _localize(naive: dt.datetime, tz: dt.tzinfo) -> dt.datetime | None:
    """UTC (naive) of a local wall time, or None where it does not exist or is ambiguous
    (pandas raises there; its error is kept by building that clock with pandas)."""
    if isinstance(tz, dt.timezone):
        return naive - tz.utcoffset(None)
    if hasattr(tz, "localize"):  # pytz: only its own localize reads the right transition
        try:
            aware = tz.localize(naive, is_dst=None)
        except Exception:  # noqa: BLE001  (pytz's Ambiguous/NonExistentTimeError and kin)
            return None
        return naive - aware.utcoffset()
    first = naive.replace(tzinfo=tz, fold=0).utcoffset()
    if first is None or first != naive.replace(tzinfo=tz, fold=1).utcoffset():
        return None  # a gap (spring forward) or an overlap (fall back)
    return naive - first


def _offsets_s(tz: dt.tzinfo, t0: int, T: int) -> np.ndarray:
    """UTC offset [s] of the instants ``t0 + 3600 k``, ``k < T``: read every ``_STRIDE_H``
    hours, bisected where two reads differ (one change at most in between, see the module
    docstring)."""
    def at(k: int) -> int:
        off = (_EPOCH + dt.timedelta(seconds=t0 + 3600 * k)).astimezone(tz).utcoffset()
        return int(off.total_seconds())

    if isinstance(tz, dt.timezone):
        return np.full(T, at(0), dtype=np.int64)
    marks = list(range(0, T, _STRIDE_H))
    if marks[-1] != T - 1:
        marks.append(T - 1)
    values = [at(k) for k in marks]
    out = np.empty(T, dtype=np.int64)
    for a, b, va, vb in zip(marks, marks[1:], values, values[1:]):
        if va == vb:
            out[a:b] = va
            continue
        lo, hi = a, b  # at(lo) == va, at(hi) == vb: the change lies in (lo, hi]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if at(mid) == va:
                lo = mid
            else:
                hi = mid
        out[a:hi] = va
        out[hi:b] = vb
    out[marks[-1]] = values[-1]
    return out


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.int64)  # a copy: a pandas index's asi8 must stay untouched
    a.setflags(write=False)
    return a
