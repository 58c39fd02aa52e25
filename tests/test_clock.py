"""The horizon's hours from NumPy and the tz database equal pandas' index, hour by hour.

Reference: the code that built every index before (pd.Timestamp -> tz_localize/tz_convert ->
date_range); compared are UTC instants, local hour, weekday, calendar-month numbers, the
printed first hour and the zone, across DST changes, half- and quarter-hour zones, a
30-minute DST (Lord Howe), a skipped day (Apia 2011), clocks set back across a month end
and horizons of several years.
"""
from __future__ import annotations

import datetime as dt
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import _clock
from engine._clock import _fast_clock, hour_clock

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Shanghai", "UTC",
         "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns",
         "Pacific/Apia", "Africa/Cairo", "Africa/Casablanca", "Europe/Dublin",
         "Pacific/Chatham", "America/Sao_Paulo", "Antarctica/Troll"]
#: local starts a few hours before a DST change (or another offset change) of some zone
STARTS = ["2023-01-01 00:00", "2023-03-25 22:00", "2023-03-12 00:00", "2023-04-01 20:00",
          "2023-10-01 00:00", "2023-10-28 23:00", "2023-11-05 00:30", "2011-12-29 00:00",
          "2024-10-31 20:00", "1985-12-31 20:00", "2037-12-31 00:00", "1995-06-15 12:45",
          "2023-01-01T05:00", "2023-10-29 00:00:30"]
LENGTHS = [1, 2, 23, 25, 169, 8760, 3 * 8784 + 7]


def reference(start: str, tz: "str | dt.tzinfo", T: int) -> pd.DatetimeIndex:
    """How every index was built before the clock (and how Scenario.index is built)."""
    ts = pd.Timestamp(start)
    ts = ts.tz_localize(tz) if ts.tzinfo is None else ts.tz_convert(tz)
    return pd.date_range(ts, periods=T, freq="h")


def check_fast_clock(start: str, tz: str, T: int, zone=None) -> _clock.HourClock | None:
    """The fast clock equals pandas' index built with ``zone`` (default: the name), or,
    where pandas refuses the start (a DST gap or overlap), the fast path declines too."""
    try:
        idx = reference(start, tz if zone is None else zone, T)
    except Exception:  # noqa: BLE001  (a start in a DST gap or overlap)
        assert _fast_clock(start, tz, T) is None
        return None
    clock = _fast_clock(start, tz, T)
    assert clock is not None
    assert_clock_equals(clock, idx)
    return clock


def assert_clock_equals(clock: _clock.HourClock, idx: pd.DatetimeIndex) -> None:
    np.testing.assert_array_equal(clock.utc_ns, idx.asi8)
    np.testing.assert_array_equal(clock.hour_of_day(), idx.hour.to_numpy())
    np.testing.assert_array_equal(clock.weekday(), idx.dayofweek.to_numpy())
    codes, n = clock.month_codes()
    ref_codes, uniques = pd.factorize(idx.tz_localize(None).to_period("M"), sort=True)
    np.testing.assert_array_equal(codes, ref_codes)
    assert n == len(uniques)
    assert clock.first_label == str(idx[0])
    assert clock.tz_label == str(idx.tz)
    assert clock.T == len(idx)


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("start", STARTS)
def test_fast_clock_equals_pandas(tz, start):
    for T in LENGTHS:
        try:
            idx = reference(start, tz, T)
        except Exception:  # noqa: BLE001
            # a local start that does not exist or is ambiguous: the fast path declines it
            assert _fast_clock(start, tz, T) is None
            continue
        clock = _fast_clock(start, tz, T)
        assert clock is not None, (start, tz)  # the fast path handled it (no pandas)
        assert_clock_equals(clock, idx)


@settings(max_examples=150, deadline=None)
@given(tz=st.sampled_from(ZONES),
       start=st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2045, 1, 1)),
       T=st.integers(1, 10 * 8784))
def test_fast_clock_equals_pandas_anywhere(tz, start, T):
    check_fast_clock(start.strftime("%Y-%m-%d %H:%M:%S"), tz, T)


@pytest.mark.parametrize("start, tz", [
    ("2023-03-26 02:30", "Europe/Berlin"),       # skipped by the spring-forward
    ("2023-10-29 02:30", "Europe/Berlin"),       # twice by the fall-back
    ("2023-04-02 01:45", "Australia/Lord_Howe"),  # twice, in a 30-minute fall-back
    ("2023-02-30 00:00", "UTC"),
    ("2023-01-01 24:00", "UTC"),
    ("2023-01-01 00:00", "Mars/Olympus"),
    ("not a date", "UTC"),
])
def test_what_pandas_rejects_is_rejected_with_pandas_error(start, tz):
    with pytest.raises(Exception) as ref:
        reference(start, tz, 24)
    with pytest.raises(type(ref.value)) as ours:
        hour_clock(start, tz, 24)
    assert str(ours.value) == str(ref.value)
    d = {"start": start, "timezone": tz, "horizon_h": 24, "sites": [
        {"name": "s", "latitude_deg": 0.0, "longitude_deg": 0.0}]}
    with pytest.raises(engine.ScenarioError, match="start/timezone: cannot build an hourly "
                                                   f"index.*: {ref.value}"):
        engine.Scenario.from_dict(d)


@pytest.mark.parametrize("start, tz", [
    ("2023-01-01 00:00:00.5", "UTC"),   # sub-second starts
    ("2023-01-01", "+05:30"),           # fixed-offset zone strings
    ("Jan 1 2023", "Europe/Berlin"),    # other formats pandas reads
    ("2023-01-01 00:00+0100", "Europe/Berlin"),
])
def test_other_forms_are_read_by_pandas_unchanged(start, tz):
    assert _fast_clock(start, tz, 48) is None
    clock = hour_clock(start, tz, 48)
    idx = reference(start, tz, 48)
    assert_clock_equals(clock, idx)
    assert clock.index.equals(idx) and str(clock.index.tz) == str(idx.tz)


def test_clock_index_is_the_pandas_index():
    clock = _fast_clock("2023-03-25 00:00", "Europe/Berlin", 72)
    idx = reference("2023-03-25 00:00", "Europe/Berlin", 72)
    pd.testing.assert_index_equal(clock.index, idx, exact=True)
    assert clock.index.freq == idx.freq and type(clock.index.tz) is type(idx.tz)


def test_zone_objects_are_pandas_own():
    # offsets and pandas' labels must come from the same tz database
    uses_pytz = type(reference("2023-01-01", "Europe/Berlin", 1).tz).__module__.startswith("pytz")
    assert _clock._pandas_uses_pytz() == uses_pytz
    for tz in ZONES:
        clock = _fast_clock("2023-06-01 00:00", tz, 1)
        assert type(clock.tzinfo) is type(reference("2023-06-01 00:00", tz, 1).tz)


def test_no_zone_changes_its_offset_twice_within_the_stride():
    """The clock reads the offset every ``_STRIDE_H`` hours and bisects once in between,
    which is exact only while no zone changes offset twice within that time."""
    pytz = pytest.importorskip("pytz")
    shortest = np.inf
    for name in pytz.all_timezones:
        tz = pytz.timezone(name)
        times = getattr(tz, "_utc_transition_times", None)
        if not times:
            continue
        offs = [info[0] for info in tz._transition_info]
        changes = [t for t, (a, b) in zip(times[1:], pairwise(offs)) if a != b]
        gaps = [(b - a).total_seconds() / 3600 for a, b in pairwise(changes)]
        shortest = min([shortest, *gaps])
    assert shortest > _clock._STRIDE_H, shortest


def test_scenario_index_and_month_numbers_of_prepared_data(small_dict):
    from engine.model.data import prepare

    d = dict(small_dict, start="2024-10-25 00:00", timezone="Africa/Cairo", horizon_h=24 * 14)
    for site in d["sites"]:
        site["pv"][0]["availability_fraction"] = 0.5
        site["weather"] = {"temp_air": 20.0}
    sc = engine.Scenario.from_dict(d)
    idx = reference(sc.start, sc.timezone, sc.horizon_h)
    pd.testing.assert_index_equal(sc.index, idx, exact=True)
    data = prepare(sc)
    pd.testing.assert_index_equal(data.index, idx, exact=True)
    codes, _ = pd.factorize(idx.tz_localize(None).to_period("M"), sort=True)
    # Cairo sets its clocks back from November 1 00:00 to October 31 23:00 at hour 168
    assert str(idx[167])[:16] == str(idx[168])[:16] == "2024-10-31 23:00"
    np.testing.assert_array_equal(data.month, codes)
    assert data.n_months == 2 and data.T == 24 * 14


@pytest.mark.parametrize("tz", ZONES)
def test_zoneinfo_clock_equals_pandas_with_zoneinfo(monkeypatch, tz):
    """Under pandas 3 zones are zoneinfo objects: the clock's zoneinfo path (offsets read
    through ``astimezone``, gaps and overlaps found by ``fold``) against pandas given the
    same ZoneInfo objects (the installed pandas may use pytz for names)."""
    import zoneinfo

    monkeypatch.setattr(_clock, "_pandas_uses_pytz", lambda: False)
    zone = dt.timezone.utc if tz == "UTC" else zoneinfo.ZoneInfo(tz)
    # pandas converts zoneinfo zones element by element: long horizons only from two starts
    cases = [(start, T) for start in STARTS for T in (1, 25, 2000)] + [
        ("2023-03-25 22:00", 3 * 8784 + 7), ("2037-12-31 00:00", 2 * 8784)]
    for start, T in cases:
        clock = check_fast_clock(start, tz, T, zone)
        assert clock is None or type(clock.tzinfo) is type(zone)
